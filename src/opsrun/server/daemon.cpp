#include "opsrun/server/daemon.h"

#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "opsrun/azure/run.h"
#include "opsrun/common/clock.h"
#include "opsrun/common/log.h"
#include "opsrun/config/config.h"
#include "opsrun/engine/engine.h"
#include "opsrun/engine/execution_log.h"
#include "opsrun/metrics/registry.h"
#include "opsrun/model/runbook_yaml.h"
#include "opsrun/notify/channel.h"
#include "opsrun/scheduler/schedule_runner.h"
#include "opsrun/safety/guard.h"
#include "opsrun/server/action_routes.h"
#include "opsrun/server/audit_routes.h"
#include "opsrun/audit/chained_log.h"
#include "opsrun/server/api_routes.h"
#include "opsrun/server/channels_wiring.h"
#include "opsrun/server/from_config.h"
#include "opsrun/server/http_server.h"
#include "opsrun/server/timer_routes.h"
#include "opsrun/timers/callback.h"
#include "opsrun/steps/step_runner.h"
#include "opsrun/store/store.h"

namespace opsrun::server {

namespace fs = std::filesystem;

std::string_view embedded_openapi();  // generated from docs/openapi.yaml

namespace {

// A notify step naming a channel that is not configured fails each time it runs: say so at
// start-up, once per step and channel.
void warn_unknown_channels(const engine::Engine& engine, const notify::ChannelRegistry& channels) {
  for (const auto& rb : engine.runbooks())
    for (const auto& step : rb->steps)
      if (step.type == model::StepType::Notify)
        for (const auto& name : step.channels)
          if (!channels.find(name))
            log::warn("notify step names a channel that is not configured",
                      {{"runbook", rb->id}, {"step", step.id}, {"channel", name}});
}

// Loads every *.yaml / *.yml of the directories; an invalid file is reported and skipped.
int load_runbooks(engine::Engine& engine, const std::vector<std::string>& dirs) {
  int loaded = 0;
  for (const auto& dir : dirs) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
      log::warn("runbook directory not found", {{"dir", dir}});
      continue;
    }
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir, ec))
      if (entry.path().extension() == ".yaml" || entry.path().extension() == ".yml") files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      auto r = model::load_runbook_file(f.string());
      for (const auto& d : r.diagnostics)
        if (d.severity == model::Diagnostic::Severity::Error) log::error("runbook skipped", {{"problem", d.describe()}});
      if (!r.ok()) continue;
      if (auto added = engine.add_runbook(r.runbook); !added) {
        log::error("runbook skipped", {{"problem", added.error().describe()}});
        continue;
      }
      ++loaded;
    }
  }
  return loaded;
}

}  // namespace

