// A fluent C++ builder for runbooks whose steps are C++ callables, mirroring the seed's
// TypeScript builder (same camelCase method names). Step constructors add a step; modifiers
// (onSuccess, withTimeout, retryable, branch...) apply to the last added step. build() runs
// validate_runbook and returns every error at once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "opsrun/common/error.h"
#include "opsrun/model/runbook.h"

namespace opsrun::model {

// Whatever accepts finished runbooks (the engine). registerWith() hands the runbook to it.
class RunbookSink {
 public:
  virtual ~RunbookSink() = default;
  virtual Result<void> add_runbook(RunbookPtr runbook) = 0;
};

struct RunbookMetadata {
  std::string id;
  std::string name;
  std::string description;
  std::string version = "1.0.0";
  std::vector<std::string> tags;
};

class RunbookBuilder {
 public:
  RunbookBuilder& withMetadata(RunbookMetadata metadata);
  RunbookBuilder& withContext(Json context);

  // Before any step: the whole execution's timeout. After a step: that step's timeout.
  RunbookBuilder& withTimeout(Millis timeout);
  RunbookBuilder& withTimeout(std::int64_t ms) { return withTimeout(Millis(ms)); }

  // Step constructors.
  RunbookBuilder& check(std::string id, std::string name, NativeFn fn);
  RunbookBuilder& action(std::string id, std::string name, NativeFn fn);
  // `fn` returns the branch name (a string) that branch() maps to the next step.
  RunbookBuilder& decision(std::string id, std::string name, NativeFn fn);
  RunbookBuilder& notify(std::string id, std::string message,
                         std::vector<std::string> channels = {"log"});
  RunbookBuilder& wait(std::string id, std::string name, Millis duration);
  RunbookBuilder& wait(std::string id, std::string name, std::int64_t ms) {
    return wait(std::move(id), std::move(name), Millis(ms));
  }
  RunbookBuilder& parallel(std::string id, std::string name, std::vector<std::string> step_ids);
  RunbookBuilder& loop(std::string id, std::string name, Json items, std::string body_id);

  // Modifiers of the last added step.
  RunbookBuilder& onSuccess(std::string step_id);
  RunbookBuilder& onFailure(std::string step_id);
  RunbookBuilder& branch(std::string value, std::string step_id);
  RunbookBuilder& withDescription(std::string description);
  // The `retry: true` policy: 3 attempts, exponential backoff from 1s.
  RunbookBuilder& retryable();
  RunbookBuilder& retry(RetryPolicy policy);
  RunbookBuilder& idempotent(bool value = true);
  RunbookBuilder& saveAs(std::string context_key);
  RunbookBuilder& withTarget(Target target);
  RunbookBuilder& minSuccess(int n);
  RunbookBuilder& concurrency(int n);

  RunbookBuilder& startWith(std::string step_id);

  // Requires id, name and a start step; then every validate_runbook error is reported.
  [[nodiscard]] Result<RunbookPtr> build() const;
  // build() and hand the result to `sink`.
  [[nodiscard]] Result<void> registerWith(RunbookSink& sink) const;

 private:
  Step* last(std::string_view method);
  Step& add(std::string id, std::string name, StepType type);

  Runbook rb_;
  std::vector<std::string> misuse_;  // modifier calls without a step, etc.
};

// Starts a builder: runbook().withMetadata({...}).check(...)...build().
RunbookBuilder runbook();

}  // namespace opsrun::model
