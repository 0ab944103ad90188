// Inputs as they are stored in an execution's event history (and replayed on recovery).
#include "opsrun/engine/core.h"

namespace opsrun::engine {

namespace {

constexpr std::pair<Input::Kind, std::string_view> kKinds[] = {
    {Input::Kind::Start, "started"},
    {Input::Kind::AttemptFinished, "attempt_finished"},
    {Input::Kind::TimerFired, "timer_fired"},
    {Input::Kind::Cancel, "cancel"},
    {Input::Kind::Approval, "approval"},
    {Input::Kind::Operator, "operator"},
    {Input::Kind::Interrupted, "interrupted"},
    {Input::Kind::SafetyDecision, "safety_decision"},
};

std::string_view action_name(OperatorAction a) {
  switch (a) {
    case OperatorAction::Retry: return "retry";
    case OperatorAction::Skip: return "skip";
    case OperatorAction::Abort: return "abort";
  }
  return "retry";
}

std::string str(const JsonObject& o, std::string_view key) {
  const Json* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

bool flag(const JsonObject& o, std::string_view key) {
  const Json* v = o.if_contains(key);
  return v != nullptr && v->is_bool() && v->get_bool();
}

}  // namespace

std::string_view to_string(Input::Kind k) {
  for (const auto& [kind, name] : kKinds)
    if (kind == k) return name;
  return "unknown";
}

Json input_to_json(const Input& in) {
  JsonObject o;
  switch (in.kind) {
    case Input::Kind::Start: {
      o["context"] = in.context;
      if (in.dry_run) o["dry_run"] = true;
      if (in.gated) o["gated"] = true;
      if (!in.actor.empty()) o["actor"] = in.actor;
      if (!in.start_step.empty()) o["start_step"] = in.start_step;
      if (!in.simulate.empty()) {
        JsonArray a;
        for (const auto& s : in.simulate) a.emplace_back(s);
        o["simulate"] = std::move(a);
      }
      break;
    }
    case Input::Kind::AttemptFinished: {
      o["key"] = in.key;
      const auto& r = in.outcome;
      o["ok"] = r.ok;
      o["result"] = r.result;
      if (!r.value.is_null()) o["value"] = r.value;
      if (!r.error.empty()) o["error"] = r.error;
      if (r.timed_out) o["timed_out"] = true;
      if (r.cancelled) o["cancelled"] = true;
      if (!r.ctx_updates.empty()) o["ctx_updates"] = r.ctx_updates;
      break;
    }
    case Input::Kind::TimerFired:
    case Input::Kind::Interrupted:
      o["key"] = in.key;
      if (!in.reason.empty()) o["reason"] = in.reason;
      break;
    case Input::Kind::Cancel:
    case Input::Kind::Approval:
    case Input::Kind::Operator:
      o["actor"] = in.actor;
      if (!in.reason.empty()) o["reason"] = in.reason;
      if (in.kind == Input::Kind::Approval) o["approved"] = in.approved;
      if (in.kind == Input::Kind::Operator) o["action"] = action_name(in.action);
      break;
    case Input::Kind::SafetyDecision:
      o["key"] = in.key;
      o["decision"] = in.decision;
      o["reason"] = in.reason;
      if (!in.details.is_null()) o["details"] = in.details;
      break;
  }
  return o;
}

Result<Input> input_from_json(std::string_view type, const Json& data) {
  Input in;
  bool known = false;
  for (const auto& [kind, name] : kKinds)
    if (name == type) {
      in.kind = kind;
      known = true;
    }
  if (!known) return fail(ErrorCode::InvalidArgument, "unknown event type '" + std::string(type) + "'");
  if (!data.is_object()) return fail(ErrorCode::InvalidArgument, "event data is not an object");
  const auto& o = data.get_object();
  in.key = str(o, "key");
  in.actor = str(o, "actor");
  in.reason = str(o, "reason");
  switch (in.kind) {
    case Input::Kind::Start:
      if (const Json* c = o.if_contains("context")) in.context = *c;
      in.dry_run = flag(o, "dry_run");
      in.gated = flag(o, "gated");
      in.start_step = str(o, "start_step");
      if (const Json* s = o.if_contains("simulate"); s != nullptr && s->is_array())
        for (const auto& v : s->get_array())
          if (v.is_string()) in.simulate.emplace_back(v.get_string());
      break;
    case Input::Kind::AttemptFinished: {
      auto& r = in.outcome;
      r.ok = flag(o, "ok");
      if (const Json* v = o.if_contains("result")) r.result = *v;
      if (const Json* v = o.if_contains("value")) r.value = *v;
      r.error = str(o, "error");
      r.timed_out = flag(o, "timed_out");
      r.cancelled = flag(o, "cancelled");
      if (const Json* v = o.if_contains("ctx_updates"); v != nullptr && v->is_object())
        r.ctx_updates = v->get_object();
      break;
    }
    case Input::Kind::Approval:
      in.approved = flag(o, "approved");
      break;
    case Input::Kind::SafetyDecision:
      in.decision = str(o, "decision");
      if (const Json* v = o.if_contains("details")) in.details = *v;
      break;
    case Input::Kind::Operator: {
      const std::string a = str(o, "action");
      in.action = a == "skip" ? OperatorAction::Skip : a == "abort" ? OperatorAction::Abort : OperatorAction::Retry;
      break;
    }
    default:
      break;
  }
  return in;
}

}  // namespace opsrun::engine
