#include "opsrun/cli/runtime.h"

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
