#include "opsrun/steps/builtins.h"

#include "opsrun/common/duration.h"
#include "opsrun/common/log.h"

namespace opsrun::steps {

namespace {

const Json* with_field(const AttemptRequest& r, std::string_view name) {
  const Json& with = r.step->builtin.with;
  if (!with.is_object()) return nullptr;
  auto it = with.get_object().find(name);
  return it == with.get_object().end() ? nullptr : &it->value();
}

std::string with_text(const AttemptRequest& r, std::string_view name, std::string fallback) {
  const Json* v = with_field(r, name);
  return v == nullptr || v->is_null() ? fallback : json_to_text(*v);
}

StepOutcome success(Json result = JsonObject{}) {
  StepOutcome o;
  o.ok = true;
  o.result = std::move(result);
  o.result.as_object()["status"] = "success";
  return o;
}

StepOutcome failure(std::string error) {
  StepOutcome o;
  o.error = std::move(error);
  o.result = JsonObject{{"status", "failure"}, {"error", o.error}};
  return o;
}

StepOutcome run_sleep(const AttemptRequest& r, CancelToken& cancel) {
  const Json* d = with_field(r, "duration");
  Millis duration{0};
  if (d != nullptr && (d->is_int64() || d->is_uint64())) {
    duration = Millis(d->to_number<std::int64_t>());  // a bare number is milliseconds
  } else if (d != nullptr && d->is_string()) {
    auto parsed = parse_duration(d->get_string());
    if (!parsed) return failure("sleep: with.duration: " + parsed.error().message);
    duration = *parsed;
  } else {
    return failure("sleep: with.duration is required (e.g. \"2s\")");
  }
  // The attempt's own timeout applies even without an engine around us.
  const bool cut = r.timeout && *r.timeout < duration;
  if (!cancel.sleep_for(cut ? *r.timeout : duration)) {
    StepOutcome o = failure(cancel.reason() == CancelReason::Timeout ? "sleep: timed out" : "cancelled");
    o.timed_out = cancel.reason() == CancelReason::Timeout;
    o.cancelled = !o.timed_out;
    return o;
  }
  if (cut) {
    StepOutcome o = failure("sleep: timed out after " + std::to_string(r.timeout->count()) + "ms");
    o.timed_out = true;
    return o;
  }
  return success(JsonObject{{"slept_ms", duration.count()}});
}

}  // namespace

std::map<std::string, BuiltinFn, std::less<>> default_builtins() {
  std::map<std::string, BuiltinFn, std::less<>> b;
  b["noop"] = [](const AttemptRequest&, CancelToken&) { return success(); };
  b["sleep"] = run_sleep;
  b["fail"] = [](const AttemptRequest& r, CancelToken&) {
    return failure(with_text(r, "message", "failed (builtin fail)"));
  };
  b["log"] = [](const AttemptRequest& r, CancelToken&) {
    const std::string message = with_text(r, "message", "");
    const std::string level = with_text(r, "level", "info");
    const log::Level lv = level == "error" ? log::Level::Error
                          : level == "warn" ? log::Level::Warn
                          : level == "debug" ? log::Level::Debug
                                             : log::Level::Info;
    log::write(lv, message,
               {{"execution", r.execution_id},
                {"runbook", r.runbook != nullptr ? r.runbook->id : std::string()},
                {"step", r.step->id}});
    return success(JsonObject{{"message", message}});
  };
  return b;
}

}  // namespace opsrun::steps
