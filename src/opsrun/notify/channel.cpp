#include "opsrun/notify/channel.h"

#include "opsrun/notify/audit_log_channel.h"
#include "opsrun/notify/log_channel.h"

namespace opsrun::notify {

std::string_view to_string(Severity s) {
  switch (s) {
    case Severity::P0: return "P0";
    case Severity::P1: return "P1";
    case Severity::P2: return "P2";
    case Severity::Info: return "info";
  }
  return "info";
}

ChannelRegistry::ChannelRegistry() {
  add(std::make_shared<LogChannel>());
  add(std::make_shared<AuditLogChannel>());
}

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

}  // namespace opsrun::notify
