// The safety API: the emergency stop (admin) and the safety layer's status (viewer).
#pragma once

#include "opsrun/safety/guard.h"
#include "opsrun/server/router.h"

namespace opsrun::server {

// GET /api/safety/status, POST and DELETE /api/safety/emergency-stop. `guard` must outlive
// the router.
void add_safety_routes(Router& router, safety::Guard& guard);

}  // namespace opsrun::server
