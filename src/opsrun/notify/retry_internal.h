// The retry loop every delivery shares (HTTP channels, the ServiceNow client, SMTP): retry on
// network errors, 429 and 5xx with exponential backoff, honour Retry-After, never retry other
// failures, and never spend more than a bounded time. Internal to the notify module.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "opsrun/common/clock.h"

namespace opsrun::notify::detail {

struct RetryOptions {
  int max_attempts = 4;            // all tries, the first one included
  Millis attempt_timeout{10'000};  // one request (connect + transfer)
  Millis initial_backoff{500};     // then doubled per retry
  Millis max_backoff{30'000};
  Millis budget{120'000};  // all attempts and waits together
};

// Waits between attempts. Returns false when the caller gave up (the notify step was
// cancelled or timed out): the loop then stops at once.
using SleepFn = std::function<bool(Millis)>;

// Where the loop reads time and how it waits. `sleep` empty: sleep on `clock`.
struct Pacing {
  Clock& clock;
  SleepFn sleep;
  std::optional<SystemTime> deadline;  // the caller's own limit, besides the budget
  std::function<bool()> cancelled;     // checked during a transfer (see abort_when_cancelled)
};

// What one attempt says about itself.
struct AttemptVerdict {
  bool retryable = false;             // false: final (success or a failure not worth retrying)
  std::optional<Millis> retry_after;  // the server's Retry-After, when it sent one
  std::string why;                    // "HTTP 503", "connection refused" (for logs)
};

struct RetryReport {
  int attempts = 0;
  // Set when the loop stopped although the last attempt was retryable: why it stopped
  // ("gave up after 4 attempts"); callers add what the last attempt said.
  std::string gave_up;
};

// Calls attempt(n) (n from 1) until it is final, the attempts run out, the next wait would
// pass the budget or deadline, or the sleep is interrupted.
RetryReport run_with_retry(const RetryOptions& options, const Pacing& pacing,
                           const std::function<AttemptVerdict(int)>& attempt);

// Retry-After as seconds ("120") or an HTTP date ("Wed, 21 Oct 2026 07:28:00 GMT"), relative
// to `now`. nullopt when absent or unreadable; a date in the past is zero.
std::optional<Millis> parse_retry_after(std::string_view value, SystemTime now);

// The delay before retry number `retry` (1-based) without a Retry-After.
Millis backoff_delay(const RetryOptions& options, int retry);

}  // namespace opsrun::notify::detail
