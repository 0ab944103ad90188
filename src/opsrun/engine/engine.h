// The engine: registered runbooks, running executions, and the shell that drives the pure
// core (core.h). Inputs (start, attempt results, timers, cancel, approvals, operator verbs)
// are queued to one loop thread, applied to the core, recorded in the store as one group
// commit per loop turn, and only then are the resulting side effects performed: an attempt's
// `attempt_started` record is durable before its executor begins (DESIGN.md).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "opsrun/common/clock.h"
#include "opsrun/common/error.h"
#include "opsrun/engine/event_bus.h"
#include "opsrun/engine/operator_action.h"
#include "opsrun/model/builder.h"
#include "opsrun/model/execution.h"
#include "opsrun/model/runbook.h"

namespace opsrun::steps {
class StepRunner;
}
namespace opsrun::store {
class Store;
}
namespace opsrun::safety {
class Gate;
}

namespace opsrun::engine {

struct EngineOptions {
  int max_workers = 256;                        // concurrent attempts on worker threads
  std::size_t keep_finished = 1000;             // finished records kept in memory
  // With a FakeClock: when every running attempt sleeps on the clock and nothing else is
  // queued, jump the clock to the next deadline (tests run instantly). Off for tests that
  // must act between deadlines (approvals).
  bool auto_advance_simulated_clock = true;
  // The safety layer (safety/gate.h), asked before every action attempt; null: none.
  // Must outlive the engine.
  safety::Gate* gate = nullptr;
};

struct StartOptions {
  bool dry_run = false;
  std::vector<std::string> simulate_failures;   // steps that fail without running
  std::string execution_id;                     // empty: generated
  std::string actor;                            // who started it, for the history
  std::string start_step;                       // empty: the runbook's start (a retry: the failed step)
};

struct RecoveryReport {
  int resumed = 0;                              // executions carried on
  int relaunched_attempts = 0;                  // interrupted idempotent attempts re-run
  int needs_attention = 0;                      // interrupted non-idempotent attempts
  std::vector<std::string> errors;              // executions that could not be rebuilt
};

class Engine final : public model::RunbookSink {
 public:
  // `store` may be null: executions then live in memory only.
  static std::unique_ptr<Engine> create(Clock& clock, steps::StepRunner& runner,
                                        store::Store* store, EngineOptions options = {});
  ~Engine() override;
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Registers (or replaces) a runbook; publishes runbook:registered.
  Result<void> add_runbook(model::RunbookPtr runbook) override;
  [[nodiscard]] model::RunbookPtr runbook(std::string_view id) const;
  [[nodiscard]] std::vector<model::RunbookPtr> runbooks() const;

  // Starts an execution of a registered runbook (or of a given definition); returns its id.
  Result<std::string> start(std::string_view runbook_id, Json context, StartOptions options = {});
  Result<std::string> start(model::RunbookPtr runbook, Json context, StartOptions options = {});

  // Blocks until the execution's start is committed to the store (at once without a store),
  // so an API can acknowledge only what a crash cannot lose. Unavailable on timeout/shutdown.
  Result<void> wait_durable(std::string_view execution_id, Millis timeout);
  // The same without blocking: `done` runs once the start is committed (at once when it is
  // already), or with Unavailable when the engine stops first. It runs on the engine's loop
  // thread or the caller's, never under the engine's lock; it must be quick (post, not work).
  void when_durable(std::string_view execution_id, std::function<void(Result<void>)> done);

  // A copy of the execution record: in memory, else rebuilt from the store's history.
  [[nodiscard]] std::optional<model::Execution> get(std::string_view execution_id) const;
  // Executions held in memory (active first), newest first.
  [[nodiscard]] std::vector<model::Execution> list(bool active_only) const;

  Result<void> cancel(std::string_view execution_id, std::string actor, std::string reason = {});
  Result<void> approve(std::string_view execution_id, bool approved, std::string actor,
                       std::string comment = {});
  Result<void> operator_action(std::string_view execution_id, OperatorAction action,
                               std::string actor);

  // Blocks until the execution is finished or needs a person (needs_attention, or waiting
  // for an approval). nullopt when unknown or at the timeout.
  std::optional<model::Execution> wait(std::string_view execution_id,
                                       std::optional<Millis> timeout = std::nullopt);
  // wait() without blocking: `done` gets the settled record, or nullopt when the execution
  // is unknown or the engine stops first. Same threading rules as when_durable.
  void when_settled(std::string_view execution_id,
                    std::function<void(std::optional<model::Execution>)> done);

  // Rebuilds every unfinished execution in the store from its history and carries on.
  Result<RecoveryReport> recover();

  // Stops accepting inputs, cancels running attempts after `grace`, joins threads.
  void stop(Millis grace = Millis(0));

  EventBus& bus();

 private:
  struct Impl;
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Rebuilds an execution record from stored history (for `opsrun executions show`).
// `find_runbook` resolves runbooks whose definition is not embedded in the history.
[[nodiscard]] Result<model::Execution> rebuild_from_store(
    store::Store& store, std::string_view execution_id,
    const std::function<model::RunbookPtr(std::string_view)>& find_runbook);

}  // namespace opsrun::engine