int run_daemon(const DaemonFlags& flags) {
  // Block the stop signals before any thread starts, so every thread inherits the mask and
  // the main thread can sigwait() for them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  config::Config cfg;
  std::string config_file = flags.config_file;
  if (config_file.empty() && fs::exists("opsrun.yaml")) config_file = "opsrun.yaml";
  if (!config_file.empty()) {
    auto loaded = config::load_file(config_file);
    if (!loaded) {
      std::fprintf(stderr, "serve: %s\n", loaded.error().describe().c_str());
      return 2;
    }
    cfg = std::move(*loaded);
  }
  if (!flags.listen.empty()) {
    auto hp = config::parse_listen(flags.listen);
    if (!hp) {
      std::fprintf(stderr, "serve: --listen: %s\n", hp.error().describe().c_str());
      return 2;
    }
    cfg.listen_host = hp->first;
    cfg.listen_port = hp->second;
  }
  store::OpenOptions store_options;
  store_options.data_dir = !flags.data_dir.empty() ? flags.data_dir
                           : !cfg.store.data_dir.empty() ? cfg.store.data_dir
                                                         : "./opsrun-data";
  store_options.url = !flags.store_url.empty() ? flags.store_url : cfg.store.url;
  std::vector<std::string> dirs = cfg.runbook_dirs;
  if (dirs.empty() && flags.runbook_dirs.empty()) dirs.push_back("runbooks");
  dirs.insert(dirs.end(), flags.runbook_dirs.begin(), flags.runbook_dirs.end());
  // The safety policy: --policy, else the config's `policies:` section; an invalid policy
  // stops the server from starting, with every problem at its file:line.
  safety::Policy policy;
  const std::string policy_source = !flags.policy_file.empty() ? flags.policy_file
                                    : !cfg.policies.is_null()  ? config_file
                                                               : std::string();
  if (!policy_source.empty()) {
    auto loaded = safety::load_policy_file(policy_source);
    for (const auto& d : loaded.diagnostics) std::fprintf(stderr, "serve: %s\n", d.describe().c_str());
    if (!loaded.ok()) {
      std::fprintf(stderr, "serve: the safety policy is invalid; not starting\n");
      return 2;
    }
    policy = std::move(*loaded.policy);
  }
  if (!cfg.triggers.is_null()) log::warn("config section accepted but not implemented yet", {{"section", "triggers"}});
  auto azure_settings = azure::serve_settings(cfg.azure);
  if (!azure_settings) {
    std::fprintf(stderr, "serve: %s\n", azure_settings.error().describe().c_str());
    return 2;
  }

  auto schedules = scheduler::parse_schedules(cfg.schedules);
  if (!schedules) {
    std::fprintf(stderr, "serve: %s\n", schedules.error().describe().c_str());
    return 2;
  }

  auto store = store::open_store(store_options);
  if (!store) {
    std::fprintf(stderr, "serve: %s\n", store.error().describe().c_str());
    return 1;
  }
  auto tokens = tokens_from_config(cfg);
  if (!tokens) {
    std::fprintf(stderr, "serve: %s\n", tokens.error().describe().c_str());
    return 2;
  }
  SystemClock clock;
  metrics::Registry registry;  // before the channels: they count into it until they go
  notify::ChannelRegistry channels;
  wire_channels(channels, cfg.channels, clock, store->get());
  channels.set_metrics(registry);
  steps::StepRunner runner({}, channels);
  audit::ChainedLogOptions audit_options;
  audit_options.jsonl_path = cfg.audit.jsonl_path;
  audit_options.jsonl_max_bytes = cfg.audit.jsonl_max_bytes;
  audit_options.jsonl_keep = cfg.audit.jsonl_keep;
  audit::ChainedLog audit_log(**store, clock, audit_options);
  // Every safety decision, stop and resume is in the hash-chained log before it takes effect.
  auto guard = safety::Guard::create(std::move(policy), clock, store->get(), &audit_log, &channels);
  engine::EngineOptions engine_options;
  engine_options.gate = guard.get();
  auto engine = engine::Engine::create(clock, runner, store->get(), engine_options);
  engine::log_execution_events(engine->bus());
  const int loaded = load_runbooks(*engine, dirs);
  warn_unknown_channels(*engine, channels);
  auto recovered = engine->recover();
  if (!recovered) {
    std::fprintf(stderr, "serve: recovery: %s\n", recovered.error().describe().c_str());
    return 1;
  }
  for (const auto& err : recovered->errors) log::error("execution not recovered", {{"problem", err}});
  for (const auto& s : *schedules) {
    if (!engine->runbook(s.runbook)) {
      std::fprintf(stderr, "serve: schedule %s: unknown runbook '%s'\n", s.id.c_str(), s.runbook.c_str());
      return 2;
    }
  }
  // Started after recovery, so a run it starts never races the replay of older ones.
  scheduler::ScheduleRunner schedule_runner(
      clock, **store, std::move(*schedules), [&engine](const scheduler::ScheduledRun& run) -> Result<std::string> {
        engine::StartOptions start;
        start.execution_id = run.execution_id;
        start.actor = "schedule:" + run.schedule_id;
        return engine->start(run.runbook_id, run.context, start);
      });
  if (auto started = schedule_runner.start(); !started) {
    std::fprintf(stderr, "serve: schedules: %s\n", started.error().describe().c_str());
    return 1;
  }

  registry.enable_process_metrics();
  Router router;
  add_api_routes(router, *engine, **store, registry, std::string(embedded_openapi()), guard.get());
  add_audit_routes(router, **store, clock);
  add_action_routes(router, *engine, **store, &audit_log, clock);

  // The timer service; a runbook timer's execution id derives from (timer, execute_at), so
  // a start repeated after a crash is recognised, never doubled.
  timers::CurlCallbackSender timer_sender;
  timers::ServiceOptions timer_options;
  timer_options.runbook_exists = [&engine](std::string_view id) { return engine->runbook(id) != nullptr; };
  timers::TimerService timer_service(
      clock, **store, timer_sender,
      [&engine](const timers::TimerSpec& t, SystemTime) -> Result<std::string> {
        engine::StartOptions start;
        start.execution_id = scheduler::ScheduleRunner::execution_id_for("timer:" + t.id, t.execute_at);
        start.actor = "timer:" + t.id;
        return engine->start(t.runbook->id, t.runbook->context, start);
      },
      registry, timer_options);
  if (auto started = timer_service.start(); !started) {
    std::fprintf(stderr, "serve: timers: %s\n", started.error().describe().c_str());
    return 1;
  }
  add_timer_routes(router, timer_service, clock);

  ServerOptions options = server_options_from_config(cfg);
  store::Store* s = store->get();
  options.ready_check = [s] {
    auto p = s->ping();
    return p ? HealthStatus{true, "ready", -1} : HealthStatus{false, p.error().describe(), -1};
  };
  options.db_check = [s] {
    auto p = s->ping();
    if (!p) return HealthStatus{false, p.error().describe(), -1};
    return HealthStatus{true, s->describe(), std::chrono::duration<double>(*p).count()};
  };
  auto http = HttpServer::start(options, router, *tokens, registry);
  if (!http) {
    std::fprintf(stderr, "serve: %s\n", http.error().describe().c_str());
    return 1;
  }
  // The opt-in Azure Scheduled Events watcher (docs/azure-events.md).
  std::unique_ptr<azure::WatcherHost> azure_watcher;
  std::thread azure_thread;
  if (*azure_settings) {
    const int interval = (*azure_settings)->config.poll_interval_seconds;
    auto host = azure::make_watcher(std::move((*azure_settings)->config), clock, *engine, store->get(), &registry,
                                    [](const std::string& line) { log::info(line, {{"component", "azure-events"}}); });
    if (!host) {
      std::fprintf(stderr, "serve: azure.scheduled_events: %s\n", host.error().describe().c_str());
      return 2;
    }
    azure_watcher = std::move(*host);
    azure_thread = std::thread([&azure_watcher, interval] { azure_watcher->watcher->run(Millis(interval * 1000LL)); });
  }

  std::printf("opsrun serving on http://%s:%u (store %s, %d runbooks, %d executions resumed)\n",
              options.host.c_str(), static_cast<unsigned>((*http)->port()), (*store)->describe().c_str(),
              loaded, recovered->resumed);
  std::fflush(stdout);
  log::info("serving", {{"listen", options.host + ":" + std::to_string((*http)->port())},
                        {"store", (*store)->describe()}});

  int sig = 0;
  sigwait(&stop_signals, &sig);
  log::info("stopping", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  // Stop taking requests, let running steps finish within the grace period; whatever is
  // still running then is resumed by recovery on the next start.
  (*http)->stop(std::chrono::milliseconds(2000));
  schedule_runner.stop();
  if (azure_watcher) {
    azure_watcher->watcher->stop();
    azure_thread.join();
  }
  timer_service.stop();
  engine->stop(std::chrono::seconds(flags.grace_seconds));
  std::printf("opsrun stopped\n");
  return 0;
}

}  // namespace opsrun::server
