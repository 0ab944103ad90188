// The engine core: a pure state machine, (execution state, input) -> (new state, commands).
// It never reads a clock, starts a thread or touches a file: every input carries its time,
// and every side effect is a command for the shell (engine.cpp) to perform. That makes it
// deterministic, testable on a simulated clock, and recoverable by replaying the inputs
// recorded in the store.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "opsrun/common/clock.h"
#include "opsrun/common/json.h"
#include "opsrun/model/execution.h"
#include "opsrun/engine/operator_action.h"
#include "opsrun/model/runbook.h"

namespace opsrun::engine {


// What happened to one attempt, as the shell reports it.
struct AttemptOutcome {
  bool ok = false;
  Json result = JsonObject{};
  Json value;
  std::string error;
  bool timed_out = false;
  bool cancelled = false;
  JsonObject ctx_updates;
};

struct Input {
  enum class Kind {
    Start,            // context, dry_run, simulate, start_step
    AttemptFinished,  // key, outcome
    TimerFired,       // key
    Cancel,           // actor, reason
    Approval,         // approved, actor, reason
    Operator,         // action, actor
    Interrupted,      // key: an attempt started before a crash and never finished
    SafetyDecision,   // key, decision, reason, details: the safety gate's answer
  };
  Kind kind = Kind::Start;
  SystemTime at;
  std::string key;
  Json context;
  bool dry_run = false;
  std::vector<std::string> simulate;
  std::string start_step;       // Start: begin here instead of the runbook's start (a retry)
  AttemptOutcome outcome;
  bool approved = false;
  OperatorAction action = OperatorAction::Retry;
  std::string actor;
  std::string reason;
  bool gated = false;           // Start: action attempts pass the safety gate
  std::string decision;         // SafetyDecision: allow | deny | needs_approval | hold | abort
  Json details;                 // SafetyDecision: {rule, risk}
};

std::string_view to_string(Input::Kind k);
Json input_to_json(const Input& in);
[[nodiscard]] Result<Input> input_from_json(std::string_view type, const Json& data);

struct Command {
  enum class Kind {
    RunAttempt,     // key, step_id, attempt, item, index, simulate_failure, dry_run
    StartTimer,     // key, due
    CancelTimer,    // key
    CancelAttempt,  // key
    Publish,        // event, step_id, payload
    CheckSafety,    // key, step_id, attempt, item, index, dry_run, approved: ask the gate
  };
  Kind kind = Kind::RunAttempt;
  std::string key;
  std::string step_id;
  int attempt = 0;
  Json item;
  int index = -1;
  bool simulate_failure = false;
  bool dry_run = false;
  SystemTime due;
  std::string event;
  Json payload;
  bool approved = false;        // CheckSafety: a person approved this attempt
};

// One running instance of a step: the current top-level step, a parallel branch or a loop item.
struct Slot {
  enum class Phase { Idle, Running, Backoff, Waiting, Gated, Done };
  std::string name;             // "step", "step/branch" or "step#index": unique per execution
  std::string step_id;
  Json item;
  int index = -1;
  int attempt = 0;
  Phase phase = Phase::Idle;
  SystemTime first_start;
  bool ok = false;
  bool cancelled = false;
};

struct ExecutionState {
  model::RunbookPtr runbook;
  model::Execution record;
  std::set<std::string> simulate;
  Slot main;                                    // the current top-level step
  std::vector<Slot> children;                   // parallel branches / loop items
  Json loop_items;                              // the list a loop iterates
  std::size_t next_item = 0;
  int ok_children = 0;
  int failed_children = 0;
  bool stop_launching = false;                  // a loop with fail_fast saw a failure
  std::map<std::string, SystemTime> timers;     // pending timer keys
  std::map<std::string, std::string> running;   // attempt key -> slot name
  std::string attention_slot;                   // slot waiting for an operator
  int generation = 0;                           // bumped on every step entered
  // The safety gate (docs/safety.md): action attempts wait in `gates` for a decision.
  bool gated = false;
  std::string actor;                            // who started the execution
  std::map<std::string, std::string> gates;     // attempt key -> slot, awaiting a decision
  std::set<std::string> held;                   // gates held by the emergency stop
  std::set<std::string> approved;               // gates a person approved
  std::vector<std::pair<std::string, std::string>> safety_approvals;  // key, slot: asking a person
  std::string blocked_reason;                   // a denial with no on_failure ends `blocked`

  [[nodiscard]] bool finished() const { return model::is_terminal(record.status); }
};

// The attempt key, also the idempotency key: "<execution>/<slot>/<attempt>".
std::string attempt_key(std::string_view execution_id, std::string_view slot, int attempt);

// Creates the state of a new execution (status pending). Apply a Start input next.
ExecutionState make_state(model::RunbookPtr runbook, std::string execution_id);

// Applies one input; appends the commands to perform to `out`.
void apply(ExecutionState& state, const Input& input, std::vector<Command>& out);

// The command that asks the gate (again) about a gated attempt: after recovery, or when
// the emergency stop is lifted.
Command safety_check_command(const ExecutionState& st, const std::string& key);

// Backoff before attempt `next_attempt` (2-based) of a step; deterministic per key (the
// jitter comes from a hash of the key, so a replay computes the same delay).
Millis retry_delay(const model::RetryPolicy& policy, int next_attempt, std::string_view key);

}  // namespace opsrun::engine
