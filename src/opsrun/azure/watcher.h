// The Scheduled Events watcher: polls IMDS, decides (tracker.h) and processes new events as
// the seed's monitor does, without its faults: Step 1 runs the drain runbook of each event's
// type through the engine within a deadline taken from NotBefore; Step 2 acknowledges the
// Scheduled events early (StartRequests) only when every drain succeeded and it is not a dry
// run; Step 3 files one resolved ServiceNow incident; then the automation summary. Every
// EventId is handled once. Used by `opsrun azure-events` and, opt-in, by `opsrun serve`.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "opsrun/azure/config.h"
#include "opsrun/azure/imds_client.h"
#include "opsrun/azure/tracker.h"
#include "opsrun/common/clock.h"
#include "opsrun/model/runbook.h"

namespace opsrun::engine {
class Engine;
}
namespace opsrun::metrics {
class Registry;
}
namespace opsrun::store {
class Store;
}

namespace opsrun::azure {

struct WatcherOptions {
  bool dry_run = false;
  std::string vm_name;                // empty: compute.name from IMDS (no filter if unknown)
  Json drain_context = JsonObject{};  // merged into each drain runbook's context
  Millis default_drain{120'000};      // drain deadline when NotBefore is absent
  Millis deadline_margin{2'000};      // finish draining this long before NotBefore
  Millis min_drain{1'000};
  IncidentFields incident;
};

struct WatcherParts {
  Clock& clock;
  engine::Engine& engine;
  store::Store* store = nullptr;  // null: handled EventIds kept in memory
  ImdsClient& imds;
  notify::ServiceNowClient* servicenow = nullptr;                  // null: no incidents
  metrics::Registry* metrics = nullptr;                            // null: not counted
  std::function<model::RunbookPtr(std::string_view id)> runbooks;  // drain runbooks by id
  std::function<void(const std::string&)> print;  // the console report, one line per call
};

class Watcher {
 public:
  Watcher(WatcherParts parts, WatcherOptions options);
  ~Watcher();
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

  // One poll: read the document, decide, process. An error when IMDS could not be read (said
  // once per outage) or the store failed; the next poll carries on.
  Result<Decision> poll_once();
  // Polls every `interval` until stop(); returns after the poll in progress.
  void run(Millis interval);
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Drain runbooks loaded from a directory (azure-drain-*.yaml), for WatcherParts::runbooks.
[[nodiscard]] Result<std::function<model::RunbookPtr(std::string_view)>> load_drain_runbooks(
    const std::string& dir);

}  // namespace opsrun::azure
