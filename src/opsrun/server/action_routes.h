// Failed actions and their retry (the seed's "retry of failed actions"): GET
// /api/actions/failed (viewer) and POST /api/actions/retry (operator).
#pragma once

#include "opsrun/common/clock.h"
#include "opsrun/server/router.h"

namespace opsrun::store {
class Store;
}
namespace opsrun::engine {
class Engine;
}
namespace opsrun::audit {
class Recorder;
}

namespace opsrun::server {

// All must outlive the router. `recorder` null: retries are not audited (tests only).
void add_action_routes(Router& router, engine::Engine& engine, store::Store& store,
                       audit::Recorder* recorder, Clock& clock);

}  // namespace opsrun::server
