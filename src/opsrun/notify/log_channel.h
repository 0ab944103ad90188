// The `log` channel: a notification becomes one structured log line. Always available, so a
// runbook can notify even where no external service is configured.
#pragma once

#include "opsrun/notify/channel.h"

namespace opsrun::notify {

class LogChannel final : public Channel {
 public:
  [[nodiscard]] std::string name() const override { return "log"; }
  Result<void> send(const Notification& n) override;
};

}  // namespace opsrun::notify
