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
  rt->engine = engine::Engine::create(rt->clock, *rt->runner, rt->store.get());
  return rt;
}

}  // namespace opsrun::cli
