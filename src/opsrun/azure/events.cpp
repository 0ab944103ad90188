#include "opsrun/azure/events.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <ctime>

#include "opsrun/common/json.h"

namespace opsrun::azure {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

constexpr std::array<std::string_view, 12> kMonths{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr std::array<std::string_view, 7> kDays{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};

bool to_int(std::string_view s, int& out) {
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc{} && r.ptr == s.data() + s.size();
}

// "Mon, 19 Sep 2016 18:29:47 GMT" (the weekday is not checked: one documented sample is wrong).
bool parse_rfc1123(std::string_view s, SystemTime& out) {
  const auto comma = s.find(',');
  if (comma != std::string_view::npos) s = trim(s.substr(comma + 1));
  // day month year hh:mm:ss zone
  std::array<std::string_view, 5> parts{};
  for (auto& p : parts) {
    s = trim(s);
    const auto sp = s.find(' ');
    p = s.substr(0, sp);
    s = sp == std::string_view::npos ? std::string_view{} : s.substr(sp);
  }
  if (!trim(s).empty()) return false;
  if (!iequals(parts[4], "GMT") && !iequals(parts[4], "UTC") && parts[4] != "+0000") return false;
  std::tm tm{};
  const auto month =
      std::find_if(kMonths.begin(), kMonths.end(), [&](auto m) { return iequals(m, parts[1]); });
  if (month == kMonths.end()) return false;
  tm.tm_mon = static_cast<int>(month - kMonths.begin());
  const auto& hms = parts[3];
  if (hms.size() != 8 || hms[2] != ':' || hms[5] != ':') return false;
  if (!to_int(parts[0], tm.tm_mday) || !to_int(parts[2], tm.tm_year) ||
      !to_int(hms.substr(0, 2), tm.tm_hour) || !to_int(hms.substr(3, 2), tm.tm_min) ||
      !to_int(hms.substr(6, 2), tm.tm_sec))
    return false;
  if (tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
    return false;
  tm.tm_year -= 1900;
  out = std::chrono::system_clock::from_time_t(timegm(&tm));
  return true;
}

long long number_or_string(const Json& v, bool& ok) {
  ok = true;
  if (v.is_int64()) return v.as_int64();
  if (v.is_uint64()) return static_cast<long long>(v.as_uint64());
  if (v.is_double()) return static_cast<long long>(v.as_double());
  if (v.is_string()) {
    long long n = 0;
    const std::string_view s = trim(v.as_string());
    const auto r = std::from_chars(s.data(), s.data() + s.size(), n);
    if (r.ec == std::errc{} && r.ptr == s.data() + s.size()) return n;
  }
  ok = false;
  return 0;
}

std::string string_field(const JsonObject& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

Result<ScheduledEvent> parse_event(const Json& v, std::size_t index) {
  const std::string where = "Events[" + std::to_string(index) + "]";
  if (!v.is_object()) return fail(ErrorCode::InvalidArgument, where + ": not an object");
  const auto& o = v.as_object();
  ScheduledEvent e;
  e.id = string_field(o, "EventId");
  if (e.id.empty()) return fail(ErrorCode::InvalidArgument, where + ".EventId: missing or empty");
  e.type_text = string_field(o, "EventType");
  e.type = event_type_from(e.type_text);
  e.status = event_status_from(string_field(o, "EventStatus"));
  e.resource_type = string_field(o, "ResourceType");
  if (const auto* r = o.if_contains("Resources"); r && r->is_array())
    for (const auto& name : r->as_array())
      if (name.is_string()) e.resources.emplace_back(name.as_string());
  auto nb = parse_not_before(string_field(o, "NotBefore"));
  if (!nb) return fail(ErrorCode::InvalidArgument, where + ".NotBefore: " + nb.error().message);
  e.not_before = *nb;
  e.description = string_field(o, "Description");
  e.source = string_field(o, "EventSource");
  if (const auto* d = o.if_contains("DurationInSeconds")) {
    bool ok = false;
    const long long n = number_or_string(*d, ok);
    if (ok) e.duration_seconds = static_cast<int>(n);
  }
  return e;
}

}  // namespace

std::string_view to_string(EventType t) {
  switch (t) {
    case EventType::Freeze:
      return "Freeze";
    case EventType::Reboot:
      return "Reboot";
    case EventType::Redeploy:
      return "Redeploy";
    case EventType::Preempt:
      return "Preempt";
    case EventType::Terminate:
      return "Terminate";
    case EventType::Unknown:
      break;
  }
  return "Unknown";
}

std::string_view to_string(EventStatus s) {
  switch (s) {
    case EventStatus::Scheduled:
      return "Scheduled";
    case EventStatus::Started:
      return "Started";
    case EventStatus::Unknown:
      break;
  }
  return "Unknown";
}

EventType event_type_from(std::string_view text) {
  for (auto t : {EventType::Freeze, EventType::Reboot, EventType::Redeploy, EventType::Preempt,
                 EventType::Terminate})
    if (iequals(text, to_string(t))) return t;
  return EventType::Unknown;
}

EventStatus event_status_from(std::string_view text) {
  for (auto s : {EventStatus::Scheduled, EventStatus::Started})
    if (iequals(text, to_string(s))) return s;
  return EventStatus::Unknown;
}

Result<std::optional<SystemTime>> parse_not_before(std::string_view text) {
  text = trim(text);
  if (text.empty()) return std::optional<SystemTime>{};
  SystemTime t;
  if (parse_rfc1123(text, t)) return std::optional<SystemTime>{t};
  if (parse_time(text, t)) return std::optional<SystemTime>{t};
  // ISO 8601 without a zone, as some emulators send: read as UTC.
  if (text.size() >= 19 && text[10] == 'T' && parse_time(std::string(text) + "Z", t))
    return std::optional<SystemTime>{t};
  return fail(ErrorCode::InvalidArgument,
              "'" + std::string(text) +
                  "' is neither RFC 1123 (Mon, 19 Sep 2016 18:29:47 GMT) nor ISO 8601");
}

std::string format_rfc1123(SystemTime t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT",
                kDays[static_cast<std::size_t>(tm.tm_wday)].data(), tm.tm_mday,
                kMonths[static_cast<std::size_t>(tm.tm_mon)].data(), tm.tm_year + 1900, tm.tm_hour,
                tm.tm_min, tm.tm_sec);
  return buf;
}

Result<EventsDocument> parse_events_document(std::string_view json_text) {
  auto parsed = parse_json(json_text);
  if (!parsed)
    return fail(ErrorCode::InvalidArgument, "scheduled events document: " + parsed.error().message);
  if (!parsed->is_object())
    return fail(ErrorCode::InvalidArgument, "scheduled events document: not a JSON object");
  const auto& o = parsed->as_object();
  EventsDocument doc;
  const auto* inc = o.if_contains("DocumentIncarnation");
  bool ok = false;
  if (inc) doc.incarnation = number_or_string(*inc, ok);
  if (!ok)
    return fail(ErrorCode::InvalidArgument,
                "scheduled events document: DocumentIncarnation missing or not a number");
  const auto* events = o.if_contains("Events");
  if (events == nullptr || events->is_null()) return doc;
  if (!events->is_array())
    return fail(ErrorCode::InvalidArgument, "scheduled events document: Events is not an array");
  for (std::size_t i = 0; i < events->as_array().size(); ++i) {
    auto e = parse_event(events->as_array()[i], i);
    if (!e) return std::unexpected(e.error());
    doc.events.push_back(std::move(*e));
  }
  return doc;
}

std::string_view drain_runbook_for(EventType t) {
  switch (t) {
    case EventType::Reboot:
      return "azure-drain-reboot";
    case EventType::Redeploy:
      return "azure-drain-redeploy";
    case EventType::Preempt:
    case EventType::Terminate:
      return "azure-drain-preempt";
    case EventType::Freeze:
    case EventType::Unknown:
      break;
  }
  return "azure-drain-generic";
}

bool affects(const ScheduledEvent& e, std::string_view vm_name) {
  if (vm_name.empty()) return true;
  return std::any_of(e.resources.begin(), e.resources.end(),
                     [&](const std::string& r) { return iequals(r, vm_name); });
}

}  // namespace opsrun::azure
