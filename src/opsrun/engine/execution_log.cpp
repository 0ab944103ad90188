#include "opsrun/engine/execution_log.h"

#include <optional>
#include <string_view>

#include "opsrun/common/log.h"

namespace opsrun::engine {

namespace {

std::string text_field(const Json& payload, std::string_view key) {
  const Json* v = payload.is_object() ? payload.as_object().if_contains(key) : nullptr;
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

// How loud each event is; nullopt for the chatty ones (a step started or completed).
std::optional<log::Level> level_of(std::string_view event) {
  if (event == "execution:failed") return log::Level::Error;
  if (event == "step:failed" || event == "execution:cancelled" || event == "execution:needs_attention")
    return log::Level::Warn;
  if (event.starts_with("execution:") || event == "step:retrying" || event == "runbook:registered")
    return log::Level::Info;
  return std::nullopt;
}

}  // namespace

std::uint64_t log_execution_events(EventBus& bus) {
  return bus.on("*", [](const BusEvent& e) {
    const auto level = level_of(e.name);
    if (!level) return;
    // "execution:failed" -> "execution failed": a message people read, the name for filters.
    std::string message = e.name;
    message[message.find(':')] = ' ';
    std::string detail = text_field(e.payload, "error");
    if (detail.empty()) detail = text_field(e.payload, "reason");
    log::write(*level, message,
               {{"event", e.name}, {"execution_id", e.execution_id}, {"runbook", e.runbook_id},
                {"step", e.step_id}, {"detail", detail}});
  });
}

}  // namespace opsrun::engine
