#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>

#include "opsrun/common/log.h"
#include "opsrun/notify/http_post_internal.h"

namespace opsrun::notify::detail {

namespace {

constexpr std::size_t kBodyCap = 64 * 1024;

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// libcurl calls these inside curl_easy_perform; they must not throw.
std::size_t on_body(char* data, std::size_t size, std::size_t nmemb, void* user) noexcept {
  auto* reply = static_cast<HttpReply*>(user);
  const std::size_t n = size * nmemb;
  try {
    const std::size_t room = reply->body.size() < kBodyCap ? kBodyCap - reply->body.size() : 0;
    reply->body.append(data, std::min(room, n));
  } catch (...) {
    return 0;
  }
  return n;
}

bool header_is(std::string_view line, std::string_view name) {
  if (line.size() <= name.size() || line[name.size()] != ':') return false;
  return std::equal(name.begin(), name.end(), line.begin(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) ==
           std::tolower(static_cast<unsigned char>(b));
  });
}

std::string header_value(std::string_view line, std::size_t name_size) {
  std::string_view v = line.substr(name_size + 1);
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' '))
    v.remove_suffix(1);
  return std::string(v);
}

std::size_t on_header(char* data, std::size_t size, std::size_t nmemb, void* user) noexcept {
  auto* reply = static_cast<HttpReply*>(user);
  const std::size_t n = size * nmemb;
  try {
    const std::string_view line(data, n);
    if (line.starts_with("HTTP/")) {  // a new response (after 100 Continue): forget the last
      reply->retry_after.clear();
      reply->location.clear();
    } else if (header_is(line, "Retry-After")) {
      reply->retry_after = header_value(line, 11);
    } else if (header_is(line, "Location")) {
      reply->location = header_value(line, 8);
    }
  } catch (...) {
    return 0;
  }
  return n;
}

// libcurl's progress callback, about once a second and on every chunk: non-zero aborts.
int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) noexcept {
  const auto* cancelled = static_cast<const std::function<bool()>*>(user);
  try {
    return (*cancelled)() ? 1 : 0;
  } catch (...) {
    return 1;
  }
}

bool retryable_status(long status) { return status == 429 || status >= 500; }

std::string body_excerpt(std::string_view body) {
  std::string out;
  for (char c : body.substr(0, 300)) out += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (body.size() > 300) out += "...";
  return out;
}

}  // namespace

std::string url_origin(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return "(invalid url)";
  const auto host_start = scheme_end + 3;
  auto host_end = url.find_first_of("/?#", host_start);
  std::string_view authority =
      url.substr(host_start, host_end == std::string_view::npos ? std::string_view::npos
                                                                : host_end - host_start);
  if (auto at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
  return std::string(url.substr(0, host_start)) + std::string(authority);
}

std::string form_escape(std::string_view value) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

Millis attempt_timeout(const RetryOptions& options, const Pacing& pacing) {
  if (!pacing.deadline) return options.attempt_timeout;
  const auto left = std::chrono::duration_cast<Millis>(*pacing.deadline - pacing.clock.now());
  return std::clamp(left, Millis(100), std::max(options.attempt_timeout, Millis(100)));
}

void abort_when_cancelled(void* curl, const std::function<bool()>& cancelled) {
  if (!cancelled) return;
  CURL* c = static_cast<CURL*>(curl);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &cancelled);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
}

Result<HttpReply> http_once(const HttpCall& call, Millis timeout,
                            const std::function<bool()>& cancelled) {
  global_init();
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return fail(ErrorCode::Internal, "curl_easy_init failed");
  CURL* c = curl.get();
  HttpReply reply;
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_URL, call.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::min<long long>(timeout.count(), 10'000)));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &reply);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "opsrun");
  if (call.method == "GET") {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  } else {
    if (call.method != "POST") curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, call.method.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, call.body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(call.body.size()));
  }
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  curl_slist* list = curl_slist_append(nullptr, "Expect:");  // no 100-continue round trip
  for (const auto& h : call.headers) list = curl_slist_append(list, h.c_str());
  headers.reset(list);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
  if (!call.basic_user.empty()) {
    curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(c, CURLOPT_USERNAME, call.basic_user.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, call.basic_password.c_str());
  }
  abort_when_cancelled(c, cancelled);
  const CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_ABORTED_BY_CALLBACK)
    return fail(ErrorCode::Cancelled, url_origin(call.url) + ": cancelled during the request");
  if (rc != CURLE_OK) {
    std::string detail = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
    const ErrorCode code =
        rc == CURLE_OPERATION_TIMEDOUT ? ErrorCode::DeadlineExceeded : ErrorCode::Unavailable;
    return fail(code, log::redact(url_origin(call.url) + ": " + detail));
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply.status);
  return reply;
}

Result<HttpReply> http_with_retry(const HttpCall& call, const RetryOptions& options,
                                  const Pacing& pacing, std::string_view what) {
  Result<HttpReply> last = fail(ErrorCode::Internal, "not sent");
  const RetryReport report = run_with_retry(options, pacing, [&](int) {
    last = http_once(call, attempt_timeout(options, pacing), pacing.cancelled);
    AttemptVerdict v;
    if (!last) {
      v.retryable = last.error().code != ErrorCode::Cancelled;
      v.why = std::string(what) + ": " + last.error().message;
    } else if (retryable_status(last->status)) {
      v.retryable = true;
      v.why = std::string(what) + ": HTTP " + std::to_string(last->status) + " from " +
              url_origin(call.url);
      v.retry_after = parse_retry_after(last->retry_after, pacing.clock.now());
    }
    return v;
  });
  if (!last) {
    Error e = last.error();
    e.message = std::string(what) + ": " + e.message;
    if (!report.gave_up.empty()) e.message += "; " + report.gave_up;
    return std::unexpected(std::move(e));
  }
  last->attempts = report.attempts;
  last->gave_up = report.gave_up;
  return last;
}

Error http_failure(std::string_view what, const HttpCall& call, const HttpReply& reply) {
  std::string msg = std::string(what) + ": HTTP " + std::to_string(reply.status) + " from " +
                    url_origin(call.url);
  if (!reply.gave_up.empty())
    msg += "; " + reply.gave_up;
  else if (reply.attempts > 1)
    msg += " (after " + std::to_string(reply.attempts) + " attempts)";
  const std::string excerpt = body_excerpt(reply.body);
  if (!excerpt.empty()) msg += ": " + excerpt;
  ErrorCode code = ErrorCode::InvalidArgument;
  if (reply.status == 401 || reply.status == 403) code = ErrorCode::PermissionDenied;
  if (reply.status == 404) code = ErrorCode::NotFound;
  if (retryable_status(reply.status)) code = ErrorCode::Unavailable;
  return Error{code, log::redact(std::move(msg)), {}};
}

}  // namespace opsrun::notify::detail
