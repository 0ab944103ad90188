// The audit contract: whoever decides or performs something worth auditing (the safety layer,
// the engine, operator verbs) hands an AuditEntry to a Recorder. The hash-chained log over
// the store (chained_log.h) is the production Recorder; tests may use an in-memory one.
// Secrets are redacted by the Recorder before anything is written.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "opsrun/common/error.h"
#include "opsrun/common/json.h"

namespace opsrun::audit {

struct AuditEntry {
  std::string actor;           // token name, trigger ("schedule:nightly"), or "system"
  std::string kind;            // "action", "safety_decision", "emergency_stop", "resume", ...
  std::string execution_id;    // empty when not about an execution
  std::string step_id;
  std::string target;          // the step's target resource name, if any
  std::string action;          // the action as run: argv / "POST https://..." (redacted)
  std::string decision;        // allow | deny | needs_approval, or empty
  std::string reason;
  std::string outcome;         // succeeded | failed | skipped | pending, or empty
  bool dry_run = false;
  Json details;                // null or an object with anything else worth keeping
};

class Recorder {
 public:
  virtual ~Recorder() = default;
  // Durable when it returns ok: callers audit a decision before acting on it.
  // Returns the record's sequence number.
  virtual Result<std::int64_t> record(const AuditEntry& entry) = 0;
  // Several entries, in order; the production Recorder writes them in one transaction, all
  // or none, so a turn's decisions cost one durable write. Returns the last sequence number.
  virtual Result<std::int64_t> record_all(const std::vector<AuditEntry>& entries) {
    Result<std::int64_t> last = 0;
    for (const auto& e : entries)
      if (last = record(e); !last) return last;
    return last;
  }
};

}  // namespace opsrun::audit
