#include "opsrun/engine/engine.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "opsrun/common/ids.h"
#include "opsrun/common/log.h"
#include "opsrun/engine/core.h"
#include "opsrun/engine/recovery.h"
#include "opsrun/engine/worker_pool.h"
#include "opsrun/model/runbook_yaml.h"
#include "opsrun/model/template.h"
#include "opsrun/safety/gate.h"
#include "opsrun/steps/step_runner.h"
#include "opsrun/store/store.h"

namespace opsrun::engine {

using model::ExecutionStatus;

namespace {

struct Live {
  ExecutionState state;
  std::int64_t seq = 0;                         // last event seq written
  std::int64_t durable_seq = 0;                 // last event seq the store has committed
  bool dirty = false;                           // summary row changed this turn
};

struct QueuedInput {
  std::string execution_id;
  Input input;
};

struct TimerEntry {
  std::string execution_id;
  std::string key;
  bool attempt_timeout = false;                 // the shell's own deadline for an attempt
};

// A side effect to perform once this turn's records are committed.
struct Pending {
  std::string execution_id;
  Command command;
};

bool runs_inline(const model::Step& step) {
  // Trivial built-ins run on the loop thread: no thread hop for no-ops (bench/engine).
  return step.executor == model::ExecutorKind::Builtin && !step.timeout &&
         (step.builtin.name == "noop" || step.builtin.name == "fail" || step.builtin.name == "log");
}

// Building the template scope copies the context and results: skip it for steps that
// read neither.
bool needs_scope(const model::Step& step) {
  return !(step.executor == model::ExecutorKind::Builtin &&
           (step.builtin.name == "noop" || step.builtin.name == "fail"));
}

std::unexpected<Error> not_yet_durable(std::string_view execution_id, const store::Store& store) {
  return fail(ErrorCode::Unavailable, "execution " + std::string(execution_id) +
                                          " is not yet recorded in the store (" + store.describe() + ")");
}

store::ExecutionRow summary_row(const model::Execution& e, SystemTime now) {
  store::ExecutionRow row;
  row.execution_id = e.execution_id;
  row.runbook_id = e.runbook_id;
  row.runbook_version = e.runbook_version;
  row.status = std::string(model::to_string(e.status));
  row.current_step = e.current_step;
  row.started_at_ms = to_unix_ms(e.start_time);
  row.updated_at_ms = to_unix_ms(now);
  if (e.end_time) row.finished_at_ms = to_unix_ms(*e.end_time);
  row.reason = e.attention_reason;
  return row;
}

}  // namespace

struct Engine::Impl {
  Impl(Clock& c, steps::StepRunner& r, store::Store* s, EngineOptions o)
      : clock(c), runner(r), store(s), options(o), pool(o.max_workers), inline_token(c) {}

  Clock& clock;
  steps::StepRunner& runner;

  // Times are kept to the millisecond, as the store keeps them, so a replay is exact.
  SystemTime now_ms() const { return std::chrono::floor<Millis>(clock.now()); }
  store::Store* store;
  EngineOptions options;
  EventBus bus;
  WorkerPool pool;
  steps::CancelToken inline_token;

  mutable std::mutex mu;
  std::condition_variable wake;                 // the loop: new input or timer
  std::condition_variable changed;              // waiters: an execution changed state
  std::map<std::string, model::RunbookPtr, std::less<>> runbooks;
  std::map<std::string, std::unique_ptr<Live>, std::less<>> live;
  std::deque<std::string> finished_order;       // for trimming kept records
  std::deque<QueuedInput> inbox;
  std::multimap<SystemTime, TimerEntry> timers;
  std::map<std::string, std::shared_ptr<steps::CancelToken>> tokens;  // running attempts
  std::set<std::string> started_markers_pending;  // recovery: attempts with attempt_started
  bool stopping = false;
  std::thread loop_thread;
  bool store_failing = false;
  bool in_turn = false;                         // a turn's records are being committed/performed
  bool recheck_gates = false;                   // the emergency stop changed: ask held gates again
  // Callers waiting without blocking (when_durable / when_settled), by execution id.
  std::multimap<std::string, std::function<void(Result<void>)>, std::less<>> durable_waiters;
  std::multimap<std::string, std::function<void(std::optional<model::Execution>)>, std::less<>>
      settle_waiters;

  // Under the lock: the start's records are committed (or there is no store to wait for).
  // Executions leave memory only after their final records were committed.
  bool start_durable(std::string_view execution_id) const {
    if (store == nullptr) return true;
    auto it = live.find(execution_id);
    return it == live.end() || it->second->durable_seq >= 1;
  }
  // Under the lock: finished, or waiting for a person with nothing queued for it. `gone`:
  // not in memory.
  std::optional<model::Execution> settled(std::string_view execution_id, bool& gone) const {
    auto it = live.find(execution_id);
    gone = it == live.end();
    if (gone || in_turn) return std::nullopt;
    const auto& st = it->second->state;
    const auto s = st.record.status;
    const bool queued = std::any_of(inbox.begin(), inbox.end(), [&](const QueuedInput& q) {
      return q.execution_id == execution_id;
    });
    if (!queued && (model::is_terminal(s) || s == ExecutionStatus::NeedsAttention ||
                    (s == ExecutionStatus::Waiting && st.running.empty())))
      return st.record;
    return std::nullopt;
  }
  // Under the lock: takes the waiters whose condition holds, as calls to make off the lock.
  void take_ready_waiters(std::vector<std::function<void()>>& calls) {
    for (auto it = durable_waiters.begin(); it != durable_waiters.end();) {
      if (!start_durable(it->first)) {
        ++it;
        continue;
      }
      calls.push_back([f = std::move(it->second)] { f({}); });
      it = durable_waiters.erase(it);
    }
    for (auto it = settle_waiters.begin(); it != settle_waiters.end();) {
      bool gone = false;
      auto record = settled(it->first, gone);
      if (!gone && !record) {
        ++it;
        continue;
      }
      calls.push_back([f = std::move(it->second), r = std::move(record)] { f(r); });
      it = settle_waiters.erase(it);
    }
  }

