// A webhook receiver on 127.0.0.1 that checks an HMAC-SHA256 signature header
// ("sha256=<hex>" over the exact body) the way a consumer would, and answers 401 when it
// does not match. Faults: the next request answers a status.
#pragma once

#include <string>
#include <vector>

#include "support/loopback_http_server.h"

namespace opsrun::testing {

class WebhookReceiver {
 public:
  // secret empty: no signature expected.
  explicit WebhookReceiver(std::string secret, std::string header = "X-Opsrun-Signature");

  [[nodiscard]] std::string url() const { return server_.url("/hooks/opsrun"); }
  // A URL on 127.0.0.1 that nobody serves any more (connections are refused), with `query`.
  static std::string unserved_url(const std::string& query) {
    WebhookReceiver gone("");
    return gone.url() + "?" + query;
  }
  void fail_next(int status, std::string retry_after = "");
  // Bodies of the requests whose signature verified (all requests when no secret).
  [[nodiscard]] std::vector<std::string> accepted() const;
  [[nodiscard]] std::vector<HttpRequest> requests() const { return server_.requests(); }

 private:
  HttpResponse handle(const HttpRequest& r);

  std::string secret_;
  std::string header_;
  mutable std::mutex mu_;
  std::vector<std::string> accepted_;
  LoopbackHttpServer server_;  // last: stopped first
};

}  // namespace opsrun::testing
