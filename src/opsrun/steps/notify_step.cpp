#include "opsrun/steps/notify_step.h"

#include "opsrun/steps/render_internal.h"

namespace opsrun::steps {

namespace {

StepOutcome failed(std::string error) {
  StepOutcome o;
  o.error = "notify: " + std::move(error);
  o.result = JsonObject{{"status", "failure"}, {"error", o.error}};
  return o;
}

}  // namespace

StepOutcome run_notify_step(const AttemptRequest& request, notify::ChannelRegistry& channels,
                            CancelToken& cancel) {
  StepOutcome o;
  const model::Step& step = *request.step;
  auto message = detail::render_field(step.message, request.scope, "message");
  if (!message) return failed(message.error().describe());
  auto key = detail::render_field(step.notify_key, request.scope, "key");
  if (!key) return failed(key.error().describe());
  notify::Notification n;
  n.execution_id = request.execution_id;
  n.runbook_id = request.runbook != nullptr ? request.runbook->id : std::string();
  n.step_id = step.id;
  n.message = *message;
  n.key = *key;
  n.severity = notify::parse_severity(step.severity).value_or(notify::Severity::Info);
  n.action = notify::parse_action(step.event).value_or(notify::Action::Trigger);
  // Waits between retries sleep on the attempt's token, and a request in flight watches it: a
  // cancel or the step's timeout (the engine cancels the token at the deadline) ends both at
  // once. Each request is also cut to the time left before the step's deadline.
  n.control.sleep = [&cancel](Millis d) { return cancel.sleep_for(d); };
  n.control.cancelled = [&cancel] { return cancel.requested(); };
  if (request.timeout) n.control.deadline = cancel.clock().now() + *request.timeout;

  JsonObject delivered;
  JsonObject receipts;
  std::vector<std::string> problems;
  if (step.channels.empty()) problems.push_back("no channels");
  for (const auto& name : step.channels) {
    if (cancel.requested()) {
      delivered[name] = "failed: cancelled before sending";
      problems.push_back("channel '" + name + "' not sent: cancelled");
      continue;
    }
    auto sent = channels.send(name, n);
    if (sent) {
      delivered[name] = "sent";
      if (sent->is_object() && !sent->as_object().empty()) receipts[name] = *sent;
    } else if (sent.error().code == ErrorCode::NotFound && !channels.find(name)) {
      delivered[name] = "failed: unknown channel";
      problems.push_back("unknown channel '" + name + "'");
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
  if (!receipts.empty()) o.result.as_object()["receipts"] = std::move(receipts);
  return o;
}

}  // namespace opsrun::steps
