// A ServiceNow Table API fake (../shared/specs/external-apis.md §2) on 127.0.0.1: incidents
// created with POST and changed with PATCH are recorded; Basic and Bearer auth are checked;
// /oauth_token.do issues tokens (form-encoded bodies only); faults can be injected.
#pragma once

#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "opsrun/common/clock.h"
#include "opsrun/common/json.h"
#include "support/loopback_http_server.h"

namespace opsrun::testing {

class ServiceNowFake {
 public:
  struct Options {
    std::string username = "automation-user";
    std::string password = "sn-pass-0001";
    std::string client_id = "sn-client";
    std::string client_secret = "sn-client-secret-0001";
    const Clock* clock = nullptr;  // stamps request times when set
  };
  ServiceNowFake() : ServiceNowFake(Options{}) {}
  explicit ServiceNowFake(Options options);

  [[nodiscard]] std::string url() const { return server_.url(""); }
  // The next table request (not token requests) gets this answer instead: 401, 429 (with
  // Retry-After and the X-RateLimit headers), 500, 503...
  void fail_next(int status, std::string retry_after = "");
  // Tokens issued so far stop working: the next Bearer call gets 401.
  void revoke_tokens();

  // Deletes an incident (as an admin or a retention job would): later calls on it get 404.
  void remove_incident(const std::string& sys_id);
  // Incidents by sys_id: every field as a string, as ServiceNow stores them.
  [[nodiscard]] std::map<std::string, JsonObject> incidents() const;
  [[nodiscard]] std::vector<HttpRequest> requests() const { return server_.requests(); }
  // Times of table requests (with Options::clock).
  [[nodiscard]] std::vector<SystemTime> table_request_times() const;
  [[nodiscard]] int token_requests() const;

 private:
  HttpResponse handle(const HttpRequest& r);
  HttpResponse token(const HttpRequest& r);
  HttpResponse table(const HttpRequest& r);
  bool authorized(const HttpRequest& r) const;

  Options options_;
  mutable std::mutex mu_;
  std::deque<std::pair<int, std::string>> faults_;
  std::map<std::string, JsonObject> incidents_;
  std::vector<std::string> tokens_;
  std::vector<SystemTime> times_;
  int token_requests_ = 0;
  int next_number_ = 10001;
  LoopbackHttpServer server_;  // last: stopped first, before the state it reads
};

}  // namespace opsrun::testing
