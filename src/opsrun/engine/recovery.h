// Rebuilding executions from their stored history (engine-internal).
#pragma once

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "opsrun/common/error.h"
#include "opsrun/engine/core.h"
#include "opsrun/store/store.h"

namespace opsrun::engine {

struct Replayed {
  ExecutionState state;
  std::int64_t last_seq = 0;
  // Attempts whose attempt_started was recorded but whose result never was: the side
  // effect may have begun before the crash.
  std::set<std::string> open_attempts;
};

using RunbookLookup = std::function<model::RunbookPtr(std::string_view)>;

// Replays the recorded inputs through the core (commands discarded).
[[nodiscard]] Result<Replayed> replay_history(const std::vector<store::EventRecord>& events,
                                              const RunbookLookup& find_runbook);

// The command that re-runs an in-flight attempt of a replayed execution.
Command relaunch_command(const ExecutionState& st, const std::string& key);

}  // namespace opsrun::engine
