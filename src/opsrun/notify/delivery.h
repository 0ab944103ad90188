// How a caller bounds one delivery: a deadline and an interruptible wait between retries.
// Notify steps fill it from the attempt (its timeout and CancelToken); empty means the
// channel's own limits and a plain sleep.
#pragma once

#include <functional>
#include <optional>

#include "opsrun/common/clock.h"

namespace opsrun::notify {

struct DeliveryControl {
  std::optional<SystemTime> deadline;
  std::function<bool(Millis)> sleep;  // returns false when the caller gave up
  std::function<bool()> cancelled;    // true once the caller gave up: a transfer stops at once
};

}  // namespace opsrun::notify
