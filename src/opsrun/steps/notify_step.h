// Notify steps: the rendered message goes to every named channel. ok only when every
// channel delivered; result {channels: {name: "sent" | "failed: ..."}}.
#pragma once

#include "opsrun/notify/channel.h"
#include "opsrun/steps/executor.h"

namespace opsrun::steps {

StepOutcome run_notify_step(const AttemptRequest& request, notify::ChannelRegistry& channels);

}  // namespace opsrun::steps
