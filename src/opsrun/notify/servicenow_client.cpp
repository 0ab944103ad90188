#include "opsrun/notify/servicenow_client.h"

#include <cctype>
#include <cstdlib>
#include <mutex>

#include "opsrun/common/log.h"
#include "opsrun/notify/http_post_internal.h"

namespace opsrun::notify {

namespace {

constexpr std::string_view kWhat = "servicenow";

std::string trim_slash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

bool valid_sys_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (unsigned char c : id)
    if (!std::isalnum(c)) return false;
  return true;
}

// The Table API's failure envelope: {"error":{"message","detail"},"status":"failure"}.
std::string envelope_message(const std::string& body) {
  auto j = parse_json(body);
  if (!j || !j->is_object()) return {};
  const Json* m = find_path(*j, "error.message");
  const Json* d = find_path(*j, "error.detail");
  std::string out = m && m->is_string() ? std::string(m->as_string()) : std::string();
  if (d && d->is_string() && !d->as_string().empty())
    out += (out.empty() ? "" : ": ") + std::string(d->as_string());
  return out;
}

}  // namespace

struct ServiceNowClient::Impl {
  Impl(ServiceNowSettings s, Clock& c) : settings(std::move(s)), clock(c) {
    settings.instance_url = trim_slash(settings.instance_url);
    log::add_secret(settings.password);
    log::add_secret(settings.client_secret);
  }

  ServiceNowSettings settings;
  Clock& clock;
  std::mutex mu;
  std::string token;  // OAuth access token, when fetched
  SystemTime token_expiry{};

