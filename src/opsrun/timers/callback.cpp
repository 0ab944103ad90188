#include "opsrun/timers/callback.h"

#include <curl/curl.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <mutex>

namespace opsrun::timers {

namespace {

constexpr std::size_t kBodyCap = 64 * 1024;

struct EasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct ListDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

// Called from inside curl_easy_perform: must not throw.
std::size_t keep_body(char* data, std::size_t size, std::size_t n, void* user) noexcept {
  auto* body = static_cast<std::string*>(user);
  const std::size_t len = size * n;
  if (body->size() < kBodyCap) body->append(data, std::min(len, kBodyCap - body->size()));
  return len;
}

Decision retry_or_fail(std::string error, const RetryPolicy& policy, int attempt, SystemTime first_attempt,
                       SystemTime now, std::optional<Millis> retry_after) {
  if (attempt >= policy.max_attempts)
    return {Verdict::Fail, {}, "gave up after " + std::to_string(attempt) + " attempts: " + error};
  double backoff = static_cast<double>(policy.initial_interval.count()) *
                   std::pow(policy.backoff_multiplier, std::max(0, attempt - 1));
  backoff = std::min(backoff, static_cast<double>(policy.max_interval.count()));
  Millis wait(static_cast<std::int64_t>(backoff));
  if (retry_after) wait = std::max(wait, std::min(*retry_after, Millis(std::chrono::hours(24))));
  const SystemTime next = now + wait;
  if (policy.max_duration.count() > 0 && next - first_attempt > policy.max_duration)
    return {Verdict::Fail, {}, "gave up after " + std::to_string(attempt) + " attempts (max duration " +
                                   std::to_string(policy.max_duration.count()) + " ms): " + error};
  return {Verdict::Retry, next, std::move(error)};
}

std::string snippet(std::string_view body) {
  std::string s(body.substr(0, 200));
  for (char& c : s)
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  return s;
}

}  // namespace

CurlCallbackSender::CurlCallbackSender() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

CallbackResponse CurlCallbackSender::send(const CallbackRequest& request) {
  CallbackResponse out;
  // One handle per delivery thread, reset between requests: its connection cache lets a
  // callback endpoint that keeps connections alive be called without a new TCP handshake.
  thread_local std::unique_ptr<CURL, EasyDeleter> curl(curl_easy_init());
  if (!curl) {
    out.error = "libcurl could not start a request";
    return out;
  }
  CURL* h = curl.get();
  curl_easy_reset(h);
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, keep_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &out.body);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min<std::int64_t>(request.timeout.count(), 10'000)));
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_USERAGENT, "opsrun-timers");
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.c_str());
  std::unique_ptr<curl_slist, ListDeleter> list;
  auto add = [&list](const std::string& line) {
    curl_slist* next = curl_slist_append(list.get(), line.c_str());
    if (next) {
      (void)list.release();
      list.reset(next);
    }
  };
  add("Content-Type: application/json");
  add("Expect:");
  for (const auto& [k, v] : request.headers) add(k + ": " + v);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, list.get());
  const CURLcode rc = curl_easy_perform(h);
  if (rc != CURLE_OK) {
    out.error = errbuf[0] != '\0' ? std::string(errbuf) : std::string(curl_easy_strerror(rc));
    return out;
  }
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  out.status = static_cast<int>(status);
  curl_off_t retry_after = 0;
  if (curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK && retry_after > 0)
    out.retry_after = Millis(static_cast<std::int64_t>(retry_after) * 1000);
  return out;
}

CallbackRequest callback_request(const TimerSpec& spec, int attempt) {
  CallbackRequest r;
  r.url = spec.callback->url;
  r.method = spec.callback->method;
  r.timeout = spec.retry.timeout;
  r.headers = spec.callback->headers;
  r.headers.emplace_back("Idempotency-Key", spec.id);
  r.headers.emplace_back("X-Opsrun-Attempt", std::to_string(attempt));
  JsonObject body;
  body["timerId"] = spec.id;
  body["groupId"] = spec.group_id;
  body["namespace"] = spec.group_id;
  body["payload"] = spec.callback->body;
  body["executeAt"] = format_time(spec.execute_at);
  body["attempt"] = attempt;
  r.body = to_json_text(body);
  return r;
}

Decision judge(const CallbackResponse& response, const RetryPolicy& policy, int attempt, SystemTime first_attempt,
               SystemTime now) {
  const int s = response.status;
  if (s >= 200 && s < 300) {
    if (s == 200) {
      auto body = parse_json(response.body);
      if (body && body->is_object()) {
        const auto& o = body->as_object();
        const Json* ok = o.if_contains("ok");
        const Json* next = o.if_contains("nextExecuteAt");
        SystemTime t;
        if (ok && ok->is_bool() && !ok->as_bool() && next && next->is_string() && parse_time(next->as_string(), t))
          return {Verdict::Reschedule, from_unix_ms(to_unix_ms(t)), {}};
      }
    }
    return {Verdict::Done, {}, {}};
  }
  if (s == 0) return retry_or_fail("network error: " + response.error, policy, attempt, first_attempt, now, {});
  const std::string what = "HTTP " + std::to_string(s) + (response.body.empty() ? "" : ": " + snippet(response.body));
  if (s >= 400 && s < 500 && s != 429) return {Verdict::Fail, {}, what + " (a 4xx answer is not retried)"};
  return retry_or_fail(what, policy, attempt, first_attempt, now, response.retry_after);
}

Decision judge_start(const Error& error, const RetryPolicy& policy, int attempt, SystemTime first_attempt,
                     SystemTime now) {
  if (error.code == ErrorCode::Unavailable)
    return retry_or_fail(error.describe(), policy, attempt, first_attempt, now, {});
  return {Verdict::Fail, {}, "runbook not started: " + error.describe()};
}

}  // namespace opsrun::timers
