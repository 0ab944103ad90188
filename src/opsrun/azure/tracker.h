// What to do with each Scheduled Events document: DocumentIncarnation tracking, filtering by
// this VM's name, new / already Started / disappeared (cancelled) events, and the record of
// handled EventIds, kept in the store's settings so a restart never handles one twice.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "opsrun/azure/events.h"
#include "opsrun/common/error.h"
#include "opsrun/common/json.h"

namespace opsrun::store {
class Store;
}

namespace opsrun::azure {

struct Decision {
  bool changed = false;                  // false: same incarnation as the last document
  std::vector<ScheduledEvent> to_drain;  // new Scheduled events for this VM: drain, ack
  std::vector<ScheduledEvent> started;   // new events already Started (or of an unknown
                                         // status): recorded, nothing to drain or ack
  std::vector<std::string> cancelled;    // were Scheduled, now gone: cancelled by Azure
  std::vector<std::string> finished;     // were Started, now gone: over
  int other_vms = 0;                     // events for other VMs only, ignored
};

class EventTracker {
 public:
  // `store` may be null: handled EventIds are then remembered in memory only.
  explicit EventTracker(store::Store* store);

  // Classifies a document. New events are claimed at once (recorded as "claimed" in the
  // store before anything acts on them), so a crash mid-drain does not repeat the drain.
  [[nodiscard]] Result<Decision> observe(const EventsDocument& doc, std::string_view vm_name);

  // Records an event's outcome ({"state": ..., ...}) under its EventId.
  [[nodiscard]] Result<void> record(const std::string& event_id, const Json& outcome);
  // The recorded outcome of an EventId, null when never seen.
  [[nodiscard]] Result<Json> recorded(const std::string& event_id);

  // The store key of an EventId: "azure.scheduled_event.<lower-case id>".
  static std::string key(std::string_view event_id);

 private:
  store::Store* store_;
  bool have_incarnation_ = false;
  long long incarnation_ = 0;
  std::map<std::string, EventStatus> present_;  // this VM's events in the last document
  std::map<std::string, std::string> memory_;   // without a store
};

}  // namespace opsrun::azure
