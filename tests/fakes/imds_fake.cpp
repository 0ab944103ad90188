#include "fakes/imds_fake.h"

#include "fakes/fake_util.h"

namespace opsrun::testing {

namespace {

HttpResponse reply(int status, std::string body,
                   std::string type = "application/json; charset=utf-8") {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.content_type = std::move(type);
  return r;
}

HttpResponse bad_request(std::string error) {
  return reply(400, to_json_text(JsonObject{{"error", std::move(error)}}));
}

}  // namespace

ImdsFake::ImdsFake(Options options) : options_(std::move(options)) {
  server_.set_handler([this](const HttpRequest& r) { return handle(r); });
}

std::string ImdsFake::url() const {
  std::string u = server_.url("");
  while (!u.empty() && u.back() == '/') u.pop_back();
  return u;
}

Json ImdsFake::event(const std::string& id, const std::string& type,
                     const std::vector<std::string>& resources, const std::string& not_before,
                     const std::string& status) {
  JsonArray res;
  for (const auto& r : resources) res.emplace_back(r);
  return JsonObject{{"EventId", id},
                    {"EventStatus", status},
                    {"EventType", type},
                    {"ResourceType", "VirtualMachine"},
                    {"Resources", std::move(res)},
                    {"NotBefore", not_before},
                    {"Description", "Host server is undergoing maintenance."},
                    {"EventSource", "Platform"},
                    {"DurationInSeconds", 9}};
}

void ImdsFake::set_events(JsonArray events) {
  std::lock_guard lock(mu_);
  events_ = std::move(events);
  ++incarnation_;
}

void ImdsFake::remove_event(const std::string& event_id) {
  std::lock_guard lock(mu_);
  for (auto it = events_.begin(); it != events_.end(); ++it)
    if (it->as_object().at("EventId").as_string() == event_id) {
      events_.erase(it);
      ++incarnation_;
      return;
    }
}

void ImdsFake::fail_with(int status) {
  std::lock_guard lock(mu_);
  fail_status_ = status;
}

void ImdsFake::fail_acks(int count, int status) {
  std::lock_guard lock(mu_);
  ack_failures_ = count;
  ack_failure_status_ = status;
}

void ImdsFake::hang(std::chrono::milliseconds delay) {
  std::lock_guard lock(mu_);
  hang_ = delay;
}

long long ImdsFake::incarnation() const {
  std::lock_guard lock(mu_);
  return incarnation_;
}

std::vector<std::string> ImdsFake::acknowledged() const {
  std::lock_guard lock(mu_);
  return acks_;
}

int ImdsFake::event_gets() const {
  std::lock_guard lock(mu_);
  return gets_;
}

HttpResponse ImdsFake::approve(const std::string& body) {
  auto parsed = parse_json(body);
  if (!parsed || !parsed->is_object() || !parsed->as_object().contains("StartRequests") ||
      !parsed->as_object().at("StartRequests").is_array())
    return bad_request("Bad request. StartRequests is missing or malformed.");
  bool changed = false;
  for (const auto& s : parsed->as_object().at("StartRequests").as_array()) {
    if (!s.is_object() || !s.as_object().contains("EventId") ||
        !s.as_object().at("EventId").is_string())
      return bad_request("Bad request. EventId is missing.");
    const std::string id(s.as_object().at("EventId").as_string());
    acks_.push_back(id);
    for (auto& e : events_) {  // approval applies to every resource of the event
      auto& o = e.as_object();
      if (o.at("EventId").as_string() != id || o.at("EventStatus").as_string() == "Started")
        continue;
      o["EventStatus"] = "Started";
      o["NotBefore"] = "";
      changed = true;
    }
  }
  if (changed) ++incarnation_;
  return reply(200, "");
}

HttpResponse ImdsFake::handle(const HttpRequest& r) {
  std::lock_guard lock(mu_);
  HttpResponse out;
  const auto path = target_path(r.target);
  const auto query = parse_form(target_query(r.target));
  if (r.header("Metadata") != "true") {
    out = bad_request("Bad request. Required metadata header not specified");
  } else if (!r.header("X-Forwarded-For").empty()) {
    out = bad_request("Bad request. X-Forwarded-For header is not allowed");
  } else if (!query.contains("api-version")) {
    out = reply(
        400,
        to_json_text(JsonObject{
            {"error", "Bad request. api-version is invalid or was not specified in the request."},
            {"newest-versions", JsonArray{"2025-04-07", "2024-07-17", "2024-03-15"}}}));
  } else if (path == "/metadata/instance/compute/name") {
    out = query.contains("format") && query.at("format") == "text"
              ? reply(200, options_.vm_name, "text/plain; charset=utf-8")
              : bad_request("Bad request. format=text is required for leaf nodes");
  } else if (path != "/metadata/scheduledevents") {
    out = reply(404, to_json_text(JsonObject{{"error", "Not found"}}));
  } else if (fail_status_ != 0) {
    out = reply(fail_status_, to_json_text(JsonObject{{"error", "injected failure"}}));
  } else if (r.method == "GET") {
    ++gets_;
    out = reply(
        200, to_json_text(JsonObject{{"DocumentIncarnation", incarnation_}, {"Events", events_}}));
    if (!first_done_) out.delay = options_.first_call_delay;
    first_done_ = true;
  } else if (r.method == "POST" && ack_failures_ > 0) {
    --ack_failures_;
    out = reply(ack_failure_status_, to_json_text(JsonObject{{"error", "injected failure"}}));
  } else if (r.method == "POST") {
    out = approve(r.body);
  } else {
    out = reply(405, to_json_text(JsonObject{{"error", "Method not allowed"}}));
  }
  if (hang_.count() > 0) out.delay = hang_;
  return out;
}

}  // namespace opsrun::testing
