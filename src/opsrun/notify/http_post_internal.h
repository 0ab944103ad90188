// The one HTTP client of the notify module: a request, sent with the shared retry loop
// (retry_internal.h) through libcurl. Channels and the ServiceNow client build on it.
//
// Secrets: URLs (a Slack webhook URL is a secret), headers and bodies are never put into
// errors; an error names the host only, and every error text is passed through log::redact.
#pragma once

#include <string>
#include <vector>

#include "opsrun/common/error.h"
#include "opsrun/notify/retry_internal.h"

namespace opsrun::notify::detail {

struct HttpCall {
  std::string method = "POST";
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
  std::string basic_user;  // HTTP basic auth when not empty
  std::string basic_password;
};

struct HttpReply {
  long status = 0;
  std::string body;         // capped at 64 KiB
  std::string retry_after;  // the raw header, when sent
  std::string location;
  int attempts = 0;
  // Set when the last answer was retryable and the loop stopped (see RetryReport).
  std::string gave_up;
  [[nodiscard]] bool ok() const { return status >= 200 && status < 300; }
};

// One attempt, no retry. An error only for transport failures (Unavailable). `cancelled`
// (may be empty) aborts the transfer when it turns true.
[[nodiscard]] Result<HttpReply> http_once(const HttpCall& call, Millis timeout,
                                          const std::function<bool()>& cancelled = {});

// The time one attempt may take: the attempt timeout, cut to what is left before the
// caller's deadline (at least 100 ms).
[[nodiscard]] Millis attempt_timeout(const RetryOptions& options, const Pacing& pacing);
// Makes a libcurl handle (CURL*) abort its transfer once `cancelled` returns true; the
// function must outlive the transfer. Nothing when it is empty.
void abort_when_cancelled(void* curl, const std::function<bool()>& cancelled);

// Retries transport errors, 429 and 5xx (Retry-After honoured); other answers are final.
// Returns the final reply whatever its status (check ok()), or an error when the last
// attempt failed in transport. `what` names the caller in messages ("slack").
[[nodiscard]] Result<HttpReply> http_with_retry(const HttpCall& call, const RetryOptions& options,
                                                const Pacing& pacing, std::string_view what);

// "what: HTTP 400 from host (after 1 attempt): <start of body>" for a reply that is not ok.
[[nodiscard]] Error http_failure(std::string_view what, const HttpCall& call,
                                 const HttpReply& reply);

// scheme://host[:port] of a URL, without path, query or credentials: safe to print.
[[nodiscard]] std::string url_origin(std::string_view url);

// application/x-www-form-urlencoded escaping of one value.
[[nodiscard]] std::string form_escape(std::string_view value);

}  // namespace opsrun::notify::detail
