// A client of the ServiceNow Table API for incidents: create (POST /api/now/table/incident)
// and partial update (PATCH /api/now/table/incident/{sys_id}), with basic auth or OAuth
// (token from /oauth_token.do: the password grant when a username is set, else
// client_credentials). Network errors, 429 (Retry-After) and 5xx are retried with backoff,
// other 4xx are not; with OAuth, a 401 fetches a new token once.
//
// Thread-safe. Calls block for at most the retry budget. Errors never contain the password,
// client secret, token or Authorization header.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "opsrun/common/clock.h"
#include "opsrun/common/error.h"
#include "opsrun/common/json.h"
#include "opsrun/notify/delivery.h"

namespace opsrun::notify {

struct ServiceNowSettings {
  std::string instance_url;         // https://example.service-now.com (no trailing path)
  std::string auth_type = "basic";  // or "oauth"
  std::string username;
  std::string password;
  std::string client_id;
  std::string client_secret;
  int timeout_seconds = 30;  // per request
  int max_attempts = 4;
};

struct IncidentRef {
  std::string sys_id;
  std::string number;  // INC0010002
  std::string link;    // <instance>/nav_to.do?uri=incident.do%3Fsys_id%3D<sys_id>
};

class ServiceNowClient {
 public:
  explicit ServiceNowClient(ServiceNowSettings s);
  // Retry waits on `clock` (a FakeClock in tests); it must outlive the client.
  ServiceNowClient(ServiceNowSettings s, Clock& clock);
  ~ServiceNowClient();
  ServiceNowClient(const ServiceNowClient&) = delete;
  ServiceNowClient& operator=(const ServiceNowClient&) = delete;

  // `fields`: a JSON object of incident fields (short_description, impact, urgency, u_*...).
  [[nodiscard]] Result<IncidentRef> create_incident(const Json& fields);
  [[nodiscard]] Result<void> update_incident(std::string_view sys_id, const Json& fields);
  // The same, within a caller's deadline and cancellable waits (notify steps).
  [[nodiscard]] Result<IncidentRef> create_incident(const Json& fields,
                                                    const DeliveryControl& control);
  [[nodiscard]] Result<void> update_incident(std::string_view sys_id, const Json& fields,
                                             const DeliveryControl& control);

  // Checks the settings (URL, auth type, credentials present); construction does not fail.
  [[nodiscard]] static Result<void> validate(const ServiceNowSettings& s);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace opsrun::notify
