// `opsrun policy validate`, `opsrun emergency-stop`, `opsrun resume`, `opsrun safety status`.
// The stop is a setting in the store, so these work on the store directly (like `opsrun
// executions`): every server and run sharing it is bound at once.
#include <cstdio>
#include <cstdlib>

#include "opsrun/cli/commands.h"

#include "opsrun/audit/chained_log.h"
#include "opsrun/safety/emergency_stop.h"
#include "opsrun/safety/policy.h"

namespace opsrun::cli {

namespace {

std::string cli_actor() {
  const char* user = std::getenv("USER");
  return std::string("cli:") + (user != nullptr ? user : "unknown");
}

void print_stop(const safety::StopState& s, const std::string& output) {
  if (output == "json") {
    std::printf("%s\n", to_pretty_json(safety::stop_to_json(s)).c_str());
    return;
  }
  if (s.on) {
    std::printf("emergency stop: ON since %s by %s%s\n  reason: %s\n",
                s.since ? format_time(*s.since).c_str() : "?", s.by.c_str(),
                s.abort_running ? " (running executions are aborted at their next action)" : "",
                s.reason.c_str());
  } else {
    std::printf("emergency stop: off");
    if (s.resumed_at) std::printf(" (lifted %s by %s)", format_time(*s.resumed_at).c_str(), s.resumed_by.c_str());
    std::printf("\n");
  }
}

}  // namespace

int cmd_policy_validate(const std::vector<std::string>& files) {
  int invalid = 0;
  for (const auto& f : files) {
    auto l = safety::load_policy_file(f);
    for (const auto& d : l.diagnostics) std::fprintf(stderr, "%s\n", d.describe().c_str());
    if (!l.ok()) {
      ++invalid;
      std::printf("%s: invalid\n", f.c_str());
      continue;
    }
    const auto& p = *l.policy;
    const auto& r = p.rules;
    int rules = 0;
    for (const safety::SeedRules::Base* b : {static_cast<const safety::SeedRules::Base*>(&r.production_tags),
                                             static_cast<const safety::SeedRules::Base*>(&r.business_hours),
                                             static_cast<const safety::SeedRules::Base*>(&r.auto_scaling_group),
                                             static_cast<const safety::SeedRules::Base*>(&r.load_balancer_target),
                                             static_cast<const safety::SeedRules::Base*>(&r.database_dependency),
                                             static_cast<const safety::SeedRules::Base*>(&r.recent_activity)})
      if (b->enabled) ++rules;
    std::printf("%s: ok (%d of 6 seed rules on, %zu protected targets, %zu rate limits, %zu change windows, "
                "%zu concurrency limits)\n",
                f.c_str(), rules, p.protected_targets.size(), p.rate_limits.size(), p.change_windows.size(),
                p.concurrency.size());
  }
  return invalid == 0 ? kExitOk : kExitInvalid;
}

int cmd_safety(const SafetyFlags& flags) {
  auto store = open_store_from(flags.store);
  if (!store) {
    std::fprintf(stderr, "%s: %s\n", flags.verb.c_str(), store.error().describe().c_str());
    return kExitFailed;
  }
  SystemClock clock;
  notify::ChannelRegistry channels;
  // The stop and the resume go into the hash-chained audit log and to the log channel as P0.
  audit::ChainedLog audit_log(**store, clock);
  safety::EmergencyStop stop(store->get(), clock, &audit_log, [&channels](const notify::Notification& n) {
    if (auto ch = channels.find("log")) (void)ch->send(n);
  });
  Result<safety::StopState> r = flags.verb == "emergency-stop" ? stop.engage(flags.reason, flags.abort_running, cli_actor())
                                : flags.verb == "resume"         ? stop.resume(cli_actor())
                                                                 : stop.state();
  if (!r) {
    std::fprintf(stderr, "%s: %s\n", flags.verb.c_str(), r.error().describe().c_str());
    return r.error().code == ErrorCode::InvalidArgument ? kExitInvalid : kExitFailed;
  }
  print_stop(*r, flags.output);
  return kExitOk;
}

}  // namespace opsrun::cli
