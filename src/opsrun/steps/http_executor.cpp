#include "opsrun/steps/http_executor.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <memory>
#include <mutex>

#include "opsrun/steps/render_internal.h"

namespace opsrun::steps {

namespace {

struct CurlEasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct CurlSlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

struct Transfer {
  std::string body;
  std::size_t cap = 0;
  bool truncated = false;
  CancelToken* cancel = nullptr;
};

// libcurl calls these from inside curl_easy_perform; they must not throw.
std::size_t on_body(char* data, std::size_t size, std::size_t nmemb, void* user) noexcept {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t n = size * nmemb;
  try {
    const std::size_t room = t->body.size() < t->cap ? t->cap - t->body.size() : 0;
    t->body.append(data, std::min(room, n));
    if (n > room) t->truncated = true;
  } catch (...) {
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  return n;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) noexcept {
  return static_cast<Transfer*>(user)->cancel->requested() ? 1 : 0;
}

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

bool is_number(const Json& v) { return v.is_int64() || v.is_uint64() || v.is_double(); }

double as_double(const Json& v) {
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  return v.get_double();
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool looks_like_json(std::string_view content_type, std::string_view body) {
  if (content_type.find("json") != std::string_view::npos) return true;
  const auto first = body.find_first_not_of(" \t\r\n");
  return content_type.empty() && first != std::string_view::npos &&
         (body[first] == '{' || body[first] == '[');
}

}  // namespace

bool json_equal(const Json& a, const Json& b) {
  if (is_number(a) && is_number(b)) {
    if (a.is_double() || b.is_double()) return as_double(a) == as_double(b);
    if (a.is_int64() && b.is_int64()) return a.get_int64() == b.get_int64();
    if (a.is_uint64() && b.is_uint64()) return a.get_uint64() == b.get_uint64();
    const std::int64_t s = a.is_int64() ? a.get_int64() : b.get_int64();
    const std::uint64_t u = a.is_uint64() ? a.get_uint64() : b.get_uint64();
    return s >= 0 && static_cast<std::uint64_t>(s) == u;
  }
  if (a.is_array() && b.is_array()) {
    const auto& x = a.get_array();
    const auto& y = b.get_array();
    if (x.size() != y.size()) return false;
    for (std::size_t i = 0; i < x.size(); ++i)
      if (!json_equal(x[i], y[i])) return false;
    return true;
  }
  if (a.is_object() && b.is_object()) {
    const auto& x = a.get_object();
    const auto& y = b.get_object();
    if (x.size() != y.size()) return false;
    for (const auto& kv : x) {
      const auto it = y.find(kv.key());
      if (it == y.end() || !json_equal(kv.value(), it->value())) return false;
    }
    return true;
  }
  return a == b;
}

HttpExecutor::HttpExecutor(HttpOptions options) : options_(options) { global_init(); }

StepOutcome HttpExecutor::run(const AttemptRequest& request, CancelToken& cancel) {
  StepOutcome o;
  const model::HttpSpec& spec = request.step->http;
  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed_ms = [&] {
    return std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - t0).count();
  };
  std::string where = "http";
  auto failed = [&](std::string error) {
    o.ok = false;
    o.error = where + ": " + std::move(error);
    o.result = JsonObject{{"status", "failure"}, {"error", o.error}, {"duration_ms", elapsed_ms()}};
    return o;
  };

  auto method = detail::render_field(spec.method.empty() ? "GET" : spec.method, request.scope, "method");
  if (!method) return failed(method.error().describe());
  std::transform(method->begin(), method->end(), method->begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  auto url = detail::render_field(spec.url, request.scope, "url");
  if (!url) return failed(url.error().describe());
  where = "http " + *method + " " + detail::redact_url(*url);
  auto headers = detail::render_map(spec.headers, request.scope, "headers");
  if (!headers) return failed(headers.error().describe());
  std::optional<std::string> body;
  if (spec.body) {
    auto b = detail::render_field(*spec.body, request.scope, "body");
    if (!b) return failed(b.error().describe());
    body = std::move(*b);
  }
  if (cancel.requested()) {
    o.cancelled = cancel.reason() == CancelReason::Cancelled;
    o.timed_out = cancel.reason() == CancelReason::Timeout;
    return failed(o.timed_out ? "timed out" : "cancelled");
  }

  std::unique_ptr<CURL, CurlEasyDeleter> curl(curl_easy_init());
  if (!curl) return failed("cannot create a libcurl handle");
  CURL* h = curl.get();
  char errbuf[CURL_ERROR_SIZE] = {0};
  Transfer t;
  t.cap = options_.body_cap;
  t.cancel = &cancel;

  curl_easy_setopt(h, CURLOPT_URL, url->c_str());
  // Worker threads: no SIGALRM-based DNS timeouts.
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
  if (request.timeout) curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout->count()));
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_USERAGENT, "opsrun");

