// Routes an attempt to its executor (exec, http, lua, builtin, native) and runs notify steps
// through the channel registry. The one entry point the engine uses to perform side effects.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "opsrun/steps/executor.h"

namespace opsrun::notify {
class ChannelRegistry;
}

namespace opsrun::steps {

using BuiltinFn = std::function<StepOutcome(const AttemptRequest&, CancelToken&)>;

struct StepRunnerOptions {
  std::size_t output_cap = 1 << 20;             // bytes of stdout/stderr (and http body) kept
  std::vector<std::string> env_allow;           // variables `{{ env.NAME }}` may read
  Millis kill_grace{2000};                      // exec: SIGTERM to the group, then SIGKILL
  std::size_t lua_memory_limit = 64u << 20;     // bytes per Lua state
  std::uint64_t lua_instruction_limit = 200'000'000;  // VM instructions per Lua attempt
};

class StepRunner {
 public:
  StepRunner(StepRunnerOptions options, notify::ChannelRegistry& channels);
  ~StepRunner();

  // Performs the attempt (check/action/decision executors, notify). Never throws.
  StepOutcome run(const AttemptRequest& request, CancelToken& cancel);
  // What the attempt would do, fully rendered, without doing it (dry-run and audit):
  // {"exec": [...argv], "env": {...}} or {"http": {"method", "url"}} or {"lua": "..."} ...
  Json describe(const AttemptRequest& request) const;
  // Adds or replaces a built-in (noop, sleep, fail, log are registered by default).
  void register_builtin(std::string name, BuiltinFn fn);
  [[nodiscard]] bool has_builtin(std::string_view name) const;
  // The engine passes options().env_allow to make_scope.
  [[nodiscard]] const StepRunnerOptions& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The scope templates and scripts see: {ctx, results, item, index, execution:{id}, env}.
Json make_scope(const Json& ctx, const Json& results, const Json& item, int index,
                std::string_view execution_id, const std::vector<std::string>& env_allow);

}  // namespace opsrun::steps