  detail::RetryOptions retry() const {
    detail::RetryOptions o;
    o.max_attempts = std::max(1, settings.max_attempts);
    o.attempt_timeout = Millis(std::max(1, settings.timeout_seconds) * 1000LL);
    o.budget = o.attempt_timeout * o.max_attempts + Millis(60'000);
    return o;
  }
  detail::Pacing pacing(const DeliveryControl& control) {
    return {clock, control.sleep, control.deadline, control.cancelled};
  }
  bool oauth() const { return settings.auth_type == "oauth"; }

  Result<std::string> access_token(const DeliveryControl& control, bool renew) {
    std::lock_guard g(mu);
    if (!renew && !token.empty() && clock.now() < token_expiry) return token;
    detail::HttpCall call;
    call.url = settings.instance_url + "/oauth_token.do";
    call.headers = {"Content-Type: application/x-www-form-urlencoded", "Accept: application/json"};
    const bool password_grant = !settings.username.empty();
    call.body = std::string("grant_type=") + (password_grant ? "password" : "client_credentials") +
                "&client_id=" + detail::form_escape(settings.client_id) +
                "&client_secret=" + detail::form_escape(settings.client_secret);
    if (password_grant)
      call.body += "&username=" + detail::form_escape(settings.username) +
                   "&password=" + detail::form_escape(settings.password);
    auto reply = detail::http_with_retry(call, retry(), pacing(control), "servicenow oauth");
    if (!reply) return std::unexpected(reply.error());
    if (!reply->ok()) {
      Error e = detail::http_failure("servicenow oauth", call, *reply);
      return std::unexpected(e);
    }
    auto j = parse_json(reply->body);
    const Json* t = j ? find_path(*j, "access_token") : nullptr;
    if (t == nullptr || !t->is_string() || t->as_string().empty())
      return fail(ErrorCode::Unavailable,
                  "servicenow oauth: the token response has no access_token");
    token = std::string(t->as_string());
    log::add_secret(token);
    long long expires = 1800;
    if (const Json* e = find_path(*j, "expires_in")) {
      if (e->is_int64())
        expires = e->as_int64();
      else if (e->is_string())
        expires = std::atoll(std::string(e->as_string()).c_str());
    }
    token_expiry = clock.now() + std::chrono::seconds(std::max(0LL, expires - 60));
    return token;
  }

  // Sends one Table API request with auth, retrying as the module does; with OAuth a 401
  // renews the token once.
  Result<detail::HttpReply> table_call(detail::HttpCall call, const DeliveryControl& control) {
    call.headers.push_back("Accept: application/json");
    call.headers.push_back("Content-Type: application/json");
    if (!oauth()) {
      call.basic_user = settings.username;
      call.basic_password = settings.password;
      return detail::http_with_retry(call, retry(), pacing(control), kWhat);
    }
    for (int round = 0;; ++round) {
      auto t = access_token(control, round > 0);
      if (!t) return std::unexpected(t.error());
      detail::HttpCall authed = call;
      authed.headers.push_back("Authorization: Bearer " + *t);
      auto reply = detail::http_with_retry(authed, retry(), pacing(control), kWhat);
      if (!reply || reply->status != 401 || round > 0) return reply;
    }
  }

  Error failure(const detail::HttpCall& call, const detail::HttpReply& reply) const {
    Error e = detail::http_failure(kWhat, call, reply);
    // Prefer the envelope's words over a raw excerpt.
    if (std::string m = envelope_message(reply.body); !m.empty()) {
      e.message =
          std::string(kWhat) + ": HTTP " + std::to_string(reply.status) + ": " + log::redact(m);
      if (!reply.gave_up.empty()) e.message += " (" + reply.gave_up + ")";
    }
    return e;
  }

  Result<IncidentRef> create(const Json& fields, const DeliveryControl& control) {
    if (!fields.is_object())
      return fail(ErrorCode::InvalidArgument, "servicenow: incident fields must be a JSON object");
    detail::HttpCall call;
    call.url = settings.instance_url + "/api/now/table/incident?sysparm_fields=sys_id,number";
    call.body = to_json_text(fields);
    auto reply = table_call(call, control);
    if (!reply) return std::unexpected(reply.error());
    if (!reply->ok()) return std::unexpected(failure(call, *reply));
    auto j = parse_json(reply->body);
    const Json* id = j ? find_path(*j, "result.sys_id") : nullptr;
    const Json* number = j ? find_path(*j, "result.number") : nullptr;
    if (id == nullptr || !id->is_string() || !valid_sys_id(id->as_string()))
      return fail(ErrorCode::Unavailable, "servicenow: the create response has no sys_id");
    IncidentRef ref;
    ref.sys_id = std::string(id->as_string());
    ref.number = number && number->is_string() ? std::string(number->as_string()) : std::string();
    ref.link = settings.instance_url + "/nav_to.do?uri=incident.do%3Fsys_id%3D" + ref.sys_id;
    return ref;
  }

  Result<void> update(std::string_view sys_id, const Json& fields, const DeliveryControl& control) {
    if (!valid_sys_id(sys_id))
      return fail(ErrorCode::InvalidArgument,
                  "servicenow: invalid sys_id '" + std::string(sys_id) + "'");
    if (!fields.is_object())
      return fail(ErrorCode::InvalidArgument, "servicenow: incident fields must be a JSON object");
    detail::HttpCall call;
    call.method = "PATCH";
    call.url = settings.instance_url + "/api/now/table/incident/" + std::string(sys_id) +
               "?sysparm_fields=sys_id";
    call.body = to_json_text(fields);
    auto reply = table_call(call, control);
    if (!reply) return std::unexpected(reply.error());
    if (!reply->ok()) return std::unexpected(failure(call, *reply));
    return {};
  }
};

namespace {
SystemClock& system_clock() {
  static SystemClock c;
  return c;
}
}  // namespace

ServiceNowClient::ServiceNowClient(ServiceNowSettings s)
    : ServiceNowClient(std::move(s), system_clock()) {}
ServiceNowClient::ServiceNowClient(ServiceNowSettings s, Clock& clock)
    : impl_(std::make_unique<Impl>(std::move(s), clock)) {}
ServiceNowClient::~ServiceNowClient() = default;

Result<IncidentRef> ServiceNowClient::create_incident(const Json& fields) {
  return impl_->create(fields, {});
}
Result<IncidentRef> ServiceNowClient::create_incident(const Json& fields,
                                                      const DeliveryControl& control) {
  return impl_->create(fields, control);
}
Result<void> ServiceNowClient::update_incident(std::string_view sys_id, const Json& fields) {
  return impl_->update(sys_id, fields, {});
}
Result<void> ServiceNowClient::update_incident(std::string_view sys_id, const Json& fields,
                                               const DeliveryControl& control) {
  return impl_->update(sys_id, fields, control);
}

Result<void> ServiceNowClient::validate(const ServiceNowSettings& s) {
  if (!s.instance_url.starts_with("https://") && !s.instance_url.starts_with("http://"))
    return fail(ErrorCode::InvalidArgument,
                "instance_url must start with https:// (got '" + s.instance_url + "')",
                "instance_url");
  if (s.auth_type == "basic") {
    if (s.username.empty() || s.password.empty())
      return fail(ErrorCode::InvalidArgument, "basic auth needs username and password", "username");
  } else if (s.auth_type == "oauth") {
    if (s.client_id.empty() || s.client_secret.empty())
      return fail(ErrorCode::InvalidArgument, "oauth needs client_id and client_secret",
                  "client_id");
  } else {
    return fail(ErrorCode::InvalidArgument,
                "auth_type must be basic or oauth (got '" + s.auth_type + "')", "auth_type");
  }
  if (s.timeout_seconds < 1 || s.timeout_seconds > 600)
    return fail(ErrorCode::InvalidArgument, "timeout_seconds must be 1 to 600", "timeout_seconds");
  if (s.max_attempts < 1 || s.max_attempts > 20)
    return fail(ErrorCode::InvalidArgument, "max_attempts must be 1 to 20", "max_attempts");
  return {};
}

}  // namespace opsrun::notify