  if (*method == "HEAD") curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  else if (*method != "GET" || body) curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method->c_str());
  if (body) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body->c_str());
  }

  std::unique_ptr<curl_slist, CurlSlistDeleter> list;
  auto add_header = [&](const std::string& line) {
    curl_slist* next = curl_slist_append(list.get(), line.c_str());
    if (next != nullptr) {
      (void)list.release();
      list.reset(next);
    }
  };
  bool has_content_type = false;
  for (const auto& [k, v] : *headers) {
    if (iequals(k, "content-type")) has_content_type = true;
    add_header(k + ": " + v);
  }
  if (body && !has_content_type) {
    const auto first = body->find_first_not_of(" \t\r\n");
    if (first != std::string::npos && ((*body)[first] == '{' || (*body)[first] == '['))
      add_header("Content-Type: application/json");
  }
  if (!request.idempotency_key.empty()) add_header("Idempotency-Key: " + request.idempotency_key);
  // No "Expect: 100-continue" round trip before larger bodies.
  add_header("Expect:");
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, list.get());

  const CURLcode rc = curl_easy_perform(h);
  if (rc != CURLE_OK) {
    if (rc == CURLE_ABORTED_BY_CALLBACK) {
      o.timed_out = cancel.reason() == CancelReason::Timeout;
      o.cancelled = !o.timed_out;
      return failed(o.timed_out ? "timed out after " + std::to_string(elapsed_ms()) + "ms" : "cancelled");
    }
    if (rc == CURLE_OPERATION_TIMEDOUT && request.timeout) {
      o.timed_out = true;
      return failed("timed out after " + std::to_string(request.timeout->count()) + "ms");
    }
    return failed(errbuf[0] != '\0' ? std::string(errbuf) : std::string(curl_easy_strerror(rc)));
  }

  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  const char* ctype = nullptr;
  curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ctype);
  const std::string content_type = ctype != nullptr ? ctype : "";

  JsonObject r;
  r["http_status"] = status;
  r["body"] = t.body;
  if (t.truncated) r["body_truncated"] = true;
  Json parsed;
  bool have_json = false;
  if (!t.truncated && looks_like_json(content_type, t.body)) {
    if (auto j = parse_json(t.body)) {
      parsed = std::move(*j);
      have_json = true;
      r["json"] = parsed;
    }
  }
  r["duration_ms"] = elapsed_ms();

  // The expectation, in the order a person would check it.
  const model::HttpExpect& ex = spec.expect;
  std::string problem;
  if (ex.status != 0 ? status != ex.status : (status < 200 || status > 299)) {
    problem = ex.status != 0
                  ? "expected status " + std::to_string(ex.status) + ", got " + std::to_string(status)
                  : "expected a 2xx status, got " + std::to_string(status);
  } else if (!ex.body_contains.empty() && t.body.find(ex.body_contains) == std::string::npos) {
    problem = "body does not contain '" + ex.body_contains + "'";
  } else {
    for (const auto& [path, want] : ex.json) {
      if (!have_json) {
        problem = "expected a JSON body for " + path;
        break;
      }
      const Json* got = find_json_path(parsed, path);
      if (got == nullptr) {
        problem = path + " is missing, expected " + to_json_text(want);
        break;
      }
      if (!json_equal(*got, want)) {
        problem = path + " is " + to_json_text(*got) + ", expected " + to_json_text(want);
        break;
      }
    }
  }
  o.ok = problem.empty();
  r["status"] = o.ok ? "success" : "failure";
  if (!o.ok) o.error = where + ": " + problem;
  o.value = have_json ? parsed : Json(t.body);
  o.result = std::move(r);
  return o;
}

}  // namespace opsrun::steps
