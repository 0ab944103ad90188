// PagerDuty Events API v2: trigger, acknowledge and resolve, one alert per dedup key (the
// notification's key; keys over 255 characters are hashed). The routing key is the secret.
#include <unistd.h>

#include "opsrun/notify/channels_internal.h"

namespace opsrun::notify::detail {

namespace {

std::string_view pd_severity(Severity s) {
  switch (s) {
    case Severity::P0:
      return "critical";
    case Severity::P1:
      return "error";
    case Severity::P2:
      return "warning";
    case Severity::Info:
      return "info";
  }
  return "info";
}

std::string host_name() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "opsrun";
  return buf;
}

class PagerDutyChannel final : public Channel {
 public:
  PagerDutyChannel(const config::ChannelConfig& c, const ChannelDeps& deps)
      : name_(c.name), cfg_(c.pagerduty), delivery_(deps.clock, c.delivery) {
    if (cfg_.source.empty()) cfg_.source = host_name();
  }

  [[nodiscard]] std::string name() const override { return name_; }
  Result<void> send(const Notification& n) override { return as_void(deliver(n)); }

  Result<Json> deliver(const Notification& n) override {
    JsonObject event{{"routing_key", cfg_.routing_key}, {"event_action", to_string(n.action)}};
    if (!n.key.empty())
      event["dedup_key"] = n.key.size() <= 255 ? n.key : sha256_hex(n.key);
    else if (n.action != Action::Trigger)
      return fail(ErrorCode::InvalidArgument, name_ + ": " + std::string(to_string(n.action)) +
                                                  " needs a key (the dedup_key of the alert)");
    if (n.action == Action::Trigger) {
      JsonObject payload{{"summary", headline(n, 1000)},
                         {"source", cfg_.source},
                         {"severity", pd_severity(n.severity)},
                         {"timestamp", format_time(delivery_.clock.now())}};
      if (!cfg_.component.empty()) payload["component"] = cfg_.component;
      if (!cfg_.group.empty()) payload["group"] = cfg_.group;
      if (!cfg_.class_name.empty()) payload["class"] = cfg_.class_name;
      JsonObject custom{{"message", n.message}};
      if (!n.runbook_id.empty()) custom["runbook"] = n.runbook_id;
      if (!n.execution_id.empty()) custom["execution"] = n.execution_id;
      if (!n.step_id.empty()) custom["step"] = n.step_id;
      if (n.details.is_object()) custom["details"] = n.details;
      payload["custom_details"] = std::move(custom);
      event["payload"] = std::move(payload);
      event["client"] = "opsrun";
    }
    HttpCall call;
    call.url = cfg_.url;
    call.headers = {"Content-Type: application/json"};
    call.body = to_json_text(event);
    auto reply = http_with_retry(call, delivery_.retry, delivery_.pacing(n), name_);
    if (!reply) return std::unexpected(reply.error());
    if (!reply->ok()) return std::unexpected(http_failure(name_, call, *reply));
    JsonObject receipt{{"event_action", to_string(n.action)}};
    if (auto j = parse_json(reply->body); j && j->is_object())
      if (const Json* k = j->as_object().if_contains("dedup_key")) receipt["dedup_key"] = *k;
    return Json(std::move(receipt));
  }

 private:
  std::string name_;
  config::PagerDutyConfig cfg_;
  Delivery delivery_;
};

}  // namespace

std::shared_ptr<Channel> make_pagerduty(const config::ChannelConfig& c, const ChannelDeps& deps) {
  return std::make_shared<PagerDutyChannel>(c, deps);
}

}  // namespace opsrun::notify::detail
