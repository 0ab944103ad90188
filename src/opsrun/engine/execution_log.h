// Log lines for what executions do, from the event bus: starts, ends, waits, failures and
// retries of steps, each with execution_id, runbook and step fields (JSON lines on stderr, or
// text on a terminal, as the log module is set). `opsrun serve` subscribes it; `opsrun run`
// shows the same live on its own.
#pragma once

#include <cstdint>

#include "opsrun/engine/event_bus.h"

namespace opsrun::engine {

// Subscribes to every event; returns the subscription id (EventBus::off ends it).
std::uint64_t log_execution_events(EventBus& bus);

}  // namespace opsrun::engine
