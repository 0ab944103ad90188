// `opsrun notify test CHANNEL... | --all`: sends a test message through configured channels
// and says, per channel, what happened (the seed 004's "test all channels").
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "opsrun/cli/commands.h"
#include "opsrun/common/log.h"
#include "opsrun/config/config.h"
#include "opsrun/server/channels_wiring.h"

namespace opsrun::cli {

namespace {

std::string host_name() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof buf - 1) != 0) return "?";
  return buf;
}

}  // namespace

int cmd_notify_test(const NotifyTestFlags& flags) {
  std::string file = flags.config_file;
  if (file.empty() && std::filesystem::exists("opsrun.yaml")) file = "opsrun.yaml";
  config::Config cfg;
  if (!file.empty()) {
    auto loaded = config::load_file(file);
    if (!loaded) {
      std::fprintf(stderr, "notify test: %s\n", loaded.error().describe().c_str());
      return kExitInvalid;
    }
    cfg = std::move(*loaded);
  }
  const auto severity = notify::parse_severity(flags.severity);
  if (!severity) {
    std::fprintf(stderr, "notify test: --severity is P0, P1, P2 or info, not '%s'\n",
                 flags.severity.c_str());
    return kExitInvalid;
  }
  SystemClock clock;
  notify::ChannelRegistry registry;
  server::wire_channels(registry, cfg.channels, clock, nullptr);

  std::vector<std::string> names = flags.channels;
  if (flags.all) {
    names.clear();
    for (const auto& c : cfg.channels) names.push_back(c.name);
    names.push_back("log");
  }
  if (names.empty()) {
    std::fprintf(stderr, "notify test: name a channel, or --all (configured in %s: %zu)\n",
                 file.empty() ? "no opsrun.yaml" : file.c_str(), cfg.channels.size());
    return kExitInvalid;
  }
  for (const auto& name : names) {
    if (registry.find(name)) continue;
    std::string known;
    for (const auto& n : registry.names()) known += (known.empty() ? "" : ", ") + n;
    std::fprintf(stderr, "notify test: unknown channel '%s' (known: %s%s)\n", name.c_str(),
                 known.c_str(), file.empty() ? "; no opsrun.yaml found, use --config" : "");
    return kExitInvalid;
  }

  notify::Notification n;
  n.runbook_id = "notify-test";
  n.severity = *severity;
  n.message = !flags.message.empty() ? flags.message
                                     : "opsrun notification test from " + host_name() + " at " +
                                           format_time(clock.now());
  int failed = 0;
  JsonArray report;
  for (const auto& name : names) {
    std::string type = name == "log" || name == "audit-log" ? "built-in" : "";
    for (const auto& c : cfg.channels)
      if (c.name == name) type = c.type;
    const auto start = std::chrono::steady_clock::now();
    auto sent = registry.send(name, n);
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    JsonObject row{{"channel", name}, {"type", type}, {"ok", sent.has_value()}, {"seconds", secs}};
    if (sent) {
      row["receipt"] = *sent;
    } else {
      ++failed;
      row["error"] = log::redact(sent.error().describe());
    }
    if (flags.output == "json") {
      report.push_back(std::move(row));
      continue;
    }
    std::printf("%-20s %-10s %s  %.2fs", name.c_str(), type.c_str(), sent ? "sent  " : "FAILED",
                secs);
    if (sent && sent->is_object() && !sent->as_object().empty())
      std::printf("  %s", to_json_text(*sent).c_str());
    if (!sent) std::printf("  %s", row["error"].as_string().c_str());
    std::printf("\n");
  }
  if (flags.output == "json")
    std::printf("%s\n", to_pretty_json(report).c_str());
  else
    std::printf("%zu channel%s tested, %d failed\n", names.size(), names.size() == 1 ? "" : "s",
                failed);
  return failed == 0 ? kExitOk : kExitFailed;
}

}  // namespace opsrun::cli
