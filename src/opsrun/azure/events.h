// The Azure IMDS Scheduled Events document (external-apis.md §1.3) and its tolerant parser.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "opsrun/common/clock.h"
#include "opsrun/common/error.h"

namespace opsrun::azure {

enum class EventType { Freeze, Reboot, Redeploy, Preempt, Terminate, Unknown };
enum class EventStatus { Scheduled, Started, Unknown };

std::string_view to_string(EventType t);
std::string_view to_string(EventStatus s);
EventType event_type_from(std::string_view text);      // case-insensitive; Unknown otherwise
EventStatus event_status_from(std::string_view text);  // case-insensitive; Unknown otherwise

struct ScheduledEvent {
  std::string id;  // EventId as sent
  EventType type = EventType::Unknown;
  std::string type_text;  // EventType as sent (for Unknown types)
  EventStatus status = EventStatus::Unknown;
  std::string resource_type;
  std::vector<std::string> resources;
  std::optional<SystemTime> not_before;  // none when "" (started) or absent
  std::string description;
  std::string source;         // Platform | User | ""
  int duration_seconds = -1;  // -1: unknown
};

struct EventsDocument {
  long long incarnation = 0;
  std::vector<ScheduledEvent> events;
};

// The JSON body of GET /metadata/scheduledevents. DocumentIncarnation and DurationInSeconds
// may be numbers or strings; an event without EventId is an error naming its index.
[[nodiscard]] Result<EventsDocument> parse_events_document(std::string_view json_text);

// NotBefore: RFC 1123 ("Mon, 19 Sep 2016 18:29:47 GMT"), ISO 8601 / RFC 3339, or "" (none).
[[nodiscard]] Result<std::optional<SystemTime>> parse_not_before(std::string_view text);
// RFC 1123 in GMT, as IMDS writes it (for fakes and reports).
std::string format_rfc1123(SystemTime t);

// The drain runbook id for an event type: azure-drain-reboot, -redeploy, -preempt (Preempt and
// Terminate), -generic (Freeze and anything else).
std::string_view drain_runbook_for(EventType t);

// Whether `vm_name` is listed in the event's Resources (case-insensitive; an empty vm_name
// matches every event).
bool affects(const ScheduledEvent& e, std::string_view vm_name);

}  // namespace opsrun::azure
