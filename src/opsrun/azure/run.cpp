#include "opsrun/azure/run.h"

#include <cstdlib>

#include "opsrun/common/log.h"

namespace opsrun::azure {

Result<std::unique_ptr<WatcherHost>> make_watcher(AzureEventsConfig config, Clock& clock,
                                                  engine::Engine& engine, store::Store* store,
                                                  metrics::Registry* metrics,
                                                  std::function<void(const std::string&)> print) {
  auto books = load_drain_runbooks(config.runbook_dir);
  if (!books) return std::unexpected(books.error());
  auto host = std::make_unique<WatcherHost>();
  host->config = std::move(config);
  const auto& cfg = host->config;
  ImdsOptions io;
  io.base_url = cfg.imds_url;
  host->imds = std::make_unique<ImdsClient>(io);
  if (cfg.servicenow) {
    log::add_secret(cfg.servicenow->password);
    log::add_secret(cfg.servicenow->client_secret);
    host->servicenow = std::make_unique<notify::ServiceNowClient>(*cfg.servicenow, clock);
  } else if (print) {
    print(
        "ServiceNow is not configured (no servicenow section): events are handled without incident "
        "records");
  }
  WatcherOptions wo;
  wo.dry_run = cfg.dry_run;
  wo.vm_name = cfg.vm_name;
  wo.drain_context = cfg.drain_context;
  wo.default_drain = Millis(cfg.default_drain_seconds * 1000LL);
  wo.incident = cfg.incident;
  host->watcher = std::make_unique<Watcher>(WatcherParts{.clock = clock,
                                                         .engine = engine,
                                                         .store = store,
                                                         .imds = *host->imds,
                                                         .servicenow = host->servicenow.get(),
                                                         .metrics = metrics,
                                                         .runbooks = std::move(*books),
                                                         .print = std::move(print)},
                                            std::move(wo));
  return host;
}

Result<std::optional<ServeWatcherSettings>> serve_settings(const Json& azure_section) {
  auto bad = [](const std::string& field, const std::string& what) {
    return fail(ErrorCode::InvalidArgument,
                "opsrun.yaml: azure.scheduled_events." + field + ": " + what);
  };
  if (azure_section.is_null()) return std::optional<ServeWatcherSettings>{};
  if (!azure_section.is_object())
    return fail(ErrorCode::InvalidArgument, "opsrun.yaml: azure: must be a mapping");
  for (const auto& kv : azure_section.as_object())
    if (kv.key() != "scheduled_events")
      log::warn("opsrun.yaml: azure: unknown key ignored", {{"key", std::string(kv.key())}});
  const auto* se = azure_section.as_object().if_contains("scheduled_events");
  if (se == nullptr || se->is_null()) return std::optional<ServeWatcherSettings>{};
  if (!se->is_object())
    return fail(ErrorCode::InvalidArgument,
                "opsrun.yaml: azure.scheduled_events: must be a mapping");
  const auto& o = se->as_object();
  for (const auto& kv : o)
    if (kv.key() != "enabled" && kv.key() != "config" && kv.key() != "poll_interval")
      return bad(std::string(kv.key()), "unknown key (enabled, config, poll_interval)");
  // YAML scalars may arrive as strings: accept "true" and "5" as well.
  const auto* enabled = o.if_contains("enabled");
  const bool on = enabled != nullptr && ((enabled->is_bool() && enabled->as_bool()) ||
                                         (enabled->is_string() && enabled->as_string() == "true"));
  if (!on) return std::optional<ServeWatcherSettings>{};
  const auto* file = o.if_contains("config");
  if (file == nullptr || !file->is_string() || file->as_string().empty())
    return bad("config", "required when enabled (the path of the watcher's config.json)");
  auto cfg = load_config_file(std::string(file->as_string()));
  if (!cfg) return std::unexpected(cfg.error());
  if (const auto* p = o.if_contains("poll_interval"); p != nullptr && !p->is_null()) {
    long long n = 0;
    if (p->is_int64())
      n = p->as_int64();
    else if (p->is_string())
      n = std::atoll(std::string(p->as_string()).c_str());
    if (n < 1 || n > 3600) return bad("poll_interval", "must be between 1 and 3600 seconds");
    cfg->poll_interval_seconds = static_cast<int>(n);
  }
  return std::optional<ServeWatcherSettings>{ServeWatcherSettings{std::move(*cfg)}};
}

}  // namespace opsrun::azure
