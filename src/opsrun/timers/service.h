// The durable timer service: creates, lists, changes and cancels timers in the store, and
// fires them on time.
//
// Scheduling: timers are spread over 32 shards by hash of id. Each shard keeps in memory only
// the timers due before `loaded_until` (about `horizon` ahead of now) in a min-heap; the store
// holds the rest, indexed by due time, and a periodic load brings the next window in, so memory
// does not grow with far-future timers. Timers that came due while the service was down are
// loaded by the first load and fire at once; their lateness is recorded (executed_at, the
// timer_lateness_seconds histogram, a log line).
//
// Firing is at-least-once: the outcome of a callback is stored after it is sent, so a crash in
// between sends it again after restart (same Idempotency-Key). Cancel and PATCH go through the
// service, which serialises them per shard with firing: a timer being fired cannot be
// cancelled (Conflict), and a cancelled timer never fires.
//
// Threading: every public method is thread-safe. start() runs one dispatcher thread (sleeping
// on the Clock) and `delivery_threads` workers that send callbacks; stop() joins them.
// Tests may instead call load() and run_due() on their own thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "opsrun/common/clock.h"
#include "opsrun/common/error.h"
#include "opsrun/common/json.h"
#include "opsrun/store/store.h"
#include "opsrun/timers/timer.h"

namespace opsrun::metrics {
class Registry;
}

namespace opsrun::timers {

class CallbackSender;

// Starts the runbook of a runbook timer; returns the execution id. AlreadyExists counts as
// started (a repeat after a crash); Unavailable is retried; anything else fails the timer.
using RunbookStarter = std::function<Result<std::string>(const TimerSpec& spec, SystemTime fired_at)>;

struct ServiceOptions {
  Millis horizon{60'000};                       // how far ahead timers are held in memory
  int load_limit = 250'000;                     // rows per load from the store
  int delivery_threads = 8;
  ParseLimits limits;
  std::function<bool(std::string_view)> runbook_exists;  // null: every runbook id is accepted
};

struct CreateResult {
  std::vector<store::TimerRow> timers;          // in request order, as stored
  std::vector<bool> created;                    // false: the same timer existed (idempotent)
};

class TimerService {
 public:
  TimerService(Clock& clock, store::Store& store, CallbackSender& sender, RunbookStarter starter,
               metrics::Registry& registry, ServiceOptions options = {});
  ~TimerService();
  TimerService(const TimerService&) = delete;
  TimerService& operator=(const TimerService&) = delete;

  // load(), then the dispatcher and delivery threads.
  [[nodiscard]] Result<void> start();
  void stop();
  // Reads the pending timers due within the horizon (overdue ones included) into the shards.
  [[nodiscard]] Result<void> load();
  // Fires, on the caller's thread, every timer due at clock.now(); loads first when the
  // window runs short. Returns how many were fired (attempted).
  int run_due();

  // All or nothing, in one store transaction. `item` names the items in errors: "timers" gives
  // "timers[3].id"; empty gives plain field names. InvalidArgument for bad items (unknown
  // runbook, duplicate id), Conflict for an existing id with different content.
  [[nodiscard]] Result<CreateResult> create(std::vector<TimerSpec> specs, std::string_view item = {});
  [[nodiscard]] Result<store::TimerRow> get(std::string_view id);
  [[nodiscard]] Result<std::vector<store::TimerRow>> list(const store::TimerQuery& query);
  // NotFound; Conflict when it fired, failed, was cancelled or is being fired right now.
  [[nodiscard]] Result<store::TimerRow> cancel(std::string_view id);
  // Changes execute_at/delay_ms, callback, payload (the callback body), runbook or retry of a
  // pending timer; attempts start again from 0.
  [[nodiscard]] Result<store::TimerRow> patch(std::string_view id, const Json& changes);

  // Counts `n` timers refused before create() saw them (a request that did not parse) in
  // timer_creation_attempts_total and timer_creation_failures_total.
  void count_refused(std::size_t n);

  // Timers held in memory now (for tests and the bench).
  [[nodiscard]] std::size_t in_memory() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace opsrun::timers
