#include "opsrun/engine/recovery.h"

#include "opsrun/model/runbook_yaml.h"

namespace opsrun::engine {

Result<Replayed> replay_history(const std::vector<store::EventRecord>& events,
                                const RunbookLookup& find_runbook) {
  if (events.empty() || events.front().type != "started")
    return fail(ErrorCode::Internal, "history does not begin with a 'started' event");
  auto first = parse_json(events.front().data);
  if (!first || !first->is_object())
    return fail(ErrorCode::Internal, "unreadable 'started' event");
  const auto& o = first->as_object();
  auto text = [&](std::string_view k) {
    const Json* v = o.if_contains(k);
    return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
  };
  model::RunbookPtr rb;
  const std::string definition = text("definition");
  const std::string runbook_id = text("runbook_id");
  if (!definition.empty()) {
    auto loaded = model::load_runbook_text(definition, text("source_file"));
    if (!loaded.ok())
      return fail(ErrorCode::Internal, "the pinned definition of " + runbook_id + " no longer loads");
    rb = loaded.runbook;
  } else {
    rb = find_runbook ? find_runbook(runbook_id) : nullptr;
    if (!rb) return fail(ErrorCode::NotFound, "runbook '" + runbook_id + "' is not loaded");
    if (rb->version != text("runbook_version"))
      return fail(ErrorCode::NotFound, "runbook '" + runbook_id + "' version " +
                                           text("runbook_version") + " is not loaded (have " +
                                           rb->version + ")");
  }
  Replayed out;
  out.state = make_state(rb, events.front().execution_id);
  std::vector<Command> discard;
  for (const auto& ev : events) {
    out.last_seq = ev.seq;
    auto data = parse_json(ev.data);
    if (!data) return fail(ErrorCode::Internal, "unreadable event " + std::to_string(ev.seq));
    if (ev.type == "attempt_started") {
      if (const Json* k = data->as_object().if_contains("key"); k != nullptr && k->is_string())
        out.open_attempts.insert(std::string(k->get_string()));
      continue;
    }
    auto in = input_from_json(ev.type, *data);
    if (!in) continue;  // an event kind this version does not replay
    in->at = from_unix_ms(ev.at_ms);
    if (in->kind == Input::Kind::AttemptFinished || in->kind == Input::Kind::Interrupted)
      out.open_attempts.erase(in->key);
    discard.clear();
    apply(out.state, *in, discard);
  }
  return out;
}

Command relaunch_command(const ExecutionState& st, const std::string& key) {
  Command c;
  c.kind = Command::Kind::RunAttempt;
  c.key = key;
  const std::string& slot_name = st.running.at(key);
  const Slot* slot = st.main.name == slot_name ? &st.main : nullptr;
  for (const auto& child : st.children)
    if (child.name == slot_name) slot = &child;
  if (slot != nullptr) {
    c.step_id = slot->step_id;
    c.attempt = slot->attempt;
    c.item = slot->item;
    c.index = slot->index;
  }
  c.simulate_failure = st.simulate.contains(c.step_id);
  const model::Step* step = st.runbook->find(c.step_id);
  c.dry_run = st.record.dry_run && step != nullptr && step->type == model::StepType::Action;
  return c;
}

}  // namespace opsrun::engine
