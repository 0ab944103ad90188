// `opsrun azure-events`: the Azure Scheduled Events watcher in the foreground (seed 000).
#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <thread>

#include "opsrun/azure/run.h"
#include "opsrun/cli/commands.h"
#include "opsrun/metrics/registry.h"

namespace opsrun::cli {

namespace {

void print_line(const std::string& line) {
  std::fputs((line + "\n").c_str(), stdout);
  std::fflush(stdout);
}

Result<azure::AzureEventsConfig> load(const AzureEventsFlags& flags) {
  azure::AzureEventsConfig cfg;
  const bool implicit = flags.config.empty();
  const std::string file = implicit ? "config.json" : flags.config;
  if (!implicit || std::filesystem::exists(file)) {
    auto loaded = azure::load_config_file(file);
    if (!loaded) return loaded;
    cfg = std::move(*loaded);
  } else {
    auto defaults = azure::parse_config("{}", "(defaults)");  // fills the drain script path
    if (!defaults) return defaults;
    cfg = std::move(*defaults);
    print_line("No config.json: running with defaults");
  }
  if (flags.dry_run) cfg.dry_run = true;
  if (!flags.imds_url.empty()) cfg.imds_url = flags.imds_url;
  if (flags.poll_interval != 0) {
    if (flags.poll_interval < 1 || flags.poll_interval > 3600)
      return fail(ErrorCode::InvalidArgument,
                  "--poll-interval: must be between 1 and 3600 seconds");
    cfg.poll_interval_seconds = flags.poll_interval;
  }
  if (cfg.imds_url.rfind("http://", 0) != 0 && cfg.imds_url.rfind("https://", 0) != 0)
    return fail(ErrorCode::InvalidArgument, "--imds-url: must start with http:// or https://");
  return cfg;
}

}  // namespace

int cmd_azure_events(const AzureEventsFlags& flags) {
  auto cfg = load(flags);
  if (!cfg) {
    std::fprintf(stderr, "azure-events: %s\n", cfg.error().describe().c_str());
    return kExitInvalid;
  }
  // Block the stop signals before any thread starts; the main thread sigwaits for them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  if (!flags.once) pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto rt = LocalRuntime::open(flags.store);
  if (!rt) {
    std::fprintf(stderr, "azure-events: %s\n", rt.error().describe().c_str());
    return kExitInvalid;
  }
  metrics::Registry registry;
  const int interval = cfg->poll_interval_seconds;
  const bool dry_run = cfg->dry_run;
  const std::string url = cfg->imds_url;
  auto host = azure::make_watcher(std::move(*cfg), (*rt)->clock, *(*rt)->engine, (*rt)->store.get(),
                                  &registry, print_line);
  if (!host) {
    std::fprintf(stderr, "azure-events: %s\n", host.error().describe().c_str());
    return kExitInvalid;
  }
  print_line("Azure Scheduled Events monitor: " + url + (dry_run ? " (DRY RUN)" : "") +
             (flags.once ? ", one check" : ", polling every " + std::to_string(interval) + " s"));
  int rc = kExitOk;
  if (flags.once) {
    auto polled = (*host)->watcher->poll_once();
    if (!polled) {
      std::fprintf(stderr, "azure-events: %s\n", polled.error().describe().c_str());
      rc = kExitFailed;
    } else if (polled->to_drain.empty()) {
      print_line("No new scheduled events");
    }
  } else {
    std::thread loop([&] { (*host)->watcher->run(Millis(interval * 1000LL)); });
    int sig = 0;
    sigwait(&stop_signals, &sig);
    print_line("Stopping");
    (*host)->watcher->stop();
    loop.join();
  }
  (*rt)->engine->stop(Millis(5000));
  return rc;
}

}  // namespace opsrun::cli
