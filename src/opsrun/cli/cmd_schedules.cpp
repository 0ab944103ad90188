// `opsrun schedules`: each schedule of opsrun.yaml with its next run times.
#include <cstdio>
#include <filesystem>

#include "opsrun/cli/commands.h"
#include "opsrun/config/config.h"
#include "opsrun/scheduler/schedules.h"

namespace opsrun::cli {

int cmd_schedules(const SchedulesFlags& flags) {
  std::string file = flags.config_file;
  if (file.empty()) {
    if (!std::filesystem::exists("opsrun.yaml")) {
      std::fprintf(stderr, "schedules: no opsrun.yaml here; pass --config FILE\n");
      return kExitInvalid;
    }
    file = "opsrun.yaml";
  }
  auto cfg = config::load_file(file);
  if (!cfg) {
    std::fprintf(stderr, "schedules: %s\n", cfg.error().describe().c_str());
    return kExitInvalid;
  }
  auto schedules = scheduler::parse_schedules(cfg->schedules);
  if (!schedules) {
    std::fprintf(stderr, "schedules: %s: %s\n", file.c_str(), schedules.error().describe().c_str());
    return kExitInvalid;
  }
  SystemTime from = SystemClock().now();
  if (!flags.from.empty() && !parse_time(flags.from, from)) {
    std::fprintf(stderr, "schedules: --from: expected an RFC 3339 time, got '%s'\n",
                 flags.from.c_str());
    return kExitInvalid;
  }
  if (schedules->empty()) std::printf("no schedules in %s\n", file.c_str());
  for (const auto& s : *schedules) {
    std::printf("%s: runbook %s, cron \"%s\", %s, misfire %s\n", s.id.c_str(), s.runbook.c_str(),
                s.schedule.expr().text().c_str(), s.schedule.time_zone().c_str(),
                s.misfire == scheduler::Misfire::Skip ? "skip" : "run_once");
    for (auto t : s.schedule.next_runs(from, flags.count))
      std::printf("  %s  %s\n", s.schedule.local_text(t).c_str(), format_time(t).c_str());
  }
  return kExitOk;
}

}  // namespace opsrun::cli
