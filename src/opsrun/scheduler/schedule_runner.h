// Starts each schedule's runbook at its cron times.
//
// Durability: before starting a run the runner stores, under the setting
// "schedule/<id>/last_run", the due time and the run's execution id, which is derived from
// (schedule id, due time). After a restart it carries on from the stored due time: if that
// execution never reached the store it is started again under the same id (no run lost,
// none doubled); runs that came due while it was down follow the schedule's misfire policy.
// A schedule seen for the first time starts from now: nothing from before it existed runs.
//
// Threading: start() runs a thread that sleeps on the Clock until the next due time and
// calls run_due(); stop() joins it. The start function is called on that thread (or on the
// caller's, for run_due()), one call at a time.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "opsrun/common/clock.h"
#include "opsrun/common/error.h"
#include "opsrun/common/json.h"
#include "opsrun/scheduler/schedules.h"

namespace opsrun::store {
class Store;
}

namespace opsrun::scheduler {

struct ScheduledRun {
  std::string schedule_id;
  std::string runbook_id;
  Json context;
  std::string execution_id;  // the same for every attempt at the same (schedule, due time)
  SystemTime due;
};

// Starts the run and returns its execution id. AlreadyExists counts as started.
using StartFn = std::function<Result<std::string>(const ScheduledRun& run)>;

struct RunnerOptions {
  // A run found later than this after its due time is a misfire (downtime, a suspended
  // machine); sooner, it simply runs late.
  Millis misfire_grace{60'000};
};

class ScheduleRunner {
 public:
  ScheduleRunner(Clock& clock, store::Store& store, std::vector<ScheduleSpec> schedules,
                 StartFn start, RunnerOptions options = {});
  ~ScheduleRunner();
  ScheduleRunner(const ScheduleRunner&) = delete;
  ScheduleRunner& operator=(const ScheduleRunner&) = delete;

  // Reads each schedule's stored last run (failing if the store cannot be read).
  [[nodiscard]] Result<void> load();
  // load(), then the thread. Runs due now (misfires after downtime) start at once.
  [[nodiscard]] Result<void> start();
  void stop();

  // One pass at clock.now(): starts what is due, applies misfire policies, stores progress.
  // Returns the runs attempted (the thread calls this; tests may call it directly after load()).
  std::vector<ScheduledRun> run_due();
  // When the schedule runs next, as the runner sees it; nullopt if unknown or never.
  [[nodiscard]] std::optional<SystemTime> next_due(std::string_view schedule_id) const;

  // The deterministic execution id of (schedule, due): "exec-<due ms>-<9 base36 chars>".
  static std::string execution_id_for(std::string_view schedule_id, SystemTime due);
  static std::string setting_key(std::string_view schedule_id);

 private:
  struct State;
  void loop();
  ScheduledRun fire(State& s, SystemTime due);
  void store_last_run(const State& s, std::string_view outcome, std::string_view error);

  Clock& clock_;
  store::Store& store_;
  StartFn start_;
  RunnerOptions options_;
  std::vector<std::unique_ptr<State>> states_;
  mutable std::mutex mu_;  // guards states_ and stopping_
  std::condition_variable cv_;
  bool stopping_ = false;
  bool loaded_ = false;
  std::thread thread_;
};

}  // namespace opsrun::scheduler
