// A PagerDuty Events API v2 fake (../shared/specs/external-apis.md §4) on 127.0.0.1:
// POST /v2/enqueue validated as the spec says (32-character routing_key, event_action,
// trigger payload summary/source/severity, summary <= 1024, dedup_key <= 255), 202 with the
// dedup_key (a generated UUID when absent), alert state per routing key and dedup key.
// Faults: the next request answers a status (400, 429 with Retry-After, 500...).
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "opsrun/common/json.h"
#include "support/loopback_http_server.h"

namespace opsrun::testing {

class PagerDutyFake {
 public:
  PagerDutyFake();
  [[nodiscard]] std::string url() const { return server_.url("/v2/enqueue"); }
  void fail_next(int status, std::string retry_after = "");

  // "triggered", "acknowledged", "resolved" or "" (no such alert), per routing key and dedup key.
  [[nodiscard]] std::string state(const std::string& routing_key,
                                  const std::string& dedup_key) const;
  // Accepted events in order (the request bodies); dropped ones (ack/resolve of no open alert)
  // excluded.
  [[nodiscard]] std::vector<JsonObject> events() const;
  [[nodiscard]] std::vector<HttpRequest> requests() const { return server_.requests(); }

 private:
  HttpResponse handle(const HttpRequest& r);

  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, std::string> alerts_;
  std::vector<JsonObject> events_;
  int next_uuid_ = 1;
  LoopbackHttpServer server_;  // last: stopped first
};

}  // namespace opsrun::testing
