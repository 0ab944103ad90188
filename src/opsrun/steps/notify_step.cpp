#include "opsrun/steps/notify_step.h"

#include "opsrun/steps/render_internal.h"

namespace opsrun::steps {

StepOutcome run_notify_step(const AttemptRequest& request, notify::ChannelRegistry& channels) {
  StepOutcome o;
  const model::Step& step = *request.step;
  auto message = detail::render_field(step.message, request.scope, "message");
  if (!message) {
    o.error = "notify: " + message.error().describe();
    o.result = JsonObject{{"status", "failure"}, {"error", o.error}};
    return o;
  }
  notify::Notification n;
  n.execution_id = request.execution_id;
  n.runbook_id = request.runbook != nullptr ? request.runbook->id : std::string();
  n.step_id = step.id;
  n.message = *message;

  JsonObject delivered;
  std::vector<std::string> problems;
  if (step.channels.empty()) problems.push_back("no channels");
  for (const auto& name : step.channels) {
    auto channel = channels.find(name);
    if (!channel) {
      delivered[name] = "failed: unknown channel";
      problems.push_back("unknown channel '" + name + "'");
      continue;
    }
    Result<void> sent = fail(ErrorCode::Internal, "not sent");
    try {
      sent = channel->send(n);
    } catch (const std::exception& e) {  // the contract says never throws; be safe anyway
      sent = fail(ErrorCode::Internal, e.what());
    }
    if (sent) {
      delivered[name] = "sent";
    } else {
      delivered[name] = "failed: " + sent.error().describe();
      problems.push_back("channel '" + name + "' failed: " + sent.error().describe());
    }
  }
  o.ok = problems.empty();
  if (!o.ok) {
    o.error = "notify: ";
    for (std::size_t i = 0; i < problems.size(); ++i) o.error += (i ? "; " : "") + problems[i];
  }
  o.value = *message;
  o.result = JsonObject{{"status", o.ok ? "success" : "failure"}, {"channels", std::move(delivered)},
                        {"message", *message}};
  return o;
}

}  // namespace opsrun::steps
