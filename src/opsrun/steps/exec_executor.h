// The `exec` executor: runs an argv list (never a shell), each element rendered as one
// literal argument. The child gets its own process group; on timeout or cancel the whole
// group gets SIGTERM, then SIGKILL after a grace period.
//
// result: {status: "success"|"failure", exit_code, signal?, stdout, stderr,
//          stdout_truncated?, stderr_truncated?, duration_ms}; value: trimmed stdout.
#pragma once

#include "opsrun/steps/executor.h"

namespace opsrun::steps {

struct ExecOptions {
  std::size_t output_cap = 1 << 20;             // bytes kept of stdout and of stderr
  Millis kill_grace{2000};                      // SIGTERM -> SIGKILL
};

class ExecExecutor final : public Executor {
 public:
  explicit ExecExecutor(ExecOptions options = {}) : options_(options) {}
  StepOutcome run(const AttemptRequest& request, CancelToken& cancel) override;

 private:
  ExecOptions options_;
};

// The child's environment: ours, with PATH guaranteed, then the step's `env`, then
// OPSRUN_IDEMPOTENCY_KEY. Exposed for describe() and tests.
std::vector<std::string> build_child_env(const std::map<std::string, std::string>& step_env,
                                         std::string_view idempotency_key);

}  // namespace opsrun::steps
