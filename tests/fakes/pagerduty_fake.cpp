#include "fakes/pagerduty_fake.h"

#include <cstdio>

namespace opsrun::testing {

namespace {

HttpResponse reply(int status, JsonObject body) {
  HttpResponse r;
  r.status = status;
  r.body = to_json_text(body);
  r.content_type = "application/json";
  return r;
}

HttpResponse invalid(std::string why) {
  return reply(400, JsonObject{{"status", "invalid event"},
                               {"message", "Event object is invalid"},
                               {"errors", JsonArray{Json(std::move(why))}}});
}

std::string str(const JsonObject& o, const char* key) {
  const Json* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

}  // namespace

PagerDutyFake::PagerDutyFake() {
  server_.set_handler([this](const HttpRequest& r) { return handle(r); });
}

void PagerDutyFake::fail_next(int status, std::string retry_after) {
  HttpResponse r;
  r.status = status;
  r.body =
      status == 429 ? R"({"status":"throttle event","message":"Request Limit Exceeded"})" : "{}";
  r.content_type = "application/json";
  if (!retry_after.empty()) r.headers.emplace_back("Retry-After", retry_after);
  server_.push_response(std::move(r));
}

std::string PagerDutyFake::state(const std::string& routing_key,
                                 const std::string& dedup_key) const {
  std::lock_guard g(mu_);
  auto it = alerts_.find({routing_key, dedup_key});
  return it == alerts_.end() ? "" : it->second;
}

std::vector<JsonObject> PagerDutyFake::events() const {
  std::lock_guard g(mu_);
  return events_;
}

HttpResponse PagerDutyFake::handle(const HttpRequest& r) {
  if (r.method != "POST" || r.target != "/v2/enqueue")
    return reply(404, JsonObject{{"status", "not found"}});
  auto parsed = parse_json(r.body);
  if (!parsed || !parsed->is_object())
    return reply(400, JsonObject{{"status", "Unrecognized object"},
                                 {"message", "Event object format is unrecognized"},
                                 {"errors", JsonArray{Json("JSON parse error")}}});
  const JsonObject& e = parsed->as_object();
  const std::string key = str(e, "routing_key");
  if (key.size() != 32)
    return invalid("Length of 'routing_key' is incorrect (should be 32 characters)");
  const std::string action = str(e, "event_action");
  if (action != "trigger" && action != "acknowledge" && action != "resolve")
    return invalid(
        "'event_action' is invalid (must be one of the following: 'trigger', 'acknowledge' or "
        "'resolve')");
  std::string dedup = str(e, "dedup_key");
  if (dedup.size() > 255) return invalid("'dedup_key' is too long (255 characters maximum)");
  if (action == "trigger") {
    const Json* p = e.if_contains("payload");
    if (p == nullptr || !p->is_object()) return invalid("'payload' is missing or invalid");
    const JsonObject& payload = p->as_object();
    const std::string summary = str(payload, "summary");
    if (summary.empty() || summary.size() > 1024)
      return invalid("'payload.summary' is missing or too long");
    if (str(payload, "source").empty()) return invalid("'payload.source' is missing");
    const std::string sev = str(payload, "severity");
    if (sev != "critical" && sev != "error" && sev != "warning" && sev != "info")
      return invalid("'payload.severity' is invalid");
  } else if (dedup.empty()) {
    return invalid("'dedup_key' is required for acknowledge and resolve");
  }
  std::lock_guard g(mu_);
  if (dedup.empty()) {
    char uuid[40];
    std::snprintf(uuid, sizeof uuid, "00000000-0000-4000-8000-%012d", next_uuid_++);
    dedup = uuid;
  }
  std::string& st = alerts_[{key, dedup}];
  const bool open = st == "triggered" || st == "acknowledged";
  if (action == "trigger") {
    if (!open) st = "triggered";
    events_.push_back(e);
  } else if (open) {  // acknowledge/resolve of no open alert are dropped (still 202)
    st = action == "resolve" ? "resolved" : "acknowledged";
    events_.push_back(e);
  } else if (st.empty()) {
    alerts_.erase({key, dedup});
  }
  return reply(
      202, JsonObject{{"status", "success"}, {"message", "Event processed"}, {"dedup_key", dedup}});
}

}  // namespace opsrun::testing
