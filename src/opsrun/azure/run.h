// Running the watcher from a config.json: the shared set-up of `opsrun azure-events` and the
// opt-in watcher of `opsrun serve` (IMDS client, ServiceNow client, drain runbooks, watcher).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "opsrun/azure/config.h"
#include "opsrun/azure/watcher.h"

namespace opsrun::azure {

struct WatcherHost {
  AzureEventsConfig config;
  std::unique_ptr<ImdsClient> imds;
  std::unique_ptr<notify::ServiceNowClient> servicenow;  // null when not configured
  std::unique_ptr<Watcher> watcher;
};

// Builds the watcher of `config` on the given engine/store/metrics. Says once (through print)
// when ServiceNow is not configured. Secrets of the config are registered with the log's
// redaction. An error when the drain runbooks cannot be loaded.
[[nodiscard]] Result<std::unique_ptr<WatcherHost>> make_watcher(
    AzureEventsConfig config, Clock& clock, engine::Engine& engine, store::Store* store,
    metrics::Registry* metrics, std::function<void(const std::string&)> print);

// The `azure:` section of opsrun.yaml for `opsrun serve`:
//   azure: {scheduled_events: {enabled: true, config: /etc/opsrun/azure-events.json,
//           poll_interval: 5}}
// nullopt when absent or not enabled; an error naming the field when malformed or when the
// config file is invalid.
struct ServeWatcherSettings {
  AzureEventsConfig config;
};
[[nodiscard]] Result<std::optional<ServeWatcherSettings>> serve_settings(const Json& azure_section);

}  // namespace opsrun::azure
