// The engine's event bus, with the seed system's event names (runbook:registered,
// execution:started|completed|failed|cancelled, step:started|completed|failed|retrying,
// notification:sent) plus ours (execution:waiting, execution:needs_attention).
// Subscribers are C++ callbacks (the seed's runbookEngine.on); they run on the engine's
// loop thread, so they must be quick and must not call back into the engine synchronously.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "opsrun/common/clock.h"
#include "opsrun/common/json.h"

namespace opsrun::engine {

struct BusEvent {
  std::string name;
  std::string execution_id;
  std::string runbook_id;
  std::string step_id;
  SystemTime at;
  Json payload;
};

using BusHandler = std::function<void(const BusEvent&)>;

class EventBus {
 public:
  // `name` is an event name or "*" for every event. Returns an id for unsubscribe().
  std::uint64_t on(std::string name, BusHandler handler);
  void off(std::uint64_t id);
  void publish(const BusEvent& event) const;

 private:
  struct Subscription {
    std::uint64_t id;
    std::string name;
    BusHandler handler;
  };
  mutable std::mutex mu_;
  std::uint64_t next_id_ = 1;
  std::vector<Subscription> subs_;
};

}  // namespace opsrun::engine
