// The notification channels of opsrun.yaml, for `opsrun serve`, local runs and `opsrun
// notify test`: one composition step shared by every root.
#pragma once

#include <vector>

#include "opsrun/common/clock.h"
#include "opsrun/config/channels.h"
#include "opsrun/notify/channel.h"

namespace opsrun::store {
class Store;
}

namespace opsrun::server {

// Adds the configured channels to `registry`. Slack thread parents and ServiceNow incident
// keys are kept in the store's settings (so threads survive restarts); with no store, in
// memory for the life of the process. `clock` and `store` must outlive the registry.
void wire_channels(notify::ChannelRegistry& registry,
                   const std::vector<config::ChannelConfig>& channels, Clock& clock,
                   store::Store* store);

}  // namespace opsrun::server
