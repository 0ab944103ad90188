// The production Recorder: a hash-chained, append-only audit log in the store.
//
// Each record is an AuditEntry plus its sequence number and time, encoded canonically (JSON,
// object keys sorted, no spaces; see canonical_record()). Its hash is the lowercase hex
// SHA-256 of `prev_hash + "\n" + canonical bytes`; the first record's prev_hash is 64 zeros
// (the anchor). Secrets registered with log::add_secret() are redacted from every string
// before anything is hashed or written.
//
// Threading: record() may be called from many threads and processes; appends are
// serialised in-process, and a Conflict from another writer (another process or node) is
// answered by re-reading the head and retrying.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "opsrun/audit/recorder.h"
#include "opsrun/common/clock.h"

namespace opsrun::store {
class Store;
}

namespace opsrun::audit {

struct ChainedLogOptions {
  // Optional JSON-lines copy for log shippers: one record per line (the canonical record
  // plus prev_hash and hash). Rotated by size: FILE -> FILE.1 -> ... -> FILE.<keep>.
  std::string jsonl_path;
  std::uint64_t jsonl_max_bytes = 64ULL * 1024 * 1024;
  int jsonl_keep = 5;
  int max_attempts = 100;  // appends lost to other writers before giving up (Unavailable)
};

class ChainedLog final : public Recorder {
 public:
  ChainedLog(store::Store& store, Clock& clock, ChainedLogOptions options = {});
  Result<std::int64_t> record(const AuditEntry& entry) override;
  Result<std::int64_t> record_all(const std::vector<AuditEntry>& entries) override;

 private:
  void write_jsonl(const std::string& line);

  store::Store& store_;
  Clock& clock_;
  ChainedLogOptions options_;
  std::mutex mu_;
  // The chain's end as this process last wrote or read it; another writer's append makes
  // ours a Conflict, and then it is read again.
  struct ChainEnd {
    std::int64_t seq = 0;  // 0: the chain is empty
    std::string hash;
    std::int64_t at_ms = 0;
  };
  std::optional<ChainEnd> end_;  // nullopt: unknown, read it from the store
};

inline constexpr std::string_view kAnchorHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

// The canonical bytes of a record (secrets already redacted by the caller).
std::string canonical_record(const AuditEntry& entry, std::int64_t seq, std::int64_t at_ms);
// hex(SHA-256(prev_hash + "\n" + canonical)).
std::string chain_hash(std::string_view prev_hash, std::string_view canonical);

}  // namespace opsrun::audit