  // Executions over their runbook's concurrency limit, by runbook, oldest first (memory only).
  std::map<std::string, std::deque<QueuedInput>> queued;

  // Executions of a runbook admitted and not finished (the queued ones are not counted).
  int active_of(const std::string& runbook_id) const {
    std::set<std::string> waiting;
    if (auto q = queued.find(runbook_id); q != queued.end())
      for (const auto& in : q->second) waiting.insert(in.execution_id);
    int n = 0;
    for (const auto& [id, lv] : live)
      if (lv->state.record.runbook_id == runbook_id && !lv->state.finished() && !waiting.contains(id)) ++n;
    return n;
  }
  // Starts queued executions of runbooks that have room again (under the lock).
  void release_queued() {
    if (options.gate == nullptr) return;
    for (auto& [runbook_id, q] : queued) {
      while (!q.empty() && options.gate->admit(runbook_id, active_of(runbook_id)).admit) {
        inbox.push_back(std::move(q.front()));
        q.pop_front();
      }
    }
  }
  std::vector<safety::ActionResult> action_results;  // for the gate, after the commit

  // ---- producers (any thread) ---------------------------------------------------------
  void push(std::string execution_id, Input in) {
    {
      std::lock_guard g(mu);
      inbox.push_back({std::move(execution_id), std::move(in)});
    }
    wake.notify_one();
  }

