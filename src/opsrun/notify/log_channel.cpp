#include "opsrun/notify/log_channel.h"

#include "opsrun/common/log.h"

namespace opsrun::notify {

namespace {

// Pages should stand out in the log stream the way they would on a pager.
log::Level level_for(Severity s) {
  switch (s) {
    case Severity::P0:
    case Severity::P1: return log::Level::Error;
    case Severity::P2: return log::Level::Warn;
    case Severity::Info: return log::Level::Info;
  }
  return log::Level::Info;
}

}  // namespace

Result<void> LogChannel::send(const Notification& n) {
  log::write(level_for(n.severity), "notification",
             {{"channel", "log"},
              {"execution", n.execution_id},
              {"runbook", n.runbook_id},
              {"step", n.step_id},
              {"severity", std::string(to_string(n.severity))},
              {"notification", n.message},
              {"details", n.details.is_null() ? std::string() : to_json_text(n.details)}});
  return {};
}

}  // namespace opsrun::notify
