// The runbook API (the seed's /api/runbooks paths plus resource paths), on the router.
#pragma once

#include "opsrun/engine/engine.h"
#include "opsrun/metrics/registry.h"
#include "opsrun/safety/guard.h"
#include "opsrun/server/router.h"
#include "opsrun/store/store.h"

namespace opsrun::server {

// Registers every /api route. engine, store, registry (and guard) must outlive the router.
// Also feeds the opsrun_* execution metrics from the engine's event bus. With a guard, the
// /api/safety routes too.
void add_api_routes(Router& router, engine::Engine& engine, store::Store& store,
                    metrics::Registry& registry, std::string openapi_yaml,
                    safety::Guard* guard = nullptr);

}  // namespace opsrun::server
