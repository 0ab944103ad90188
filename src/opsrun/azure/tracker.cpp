#include "opsrun/azure/tracker.h"

#include <algorithm>
#include <cctype>

#include "opsrun/store/store.h"

namespace opsrun::azure {

EventTracker::EventTracker(store::Store* store) : store_(store) {}

std::string EventTracker::key(std::string_view event_id) {
  std::string k = "azure.scheduled_event.";
  for (char c : event_id) k += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return k;
}

Result<void> EventTracker::record(const std::string& event_id, const Json& outcome) {
  const std::string text = to_json_text(outcome);
  if (store_ == nullptr) {
    memory_[key(event_id)] = text;
    return {};
  }
  return store_->put_setting(key(event_id), text);
}

Result<Json> EventTracker::recorded(const std::string& event_id) {
  std::optional<std::string> text;
  if (store_ == nullptr) {
    if (auto it = memory_.find(key(event_id)); it != memory_.end()) text = it->second;
  } else {
    auto got = store_->get_setting(key(event_id));
    if (!got) return std::unexpected(got.error());
    text = *got;
  }
  if (!text) return Json(nullptr);
  auto parsed = parse_json(*text);
  return parsed ? *parsed : Json(JsonObject{{"state", "unreadable"}});
}

Result<Decision> EventTracker::observe(const EventsDocument& doc, std::string_view vm_name) {
  Decision d;
  if (have_incarnation_ && doc.incarnation == incarnation_) return d;  // same number, same content
  d.changed = true;
  std::map<std::string, EventStatus> now_present;
  for (const auto& e : doc.events) {
    if (!affects(e, vm_name)) {
      ++d.other_vms;
      continue;
    }
    now_present[e.id] = e.status;
    auto seen = recorded(e.id);
    if (!seen) return std::unexpected(seen.error());
    if (!seen->is_null()) continue;  // handled before (this process or an earlier one)
    const bool scheduled = e.status == EventStatus::Scheduled;
    auto claimed = record(e.id, JsonObject{{"state", scheduled ? "claimed" : "recorded"},
                                           {"type", to_string(e.type)},
                                           {"status", to_string(e.status)}});
    if (!claimed) return std::unexpected(claimed.error());
    (scheduled ? d.to_drain : d.started).push_back(e);
  }
  for (const auto& [id, status] : present_) {
    if (now_present.count(id) != 0) continue;
    if (status == EventStatus::Started) {
      d.finished.push_back(id);
      continue;
    }
    auto prior = recorded(id);
    JsonObject outcome = prior && prior->is_object() ? prior->as_object() : JsonObject{};
    if (const auto* acked = outcome.if_contains("acknowledged"); acked && json_truthy(*acked)) {
      d.finished.push_back(id);  // approved by us: it started and ended between two polls
      continue;
    }
    d.cancelled.push_back(id);
    outcome["cancelled"] = true;
    if (auto r = record(id, outcome); !r) return std::unexpected(r.error());
  }
  present_ = std::move(now_present);
  have_incarnation_ = true;
  incarnation_ = doc.incarnation;
  return d;
}

}  // namespace opsrun::azure
