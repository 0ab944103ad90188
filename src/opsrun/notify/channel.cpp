#include "opsrun/notify/channel.h"

#include <cctype>

#include "opsrun/metrics/registry.h"
#include "opsrun/notify/audit_log_channel.h"
#include "opsrun/notify/log_channel.h"

namespace opsrun::notify {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

}  // namespace

std::string_view to_string(Severity s) {
  switch (s) {
    case Severity::P0: return "P0";
    case Severity::P1: return "P1";
    case Severity::P2: return "P2";
    case Severity::Info: return "info";
  }
  return "info";
}

std::optional<Severity> parse_severity(std::string_view text) {
  for (Severity s : {Severity::P0, Severity::P1, Severity::P2, Severity::Info})
    if (iequals(text, to_string(s))) return s;
  return std::nullopt;
}

std::string_view to_string(Action a) {
  switch (a) {
    case Action::Trigger: return "trigger";
    case Action::Acknowledge: return "acknowledge";
    case Action::Resolve: return "resolve";
  }
  return "trigger";
}

std::optional<Action> parse_action(std::string_view text) {
  for (Action a : {Action::Trigger, Action::Acknowledge, Action::Resolve})
    if (iequals(text, to_string(a))) return a;
  return std::nullopt;
}

Result<Json> Channel::deliver(const Notification& n) {
  auto r = send(n);
  if (!r) return std::unexpected(r.error());
  return Json(JsonObject{});
}

ChannelRegistry::ChannelRegistry() {
  add(std::make_shared<LogChannel>());
  add(std::make_shared<AuditLogChannel>());
}

ChannelRegistry::~ChannelRegistry() = default;

void ChannelRegistry::add(std::shared_ptr<Channel> channel) {
  if (!channel) return;
  std::lock_guard g(mu_);
  channels_[channel->name()] = std::move(channel);
}

std::shared_ptr<Channel> ChannelRegistry::find(std::string_view name) const {
  std::lock_guard g(mu_);
  auto it = channels_.find(name);
  return it == channels_.end() ? nullptr : it->second;
}

std::vector<std::string> ChannelRegistry::names() const {
  std::lock_guard g(mu_);
  std::vector<std::string> out;
  out.reserve(channels_.size());
  for (const auto& [name, _] : channels_) out.push_back(name);
  return out;
}

void ChannelRegistry::set_metrics(metrics::Registry& registry) {
  auto& family = registry.counter("opsrun_notifications_total",
                                  "Notifications delivered or failed, by channel and outcome.",
                                  {"channel", "outcome"});
  std::lock_guard g(mu_);
  counter_ = &family;
}

Result<Json> ChannelRegistry::send(std::string_view name, const Notification& n) {
  auto channel = find(name);
  Result<Json> out = fail(ErrorCode::NotFound, "unknown channel '" + std::string(name) + "'");
  if (channel) {
    try {
      out = channel->deliver(n);
    } catch (const std::exception& e) {  // the contract says never throws; be safe anyway
      out = fail(ErrorCode::Internal, std::string(name) + ": " + e.what());
    }
  }
  metrics::Family<metrics::Counter>* counter = nullptr;
  {
    std::lock_guard g(mu_);
    counter = counter_;
  }
  if (counter != nullptr) counter->with({std::string(name), out ? "sent" : "failed"}).inc();
  return out;
}

}  // namespace opsrun::notify
