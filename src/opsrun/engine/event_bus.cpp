#include "opsrun/engine/event_bus.h"

#include <algorithm>

namespace opsrun::engine {

std::uint64_t EventBus::on(std::string name, BusHandler handler) {
  std::lock_guard g(mu_);
  const std::uint64_t id = next_id_++;
  subs_.push_back({id, std::move(name), std::move(handler)});
  return id;
}

void EventBus::off(std::uint64_t id) {
  std::lock_guard g(mu_);
  std::erase_if(subs_, [id](const Subscription& s) { return s.id == id; });
}

void EventBus::publish(const BusEvent& event) const {
  std::vector<BusHandler> targets;
  {
    std::lock_guard g(mu_);
    for (const auto& s : subs_)
      if (s.name == "*" || s.name == event.name) targets.push_back(s.handler);
  }
  // Called outside the lock so a handler may subscribe or unsubscribe.
  for (const auto& h : targets) h(event);
}

}  // namespace opsrun::engine
