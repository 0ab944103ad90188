// Calling a timer back over HTTP, and judging the answer by the callback contract:
// 2xx completes (200 {"ok": false, "nextExecuteAt": T} reschedules to T), other 4xx fails for
// good, network errors, 429 and everything else are retried by the policy, honouring Retry-After.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "opsrun/common/clock.h"
#include "opsrun/timers/timer.h"

namespace opsrun::timers {

struct CallbackRequest {
  std::string url;
  std::string method = "POST";
  std::vector<std::pair<std::string, std::string>> headers;  // includes Idempotency-Key etc.
  std::string body;
  Millis timeout{10'000};
};

struct CallbackResponse {
  int status = 0;                               // 0: no HTTP answer (network error, timeout)
  std::string body;                             // at most 64 KiB kept
  std::optional<Millis> retry_after;            // from a Retry-After header
  std::string error;                            // the network error when status is 0
};

// Sends one request. Implementations are thread-safe (one request per call).
class CallbackSender {
 public:
  virtual ~CallbackSender() = default;
  virtual CallbackResponse send(const CallbackRequest& request) = 0;
};

// libcurl, blocking; proxies from the environment as libcurl reads them.
class CurlCallbackSender final : public CallbackSender {
 public:
  CurlCallbackSender();
  CallbackResponse send(const CallbackRequest& request) override;
};

// The request for attempt `attempt` (1-based) of a callback timer.
CallbackRequest callback_request(const TimerSpec& spec, int attempt);

enum class Verdict { Done, Reschedule, Retry, Fail };

struct Decision {
  Verdict verdict = Verdict::Done;
  SystemTime next;                              // Reschedule / Retry: when to fire again
  std::string error;                            // Retry / Fail: what went wrong
};

// What to do after attempt `attempt` answered `response`. `first_attempt` bounds
// max_duration. Pure: tests call it directly.
Decision judge(const CallbackResponse& response, const RetryPolicy& policy, int attempt, SystemTime first_attempt,
               SystemTime now);
// The same for a failed runbook start (Unavailable is retried, other errors fail).
Decision judge_start(const Error& error, const RetryPolicy& policy, int attempt, SystemTime first_attempt,
                     SystemTime now);

}  // namespace opsrun::timers
