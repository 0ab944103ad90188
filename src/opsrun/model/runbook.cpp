#include "opsrun/model/runbook.h"

#include <array>

#include "opsrun/common/duration.h"

namespace opsrun::model {

namespace {

constexpr std::array<std::pair<StepType, std::string_view>, 8> kStepTypes{{
    {StepType::Check, "check"},
    {StepType::Action, "action"},
    {StepType::Decision, "decision"},
    {StepType::Notify, "notify"},
    {StepType::Wait, "wait"},
    {StepType::Parallel, "parallel"},
    {StepType::Loop, "loop"},
    {StepType::Approval, "approval"},
}};

JsonObject string_map(const std::map<std::string, std::string>& m) {
  JsonObject o;
  for (const auto& [k, v] : m) o[k] = v;
  return o;
}

}  // namespace

std::string_view to_string(StepType t) {
  for (const auto& [type, name] : kStepTypes)
    if (type == t) return name;
  return "action";
}

std::optional<StepType> step_type_from_string(std::string_view s) {
  for (const auto& [type, name] : kStepTypes)
    if (name == s) return type;
  // The seed's uppercase names and its NOTIFICATION spelling.
  if (s == "notification" || s == "NOTIFICATION") return StepType::Notify;
  for (const auto& [type, name] : kStepTypes) {
    std::string upper(name);
    for (char& c : upper) c = static_cast<char>(c - 'a' + 'A');
    if (upper == s) return type;
  }
  return std::nullopt;
}

std::string_view to_string(ExecutorKind k) {
  switch (k) {
    case ExecutorKind::None: return "none";
    case ExecutorKind::Exec: return "exec";
    case ExecutorKind::Http: return "http";
    case ExecutorKind::Lua: return "lua";
    case ExecutorKind::Builtin: return "builtin";
    case ExecutorKind::Native: return "native";
  }
  return "none";
}

bool Step::is_idempotent() const {
  if (idempotent) return *idempotent;
  // DESIGN.md: checks and notifications are idempotent by default, actions only when declared.
  switch (type) {
    case StepType::Action: return false;
    default: return true;
  }
}

const Step* Runbook::find(std::string_view step_id) const {
  for (const auto& s : steps)
    if (s.id == step_id) return &s;
  return nullptr;
}

Json runbook_to_json(const Runbook& rb) {
  JsonObject o;
  o["id"] = rb.id;
  o["name"] = rb.name;
  o["description"] = rb.description;
  o["version"] = rb.version;
  JsonArray tags;
  for (const auto& t : rb.tags) tags.emplace_back(t);
  o["tags"] = std::move(tags);
  if (rb.timeout) o["timeout"] = format_duration(*rb.timeout);
  o["context"] = rb.context;
  o["start"] = rb.start;
  JsonArray steps;
  for (const auto& s : rb.steps) {
    JsonObject j;
    j["id"] = s.id;
    if (!s.name.empty()) j["name"] = s.name;
    if (!s.description.empty()) j["description"] = s.description;
    j["type"] = to_string(s.type);
    switch (s.executor) {
      case ExecutorKind::Exec: {
        JsonArray argv;
        for (const auto& a : s.exec.argv) argv.emplace_back(a);
        j["exec"] = std::move(argv);
        if (!s.exec.env.empty()) j["env"] = string_map(s.exec.env);
        if (!s.exec.cwd.empty()) j["cwd"] = s.exec.cwd;
        if (s.exec.stdin_text) j["stdin"] = *s.exec.stdin_text;
        break;
      }
      case ExecutorKind::Http: {
        JsonObject h;
        h["method"] = s.http.method;
        h["url"] = s.http.url;
        if (!s.http.headers.empty()) h["headers"] = string_map(s.http.headers);
        if (s.http.body) h["body"] = *s.http.body;
        JsonObject expect;
        if (s.http.expect.status) expect["status"] = s.http.expect.status;
        if (!s.http.expect.body_contains.empty())
          expect["body_contains"] = s.http.expect.body_contains;
        if (!s.http.expect.json.empty()) {
          JsonObject jp;
          for (const auto& [path, value] : s.http.expect.json) jp[path] = value;
          expect["json"] = std::move(jp);
        }
        if (!expect.empty()) h["expect"] = std::move(expect);
        j["http"] = std::move(h);
        break;
      }
      case ExecutorKind::Lua: j["lua"] = s.lua; break;
      case ExecutorKind::Builtin:
        j["builtin"] = s.builtin.name;
        j["with"] = s.builtin.with;
        break;
      case ExecutorKind::Native: j["native"] = true; break;
      case ExecutorKind::None: break;
    }
    if (s.timeout) j["timeout"] = format_duration(*s.timeout);
    if (s.retry.attempts > 1) {
      JsonObject r;
      r["attempts"] = s.retry.attempts;
      r["backoff"] = s.retry.backoff == Backoff::Fixed ? "fixed" : "exponential";
      r["delay"] = format_duration(s.retry.delay);
      if (s.retry.max_delay) r["max_delay"] = format_duration(*s.retry.max_delay);
      j["retry"] = std::move(r);
    }
    if (!s.on_success.empty()) j["on_success"] = s.on_success;
    if (!s.on_failure.empty()) j["on_failure"] = s.on_failure;
    if (!s.branches.empty()) j["branches"] = string_map(s.branches);
    if (!s.save_as.empty()) j["save_as"] = s.save_as;
    if (s.idempotent) j["idempotent"] = *s.idempotent;
    if (s.target) {
      JsonObject t;
      t["name"] = s.target->name;
      if (!s.target->target_class.empty()) t["class"] = s.target->target_class;
      t["labels"] = string_map(s.target->labels);
      if (!s.target->metadata.empty()) t["metadata"] = string_map(s.target->metadata);
      j["target"] = std::move(t);
    }
    if (!s.risk.empty()) j["risk"] = s.risk;
    if (!s.channels.empty()) {
      JsonArray c;
      for (const auto& ch : s.channels) c.emplace_back(ch);
      j["channels"] = std::move(c);
    }
    if (!s.message.empty()) j["message"] = s.message;
    if (!s.severity.empty()) j["severity"] = s.severity;
    if (!s.notify_key.empty()) j["key"] = s.notify_key;
    if (!s.event.empty()) j["event"] = s.event;
    if (s.type == StepType::Wait) j["duration"] = format_duration(s.duration);
    if (!s.steps.empty()) {
      JsonArray c;
      for (const auto& ch : s.steps) c.emplace_back(ch);
      j["steps"] = std::move(c);
    }
    if (s.min_success) j["min_success"] = *s.min_success;
    if (s.type == StepType::Loop) {
      if (s.items) j["items"] = *s.items;
      if (!s.items_from.empty()) j["items_from"] = s.items_from;
      j["step"] = s.body;
      j["concurrency"] = s.concurrency;
      j["fail_fast"] = s.fail_fast;
    }
    steps.emplace_back(std::move(j));
  }
  o["steps"] = std::move(steps);
  return o;
}

}  // namespace opsrun::model
