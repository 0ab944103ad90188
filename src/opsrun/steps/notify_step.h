// Notify steps: the rendered message goes to every named channel. ok only when every
// channel delivered; result {channels: {name: "sent" | "failed: ..."}, receipts: {name: ...}}.
//
// Delivery runs on the worker thread that runs the step (never the engine's loop thread), so
// a slow or failing service holds only this attempt. Each channel bounds its own time (its
// retries and waits, docs/channels.md); the step's timeout and a cancel stop the waits
// between retries at once.
#pragma once

#include "opsrun/notify/channel.h"
#include "opsrun/steps/executor.h"

namespace opsrun::steps {

StepOutcome run_notify_step(const AttemptRequest& request, notify::ChannelRegistry& channels,
                            CancelToken& cancel);

}  // namespace opsrun::steps
