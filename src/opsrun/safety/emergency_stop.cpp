#include "opsrun/safety/emergency_stop.h"

#include "opsrun/common/log.h"
#include "opsrun/store/store.h"

namespace opsrun::safety {

namespace {

std::string text(const JsonObject& o, std::string_view k) {
  const Json* v = o.if_contains(k);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::optional<SystemTime> time_of(const JsonObject& o, std::string_view k) {
  SystemTime t;
  const std::string s = text(o, k);
  if (s.empty() || !parse_time(s, t)) return std::nullopt;
  return t;
}

StopState from_json(const Json& j) {
  StopState s;
  if (!j.is_object()) return s;
  const auto& o = j.get_object();
  if (const Json* v = o.if_contains("on"); v != nullptr && v->is_bool()) s.on = v->get_bool();
  if (const Json* v = o.if_contains("abort_running"); v != nullptr && v->is_bool()) s.abort_running = v->get_bool();
  s.reason = text(o, "reason");
  s.by = text(o, "by");
  s.since = time_of(o, "since");
  s.resumed_by = text(o, "resumed_by");
  s.resumed_at = time_of(o, "resumed_at");
  return s;
}

}  // namespace

Json stop_to_json(const StopState& s) {
  JsonObject o;
  o["on"] = s.on;
  o["reason"] = s.reason;
  o["abort_running"] = s.abort_running;
  o["by"] = s.by;
  o["since"] = s.since ? Json(format_time(*s.since)) : Json(nullptr);
  if (!s.resumed_by.empty()) o["resumed_by"] = s.resumed_by;
  if (s.resumed_at) o["resumed_at"] = format_time(*s.resumed_at);
  return o;
}

EmergencyStop::EmergencyStop(store::Store* store, Clock& clock, audit::Recorder* recorder, NotifySink notify)
    : store_(store), clock_(clock), recorder_(recorder), notify_(std::move(notify)) {}

Result<StopState> EmergencyStop::state() {
  if (store_ == nullptr) {
    std::lock_guard g(mu_);
    return memory_;
  }
  auto v = store_->get_setting(kStopSetting);
  if (!v) return std::unexpected(v.error());
  if (!*v) return StopState{};
  auto j = parse_json(**v);
  if (!j) return fail(ErrorCode::Internal, "the stored emergency stop is unreadable: " + j.error().message);
  return from_json(*j);
}

Result<void> EmergencyStop::write(const StopState& s) {
  if (store_ == nullptr) {
    std::lock_guard g(mu_);
    memory_ = s;
    return {};
  }
  return store_->put_setting(kStopSetting, to_json_text(stop_to_json(s)));
}

void EmergencyStop::announce_engaged(const StopState& s) {
  if (recorder_ != nullptr) {
    audit::AuditEntry e;
    e.actor = s.by;
    e.kind = "emergency_stop";
    e.reason = s.reason;
    e.details = JsonObject{{"abort_running", s.abort_running}, {"severity", "P0"}};
    if (auto r = recorder_->record(e); !r)
      log::error("could not audit the emergency stop change", {{"error", r.error().describe()}});
  }
  notify::Notification n;
  n.severity = notify::Severity::P0;
  n.message = "EMERGENCY STOP engaged by " + s.by + ": " + s.reason +
              (s.abort_running ? " (running executions are aborted)" : "");
  n.details = stop_to_json(s);
  if (notify_) notify_(n);
  else log::warn(n.message, {{"severity", "P0"}});
}

Result<StopState> EmergencyStop::engage(std::string reason, bool abort_running, std::string actor) {
  if (reason.empty()) return fail(ErrorCode::InvalidArgument, "an emergency stop needs a reason", "reason");
  StopState s;
  s.on = true;
  s.reason = log::redact(std::move(reason));
  s.abort_running = abort_running;
  s.by = actor.empty() ? "unknown" : std::move(actor);
  s.since = clock_.now();
  // Stop first, then tell: the switch must bind even if the audit or a channel is down.
  if (auto w = write(s); !w) return std::unexpected(w.error());
  announce_engaged(s);
  return s;
}

Result<StopState> EmergencyStop::resume(std::string actor) {
  auto current = state();
  if (!current) return current;
  if (!current->on) return fail(ErrorCode::Conflict, "the emergency stop is not engaged");
  StopState s = *current;
  s.on = false;
  s.resumed_by = actor.empty() ? "unknown" : std::move(actor);
  s.resumed_at = clock_.now();
  // Audit first: actions start again only once the resume is on record.
  if (recorder_ != nullptr) {
    audit::AuditEntry e;
    e.actor = s.resumed_by;
    e.kind = "resume";
    e.reason = s.reason;
    e.details = JsonObject{{"severity", "P0"}};
    if (auto r = recorder_->record(e); !r)
      return fail(ErrorCode::Unavailable, "the resume could not be audited, so the stop stays on: " +
                                              r.error().describe());
  }
  if (auto w = write(s); !w) return std::unexpected(w.error());
  notify::Notification n;
  n.severity = notify::Severity::P0;
  n.message = "emergency stop lifted by " + s.resumed_by + " (was: " + s.reason + ")";
  n.details = stop_to_json(s);
  if (notify_) notify_(n);
  else log::warn(n.message, {{"severity", "P0"}});
  return s;
}

}  // namespace opsrun::safety