  // ---- the loop -----------------------------------------------------------------------
  void run_loop();
  bool idle_in_simulation(std::unique_lock<std::mutex>& lock);
  void turn(std::unique_lock<std::mutex>& lock);
  void apply_input(Live& lv, const Input& in, store::Batch& batch, std::vector<Pending>& effects);
  void record_event(Live& lv, std::string type, const Json& data, SystemTime at, store::Batch& batch);
  void perform(const Pending& p, std::vector<QueuedInput>& immediate);
  void perform_all(const std::vector<Pending>& effects, std::vector<QueuedInput>& immediate);
  void launch_attempt(const std::string& execution_id, const Command& c,
                      std::vector<QueuedInput>& immediate);
  std::optional<safety::ActionRequest> safety_request(const std::string& execution_id, const Command& c);
  void decide_safety(const std::vector<safety::ActionRequest>& asks, std::vector<QueuedInput>& immediate);
  void note_action_result(const Live& lv, const Input& in);
  steps::AttemptRequest attempt_request(const Live& lv, const Command& c, bool with_scope);
  void remove_timer(const std::string& execution_id, const std::string& key);
  void trim_finished();
};

void Engine::Impl::record_event(Live& lv, std::string type, const Json& data, SystemTime at,
                                store::Batch& batch) {
  if (store == nullptr) return;
  store::EventRecord ev;
  ev.execution_id = lv.state.record.execution_id;
  ev.seq = ++lv.seq;
  ev.type = std::move(type);
  ev.at_ms = to_unix_ms(at);
  ev.data = to_json_text(data);
  batch.events.push_back(std::move(ev));
}

void Engine::Impl::apply_input(Live& lv, const Input& in, store::Batch& batch,
                               std::vector<Pending>& effects) {
  if (lv.state.finished()) return;
  const auto before_status = lv.state.record.status;
  const auto before_step = lv.state.record.current_step;
  if (options.gate != nullptr && in.kind == Input::Kind::AttemptFinished) note_action_result(lv, in);
  std::vector<Command> cmds;
  apply(lv.state, in, cmds);
  Json data = store != nullptr ? input_to_json(in) : Json();
  if (store != nullptr && in.kind == Input::Kind::Start) {
    // The definition is pinned in the history so a restart resumes the same version.
    auto& o = data.as_object();
    o["runbook_id"] = lv.state.runbook->id;
    o["runbook_version"] = lv.state.runbook->version;
    if (!lv.state.runbook->source_text.empty()) o["definition"] = lv.state.runbook->source_text;
    if (!lv.state.runbook->source_file.empty()) o["source_file"] = lv.state.runbook->source_file;
  }
  record_event(lv, std::string(to_string(in.kind)), data, in.at, batch);
  for (auto& c : cmds) {
    if (c.kind == Command::Kind::RunAttempt) {
      // Durability rule: the attempt is recorded as started in this turn's commit, which
      // happens before perform() runs it.
      record_event(lv, "attempt_started", JsonObject{{"key", c.key}}, in.at, batch);
    }
    effects.push_back({lv.state.record.execution_id, std::move(c)});
  }
  if (lv.state.record.status != before_status || lv.state.record.current_step != before_step ||
      in.kind == Input::Kind::Start)
    lv.dirty = true;
}

// Called under the lock; the gate hears of it after the turn's commit.
void Engine::Impl::note_action_result(const Live& lv, const Input& in) {
  const auto& st = lv.state;
  auto it = st.running.find(in.key);
  if (it == st.running.end() || st.record.dry_run || in.outcome.cancelled) return;
  const Slot* slot = st.main.name == it->second ? &st.main : nullptr;
  for (const auto& c : st.children)
    if (c.name == it->second) slot = &c;
  const model::Step* step = slot != nullptr ? st.runbook->find(slot->step_id) : nullptr;
  if (step == nullptr || step->type != model::StepType::Action) return;
  // Only an action's final failure counts, not the attempts its retry policy absorbs.
  if (!in.outcome.ok && slot->attempt < step->retry.attempts && !st.simulate.contains(step->id)) return;
  safety::ActionRequest r;
  r.execution_id = st.record.execution_id;
  r.runbook_id = st.record.runbook_id;
  r.step_id = step->id;
  r.attempt_key = in.key;
  r.actor = st.actor;
  r.at = in.at;
  action_results.push_back({std::move(r), in.outcome.ok, in.outcome.error});
}

// What an executor (or describe()) gets for an attempt. The runbook and its steps are
// immutable and shared: safe to read without the lock; the context is not.
steps::AttemptRequest Engine::Impl::attempt_request(const Live& lv, const Command& c, bool with_scope) {
  const model::Step* step = lv.state.runbook->find(c.step_id);
  steps::AttemptRequest req;
  req.runbook = lv.state.runbook.get();
  req.step = step;
  req.execution_id = lv.state.record.execution_id;
  req.attempt = c.attempt;
  req.idempotency_key = c.key;
  req.timeout = step->timeout;
  req.dry_run = c.dry_run;
  if (with_scope) {
    std::lock_guard g(mu);
    req.scope = steps::make_scope(lv.state.record.context, lv.state.record.results, c.item, c.index,
                                  lv.state.record.execution_id, runner.options().env_allow);
  }
  return req;
}

// What the gate is asked about one action attempt (nullopt: nothing to ask any more). Runs
// after the turn's commit, without the lock.
std::optional<safety::ActionRequest> Engine::Impl::safety_request(const std::string& execution_id,
                                                                  const Command& c) {
  Live* lv = nullptr;
  {
    std::lock_guard g(mu);
    auto it = live.find(execution_id);
    if (it == live.end() || it->second->state.finished()) return std::nullopt;
    lv = it->second.get();
  }
  const model::RunbookPtr rb = lv->state.runbook;
  const model::Step* step = rb->find(c.step_id);
  if (step == nullptr) return std::nullopt;
  // The scope copies the context and results: only for steps whose target or action read it.
  steps::AttemptRequest req = attempt_request(*lv, c, needs_scope(*step) || step->target.has_value());
  safety::ActionRequest ask;
  {
    std::lock_guard g(mu);
    ask.actor = lv->state.actor;
  }
  ask.execution_id = execution_id;
  ask.runbook_id = rb->id;
  ask.step_id = step->id;
  ask.attempt_key = c.key;
  ask.risk = step->risk;
  ask.dry_run = c.dry_run;
  ask.approved = c.approved;
  ask.at = now_ms();
  ask.action = to_json_text(runner.describe(req));
  if (step->target) {
    auto render = [&](const std::string& text) {
      auto r = model::render_template(text, req.scope);
      return r ? *r : text;
    };
    safety::ResolvedTarget t;
    t.name = render(step->target->name);
    t.target_class = render(step->target->target_class);
    for (const auto& [k, v] : step->target->labels) t.labels[k] = render(v);
    for (const auto& [k, v] : step->target->metadata) t.metadata[k] = render(v);
    ask.target = std::move(t);
  }
  return ask;
}

// Asks the gate about a turn's action attempts at once (it audits them durably in one write,
// which takes time) and queues each answer as an input.
void Engine::Impl::decide_safety(const std::vector<safety::ActionRequest>& asks,
                                 std::vector<QueuedInput>& immediate) {
  const std::vector<safety::Decision> decisions = options.gate->decide_all(asks);
  for (std::size_t i = 0; i < asks.size() && i < decisions.size(); ++i) {
    const safety::ActionRequest& ask = asks[i];
    const safety::Decision& d = decisions[i];
    Input in;
    in.kind = Input::Kind::SafetyDecision;
    in.at = now_ms();
    in.key = ask.attempt_key;
    in.decision = std::string(safety::to_string(d.verdict));
    in.reason = d.reason;
    JsonObject details{{"rule", d.rule}, {"risk", d.risk}};
    if (ask.target) details["target"] = ask.target->name;
    in.details = std::move(details);
    immediate.push_back({ask.execution_id, std::move(in)});
  }
}

void Engine::Impl::perform_all(const std::vector<Pending>& effects, std::vector<QueuedInput>& immediate) {
  std::vector<safety::ActionRequest> asks;
  for (const auto& p : effects) {
    if (p.command.kind == Command::Kind::CheckSafety && options.gate != nullptr) {
      if (auto ask = safety_request(p.execution_id, p.command)) asks.push_back(std::move(*ask));
      continue;
    }
    perform(p, immediate);
  }
  if (!asks.empty()) decide_safety(asks, immediate);
}

void Engine::Impl::remove_timer(const std::string& execution_id, const std::string& key) {
  for (auto it = timers.begin(); it != timers.end(); ++it) {
    if (it->second.execution_id == execution_id && it->second.key == key) {
      timers.erase(it);
      return;
    }
  }
}

void Engine::Impl::launch_attempt(const std::string& execution_id, const Command& c,
                                  std::vector<QueuedInput>& immediate) {
  Live* lv = nullptr;
  {
    std::lock_guard g(mu);
    auto it = live.find(execution_id);
    if (it == live.end()) return;
    lv = it->second.get();
  }
  const model::Step* step = lv->state.runbook->find(c.step_id);
  steps::AttemptRequest req = attempt_request(*lv, c, needs_scope(*step));
  Input done;
  done.kind = Input::Kind::AttemptFinished;
  done.key = c.key;
  if (c.simulate_failure) {
    done.at = now_ms();
    done.outcome.ok = false;
    done.outcome.error = "simulated failure";
    done.outcome.result = JsonObject{{"simulated", true}};
    immediate.push_back({execution_id, std::move(done)});
    return;
  }
  if (c.dry_run) {
    done.at = now_ms();
    done.outcome.ok = true;
    done.outcome.result = JsonObject{{"dryRun", true}, {"wouldRun", runner.describe(req)}};
    immediate.push_back({execution_id, std::move(done)});
    return;
  }
  if (runs_inline(*step)) {
    // Inline built-ins finish at once: nothing can cancel them, so they share one token.
    const steps::StepOutcome o = runner.run(req, inline_token);
    done.at = now_ms();
    done.outcome = {o.ok, o.result, o.value, o.error, o.timed_out, o.cancelled, o.ctx_updates};
    immediate.push_back({execution_id, std::move(done)});
    return;
  }
  auto token = std::make_shared<steps::CancelToken>(clock);
  {
    std::lock_guard g(mu);
    tokens[c.key] = token;
    if (step->timeout)
      timers.emplace(now_ms() + *step->timeout, TimerEntry{execution_id, c.key, true});
  }
  pool.submit([this, req = std::move(req), token, key = c.key, execution_id]() mutable {
    const steps::StepOutcome o = runner.run(req, *token);
    Input fin;
    fin.kind = Input::Kind::AttemptFinished;
    fin.key = key;
    fin.at = now_ms();
    fin.outcome = {o.ok, o.result, o.value, o.error, o.timed_out, o.cancelled, o.ctx_updates};
    if (token->reason() == steps::CancelReason::Timeout && !fin.outcome.ok) {
      fin.outcome.timed_out = true;
      if (fin.outcome.error.empty() || fin.outcome.error == "cancelled")
        fin.outcome.error = "timed out after " + std::to_string(req.timeout ? req.timeout->count() : 0) + "ms";
    }
    {
      std::lock_guard g(mu);
      tokens.erase(key);
      remove_timer(execution_id, key);
      inbox.push_back({execution_id, std::move(fin)});
    }
    wake.notify_one();
  });
}

void Engine::Impl::perform(const Pending& p, std::vector<QueuedInput>& immediate) {
  const Command& c = p.command;
  switch (c.kind) {
    case Command::Kind::RunAttempt:
      launch_attempt(p.execution_id, c, immediate);
      return;
    case Command::Kind::CheckSafety: {
      if (options.gate != nullptr) {
        if (auto ask = safety_request(p.execution_id, c)) decide_safety({*ask}, immediate);
        return;
      }
      // Recovered by a process without a gate: it must not decide; the action waits until
      // a process with one picks the execution up.
      Input in;
      in.kind = Input::Kind::SafetyDecision;
      in.at = now_ms();
      in.key = c.key;
      in.decision = "hold";
      in.reason = "this process has no safety gate";
      immediate.push_back({p.execution_id, std::move(in)});
      return;
    }
    case Command::Kind::StartTimer: {
      {
        std::lock_guard g(mu);
        remove_timer(p.execution_id, c.key);
        timers.emplace(c.due, TimerEntry{p.execution_id, c.key, false});
      }
      wake.notify_one();
      return;
    }
    case Command::Kind::CancelTimer: {
      std::lock_guard g(mu);
      remove_timer(p.execution_id, c.key);
      return;
    }
    case Command::Kind::CancelAttempt: {
      std::lock_guard g(mu);
      if (auto it = tokens.find(c.key); it != tokens.end())
        it->second->request(steps::CancelReason::Cancelled);
      return;
    }
    case Command::Kind::Publish: {
      BusEvent ev;
      ev.name = c.event;
      ev.execution_id = p.execution_id;
      ev.step_id = c.step_id;
      ev.at = now_ms();
      ev.payload = c.payload;
      {
        std::lock_guard g(mu);
        if (auto it = live.find(p.execution_id); it != live.end())
          ev.runbook_id = it->second->state.record.runbook_id;
      }
      bus.publish(ev);
      return;
    }
  }
}

void Engine::Impl::trim_finished() {
  while (finished_order.size() > options.keep_finished) {
    live.erase(finished_order.front());
    finished_order.pop_front();
  }
}

// One turn: drain the inbox and due timers, apply them, commit, then perform side effects.
void Engine::Impl::turn(std::unique_lock<std::mutex>& lock) {
  const SystemTime now = now_ms();
  std::deque<QueuedInput> work;
  work.swap(inbox);
  while (!timers.empty() && timers.begin()->first <= now) {
    TimerEntry t = timers.begin()->second;
    timers.erase(timers.begin());
    if (t.attempt_timeout) {
      if (auto it = tokens.find(t.key); it != tokens.end())
        it->second->request(steps::CancelReason::Timeout);
      continue;
    }
    Input in;
    in.kind = Input::Kind::TimerFired;
    in.key = t.key;
    in.at = now;
    work.push_back({t.execution_id, std::move(in)});
  }
  std::vector<Pending> effects;
  if (recheck_gates) {
    // The emergency stop changed: every held action is asked about again.
    recheck_gates = false;
    for (const auto& [id, lv] : live)
      if (!lv->state.finished())
        for (const auto& key : lv->state.held) effects.push_back({id, safety_check_command(lv->state, key)});
  }
  if (work.empty() && effects.empty()) return;

  store::Batch batch;
  std::set<std::string> touched;
  for (auto& q : work) {
    auto it = live.find(q.execution_id);
    if (it == live.end()) continue;
    apply_input(*it->second, q.input, batch, effects);
    touched.insert(q.execution_id);
  }
  for (const auto& id : touched) {
    Live& lv = *live.at(id);
    if (lv.dirty) {
      if (store != nullptr) batch.executions.push_back(summary_row(lv.state.record, now));
      lv.dirty = false;
    }
    if (lv.state.finished()) finished_order.push_back(id);
  }
  if (!queued.empty()) release_queued();
  // wait() does not report a state whose records are not yet committed.
  in_turn = true;
  lock.unlock();
  if (store != nullptr && !batch.empty()) {
    // Until the records are durable no side effect may start; on a store fault, keep
    // retrying the same batch (nothing half-written: commit() is one transaction).
    bool logged = false;
    while (true) {
      auto r = store->commit(batch);
      if (r) {
        if (logged) log::info("store commit recovered", {{"store", store->describe()}});
        break;
      }
      if (!logged) {
        log::error("store commit failed; holding side effects until it recovers",
                   {{"store", store->describe()}, {"error", r.error().describe()}});
        logged = true;
      }
      {
        std::lock_guard g(mu);
        // Stopping with the records not durable: perform nothing. The next start recovers
        // from what the store has, as after a crash.
        if (stopping) {
          lock.lock();
          in_turn = false;
          return;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  std::vector<QueuedInput> immediate;
  if (options.gate != nullptr) {
    std::vector<safety::ActionResult> results;
    {
      std::lock_guard g(mu);
      results.swap(action_results);
    }
    options.gate->actions_finished(results);
  }
  perform_all(effects, immediate);
  lock.lock();
  for (const auto& id : touched)
    if (auto it = live.find(id); it != live.end()) it->second->durable_seq = it->second->seq;
  in_turn = false;
  for (auto& q : immediate) inbox.push_back(std::move(q));
  std::vector<std::function<void()>> calls;
  if (!durable_waiters.empty() || !settle_waiters.empty()) take_ready_waiters(calls);
  trim_finished();
  changed.notify_all();
  if (!calls.empty()) {
    lock.unlock();
    for (auto& call : calls) call();
    lock.lock();
  }
}

bool Engine::Impl::idle_in_simulation(std::unique_lock<std::mutex>& lock) {
  auto* fake = dynamic_cast<FakeClock*>(&clock);
  if (fake == nullptr || !options.auto_advance_simulated_clock) return false;
  if (!inbox.empty()) return false;
  const int running = static_cast<int>(tokens.size());
  if (fake->sleepers() < running) return false;  // some attempt is doing real work
  SystemTime next = timers.empty() ? SystemTime::max() : timers.begin()->first;
  next = std::min(next, fake->earliest_sleeper_deadline());
  if (next == SystemTime::max()) return false;
  lock.unlock();
  fake->advance_to(next);
  lock.lock();
  return true;
}

void Engine::Impl::run_loop() {
  std::unique_lock lock(mu);
  while (!stopping) {
    turn(lock);
    if (stopping) break;
    if (!inbox.empty() || recheck_gates) continue;
    if (clock.is_simulated()) {
      if (!idle_in_simulation(lock)) wake.wait_for(lock, std::chrono::milliseconds(1));
      continue;
    }
    const SystemTime next = timers.empty() ? now_ms() + std::chrono::hours(1) : timers.begin()->first;
    // recover() arms timers from another thread: an earlier deadline also ends the wait.
    wake.wait_until(lock, next, [&] {
      return stopping || !inbox.empty() || recheck_gates || (!timers.empty() && timers.begin()->first < next);
    });
  }
}

// ---- Engine -----------------------------------------------------------------------------

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Engine::~Engine() { stop(); }

std::unique_ptr<Engine> Engine::create(Clock& clock, steps::StepRunner& runner,
                                       store::Store* store, EngineOptions options) {
  auto impl = std::make_unique<Impl>(clock, runner, store, options);
  std::unique_ptr<Engine> engine(new Engine(std::move(impl)));
  Impl* i = engine->impl_.get();
  if (i->options.gate != nullptr) {
    i->options.gate->set_listener([i] {
      {
        std::lock_guard g(i->mu);
        i->recheck_gates = true;
      }
      i->wake.notify_one();
    });
  }
  i->loop_thread = std::thread([i] { i->run_loop(); });
  return engine;
}

EventBus& Engine::bus() { return impl_->bus; }

Result<void> Engine::add_runbook(model::RunbookPtr rb) {
  if (!rb) return fail(ErrorCode::InvalidArgument, "null runbook");
  for (const auto& d : model::validate_runbook(*rb))
    if (d.severity == model::Diagnostic::Severity::Error)
      return fail(ErrorCode::InvalidArgument, d.describe());
  {
    std::lock_guard g(impl_->mu);
    impl_->runbooks[rb->id] = rb;
  }
  BusEvent ev;
  ev.name = "runbook:registered";
  ev.runbook_id = rb->id;
  ev.at = impl_->now_ms();
  ev.payload = JsonObject{{"id", rb->id}, {"name", rb->name}, {"version", rb->version}};
  impl_->bus.publish(ev);
  return {};
}

model::RunbookPtr Engine::runbook(std::string_view id) const {
  std::lock_guard g(impl_->mu);
  auto it = impl_->runbooks.find(id);
  return it == impl_->runbooks.end() ? nullptr : it->second;
}

std::vector<model::RunbookPtr> Engine::runbooks() const {
  std::lock_guard g(impl_->mu);
  std::vector<model::RunbookPtr> out;
  for (const auto& [id, rb] : impl_->runbooks) out.push_back(rb);
  return out;
}

Result<std::string> Engine::start(std::string_view runbook_id, Json context, StartOptions options) {
  auto rb = runbook(runbook_id);
  if (!rb) return fail(ErrorCode::NotFound, "unknown runbook '" + std::string(runbook_id) + "'");
  return start(std::move(rb), std::move(context), std::move(options));
}

Result<std::string> Engine::start(model::RunbookPtr rb, Json context, StartOptions options) {
  if (!rb) return fail(ErrorCode::InvalidArgument, "null runbook");
  if (!context.is_null() && !context.is_object())
    return fail(ErrorCode::InvalidArgument, "context must be a JSON object", "context");
  for (const auto& s : options.simulate_failures)
    if (rb->find(s) == nullptr)
      return fail(ErrorCode::InvalidArgument, "--simulate-failure names unknown step '" + s + "'");
  if (!options.start_step.empty() && rb->find(options.start_step) == nullptr)
    return fail(ErrorCode::InvalidArgument, "runbook '" + rb->id + "' has no step '" + options.start_step + "'",
                "start_step");
  const SystemTime now = impl_->now_ms();
  std::string id = options.execution_id.empty() ? new_execution_id(now) : options.execution_id;
  safety::Gate* gate = impl_->options.gate;
  Input in;
  in.kind = Input::Kind::Start;
  in.at = now;
  in.context = context.is_null() ? Json(JsonObject{}) : std::move(context);
  in.dry_run = options.dry_run || (gate != nullptr && gate->forced_dry_run(rb->id));
  in.simulate = std::move(options.simulate_failures);
  in.actor = std::move(options.actor);
  in.start_step = std::move(options.start_step);
  in.gated = gate != nullptr;
  {
    std::lock_guard g(impl_->mu);
    if (impl_->stopping) return fail(ErrorCode::Unavailable, "engine is shutting down");
    if (impl_->live.contains(id)) return fail(ErrorCode::AlreadyExists, "execution " + id + " exists");
    bool queue = false;
    if (gate != nullptr) {
      const safety::Admission a = gate->admit(rb->id, impl_->active_of(rb->id));
      if (!a.admit && !a.queue) return fail(ErrorCode::Unavailable, a.reason + "; try again later");
      queue = !a.admit;
    }
    auto lv = std::make_unique<Live>();
    lv->state = make_state(rb, id);
    lv->state.record.start_time = now;
    impl_->live.emplace(id, std::move(lv));
    if (queue) {
      // Over the runbook's concurrency limit: starts when one of its executions ends.
      impl_->queued[rb->id].push_back({id, std::move(in)});
      return id;
    }
  }
  impl_->push(id, std::move(in));
  return id;
}

Result<void> Engine::wait_durable(std::string_view execution_id, Millis timeout) {
  if (impl_->store == nullptr) return {};
  std::unique_lock lock(impl_->mu);
  impl_->changed.wait_for(lock, timeout,
                          [&] { return impl_->start_durable(execution_id) || impl_->stopping; });
  if (!impl_->start_durable(execution_id)) return not_yet_durable(execution_id, *impl_->store);
  return {};
}

void Engine::when_durable(std::string_view execution_id, std::function<void(Result<void>)> done) {
  Result<void> outcome;
  {
    std::lock_guard g(impl_->mu);
    if (!impl_->start_durable(execution_id)) {
      if (!impl_->stopping) {
        impl_->durable_waiters.emplace(std::string(execution_id), std::move(done));
        return;
      }
      outcome = not_yet_durable(execution_id, *impl_->store);
    }
  }
  done(std::move(outcome));
}

void Engine::when_settled(std::string_view execution_id,
                          std::function<void(std::optional<model::Execution>)> done) {
  std::optional<model::Execution> record;
  {
    std::lock_guard g(impl_->mu);
    bool gone = false;
    record = impl_->settled(execution_id, gone);
    if (!gone && !record && !impl_->stopping) {
      impl_->settle_waiters.emplace(std::string(execution_id), std::move(done));
      return;
    }
  }
  done(std::move(record));
}

std::optional<model::Execution> Engine::get(std::string_view execution_id) const {
  {
    std::lock_guard g(impl_->mu);
    auto it = impl_->live.find(execution_id);
    if (it != impl_->live.end()) return it->second->state.record;
  }
  if (impl_->store == nullptr) return std::nullopt;
  auto rebuilt = rebuild_from_store(*impl_->store, execution_id,
                                    [this](std::string_view id) { return runbook(id); });
  if (!rebuilt) return std::nullopt;
  return *rebuilt;
}

std::vector<model::Execution> Engine::list(bool active_only) const {
  std::vector<model::Execution> out;
  std::lock_guard g(impl_->mu);
  for (const auto& [id, lv] : impl_->live) {
    if (active_only && lv->state.finished()) continue;
    out.push_back(lv->state.record);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.start_time > b.start_time;
  });
  return out;
}

namespace {

Result<void> require_live(const std::map<std::string, std::unique_ptr<Live>, std::less<>>& live,
                          std::string_view id) {
  auto it = live.find(id);
  if (it == live.end()) return fail(ErrorCode::NotFound, "no execution " + std::string(id));
  if (it->second->state.finished())
    return fail(ErrorCode::Conflict, "execution " + std::string(id) + " has already finished (" +
                                         std::string(model::to_string(it->second->state.record.status)) + ")");
  return {};
}

}  // namespace

Result<void> Engine::cancel(std::string_view execution_id, std::string actor, std::string reason) {
  {
    std::lock_guard g(impl_->mu);
    if (auto r = require_live(impl_->live, execution_id); !r) return r;
  }
  Input in;
  in.kind = Input::Kind::Cancel;
  in.at = impl_->now_ms();
  in.actor = std::move(actor);
  in.reason = std::move(reason);
  impl_->push(std::string(execution_id), std::move(in));
  return {};
}

Result<void> Engine::approve(std::string_view execution_id, bool approved, std::string actor,
                             std::string comment) {
  {
    std::lock_guard g(impl_->mu);
    if (auto r = require_live(impl_->live, execution_id); !r) return r;
    const auto& st = impl_->live.find(execution_id)->second->state;
    const model::Step* step = st.runbook->find(st.main.step_id);
    if (st.record.status != ExecutionStatus::Waiting || step == nullptr ||
        (step->type != model::StepType::Approval && st.safety_approvals.empty()))
      return fail(ErrorCode::Conflict, "execution " + std::string(execution_id) + " is not waiting for an approval");
  }
  Input in;
  in.kind = Input::Kind::Approval;
  in.at = impl_->now_ms();
  in.approved = approved;
  in.actor = std::move(actor);
  in.reason = std::move(comment);
  impl_->push(std::string(execution_id), std::move(in));
  return {};
}

Result<void> Engine::operator_action(std::string_view execution_id, OperatorAction action,
                                     std::string actor) {
  {
    std::lock_guard g(impl_->mu);
    if (auto r = require_live(impl_->live, execution_id); !r) return r;
    if (impl_->live.find(execution_id)->second->state.record.status != ExecutionStatus::NeedsAttention)
      return fail(ErrorCode::Conflict, "execution " + std::string(execution_id) + " does not need attention");
  }
  Input in;
  in.kind = Input::Kind::Operator;
  in.at = impl_->now_ms();
  in.action = action;
  in.actor = std::move(actor);
  impl_->push(std::string(execution_id), std::move(in));
  return {};
}

std::optional<model::Execution> Engine::wait(std::string_view execution_id,
                                             std::optional<Millis> timeout) {
  std::unique_lock lock(impl_->mu);
  const auto deadline = std::chrono::steady_clock::now() + timeout.value_or(std::chrono::hours(24 * 365));
  while (true) {
    bool gone = false;
    auto record = impl_->settled(execution_id, gone);
    if (gone || record) return record;
    if (impl_->changed.wait_until(lock, deadline) == std::cv_status::timeout) return std::nullopt;
  }
}

void Engine::stop(Millis grace) {
  {
    std::lock_guard g(impl_->mu);
    if (impl_->stopping && !impl_->loop_thread.joinable()) return;
  }
  if (grace.count() > 0) {
    // Let running attempts finish within the grace period.
    const auto deadline = std::chrono::steady_clock::now() + grace;
    while (std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard g(impl_->mu);
        if (impl_->tokens.empty()) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  {
    std::lock_guard g(impl_->mu);
    impl_->stopping = true;
    // Attempts still running are interrupted; with a store they resume on the next start
    // (idempotent steps re-run, others wait for an operator), exactly as after a crash.
    for (auto& [key, token] : impl_->tokens) token->request(steps::CancelReason::Cancelled);
  }
  impl_->wake.notify_all();
  if (impl_->loop_thread.joinable()) impl_->loop_thread.join();
  if (impl_->options.gate != nullptr) impl_->options.gate->set_listener({});
  impl_->pool.stop();
  impl_->changed.notify_all();
  // Nobody will commit or settle anything any more: answer every non-blocking waiter.
  std::vector<std::function<void()>> calls;
  {
    std::lock_guard g(impl_->mu);
    impl_->take_ready_waiters(calls);
    for (auto& [id, f] : impl_->durable_waiters)
      calls.push_back([f = std::move(f), e = not_yet_durable(id, *impl_->store)] { f(e); });
    for (auto& [id, f] : impl_->settle_waiters) calls.push_back([f = std::move(f)] { f(std::nullopt); });
    impl_->durable_waiters.clear();
    impl_->settle_waiters.clear();
  }
  for (auto& call : calls) call();
}

Result<RecoveryReport> Engine::recover() {
  RecoveryReport report;
  store::Store* store = impl_->store;
  if (store == nullptr) return report;
  std::vector<store::ExecutionRow> rows;
  for (const char* status : {"pending", "running", "waiting", "needs_attention"}) {
    store::ExecutionQuery q;
    q.status = status;
    q.limit = 1'000'000;
    auto part = store->list_executions(q);
    if (!part) return std::unexpected(part.error());
    rows.insert(rows.end(), part->begin(), part->end());
  }
  auto lookup = [this](std::string_view id) { return runbook(id); };
  for (const auto& row : rows) {
    {
      std::lock_guard g(impl_->mu);
      if (impl_->live.contains(row.execution_id)) continue;
    }
    auto events = store->events(row.execution_id);
    if (!events) return std::unexpected(events.error());
    auto replayed = replay_history(*events, lookup);
    if (!replayed) {
      report.errors.push_back(row.execution_id + ": " + replayed.error().message);
      continue;
    }
    auto lv = std::make_unique<Live>();
    lv->state = std::move(replayed->state);
    lv->seq = replayed->last_seq;
    Live& ref = *lv;
    store::Batch batch;
    std::vector<Pending> effects;
    const SystemTime now = impl_->now_ms();
    std::vector<std::string> in_flight;
    for (const auto& [key, slot] : ref.state.running) in_flight.push_back(key);
    {
      std::lock_guard g(impl_->mu);
      impl_->live.emplace(row.execution_id, std::move(lv));
      for (const auto& key : in_flight) {
        Command c = relaunch_command(ref.state, key);
        const model::Step* step = ref.state.runbook->find(c.step_id);
        const bool began = replayed->open_attempts.contains(key);
        if (began && (step == nullptr || !step->is_idempotent())) {
          Input in;
          in.kind = Input::Kind::Interrupted;
          in.at = now;
          in.key = key;
          in.reason = "step '" + c.step_id + "' attempt " + std::to_string(c.attempt) +
                      " was interrupted while it ran and is not idempotent: retry, skip or abort it";
          impl_->apply_input(ref, in, batch, effects);
          ++report.needs_attention;
          continue;
        }
        // Never began, or safe to repeat: run it again under the same idempotency key.
        impl_->record_event(ref, "attempt_started", JsonObject{{"key", key}}, now, batch);
        effects.push_back({row.execution_id, std::move(c)});
        if (began) ++report.relaunched_attempts;
      }
      // Actions waiting for a safety decision (or held by the emergency stop) ask again.
      for (const auto& [key, slot] : ref.state.gates)
        effects.push_back({row.execution_id, safety_check_command(ref.state, key)});
      // Waits, back-offs and approval deadlines carry on with their remaining time.
      for (const auto& [key, due] : ref.state.timers) {
        Command c;
        c.kind = Command::Kind::StartTimer;
        c.key = key;
        c.due = due;
        effects.push_back({row.execution_id, std::move(c)});
      }
      if (ref.dirty) {
        batch.executions.push_back(summary_row(ref.state.record, now));
        ref.dirty = false;
      }
    }
    if (!batch.empty())
      if (auto r = store->commit(batch); !r) return std::unexpected(r.error());
    std::vector<QueuedInput> immediate;
    impl_->perform_all(effects, immediate);
    {
      std::lock_guard g(impl_->mu);
      for (auto& q : immediate) impl_->inbox.push_back(std::move(q));
    }
    impl_->wake.notify_one();
    ++report.resumed;
  }
  return report;
}

Result<model::Execution> rebuild_from_store(
    store::Store& store, std::string_view execution_id,
    const std::function<model::RunbookPtr(std::string_view)>& find_runbook) {
  auto events = store.events(execution_id);
  if (!events) return std::unexpected(events.error());
  if (events->empty()) return fail(ErrorCode::NotFound, "no execution " + std::string(execution_id));
  auto replayed = replay_history(*events, find_runbook);
  if (!replayed) return std::unexpected(replayed.error());
  return replayed->state.record;
}

}  // namespace opsrun::engine
