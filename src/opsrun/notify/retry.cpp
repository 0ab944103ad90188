#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <ctime>
#include <mutex>

#include "opsrun/common/log.h"
#include "opsrun/notify/retry_internal.h"

namespace opsrun::notify::detail {

namespace {

bool sleep_on_clock(Clock& clock, Millis d) {
  std::mutex mu;
  std::condition_variable cv;
  std::unique_lock lock(mu);
  clock.wait_until(lock, cv, clock.now() + d, [] { return false; });
  return true;
}

std::string seconds_text(Millis d) { return std::to_string((d.count() + 999) / 1000) + "s"; }

}  // namespace

Millis backoff_delay(const RetryOptions& options, int retry) {
  Millis d = options.initial_backoff;
  for (int i = 1; i < retry && d < options.max_backoff; ++i) d *= 2;
  return std::min(d, options.max_backoff);
}

std::optional<Millis> parse_retry_after(std::string_view value, SystemTime now) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t' || value.back() == '\r'))
    value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  long long secs = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), secs);
  if (ec == std::errc{} && ptr == value.data() + value.size()) {
    if (secs < 0) return std::nullopt;
    return Millis(std::min<long long>(secs, 365LL * 24 * 3600) * 1000);
  }
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
  std::tm tm{};
  const std::string text(value);
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  const std::time_t t = timegm(&tm);
  if (t == static_cast<std::time_t>(-1)) return std::nullopt;
  const auto at = std::chrono::system_clock::from_time_t(t);
  if (at <= now) return Millis(0);
  return std::chrono::duration_cast<Millis>(at - now);
}

RetryReport run_with_retry(const RetryOptions& options, const Pacing& pacing,
                           const std::function<AttemptVerdict(int)>& attempt) {
  RetryReport report;
  SystemTime deadline = pacing.clock.now() + options.budget;
  if (pacing.deadline && *pacing.deadline < deadline) deadline = *pacing.deadline;
  const int max_attempts = std::max(1, options.max_attempts);
  for (int n = 1;; ++n) {
    report.attempts = n;
    const AttemptVerdict v = attempt(n);
    if (!v.retryable) return report;
    if (n >= max_attempts) {
      report.gave_up = "gave up after " + std::to_string(n) + " attempt" + (n == 1 ? "" : "s");
      return report;
    }
    const Millis wait = v.retry_after ? *v.retry_after : backoff_delay(options, n);
    if (pacing.clock.now() + wait > deadline) {
      report.gave_up = "gave up after " + std::to_string(n) + " attempt" + (n == 1 ? "" : "s") +
                       ": the next try (in " + seconds_text(wait) +
                       ") would pass the delivery time limit";
      return report;
    }
    log::info("delivery retry", {{"why", v.why},
                                 {"attempt", std::to_string(n)},
                                 {"retry_in_ms", std::to_string(wait.count())}});
    const bool slept = pacing.sleep ? pacing.sleep(wait) : sleep_on_clock(pacing.clock, wait);
    if (!slept) {
      report.gave_up = "cancelled after " + std::to_string(n) + " attempt" + (n == 1 ? "" : "s");
      return report;
    }
  }
}

}  // namespace opsrun::notify::detail
