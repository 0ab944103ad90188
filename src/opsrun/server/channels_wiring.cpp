#include "opsrun/server/channels_wiring.h"

#include "opsrun/notify/configured.h"
#include "opsrun/store/store.h"

namespace opsrun::server {

void wire_channels(notify::ChannelRegistry& registry,
                   const std::vector<config::ChannelConfig>& channels, Clock& clock,
                   store::Store* store) {
  notify::ChannelDeps deps{clock, {}};
  if (store != nullptr) {
    deps.memory.get = [store](std::string_view key) { return store->get_setting(key); };
    deps.memory.put = [store](std::string_view key, std::string_view value) {
      return store->put_setting(key, value);
    };
  }
  notify::add_configured_channels(registry, channels, deps);
}

}  // namespace opsrun::server
