#include "opsrun/model/builder.h"

#include "opsrun/model/runbook_yaml.h"

namespace opsrun::model {

RunbookBuilder runbook() { return RunbookBuilder{}; }

RunbookBuilder& RunbookBuilder::withMetadata(RunbookMetadata m) {
  rb_.id = std::move(m.id);
  rb_.name = std::move(m.name);
  rb_.description = std::move(m.description);
  rb_.version = m.version.empty() ? "1.0.0" : std::move(m.version);
  rb_.tags = std::move(m.tags);
  return *this;
}

RunbookBuilder& RunbookBuilder::withContext(Json context) {
  if (!context.is_object())
    misuse_.push_back("withContext() needs a JSON object");
  else
    rb_.context = std::move(context);
  return *this;
}

RunbookBuilder& RunbookBuilder::withTimeout(Millis timeout) {
  if (rb_.steps.empty())
    rb_.timeout = timeout;
  else
    rb_.steps.back().timeout = timeout;
  return *this;
}

Step& RunbookBuilder::add(std::string id, std::string name, StepType type) {
  Step s;
  s.id = std::move(id);
  s.name = std::move(name);
  s.type = type;
  rb_.steps.push_back(std::move(s));
  return rb_.steps.back();
}

Step* RunbookBuilder::last(std::string_view method) {
  if (rb_.steps.empty()) {
    misuse_.push_back(std::string(method) + "() called before any step was added");
    return nullptr;
  }
  return &rb_.steps.back();
}

RunbookBuilder& RunbookBuilder::check(std::string id, std::string name, NativeFn fn) {
  Step& s = add(std::move(id), std::move(name), StepType::Check);
  s.executor = fn ? ExecutorKind::Native : ExecutorKind::None;
  s.native = std::move(fn);
  return *this;
}

RunbookBuilder& RunbookBuilder::action(std::string id, std::string name, NativeFn fn) {
  Step& s = add(std::move(id), std::move(name), StepType::Action);
  s.executor = fn ? ExecutorKind::Native : ExecutorKind::None;
  s.native = std::move(fn);
  return *this;
}

RunbookBuilder& RunbookBuilder::decision(std::string id, std::string name, NativeFn fn) {
  Step& s = add(std::move(id), std::move(name), StepType::Decision);
  s.executor = fn ? ExecutorKind::Native : ExecutorKind::None;
  s.native = std::move(fn);
  return *this;
}

RunbookBuilder& RunbookBuilder::notify(std::string id, std::string message,
                                       std::vector<std::string> channels) {
  Step& s = add(id, id, StepType::Notify);
  s.message = std::move(message);
  // The seed's default channel when none is given.
  s.channels = channels.empty() ? std::vector<std::string>{"log"} : std::move(channels);
  return *this;
}

RunbookBuilder& RunbookBuilder::wait(std::string id, std::string name, Millis duration) {
  add(std::move(id), std::move(name), StepType::Wait).duration = duration;
  return *this;
}

RunbookBuilder& RunbookBuilder::parallel(std::string id, std::string name,
                                         std::vector<std::string> step_ids) {
  add(std::move(id), std::move(name), StepType::Parallel).steps = std::move(step_ids);
  return *this;
}

RunbookBuilder& RunbookBuilder::loop(std::string id, std::string name, Json items,
                                     std::string body_id) {
  Step& s = add(std::move(id), std::move(name), StepType::Loop);
  s.items = std::move(items);
  s.body = std::move(body_id);
  return *this;
}

RunbookBuilder& RunbookBuilder::onSuccess(std::string step_id) {
  if (Step* s = last("onSuccess")) s->on_success = std::move(step_id);
  return *this;
}

RunbookBuilder& RunbookBuilder::onFailure(std::string step_id) {
  if (Step* s = last("onFailure")) s->on_failure = std::move(step_id);
  return *this;
}

RunbookBuilder& RunbookBuilder::branch(std::string value, std::string step_id) {
  Step* s = last("branch");
  if (s == nullptr) return *this;
  if (s->type != StepType::Decision) {
    misuse_.push_back("branch() on step '" + s->id + "', which is not a decision");
    return *this;
  }
  s->branches[std::move(value)] = std::move(step_id);
  return *this;
}

RunbookBuilder& RunbookBuilder::withDescription(std::string description) {
  if (Step* s = last("withDescription")) s->description = std::move(description);
  return *this;
}

RunbookBuilder& RunbookBuilder::retryable() {
  RetryPolicy p;
  p.attempts = 3;
  p.backoff = Backoff::Exponential;
  p.delay = Millis(1000);
  return retry(p);
}

RunbookBuilder& RunbookBuilder::retry(RetryPolicy policy) {
  if (Step* s = last("retry")) s->retry = policy;
  return *this;
}

RunbookBuilder& RunbookBuilder::idempotent(bool value) {
  if (Step* s = last("idempotent")) s->idempotent = value;
  return *this;
}

RunbookBuilder& RunbookBuilder::saveAs(std::string context_key) {
  if (Step* s = last("saveAs")) s->save_as = std::move(context_key);
  return *this;
}

RunbookBuilder& RunbookBuilder::withTarget(Target target) {
  if (Step* s = last("withTarget")) s->target = std::move(target);
  return *this;
}

RunbookBuilder& RunbookBuilder::minSuccess(int n) {
  if (Step* s = last("minSuccess")) s->min_success = n;
  return *this;
}

RunbookBuilder& RunbookBuilder::concurrency(int n) {
  if (Step* s = last("concurrency")) s->concurrency = n;
  return *this;
}

RunbookBuilder& RunbookBuilder::startWith(std::string step_id) {
  rb_.start = std::move(step_id);
  return *this;
}

Result<RunbookPtr> RunbookBuilder::build() const {
  std::vector<std::string> problems = misuse_;
  if (rb_.id.empty()) problems.push_back("withMetadata(): id is required");
  if (rb_.name.empty()) problems.push_back("withMetadata(): name is required");
  for (const auto& d : validate_runbook(rb_))
    if (d.severity == Diagnostic::Severity::Error) problems.push_back(d.describe());
  if (!problems.empty()) {
    std::string text;
    for (const auto& p : problems) text += (text.empty() ? "" : "\n") + p;
    return fail(ErrorCode::InvalidArgument, text, "runbook " + rb_.id);
  }
  return std::make_shared<const Runbook>(rb_);
}

Result<void> RunbookBuilder::registerWith(RunbookSink& sink) const {
  auto rb = build();
  if (!rb) return std::unexpected(rb.error());
  return sink.add_runbook(std::move(*rb));
}

}  // namespace opsrun::model
