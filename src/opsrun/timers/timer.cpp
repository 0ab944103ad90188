#include "opsrun/timers/timer.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "opsrun/common/ids.h"

namespace opsrun::timers {

namespace {

std::string field(std::string_view where, std::string_view name) {
  return where.empty() ? std::string(name) : std::string(where) + "." + std::string(name);
}

Result<std::int64_t> int_field(const Json& v, const std::string& where, std::int64_t lo, std::int64_t hi) {
  std::int64_t n = 0;
  if (v.is_int64()) n = v.as_int64();
  else if (v.is_uint64() && v.as_uint64() <= static_cast<std::uint64_t>(hi)) n = static_cast<std::int64_t>(v.as_uint64());
  else if (v.is_double() && std::floor(v.as_double()) == v.as_double() && std::abs(v.as_double()) < 9e15)
    n = static_cast<std::int64_t>(v.as_double());
  else return fail(ErrorCode::InvalidArgument, "must be a whole number", where);
  if (n < lo || n > hi)
    return fail(ErrorCode::InvalidArgument,
                "must be between " + std::to_string(lo) + " and " + std::to_string(hi), where);
  return n;
}

Result<std::string> string_field(const Json& v, const std::string& where) {
  if (!v.is_string()) return fail(ErrorCode::InvalidArgument, "must be a string", where);
  return std::string(v.as_string());
}

bool is_secret_header(std::string_view name) {
  std::string n(name);
  std::ranges::transform(n, n.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const char* s : {"authorization", "cookie", "token", "secret", "password", "api-key", "apikey"})
    if (n.find(s) != std::string::npos) return true;
  return false;
}

Result<Callback> parse_callback(const Json& v, const std::string& where, const ParseLimits& limits) {
  if (!v.is_object()) return fail(ErrorCode::InvalidArgument, "must be an object {url, method, headers, body}", where);
  Callback cb;
  bool has_url = false;
  for (const auto& [key, value] : v.as_object()) {
    const std::string at = field(where, key);
    if (key == "url") {
      auto s = string_field(value, at);
      if (!s) return std::unexpected(s.error());
      if (auto ok = check_callback_url(*s, at, limits.max_url); !ok) return std::unexpected(ok.error());
      cb.url = std::move(*s);
      has_url = true;
    } else if (key == "method") {
      auto s = string_field(value, at);
      if (!s) return std::unexpected(s.error());
      if (*s != "POST" && *s != "PUT" && *s != "PATCH")
        return fail(ErrorCode::InvalidArgument, "must be POST, PUT or PATCH", at);
      cb.method = std::move(*s);
    } else if (key == "headers") {
      if (!value.is_object()) return fail(ErrorCode::InvalidArgument, "must be an object of strings", at);
      for (const auto& [name, hv] : value.as_object()) {
        if (!hv.is_string()) return fail(ErrorCode::InvalidArgument, "must be a string", field(at, name));
        cb.headers.emplace_back(std::string(name), std::string(hv.as_string()));
      }
    } else if (key == "body") {
      cb.body = value;
    } else {
      return fail(ErrorCode::InvalidArgument, "unknown field (expected url, method, headers, body)", at);
    }
  }
  if (!has_url) return fail(ErrorCode::InvalidArgument, "is required", field(where, "url"));
  return cb;
}

Result<RunbookStart> parse_runbook(const Json& v, const std::string& where) {
  if (!v.is_object()) return fail(ErrorCode::InvalidArgument, "must be an object {id, context}", where);
  RunbookStart rb;
  for (const auto& [key, value] : v.as_object()) {
    const std::string at = field(where, key);
    if (key == "id" || key == "runbookId") {
      auto s = string_field(value, at);
      if (!s) return std::unexpected(s.error());
      if (s->empty()) return fail(ErrorCode::InvalidArgument, "must not be empty", at);
      rb.id = std::move(*s);
    } else if (key == "context") {
      if (!value.is_object()) return fail(ErrorCode::InvalidArgument, "must be an object", at);
      rb.context = value;
    } else {
      return fail(ErrorCode::InvalidArgument, "unknown field (expected id, context)", at);
    }
  }
  if (rb.id.empty()) return fail(ErrorCode::InvalidArgument, "is required", field(where, "id"));
  return rb;
}

Result<void> check_id(std::string_view id, const std::string& where, std::size_t max) {
  if (id.empty() || id.size() > max)
    return fail(ErrorCode::InvalidArgument, "must be 1 to " + std::to_string(max) + " characters", where);
  for (unsigned char c : id)
    if (!std::isalnum(c) && c != '-' && c != '_' && c != '.' && c != ':')
      return fail(ErrorCode::InvalidArgument, "may hold only letters, digits and - _ . :", where);
  return {};
}

Json headers_to_json(const std::vector<std::pair<std::string, std::string>>& headers, bool redact) {
  JsonObject h;
  for (const auto& [k, v] : headers) h[k] = redact && is_secret_header(k) ? std::string("***") : v;
  return h;
}

Json spec_to_payload(const TimerSpec& s) {
  JsonObject o;
  o["execute_at"] = format_time(s.execute_at);
  if (s.delay_ms) o["delay_ms"] = *s.delay_ms;
  if (s.callback) {
    JsonObject cb;
    cb["url"] = s.callback->url;
    cb["method"] = s.callback->method;
    cb["headers"] = headers_to_json(s.callback->headers, false);
    cb["body"] = s.callback->body;
    o["callback"] = std::move(cb);
  }
  if (s.runbook) o["runbook"] = JsonObject{{"id", s.runbook->id}, {"context", s.runbook->context}};
  o["retry"] = retry_to_json(s.retry);
  return o;
}

}  // namespace

Result<void> check_callback_url(std::string_view url, std::string_view where, std::size_t max) {
  const std::string at(where);
  if (url.size() > max)
    return fail(ErrorCode::InvalidArgument, "is longer than " + std::to_string(max) + " characters", at);
  const auto colon = url.find("://");
  if (colon == std::string_view::npos)
    return fail(ErrorCode::InvalidArgument, "'" + std::string(url) + "' is not a URL (expected http://host/...)", at);
  std::string scheme(url.substr(0, colon));
  std::ranges::transform(scheme, scheme.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (scheme != "http" && scheme != "https")
    return fail(ErrorCode::InvalidArgument, "scheme '" + scheme + "' is not allowed (only http and https)", at);
  const std::string_view rest = url.substr(colon + 3);
  const std::string_view host = rest.substr(0, rest.find_first_of("/?#"));
  if (host.empty() || host.front() == ':')
    return fail(ErrorCode::InvalidArgument, "'" + std::string(url) + "' has no host", at);
  for (unsigned char c : url)
    if (c <= 0x20 || c == 0x7f) return fail(ErrorCode::InvalidArgument, "contains spaces or control characters", at);
  return {};
}

Result<RetryPolicy> parse_retry(const Json& v, std::string_view where) {
  const std::string w(where);
  if (!v.is_object()) return fail(ErrorCode::InvalidArgument, "must be an object", w);
  RetryPolicy r;
  for (const auto& [key, value] : v.as_object()) {
    const std::string at = field(w, key);
    if (key == "backoff_multiplier") {
      if (!value.is_number()) return fail(ErrorCode::InvalidArgument, "must be a number", at);
      const double m = value.to_number<double>();
      if (!(m >= 1.0 && m <= 100.0)) return fail(ErrorCode::InvalidArgument, "must be between 1 and 100", at);
      r.backoff_multiplier = m;
      continue;
    }
    constexpr std::int64_t kDay = 24LL * 3600 * 1000;
    Result<std::int64_t> n = fail(ErrorCode::InvalidArgument, "", at);
    if (key == "max_attempts") {
      n = int_field(value, at, 1, 1000);
      if (n) r.max_attempts = static_cast<int>(*n);
    } else if (key == "initial_interval_ms") {
      n = int_field(value, at, 0, kDay);
      if (n) r.initial_interval = Millis(*n);
    } else if (key == "max_interval_ms") {
      n = int_field(value, at, 0, kDay);
      if (n) r.max_interval = Millis(*n);
    } else if (key == "max_duration_ms") {
      n = int_field(value, at, 0, 30 * kDay);
      if (n) r.max_duration = Millis(*n);
    } else if (key == "timeout_ms") {
      n = int_field(value, at, 1, 300'000);
      if (n) r.timeout = Millis(*n);
    } else {
      return fail(ErrorCode::InvalidArgument,
                  "unknown field (expected max_attempts, initial_interval_ms, backoff_multiplier, "
                  "max_interval_ms, max_duration_ms, timeout_ms)",
                  at);
    }
    if (!n) return std::unexpected(n.error());
  }
  return r;
}

Json retry_to_json(const RetryPolicy& r) {
  JsonObject o;
  o["max_attempts"] = r.max_attempts;
  o["initial_interval_ms"] = r.initial_interval.count();
  o["backoff_multiplier"] = r.backoff_multiplier;
  o["max_interval_ms"] = r.max_interval.count();
  o["max_duration_ms"] = r.max_duration.count();
  o["timeout_ms"] = r.timeout.count();
  return o;
}

Result<TimerSpec> parse_timer(const Json& value, SystemTime now, std::string_view where, const ParseLimits& limits) {
  const std::string w(where);
  if (!value.is_object()) return fail(ErrorCode::InvalidArgument, "a timer must be a JSON object", w);
  TimerSpec spec;
  bool has_time = false;
  for (const auto& [key, v] : value.as_object()) {
    const std::string at = field(w, key);
    if (key == "id") {
      auto s = string_field(v, at);
      if (!s) return std::unexpected(s.error());
      if (auto ok = check_id(*s, at, limits.max_id); !ok) return std::unexpected(ok.error());
      spec.id = std::move(*s);
    } else if (key == "group_id") {
      auto s = string_field(v, at);
      if (!s) return std::unexpected(s.error());
      if (auto ok = check_id(*s, at, limits.max_id); !ok) return std::unexpected(ok.error());
      spec.group_id = std::move(*s);
    } else if (key == "execute_at" || key == "delay_ms") {
      if (has_time) return fail(ErrorCode::InvalidArgument, "give either execute_at or delay_ms, not both", at);
      has_time = true;
      if (key == "execute_at") {
        if (!v.is_string() || !parse_time(v.as_string(), spec.execute_at))
          return fail(ErrorCode::InvalidArgument, "must be an RFC 3339 time like 2026-11-22T10:00:00.250Z", at);
      } else {
        auto n = int_field(v, at, 0, limits.max_ahead.count());
        if (!n) return std::unexpected(n.error());
        spec.delay_ms = *n;
        spec.execute_at = now + Millis(*n);
      }
    } else if (key == "callback") {
      auto cb = parse_callback(v, at, limits);
      if (!cb) return std::unexpected(cb.error());
      spec.callback = std::move(*cb);
    } else if (key == "runbook") {
      auto rb = parse_runbook(v, at);
      if (!rb) return std::unexpected(rb.error());
      spec.runbook = std::move(*rb);
    } else if (key == "retry") {
      auto r = parse_retry(v, at);
      if (!r) return std::unexpected(r.error());
      spec.retry = *r;
    } else {
      return fail(ErrorCode::InvalidArgument,
                  "unknown field (expected id, group_id, execute_at, delay_ms, callback, runbook, retry)", at);
    }
  }
  if (!has_time) return fail(ErrorCode::InvalidArgument, "execute_at or delay_ms is required", field(w, "execute_at"));
  if (spec.callback.has_value() == spec.runbook.has_value())
    return fail(ErrorCode::InvalidArgument, "exactly one of callback and runbook is required", field(w, "callback"));
  if (spec.execute_at > now + limits.max_ahead)
    return fail(ErrorCode::InvalidArgument,
                format_time(spec.execute_at) + " is absurdly far ahead (at most " +
                    std::to_string(limits.max_ahead.count() / 86'400'000) + " days)",
                field(w, "execute_at"));
  // Milliseconds are the store's resolution; finer fractions are cut.
  spec.execute_at = from_unix_ms(to_unix_ms(spec.execute_at));
  spec.in_past = spec.execute_at < now && !spec.delay_ms;
  if (spec.id.empty()) spec.id = new_timer_id(now);
  return spec;
}

int shard_of(std::string_view id) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : id) h = (h ^ c) * 1099511628211ULL;
  return static_cast<int>(h % kShards);
}

std::string new_timer_id(SystemTime now) { return "tmr-" + std::to_string(to_unix_ms(now)) + "-" + random_hex(8); }

store::TimerRow to_row(const TimerSpec& spec, SystemTime now) {
  store::TimerRow row;
  row.id = spec.id;
  row.group_id = spec.group_id;
  row.shard = shard_of(spec.id);
  row.due_at_ms = to_unix_ms(spec.execute_at);
  row.status = "pending";
  row.payload = to_json_text(spec_to_payload(spec));
  row.created_at_ms = to_unix_ms(now);
  return row;
}

Result<TimerSpec> from_row(const store::TimerRow& row) {
  auto payload = parse_json(row.payload);
  if (!payload || !payload->is_object())
    return fail(ErrorCode::InvalidArgument, "timer " + row.id + ": stored payload is not a JSON object");
  const auto& o = payload->as_object();
  TimerSpec spec;
  spec.id = row.id;
  spec.group_id = row.group_id;
  const Json* at = o.if_contains("execute_at");
  if (!at || !at->is_string() || !parse_time(at->as_string(), spec.execute_at))
    spec.execute_at = from_unix_ms(row.due_at_ms);
  if (const Json* d = o.if_contains("delay_ms"); d && d->is_int64()) spec.delay_ms = d->as_int64();
  ParseLimits lax;
  lax.max_url = 1 << 20;
  if (const Json* cb = o.if_contains("callback")) {
    auto parsed = parse_callback(*cb, "callback", lax);
    if (!parsed) return fail(ErrorCode::InvalidArgument, "timer " + row.id + ": " + parsed.error().describe());
    spec.callback = std::move(*parsed);
  }
  if (const Json* rb = o.if_contains("runbook")) {
    auto parsed = parse_runbook(*rb, "runbook");
    if (!parsed) return fail(ErrorCode::InvalidArgument, "timer " + row.id + ": " + parsed.error().describe());
    spec.runbook = std::move(*parsed);
  }
  if (const Json* r = o.if_contains("retry")) {
    auto parsed = parse_retry(*r, "retry");
    if (parsed) spec.retry = *parsed;
  }
  return spec;
}

bool same_content(const store::TimerRow& existing, const TimerSpec& incoming) {
  if (existing.group_id != incoming.group_id) return false;
  auto stored = parse_json(existing.payload);
  if (!stored || !stored->is_object()) return false;
  Json asked = spec_to_payload(incoming);
  if (incoming.delay_ms) {
    stored->as_object().erase("execute_at");
    asked.as_object().erase("execute_at");
  }
  return *stored == asked;
}

Result<TimerSpec> apply_patch(const TimerSpec& spec, const Json& changes, SystemTime now, const ParseLimits& limits) {
  if (!changes.is_object()) return fail(ErrorCode::InvalidArgument, "the body must be a JSON object");
  JsonObject merged = spec_to_payload(spec).as_object();
  merged.erase("delay_ms");  // a kept time stays where it was, not now + delay
  for (const auto& [key, v] : changes.as_object()) {
    const std::string k(key);
    if (k == "execute_at" || k == "delay_ms") {
      merged.erase("execute_at");
      merged[k] = v;
    } else if (k == "callback" || k == "runbook") {
      merged.erase("callback");
      merged.erase("runbook");
      merged[k] = v;
    } else if (k == "payload") {
      if (!spec.callback) return fail(ErrorCode::InvalidArgument, "only a callback timer has a payload", k);
      if (auto* cb = merged.if_contains("callback"); cb && cb->is_object()) cb->as_object()["body"] = v;
    } else if (k == "retry") {
      if (!v.is_object()) return fail(ErrorCode::InvalidArgument, "must be an object", k);
      JsonObject& r = merged["retry"].as_object();
      for (const auto& [rk, rv] : v.as_object()) r[rk] = rv;
    } else {
      return fail(ErrorCode::InvalidArgument,
                  "cannot be changed (PATCH takes execute_at, delay_ms, callback, payload, runbook, retry)", k);
    }
  }
  merged["id"] = spec.id;
  merged["group_id"] = spec.group_id;
  return parse_timer(merged, now, "", limits);
}

Json timer_to_json(const store::TimerRow& row) {
  JsonObject o;
  o["id"] = row.id;
  o["group_id"] = row.group_id;
  o["status"] = row.status;
  o["shard"] = row.shard;
  auto spec = from_row(row);
  const SystemTime execute_at = spec ? spec->execute_at : from_unix_ms(row.due_at_ms);
  o["execute_at"] = format_time(execute_at);
  if (row.status == "pending") o["next_attempt_at"] = format_time(from_unix_ms(row.due_at_ms));
  if (spec && spec->callback) {
    JsonObject cb;
    cb["url"] = spec->callback->url;
    cb["method"] = spec->callback->method;
    cb["headers"] = headers_to_json(spec->callback->headers, true);
    cb["body"] = spec->callback->body;
    o["callback"] = std::move(cb);
  }
  if (spec && spec->runbook) o["runbook"] = JsonObject{{"id", spec->runbook->id}, {"context", spec->runbook->context}};
  if (spec) o["retry"] = retry_to_json(spec->retry);
  o["attempts"] = row.attempts;
  o["created_at"] = format_time(from_unix_ms(row.created_at_ms));
  if (row.executed_at_ms) {
    o["executed_at"] = format_time(from_unix_ms(*row.executed_at_ms));
    o["lateness_ms"] = *row.executed_at_ms - to_unix_ms(execute_at);
  } else {
    o["executed_at"] = nullptr;
  }
  o["last_error"] = row.last_error;
  return o;
}

}  // namespace opsrun::timers
