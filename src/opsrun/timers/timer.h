// The timer model: what a client asks for (TimerSpec), how it is parsed from the API's JSON,
// and how it is kept in the store (TimerRow.payload holds the spec as canonical JSON text).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "opsrun/common/clock.h"
#include "opsrun/common/error.h"
#include "opsrun/common/json.h"
#include "opsrun/store/store.h"

namespace opsrun::timers {

inline constexpr int kShards = 32;

// How often and how far apart a failing callback is tried again.
struct RetryPolicy {
  int max_attempts = 5;                         // including the first
  Millis initial_interval{1000};
  double backoff_multiplier = 2.0;
  Millis max_interval{60'000};
  Millis max_duration{0};                       // 0: no limit; counted from the first attempt
  Millis timeout{10'000};                       // per callback request
  bool operator==(const RetryPolicy&) const = default;
};

struct Callback {
  std::string url;
  std::string method = "POST";
  std::vector<std::pair<std::string, std::string>> headers;
  Json body;                                    // the payload sent as "payload"
};

struct RunbookStart {
  std::string id;
  Json context = JsonObject{};
};

struct TimerSpec {
  std::string id;
  std::string group_id = "default";
  SystemTime execute_at;
  std::optional<std::int64_t> delay_ms;         // set when the client gave a delay
  std::optional<Callback> callback;
  std::optional<RunbookStart> runbook;
  RetryPolicy retry;
  bool in_past = false;                         // asked for a time already gone: fires now
};

struct ParseLimits {
  Millis max_ahead{std::chrono::hours(24 * 366 * 10)};  // later than this is refused
  std::size_t max_id = 255;
  std::size_t max_url = 2048;
};

// Parses one timer object. `where` prefixes field names in errors ("timers[3]").
// A missing id is generated. Errors are InvalidArgument with `where` = the field path.
[[nodiscard]] Result<TimerSpec> parse_timer(const Json& value, SystemTime now, std::string_view where,
                                            const ParseLimits& limits = {});
[[nodiscard]] Result<RetryPolicy> parse_retry(const Json& value, std::string_view where);
// http:// or https:// with a host, at most `max` characters.
[[nodiscard]] Result<void> check_callback_url(std::string_view url, std::string_view where, std::size_t max);

// hash(id) % 32, stable across builds (FNV-1a).
int shard_of(std::string_view id);
std::string new_timer_id(SystemTime now);

// The store row for a new timer (pending, attempts 0).
store::TimerRow to_row(const TimerSpec& spec, SystemTime now);
// The spec back from a stored row; InvalidArgument if the payload is unreadable.
[[nodiscard]] Result<TimerSpec> from_row(const store::TimerRow& row);
// Whether `incoming` asks for the same timer as the stored `existing` (idempotent create).
// A delay-based request matches whatever time the first request computed.
bool same_content(const store::TimerRow& existing, const TimerSpec& incoming);
// `spec` with the changes of a PATCH body applied (execute_at or delay_ms, callback, payload
// as the callback body, runbook, retry; retry fields merge). Errors name the field.
[[nodiscard]] Result<TimerSpec> apply_patch(const TimerSpec& spec, const Json& changes, SystemTime now,
                                            const ParseLimits& limits = {});

Json retry_to_json(const RetryPolicy& r);
// The API's view of a stored timer.
Json timer_to_json(const store::TimerRow& row);

}  // namespace opsrun::timers
