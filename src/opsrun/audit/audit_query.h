// Reading the audit log: verify the chain, and the recent records (`opsrun audit verify|tail`,
// GET /api/audit/verify and GET /api/audit).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "opsrun/common/clock.h"
#include "opsrun/common/error.h"
#include "opsrun/common/json.h"

namespace opsrun::store {
class Store;
}

namespace opsrun::audit {

struct VerifyResult {
  bool ok = true;
  std::int64_t records = 0;   // records read
  std::int64_t head_seq = 0;  // the last record (compare it with a copy kept elsewhere:
  std::string head_hash;      // removing records from the end leaves a valid chain)
  // When !ok: the first record that is wrong, what is wrong, and why we think so.
  std::int64_t first_bad_seq = 0;
  std::string problem;  // "altered" | "removed" | "reordered"
  std::string detail;
};

// Walks the whole chain from the anchor. An error only when the store cannot be read.
[[nodiscard]] Result<VerifyResult> verify(store::Store& store);
// {"ok", "records", "head": {"seq","hash"}, and when broken "first_bad_seq","problem","detail"}
Json to_json(const VerifyResult& result);

struct TailQuery {
  int hours = 0;             // 0: any age
  std::string execution_id;  // empty: any
  int limit = 100;           // 1..1000
  std::int64_t cursor = 0;   // 0: from the newest; else records with seq < cursor
};

struct TailPage {
  std::vector<Json> records;     // newest first: the canonical record + prev_hash, hash
  std::int64_t next_cursor = 0;  // 0: no older records match
};

// `now` anchors `hours`. Records are read newest first; with an execution filter and no hours
// the scan may read the whole log (the store has no index by execution).
[[nodiscard]] Result<TailPage> tail(store::Store& store, const TailQuery& query, SystemTime now);

// Failed actions: `action` records with outcome `failed` (one per action that failed for good),
// newest first, each {actionId (the attempt key), at, seq, executionId, runbookId, stepId,
// actor, error, retriedBy: the execution of its retry, or null}. `opsrun actions failed` and
// GET /api/actions/failed.
struct FailedActionsQuery {
  int hours = 24;            // 0: any age
  std::string execution_id;  // empty: any
  int limit = 100;           // 1..1000
};
[[nodiscard]] Result<std::vector<Json>> failed_actions(store::Store& store, const FailedActionsQuery& query,
                                                       SystemTime now);

}  // namespace opsrun::audit
