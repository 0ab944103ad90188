// The timer API: /api/timers (create, batch, get, list, cancel, PATCH) and the v1
// compatibility API /api/v1/timers/create|get|update|delete with its {error, message,
// details, timestamp} error shape. Writes need the operator role, reads the viewer role.
#pragma once

#include "opsrun/common/clock.h"
#include "opsrun/server/router.h"
#include "opsrun/timers/service.h"

namespace opsrun::server {

inline constexpr std::size_t kMaxTimerBatch = 10'000;

// `service` and `clock` must outlive the router.
void add_timer_routes(Router& router, timers::TimerService& service, Clock& clock);

}  // namespace opsrun::server
