// ServiceNow: a notification opens an incident (impact and urgency from the severity unless
// configured; custom u_* fields passed through). With a key, the incident's sys_id is
// remembered: later notifications add work notes, acknowledge sets In Progress, resolve sets
// Resolved with close_code and close_notes. The key is also the incident's correlation_id.
#include "opsrun/common/log.h"
#include "opsrun/notify/channels_internal.h"
#include "opsrun/notify/servicenow_client.h"

namespace opsrun::notify::detail {

namespace {

std::pair<std::string, std::string> impact_urgency(Severity s) {
  switch (s) {
    case Severity::P0:
      return {"1", "1"};
    case Severity::P1:
      return {"2", "1"};
    case Severity::P2:
      return {"2", "2"};
    case Severity::Info:
      return {"3", "3"};
  }
  return {"3", "3"};
}

ServiceNowSettings settings_from(const config::ChannelConfig& c) {
  ServiceNowSettings s;
  s.instance_url = c.servicenow.instance_url;
  s.auth_type = c.servicenow.auth_type;
  s.username = c.servicenow.username;
  s.password = c.servicenow.password;
  s.client_id = c.servicenow.client_id;
  s.client_secret = c.servicenow.client_secret;
  s.timeout_seconds = static_cast<int>(std::max<long long>(1, c.delivery.timeout.count() / 1000));
  s.max_attempts = c.delivery.max_attempts;
  return s;
}

class ServiceNowChannel final : public Channel {
 public:
  ServiceNowChannel(const config::ChannelConfig& c, const ChannelDeps& deps)
      : name_(c.name),
        cfg_(c.servicenow),
        max_time_(c.delivery.max_time),
        clock_(deps.clock),
        client_(settings_from(c), deps.clock),
        memory_(deps.memory) {}

  [[nodiscard]] std::string name() const override { return name_; }
  Result<void> send(const Notification& n) override { return as_void(deliver(n)); }

  Result<Json> deliver(const Notification& n) override {
    DeliveryControl control = n.control;
    const SystemTime limit = clock_.now() + max_time_;
    if (!control.deadline || *control.deadline > limit) control.deadline = limit;
    const std::string memory_key = "notify.servicenow." + name_ + ".incident." + n.key;
    if (!n.key.empty()) {
      auto stored = memory_.get(memory_key);
      if (!stored) return std::unexpected(stored.error());
      if (*stored) {
        auto ref = parse_ref(**stored);
        auto updated = client_.update_incident(ref.sys_id, update_fields(n), control);
        if (updated) {
          // Resolved: the key's next alert is a new incident (as PagerDuty opens a new alert).
          if (n.action == Action::Resolve) memory_.forget(memory_key, name_);
          return receipt(ref, n.action == Action::Resolve ? "resolved" : "updated");
        }
        if (updated.error().code != ErrorCode::NotFound)
          return std::unexpected(prefixed(updated.error()));
        // The incident is gone (deleted, or hidden by an ACL): open a new one.
      }
    }
    auto created = client_.create_incident(create_fields(n), control);
    if (!created) return std::unexpected(prefixed(created.error()));
    if (!n.key.empty() && n.action != Action::Resolve) {
      const std::string value = to_json_text(JsonObject{
          {"sys_id", created->sys_id}, {"number", created->number}, {"link", created->link}});
      if (auto saved = memory_.put(memory_key, value); !saved)
        log::warn("servicenow incident key not saved",
                  {{"channel", name_}, {"error", saved.error().describe()}});
    }
    return receipt(*created, "created");
  }

 private:
  std::string name_;
  config::ServiceNowConfig cfg_;
  Millis max_time_;
  Clock& clock_;
  ServiceNowClient client_;
  Memory memory_;

  Error prefixed(Error e) const {
    if (name_ != "servicenow" && e.message.starts_with("servicenow"))
      e.message = name_ + " (" + e.message + ")";
    return e;
  }

  static IncidentRef parse_ref(const std::string& text) {
    IncidentRef ref;
    if (auto j = parse_json(text); j && j->is_object()) {
      const auto& o = j->as_object();
      for (auto [field, out] :
           {std::pair{"sys_id", &ref.sys_id}, {"number", &ref.number}, {"link", &ref.link}})
        if (const Json* v = o.if_contains(field); v && v->is_string())
          *out = std::string(v->as_string());
    }
    return ref;
  }

  static Result<Json> receipt(const IncidentRef& ref, std::string_view what) {
    return Json(JsonObject{
        {"incident", what}, {"number", ref.number}, {"sys_id", ref.sys_id}, {"link", ref.link}});
  }

  void close_fields(const Notification& n, JsonObject& f) const {
    if (n.action == Action::Resolve) {
      f["state"] = "6";
      f["close_code"] = cfg_.close_code;
      f["close_notes"] = n.message;
    } else if (n.action == Action::Acknowledge) {
      f["state"] = "2";
    }
  }

  Json create_fields(const Notification& n) const {
    auto [impact, urgency] = impact_urgency(n.severity);
    JsonObject f{{"short_description", headline(n, 160)},
                 {"description", plain_text(n)},
                 {"impact", cfg_.impact.empty() ? impact : cfg_.impact},
                 {"urgency", cfg_.urgency.empty() ? urgency : cfg_.urgency}};
    for (auto [field, value] : {std::pair{"category", &cfg_.category},
                                {"subcategory", &cfg_.subcategory},
                                {"assignment_group", &cfg_.assignment_group},
                                {"caller_id", &cfg_.caller_id}})
      if (!value->empty()) f[field] = *value;
    if (!n.key.empty()) f["correlation_id"] = n.key.size() <= 100 ? n.key : sha256_hex(n.key);
    for (const auto& [k, v] : cfg_.fields) f[k] = v;
    close_fields(n, f);
    return f;
  }

  Json update_fields(const Notification& n) const {
    JsonObject f{{"work_notes", plain_text(n)}};
    close_fields(n, f);
    return f;
  }
};

}  // namespace

std::shared_ptr<Channel> make_servicenow(const config::ChannelConfig& c, const ChannelDeps& deps) {
  return std::make_shared<ServiceNowChannel>(c, deps);
}

}  // namespace opsrun::notify::detail
