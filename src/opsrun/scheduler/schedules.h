// The `schedules:` section of opsrun.yaml: which runbook starts at which cron times.
#pragma once

#include <string>
#include <vector>

#include "opsrun/common/error.h"
#include "opsrun/common/json.h"
#include "opsrun/scheduler/cron.h"

namespace opsrun::scheduler {

// What happens to runs that came due while opsrun was down (or asleep) for longer than the
// runner's grace: run_once starts one catch-up run, skip starts none.
enum class Misfire { RunOnce, Skip };

struct ScheduleSpec {
  std::string id;       // [A-Za-z0-9._-]+, unique; names the stored last run
  std::string runbook;  // runbook id
  Json context;         // an object (config values arrive as strings)
  Misfire misfire = Misfire::RunOnce;
  CronSchedule schedule;  // cron + timezone (default UTC)
};

// `section` is config::Config::schedules: null (no schedules) or a list of
// {id, cron, timezone, runbook, context, misfire}. Errors name the entry and the field in
// `where`, e.g. "schedules[2].cron".
[[nodiscard]] Result<std::vector<ScheduleSpec>> parse_schedules(const Json& section);

}  // namespace opsrun::scheduler
