// Executors perform one attempt of a step: exec (argv process), http, lua, built-ins, and
// C++ callables. The engine calls them on worker threads; they block until done, and return
// promptly when the attempt is cancelled (timeout, execution cancel, fail_fast).
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "opsrun/common/clock.h"
#include "opsrun/common/json.h"
#include "opsrun/model/runbook.h"

namespace opsrun::steps {

enum class CancelReason { None, Timeout, Cancelled };

// Shared between the engine and a running attempt. Thread-safe.
class CancelToken {
 public:
  explicit CancelToken(Clock& clock);
  ~CancelToken();
  CancelToken(const CancelToken&) = delete;
  CancelToken& operator=(const CancelToken&) = delete;

  void request(CancelReason reason);
  [[nodiscard]] CancelReason reason() const { return reason_.load(); }
  [[nodiscard]] bool requested() const { return reason_.load() != CancelReason::None; }
  // Readable once cancellation is requested, for poll() loops (an eventfd).
  [[nodiscard]] int fd() const { return fd_; }
  // Sleeps `d` on the clock (simulated in tests); returns false if cancelled first.
  bool sleep_for(Millis d);
  [[nodiscard]] Clock& clock() { return clock_; }

 private:
  Clock& clock_;
  std::atomic<CancelReason> reason_{CancelReason::None};
  int fd_ = -1;
  std::mutex mu_;
  std::condition_variable cv_;
};

struct AttemptRequest {
  const model::Runbook* runbook = nullptr;
  const model::Step* step = nullptr;
  std::string execution_id;
  int attempt = 1;                              // 1-based
  std::string idempotency_key;                  // "<execution>/<step>[#index]/<attempt>"
  Json scope;                                   // {ctx, results, item, index, execution, env}
  std::optional<Millis> timeout;                // the engine also cancels at the deadline
  bool dry_run = false;
};

struct StepOutcome {
  bool ok = false;
  // results.<step>: {status, exit_code, stdout, stderr, http_status, body, json, value,
  // attempts, duration_ms}; executors fill what applies.
  Json result = JsonObject{};
  Json value;                                   // check truthiness, decision branch, save_as
  std::string error;                            // why it failed, for errors[] and history
  bool timed_out = false;
  bool cancelled = false;
  JsonObject ctx_updates;                       // ctx fields a script or callable assigned
};

class Executor {
 public:
  virtual ~Executor() = default;
  virtual StepOutcome run(const AttemptRequest& request, CancelToken& cancel) = 0;
};

}  // namespace opsrun::steps
