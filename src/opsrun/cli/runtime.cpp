#include "opsrun/cli/runtime.h"

#include <cstdio>
#include <filesystem>

#include "opsrun/config/config.h"
#include "opsrun/server/channels_wiring.h"

namespace opsrun::cli {

Result<std::unique_ptr<store::Store>> open_store_from(const StoreFlags& flags) {
  store::OpenOptions o;
  o.data_dir = flags.data_dir;
  o.url = flags.url;
  return store::open_store(o);
}

Result<std::unique_ptr<LocalRuntime>> LocalRuntime::open(const StoreFlags& flags) {
  auto rt = std::make_unique<LocalRuntime>();
  rt->runner = std::make_unique<steps::StepRunner>(steps::StepRunnerOptions{}, rt->channels);
  if (!flags.ephemeral) {
    auto s = open_store_from(flags);
    if (!s) return std::unexpected(s.error());
    rt->store = std::move(*s);
  }
  // The notification channels of opsrun.yaml. An invalid --config is an error (at its
  // file:line); an invalid ./opsrun.yaml picked up by default only warns.
  const bool implicit = flags.config.empty();
  const std::string config_file = !implicit ? flags.config : std::filesystem::exists("opsrun.yaml") ? "opsrun.yaml" : "";
  if (!config_file.empty()) {
    auto cfg = config::load_file(config_file);
    if (cfg) {
      server::wire_channels(rt->channels, cfg->channels, rt->clock, rt->store.get());
    } else if (!implicit) {
      return std::unexpected(cfg.error());
    } else {
      std::fprintf(stderr, "warning: ./opsrun.yaml not used for channels: %s\n", cfg.error().describe().c_str());
    }
  }
  safety::Policy policy;
  if (!flags.policy.empty()) {
    auto loaded = safety::load_policy_file(flags.policy);
    if (!loaded.ok()) {
      std::string problems;
      for (const auto& d : loaded.diagnostics) problems += (problems.empty() ? "" : "\n") + d.describe();
      return fail(ErrorCode::InvalidArgument, "invalid safety policy:\n" + problems);
    }
    policy = std::move(*loaded.policy);
  }
  // Local runs audit their safety decisions into the same chain as the server.
  if (rt->store) rt->audit_log = std::make_unique<audit::ChainedLog>(*rt->store, rt->clock);
  rt->guard = safety::Guard::create(std::move(policy), rt->clock, rt->store.get(), rt->audit_log.get(),
                                    &rt->channels);
  engine::EngineOptions options;
  options.gate = rt->guard.get();
  rt->engine = engine::Engine::create(rt->clock, *rt->runner, rt->store.get(), options);
  return rt;
}

}  // namespace opsrun::cli
