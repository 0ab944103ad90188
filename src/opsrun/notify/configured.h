// Channels built from opsrun.yaml's `channels:` section (config/channels.h): slack,
// pagerduty, email, servicenow, webhook. The composition roots (serve, local runs,
// `opsrun notify test`) call add_configured_channels once at start-up.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "opsrun/common/clock.h"
#include "opsrun/config/channels.h"
#include "opsrun/notify/channel.h"

namespace opsrun::notify {

// Durable small strings for channels that remember across restarts: a Slack thread's parent
// (channel and ts) and the ServiceNow incident of a key. The composition root backs it with
// the Store's settings; left empty, channels remember in memory for the process's life.
struct KeyValue {
  std::function<Result<std::optional<std::string>>(std::string_view key)> get;
  std::function<Result<void>(std::string_view key, std::string_view value)> put;
};

struct ChannelDeps {
  Clock& clock;  // retry waits; must outlive the channels
  KeyValue memory;
};

// One channel. Registers the entry's secrets with log::add_secret first, so no log line
// can show them.
[[nodiscard]] std::shared_ptr<Channel> make_channel(const config::ChannelConfig& c,
                                                    const ChannelDeps& deps);

// Every entry, added to (or replacing in) the registry.
void add_configured_channels(ChannelRegistry& registry,
                             const std::vector<config::ChannelConfig>& channels,
                             const ChannelDeps& deps);

}  // namespace opsrun::notify
