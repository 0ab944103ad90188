// Runs one child process the way the exec executor needs: argv without a shell, its own
// process group, stdout/stderr captured concurrently with a cap, stdin fed from memory, and
// the whole group terminated on timeout or cancellation. Private to the steps module.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "opsrun/steps/executor.h"

namespace opsrun::steps::detail {

struct ProcessSpec {
  std::vector<std::string> argv;                // argv[0] is looked up in PATH
  std::vector<std::string> env;                 // the child's whole environment, "NAME=value"
  std::string cwd;                              // empty: inherit
  std::optional<std::string> stdin_text;        // none: /dev/null
};

struct ProcessLimits {
  std::size_t output_cap = 1 << 20;             // per stream
  std::optional<Millis> timeout;                // real time, from the spawn
  Millis kill_grace{2000};                      // SIGTERM -> SIGKILL
  Millis drain_after_exit{200};                 // background children may hold the pipes
};

struct ProcessResult {
  bool started = false;
  std::string spawn_error;                      // why it did not start ("no such file: foo")
  int exit_code = -1;                           // -1 when killed by a signal
  int signal = 0;
  std::string out;
  std::string err;
  bool out_truncated = false;
  bool err_truncated = false;
  CancelReason stopped = CancelReason::None;    // why we terminated it, if we did
  Millis duration{0};
};

ProcessResult run_process(const ProcessSpec& spec, const ProcessLimits& limits,
                          CancelToken& cancel);

// "SIGTERM" for 15.
std::string signal_name(int sig);

}  // namespace opsrun::steps::detail
