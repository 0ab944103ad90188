#include "opsrun/engine/core.h"

#include <algorithm>
#include <cmath>

#include "opsrun/common/duration.h"

namespace opsrun::engine {

using model::ExecutionStatus;
using model::HistoryStatus;
using model::Step;
using model::StepType;

namespace {

constexpr std::string_view kRunbookTimeout = "runbook-timeout";

// Timer keys name their purpose and slot: "wait:<slot>", "retry:<slot>", "approval:<slot>".
std::string timer_key(std::string_view purpose, std::string_view slot) {
  return std::string(purpose) + ":" + std::string(slot);
}

void publish(ExecutionState& st, std::vector<Command>& out, std::string event,
             std::string step_id, Json payload = JsonObject{}) {
  Command c;
  c.kind = Command::Kind::Publish;
  c.event = std::move(event);
  c.step_id = std::move(step_id);
  c.payload = std::move(payload);
  (void)st;
  out.push_back(std::move(c));
}

void start_timer(ExecutionState& st, std::vector<Command>& out, std::string key, SystemTime due) {
  st.timers[key] = due;
  Command c;
  c.kind = Command::Kind::StartTimer;
  c.key = std::move(key);
  c.due = due;
  out.push_back(std::move(c));
}

void cancel_timer(ExecutionState& st, std::vector<Command>& out, const std::string& key) {
  if (st.timers.erase(key) == 0) return;
  Command c;
  c.kind = Command::Kind::CancelTimer;
  c.key = key;
  out.push_back(std::move(c));
}

Slot* find_slot(ExecutionState& st, std::string_view name) {
  if (st.main.name == name) return &st.main;
  for (auto& s : st.children)
    if (s.name == name) return &s;
  return nullptr;
}

bool is_group(const Step& s) { return s.type == StepType::Parallel || s.type == StepType::Loop; }

void add_error(ExecutionState& st, const std::string& step, const std::string& error,
               SystemTime at) {
  st.record.errors.push_back({step, error, at});
}

void add_history(ExecutionState& st, const Slot& slot, HistoryStatus status, SystemTime at,
                 Json result, std::string error) {
  model::HistoryEntry h;
  h.step_id = slot.step_id;
  h.status = status;
  h.start_time = slot.first_start;
  h.end_time = at;
  h.result = std::move(result);
  h.error = std::move(error);
  h.attempts = std::max(slot.attempt, 1);
  h.index = slot.index;
  st.record.history.push_back(std::move(h));
}

void finish(ExecutionState& st, ExecutionStatus status, SystemTime at, std::vector<Command>& out,
            const std::string& reason = {}) {
  if (st.finished()) return;
  st.record.status = status;
  st.record.end_time = at;
  if (!reason.empty() && status == ExecutionStatus::Blocked) st.record.attention_reason = reason;
  // Whatever is still in flight is stopped: running attempts killed, timers dropped.
  for (const auto& [key, slot] : st.running) {
    Command c;
    c.kind = Command::Kind::CancelAttempt;
    c.key = key;
    out.push_back(std::move(c));
  }
  st.running.clear();
  st.gates.clear();
  st.held.clear();
  st.approved.clear();
  st.safety_approvals.clear();
  std::vector<std::string> keys;
  for (const auto& [k, due] : st.timers) keys.push_back(k);
  for (const auto& k : keys) cancel_timer(st, out, k);
  const char* event = status == ExecutionStatus::Completed   ? "execution:completed"
                      : status == ExecutionStatus::Cancelled ? "execution:cancelled"
                                                             : "execution:failed";
  JsonObject p;
  p["status"] = model::to_string(status);
  if (!reason.empty()) p["reason"] = reason;
  publish(st, out, event, st.record.current_step, std::move(p));
}

void enter(ExecutionState& st, const std::string& step_id, SystemTime at, std::vector<Command>& out);
void slot_done(ExecutionState& st, Slot& slot, bool ok, SystemTime at, std::vector<Command>& out,
               const Json& value);

// Starts the attempt `key` of a slot: the command that runs it.
// A command about attempt `key` of a slot.
Command slot_command(Command::Kind kind, const Slot& slot, const std::string& key) {
  Command c;
  c.kind = kind;
  c.key = key;
  c.step_id = slot.step_id;
  c.attempt = slot.attempt;
  c.item = slot.item;
  c.index = slot.index;
  return c;
}

void run_attempt(ExecutionState& st, Slot& slot, const std::string& key, std::vector<Command>& out) {
  const Step* step = st.runbook->find(slot.step_id);
  slot.phase = Slot::Phase::Running;
  Command c = slot_command(Command::Kind::RunAttempt, slot, key);
  c.simulate_failure = st.simulate.contains(slot.step_id);
  // Dry run: checks, decisions and notifications run; actions are described, not performed.
  c.dry_run = st.record.dry_run && step != nullptr && step->type == StepType::Action;
  st.running[c.key] = slot.name;
  JsonObject p;
  p["attempt"] = slot.attempt;
  if (slot.index >= 0) p["index"] = slot.index;
  publish(st, out, "step:started", slot.step_id, std::move(p));
  out.push_back(std::move(c));
}

Command gate_command(const ExecutionState& st, const Slot& slot, const std::string& key) {
  Command c = slot_command(Command::Kind::CheckSafety, slot, key);
  c.dry_run = st.record.dry_run;
  c.approved = st.approved.contains(key);
  return c;
}

void launch(ExecutionState& st, Slot& slot, SystemTime at, std::vector<Command>& out) {
  const Step* step = st.runbook->find(slot.step_id);
  if (slot.attempt == 0) slot.first_start = at;
  ++slot.attempt;
  const std::string key = attempt_key(st.record.execution_id, slot.name, slot.attempt);
  // Every attempt of an action passes the safety gate first: the shell asks it and feeds
  // the answer back as a SafetyDecision input (recorded, so a replay needs no gate).
  if (st.gated && step != nullptr && step->type == StepType::Action && !st.simulate.contains(slot.step_id)) {
    slot.phase = Slot::Phase::Gated;
    st.gates[key] = slot.name;
    out.push_back(gate_command(st, slot, key));
    return;
  }
  run_attempt(st, slot, key, out);
}

// Starts one child slot (a parallel branch or a loop item) of the current group step.
void start_child(ExecutionState& st, Slot& child, SystemTime at, std::vector<Command>& out) {
  const Step* body = st.runbook->find(child.step_id);
  if (body != nullptr && body->type == StepType::Wait) {
    child.first_start = at;
    child.attempt = 1;
    child.phase = Slot::Phase::Waiting;
    if (st.simulate.contains(child.step_id)) {
      slot_done(st, child, false, at, out, Json());
      return;
    }
    start_timer(st, out, timer_key("wait", child.name), at + body->duration);
    return;
  }
  launch(st, child, at, out);
}

void launch_loop_items(ExecutionState& st, SystemTime at, std::vector<Command>& out) {
  const Step* loop = st.runbook->find(st.main.step_id);
  const auto& items = st.loop_items.as_array();
  auto in_flight = [&] {
    int n = 0;
    for (const auto& c : st.children)
      if (c.phase != Slot::Phase::Done) ++n;
    return n;
  };
  const int gen = st.generation;
  while (!st.stop_launching && st.next_item < items.size() && in_flight() < loop->concurrency) {
    Slot child;
    child.index = static_cast<int>(st.next_item);
    child.name = st.main.step_id + "#" + std::to_string(child.index);
    child.step_id = loop->body;
    child.item = items[st.next_item];
    ++st.next_item;
    st.children.push_back(std::move(child));
    start_child(st, st.children.back(), at, out);
    if (st.finished() || st.generation != gen) return;
  }
}

void transition(ExecutionState& st, const Step& step, bool ok, SystemTime at,
                std::vector<Command>& out, const Json& value) {
  std::string next;
  if (step.type == StepType::Decision && ok) {
    const std::string branch = value.is_string() ? std::string(value.get_string()) : json_to_text(value);
    auto it = step.branches.find(branch);
    if (it == step.branches.end()) it = step.branches.find("default");
    if (it == step.branches.end()) {
      const std::string err = "decision returned '" + branch + "', which has no branch";
      add_error(st, step.id, err, at);
      if (step.on_failure.empty()) {
        finish(st, ExecutionStatus::Failed, at, out, err);
        return;
      }
      next = step.on_failure;
    } else {
      next = it->second;
    }
  } else {
    next = ok ? step.on_success : step.on_failure;
  }
  if (next.empty()) {
    if (!ok && !st.blocked_reason.empty()) {
      finish(st, ExecutionStatus::Blocked, at, out, st.blocked_reason);
      return;
    }
    finish(st, ok ? ExecutionStatus::Completed : ExecutionStatus::Failed, at, out);
    return;
  }
  enter(st, next, at, out);
}

void group_child_settled(ExecutionState& st, SystemTime at, std::vector<Command>& out) {
  const Step* group = st.runbook->find(st.main.step_id);
  const bool all_settled = std::all_of(st.children.begin(), st.children.end(),
                                       [](const Slot& c) { return c.phase == Slot::Phase::Done; });
  if (group->type == StepType::Loop) {
    if (st.failed_children > 0 && group->fail_fast && !st.stop_launching) {
      st.stop_launching = true;
      // Stop the items still running: fail fast means not waiting for them.
      for (auto& c : st.children) {
        if (c.phase == Slot::Phase::Done) continue;
        for (auto it = st.running.begin(); it != st.running.end();) {
          if (it->second == c.name) {
            Command cmd;
            cmd.kind = Command::Kind::CancelAttempt;
            cmd.key = it->first;
            out.push_back(std::move(cmd));
            it = st.running.erase(it);
          } else {
            ++it;
          }
        }
        for (const char* purpose : {"retry", "wait"}) cancel_timer(st, out, timer_key(purpose, c.name));
        c.phase = Slot::Phase::Done;
        c.cancelled = true;
        add_history(st, c, HistoryStatus::Skipped, at, Json(), "cancelled: fail_fast");
      }
      slot_done(st, st.main, false, at, out, Json());
      return;
    }
    const int gen = st.generation;
    launch_loop_items(st, at, out);
    if (st.finished() || st.generation != gen) return;
    const bool more = st.next_item < st.loop_items.as_array().size() && !st.stop_launching;
    if (more || !std::all_of(st.children.begin(), st.children.end(),
                             [](const Slot& c) { return c.phase == Slot::Phase::Done; }))
      return;
    slot_done(st, st.main, st.failed_children == 0, at, out, Json());
    return;
  }
  // Parallel: like the seed's Promise.allSettled, wait for every branch, then count.
  if (!all_settled) return;
  const int needed = group->min_success.value_or(static_cast<int>(group->steps.size()));
  slot_done(st, st.main, st.ok_children >= needed, at, out, Json());
}

void slot_done(ExecutionState& st, Slot& slot, bool ok, SystemTime at, std::vector<Command>& out,
               const Json& value) {
  slot.phase = Slot::Phase::Done;
  slot.ok = ok;
  const Step* step = st.runbook->find(slot.step_id);
  if (&slot != &st.main) {
    if (ok) ++st.ok_children;
    else ++st.failed_children;
    group_child_settled(st, at, out);
    return;
  }
  if (is_group(*step)) {
    JsonObject summary;
    summary["status"] = ok ? "success" : "failure";
    summary["succeeded"] = st.ok_children;
    summary["failed"] = st.failed_children;
    JsonArray items;
    if (auto* prev = st.record.results.as_object().if_contains(step->id);
        prev != nullptr && prev->is_object()) {
      if (auto* it = prev->as_object().if_contains("items")) items = it->as_array();
    }
    if (!items.empty()) summary["items"] = std::move(items);
    st.record.results.as_object()[step->id] = summary;
    add_history(st, slot, ok ? HistoryStatus::Success : HistoryStatus::Failure, at, summary,
                ok ? "" : std::to_string(st.failed_children) + " of " +
                              std::to_string(st.children.size()) + " failed");
    publish(st, out, ok ? "step:completed" : "step:failed", step->id, summary);
    if (!ok) add_error(st, step->id, "group step failed", at);
  }
  transition(st, *step, ok, at, out, value);
}

void enter(ExecutionState& st, const std::string& step_id, SystemTime at, std::vector<Command>& out) {
  const Step* step = st.runbook->find(step_id);
  st.record.current_step = step_id;
  ++st.generation;
  st.main = Slot{};
  st.main.name = step_id;
  st.main.step_id = step_id;
  st.children.clear();
  st.loop_items = Json();
  st.next_item = 0;
  st.ok_children = st.failed_children = 0;
  st.stop_launching = false;
  // No slot of the previous step is alive any more: its gates go with it.
  st.gates.clear();
  st.held.clear();
  st.approved.clear();
  st.safety_approvals.clear();
  st.blocked_reason.clear();
  if (step == nullptr) {  // validation prevents this; a definition changed under a replay could not
    add_error(st, step_id, "unknown step", at);
    finish(st, ExecutionStatus::Failed, at, out, "unknown step '" + step_id + "'");
    return;
  }
  if (st.simulate.contains(step_id) && (step->type == StepType::Wait ||
                                        step->type == StepType::Approval || is_group(*step))) {
    st.main.first_start = at;
    st.main.attempt = 1;
    add_error(st, step_id, "simulated failure", at);
    add_history(st, st.main, HistoryStatus::Failure, at, Json(), "simulated failure");
    publish(st, out, "step:failed", step_id, JsonObject{{"error", "simulated failure"}});
    st.main.phase = Slot::Phase::Done;
    transition(st, *step, false, at, out, Json());
    return;
  }
  switch (step->type) {
    case StepType::Wait:
      st.main.first_start = at;
      st.main.attempt = 1;
      st.main.phase = Slot::Phase::Waiting;
      publish(st, out, "step:started", step_id);
      start_timer(st, out, timer_key("wait", st.main.name), at + step->duration);
      return;
    case StepType::Approval:
      st.main.first_start = at;
      st.main.attempt = 1;
      st.main.phase = Slot::Phase::Waiting;
      st.record.status = ExecutionStatus::Waiting;
      publish(st, out, "step:started", step_id);
      publish(st, out, "execution:waiting", step_id,
              JsonObject{{"reason", "approval"}, {"message", step->message}});
      if (step->timeout) start_timer(st, out, timer_key("approval", st.main.name), at + *step->timeout);
      return;
    case StepType::Parallel:
      st.main.first_start = at;
      st.main.attempt = 1;
      st.main.phase = Slot::Phase::Running;
      publish(st, out, "step:started", step_id);
      for (const auto& child_id : step->steps) {
        Slot child;
        child.name = step_id + "/" + child_id;
        child.step_id = child_id;
        st.children.push_back(std::move(child));
      }
      st.children.reserve(st.children.size());
      for (std::size_t i = 0, gen = static_cast<std::size_t>(st.generation); i < st.children.size(); ++i) {
        start_child(st, st.children[i], at, out);
        if (st.finished() || static_cast<std::size_t>(st.generation) != gen) return;
      }
      return;
    case StepType::Loop: {
      st.main.first_start = at;
      st.main.attempt = 1;
      st.main.phase = Slot::Phase::Running;
      publish(st, out, "step:started", step_id);
      Json items;
      if (step->items) {
        items = *step->items;
      } else {
        std::string path = step->items_from;
        if (path.starts_with("ctx.")) path = path.substr(4);
        if (const Json* found = find_path(st.record.context, path)) items = *found;
      }
      if (!items.is_array()) {
        const std::string err = "loop items (" +
                                (step->items_from.empty() ? "items" : step->items_from) +
                                ") is not a list";
        add_error(st, step_id, err, at);
        add_history(st, st.main, HistoryStatus::Failure, at, Json(), err);
        publish(st, out, "step:failed", step_id, JsonObject{{"error", err}});
        st.main.phase = Slot::Phase::Done;
        transition(st, *step, false, at, out, Json());
        return;
      }
      st.loop_items = std::move(items);
      // Reserved so slots never move while a reference to one is live.
      st.children.reserve(st.loop_items.as_array().size());
      if (st.loop_items.as_array().empty()) {
        slot_done(st, st.main, true, at, out, Json());
        return;
      }
      launch_loop_items(st, at, out);
      return;
    }
    default:
      launch(st, st.main, at, out);
      return;
  }
}

void record_result(ExecutionState& st, const Slot& slot, const AttemptOutcome& o, SystemTime at) {
  JsonObject r = o.result.is_object() ? o.result.as_object() : JsonObject{};
  r["status"] = o.ok ? "success" : "failure";
  r["attempts"] = slot.attempt;
  r["duration_ms"] = std::chrono::duration_cast<Millis>(at - slot.first_start).count();
  if (!o.value.is_null()) r["value"] = o.value;
  if (!o.error.empty()) r["error"] = o.error;
  auto& results = st.record.results.as_object();
  if (slot.index >= 0) {
    // Loop items: results.<loop>.items[index], and results.<body> holds the latest.
    const std::string loop_id = st.main.step_id;
    auto& entry = results[loop_id];
    if (!entry.is_object()) entry = JsonObject{};
    auto& items = entry.as_object()["items"];
    if (!items.is_array()) items = JsonArray{};
    auto& arr = items.as_array();
    while (arr.size() <= static_cast<std::size_t>(slot.index)) arr.emplace_back(nullptr);
    arr[static_cast<std::size_t>(slot.index)] = r;
  }
  results[slot.step_id] = std::move(r);
}

void on_attempt_finished(ExecutionState& st, const Input& in, std::vector<Command>& out) {
  auto it = st.running.find(in.key);
  if (it == st.running.end()) return;  // late answer of a cancelled attempt: nothing to do
  Slot* slot = find_slot(st, it->second);
  st.running.erase(it);
  if (slot == nullptr) return;
  const Step* step = st.runbook->find(slot->step_id);
  const AttemptOutcome& o = in.outcome;
  for (const auto& kv : o.ctx_updates) st.record.context.as_object()[kv.key()] = kv.value();
  if (o.ok) {
    record_result(st, *slot, o, in.at);
    if (!step->save_as.empty()) st.record.context.as_object()[step->save_as] = o.value;
    add_history(st, *slot, HistoryStatus::Success, in.at, st.record.results.as_object()[slot->step_id], "");
    JsonObject p;
    p["attempt"] = slot->attempt;
    if (slot->index >= 0) p["index"] = slot->index;
    p["result"] = st.record.results.as_object()[slot->step_id];
    publish(st, out, "step:completed", slot->step_id, std::move(p));
    if (step->type == StepType::Notify) {
      for (const auto& ch : step->channels)
        publish(st, out, "notification:sent", slot->step_id,
                JsonObject{{"channel", ch}, {"message", o.result.is_object() && o.result.as_object().contains("message")
                                                             ? o.result.as_object().at("message")
                                                             : Json(step->message)}});
    }
    slot_done(st, *slot, true, in.at, out, o.value);
    return;
  }
  const std::string error = o.error.empty() ? (o.timed_out ? "timed out" : "failed") : o.error;
  if (!o.cancelled && slot->attempt < step->retry.attempts && !st.simulate.contains(step->id)) {
    const Millis delay = retry_delay(step->retry, slot->attempt + 1, in.key);
    slot->phase = Slot::Phase::Backoff;
    JsonObject p;
    p["attempt"] = slot->attempt;
    p["error"] = error;
    p["delay_ms"] = delay.count();
    publish(st, out, "step:retrying", slot->step_id, std::move(p));
    start_timer(st, out, timer_key("retry", slot->name), in.at + delay);
    return;
  }
  record_result(st, *slot, o, in.at);
  add_error(st, slot->step_id, error, in.at);
  add_history(st, *slot, HistoryStatus::Failure, in.at, st.record.results.as_object()[slot->step_id], error);
  JsonObject p;
  p["attempt"] = slot->attempt;
  p["error"] = error;
  if (slot->index >= 0) p["index"] = slot->index;
  publish(st, out, "step:failed", slot->step_id, std::move(p));
  slot_done(st, *slot, false, in.at, out, Json());
}

void on_timer(ExecutionState& st, const Input& in, std::vector<Command>& out) {
  if (st.timers.erase(in.key) == 0) return;  // cancelled meanwhile
  if (in.key == kRunbookTimeout) {
    const std::string err = "runbook timed out after " + format_duration(*st.runbook->timeout);
    add_error(st, st.record.current_step, err, in.at);
    finish(st, ExecutionStatus::Failed, in.at, out, err);
    return;
  }
  const auto colon = in.key.find(':');
  const std::string purpose = in.key.substr(0, colon);
  Slot* slot = find_slot(st, in.key.substr(colon + 1));
  if (slot == nullptr) return;
  if (purpose == "retry") {
    launch(st, *slot, in.at, out);
  } else if (purpose == "wait") {
    add_history(st, *slot, HistoryStatus::Success, in.at, Json(), "");
    publish(st, out, "step:completed", slot->step_id);
    slot_done(st, *slot, true, in.at, out, Json());
  } else if (purpose == "approval") {
    st.record.status = ExecutionStatus::Running;
    add_error(st, slot->step_id, "approval timed out", in.at);
    add_history(st, *slot, HistoryStatus::Failure, in.at, Json(), "approval timed out");
    publish(st, out, "step:failed", slot->step_id, JsonObject{{"error", "approval timed out"}});
    slot_done(st, *slot, false, in.at, out, Json());
  }
}

void on_start(ExecutionState& st, const Input& in, std::vector<Command>& out) {
  auto& rec = st.record;
  rec.status = ExecutionStatus::Running;
  rec.start_time = in.at;
  rec.dry_run = in.dry_run;
  st.gated = in.gated;
  st.actor = in.actor;
  rec.context = st.runbook->context.is_object() ? st.runbook->context : Json(JsonObject{});
  if (in.context.is_object())
    for (const auto& kv : in.context.as_object()) rec.context.as_object()[kv.key()] = kv.value();
  st.simulate = std::set<std::string>(in.simulate.begin(), in.simulate.end());
  publish(st, out, "execution:started", "", JsonObject{{"dryRun", in.dry_run}});
  if (st.runbook->timeout) start_timer(st, out, std::string(kRunbookTimeout), in.at + *st.runbook->timeout);
  enter(st, in.start_step.empty() ? st.runbook->start : in.start_step, in.at, out);
}

void on_operator(ExecutionState& st, const Input& in, std::vector<Command>& out) {
  if (st.record.status != ExecutionStatus::NeedsAttention) return;
  Slot* slot = find_slot(st, st.attention_slot);
  st.record.status = ExecutionStatus::Running;
  st.record.attention_reason.clear();
  st.attention_slot.clear();
  if (slot == nullptr || in.action == OperatorAction::Abort) {
    add_error(st, st.record.current_step, "aborted by " + (in.actor.empty() ? "operator" : in.actor), in.at);
    finish(st, ExecutionStatus::Failed, in.at, out, "aborted by operator");
    return;
  }
  if (in.action == OperatorAction::Retry) {
    launch(st, *slot, in.at, out);
    return;
  }
  // Skip: the step counts as done without running, and the run follows on_success.
  add_history(st, *slot, HistoryStatus::Skipped, in.at, Json(), "skipped by " + (in.actor.empty() ? "operator" : in.actor));
  slot_done(st, *slot, true, in.at, out, Json());
}

// Waiting while the emergency stop holds an action or a person is asked; else running.
void refresh_waiting(ExecutionState& st, const std::string& hold_reason = {}) {
  if (st.finished() || st.record.status == ExecutionStatus::NeedsAttention) return;
  const Step* main = st.runbook->find(st.main.step_id);
  const bool approval_step = main != nullptr && main->type == StepType::Approval &&
                             st.main.phase == Slot::Phase::Waiting;
  if (!st.held.empty()) {
    st.record.status = ExecutionStatus::Waiting;
    if (!hold_reason.empty()) st.record.attention_reason = hold_reason;
    return;
  }
  st.record.attention_reason.clear();
  st.record.status = approval_step || !st.safety_approvals.empty() ? ExecutionStatus::Waiting
                                                                   : ExecutionStatus::Running;
}

// A denied (or rejected) action: the step fails with the reason in its result, and takes
// on_failure; without one the execution ends `blocked`.
void safety_fail(ExecutionState& st, Slot& slot, const std::string& reason, const Json& details,
                 SystemTime at, std::vector<Command>& out) {
  AttemptOutcome o;
  o.ok = false;
  o.error = reason;
  JsonObject safety = details.is_object() ? details.as_object() : JsonObject{};
  safety["decision"] = "deny";
  safety["reason"] = reason;
  o.result = JsonObject{{"safety", safety}};
  record_result(st, slot, o, at);
  add_error(st, slot.step_id, reason, at);
  add_history(st, slot, HistoryStatus::Failure, at, st.record.results.as_object()[slot.step_id], reason);
  JsonObject p;
  p["attempt"] = slot.attempt;
  p["error"] = reason;
  p["safety"] = true;
  if (slot.index >= 0) p["index"] = slot.index;
  publish(st, out, "step:failed", slot.step_id, std::move(p));
  st.blocked_reason = reason;
  slot_done(st, slot, false, at, out, Json());
}

void on_safety_decision(ExecutionState& st, const Input& in, std::vector<Command>& out) {
  auto it = st.gates.find(in.key);
  if (it == st.gates.end()) return;  // the slot is gone (cancelled, fail_fast): nothing to do
  Slot* slot = find_slot(st, it->second);
  if (slot == nullptr || slot->phase != Slot::Phase::Gated) {
    st.gates.erase(it);
    st.held.erase(in.key);
    return;
  }
  JsonObject p = in.details.is_object() ? in.details.as_object() : JsonObject{};
  p["decision"] = in.decision;
  p["reason"] = in.reason;
  p["attempt"] = slot->attempt;
  if (slot->index >= 0) p["index"] = slot->index;
  if (in.decision == "hold") {
    // The emergency stop: the gate stays, and is asked again when the stop is lifted.
    if (st.held.insert(in.key).second) {
      publish(st, out, "safety:decision", slot->step_id, p);
      publish(st, out, "execution:waiting", slot->step_id,
              JsonObject{{"reason", "emergency_stop"}, {"message", in.reason}});
    }
    refresh_waiting(st, in.reason);
    return;
  }
  const std::string key = in.key;
  st.gates.erase(it);
  st.held.erase(key);
  st.approved.erase(key);
  publish(st, out, "safety:decision", slot->step_id, p);
  if (in.decision == "allow") {
    refresh_waiting(st);
    run_attempt(st, *slot, key, out);
  } else if (in.decision == "needs_approval") {
    slot->phase = Slot::Phase::Waiting;
    st.safety_approvals.emplace_back(key, slot->name);
    refresh_waiting(st);
    publish(st, out, "execution:waiting", slot->step_id,
            JsonObject{{"reason", "approval"}, {"message", in.reason}, {"safety", true}});
  } else if (in.decision == "abort") {
    const std::string why = "aborted by the emergency stop: " + in.reason;
    add_error(st, slot->step_id, why, in.at);
    finish(st, ExecutionStatus::Cancelled, in.at, out, why);
  } else {  // deny, or anything this version does not know: never run it
    refresh_waiting(st);
    safety_fail(st, *slot, "denied by safety policy: " + in.reason, in.details, in.at, out);
  }
}

// approve/reject of an action the safety layer asked a person about (oldest first).
void on_safety_approval(ExecutionState& st, const Input& in, std::vector<Command>& out) {
  auto [key, slot_name] = st.safety_approvals.front();
  st.safety_approvals.erase(st.safety_approvals.begin());
  Slot* slot = find_slot(st, slot_name);
  if (slot == nullptr || slot->phase != Slot::Phase::Waiting) {
    refresh_waiting(st);
    return;
  }
  JsonObject r{{"approved", in.approved}, {"by", in.actor}};
  if (!in.reason.empty()) r["comment"] = in.reason;
  publish(st, out, in.approved ? "safety:approved" : "safety:rejected", slot->step_id, r);
  refresh_waiting(st);
  if (in.approved) {
    // Asked again, as approved: the emergency stop and the rate limits still apply.
    slot->phase = Slot::Phase::Gated;
    st.gates[key] = slot->name;
    st.approved.insert(key);
    out.push_back(gate_command(st, *slot, key));
    return;
  }
  safety_fail(st, *slot, "approval rejected by " + (in.actor.empty() ? std::string("operator") : in.actor) +
                             (in.reason.empty() ? "" : ": " + in.reason),
              JsonObject{{"rule", "approval"}}, in.at, out);
}

}  // namespace

std::string attempt_key(std::string_view execution_id, std::string_view slot, int attempt) {
  return std::string(execution_id) + "/" + std::string(slot) + "/" + std::to_string(attempt);
}

ExecutionState make_state(model::RunbookPtr runbook, std::string execution_id) {
  ExecutionState st;
  st.record.execution_id = std::move(execution_id);
  st.record.runbook_id = runbook->id;
  st.record.runbook_version = runbook->version;
  st.record.status = ExecutionStatus::Pending;
  st.runbook = std::move(runbook);
  return st;
}

Command safety_check_command(const ExecutionState& st, const std::string& key) {
  const std::string& slot_name = st.gates.at(key);
  const Slot* slot = st.main.name == slot_name ? &st.main : nullptr;
  for (const auto& child : st.children)
    if (child.name == slot_name) slot = &child;
  if (slot == nullptr) {
    Command c;
    c.kind = Command::Kind::CheckSafety;
    c.key = key;
    return c;
  }
  return gate_command(st, *slot, key);
}

Millis retry_delay(const model::RetryPolicy& policy, int next_attempt, std::string_view key) {
  double ms = static_cast<double>(policy.delay.count());
  if (policy.backoff == model::Backoff::Exponential) {
    ms *= std::pow(2.0, std::max(0, next_attempt - 2));
    // Deterministic jitter: FNV-1a of the key picks a point in [-jitter, +jitter].
    std::uint64_t h = 1469598103934665603ULL;
    for (char c : key) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
    const double unit = static_cast<double>(h % 10001) / 10000.0;  // [0, 1]
    ms *= 1.0 + policy.jitter * (2.0 * unit - 1.0);
  }
  if (policy.max_delay) ms = std::min(ms, static_cast<double>(policy.max_delay->count()));
  return Millis(static_cast<std::int64_t>(std::max(0.0, ms)));
}

void apply(ExecutionState& st, const Input& in, std::vector<Command>& out) {
  if (st.finished()) return;
  switch (in.kind) {
    case Input::Kind::Start:
      if (st.record.status == ExecutionStatus::Pending) on_start(st, in, out);
      return;
    case Input::Kind::AttemptFinished:
      if (st.record.status == ExecutionStatus::NeedsAttention) return;
      on_attempt_finished(st, in, out);
      return;
    case Input::Kind::TimerFired:
      on_timer(st, in, out);
      return;
    case Input::Kind::Cancel:
      add_error(st, st.record.current_step,
                "cancelled by " + (in.actor.empty() ? std::string("operator") : in.actor), in.at);
      finish(st, ExecutionStatus::Cancelled, in.at, out, in.reason);
      return;
    case Input::Kind::Approval: {
      if (!st.safety_approvals.empty()) {
        on_safety_approval(st, in, out);
        return;
      }
      const Step* step = st.runbook->find(st.main.step_id);
      if (step == nullptr || step->type != StepType::Approval || st.main.phase != Slot::Phase::Waiting)
        return;
      cancel_timer(st, out, timer_key("approval", st.main.name));
      st.record.status = ExecutionStatus::Running;
      JsonObject r;
      r["approved"] = in.approved;
      r["by"] = in.actor;
      if (!in.reason.empty()) r["comment"] = in.reason;
      st.record.results.as_object()[step->id] = r;
      add_history(st, st.main, in.approved ? HistoryStatus::Success : HistoryStatus::Failure, in.at, r,
                  in.approved ? "" : "rejected by " + in.actor);
      publish(st, out, in.approved ? "step:completed" : "step:failed", step->id, r);
      if (!in.approved) add_error(st, step->id, "rejected by " + in.actor, in.at);
      slot_done(st, st.main, in.approved, in.at, out, Json());
      return;
    }
    case Input::Kind::Operator:
      on_operator(st, in, out);
      return;
    case Input::Kind::SafetyDecision:
      on_safety_decision(st, in, out);
      return;
    case Input::Kind::Interrupted: {
      auto it = st.running.find(in.key);
      if (it == st.running.end()) return;
      st.attention_slot = it->second;
      st.running.erase(it);
      st.record.status = ExecutionStatus::NeedsAttention;
      st.record.attention_reason = in.reason;
      publish(st, out, "execution:needs_attention", st.record.current_step,
              JsonObject{{"reason", in.reason}});
      return;
    }
  }
}

}  // namespace opsrun::engine
