// The engine's view of the safety layer: before an action attempt starts, the engine asks
// the Gate for a decision, records it in the execution's history (so a replay needs no
// Gate), and only then acts on it. The Guard (guard.h) is the implementation; this header
// has no dependency beyond common, so the engine does not link the safety module.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "opsrun/common/clock.h"
#include "opsrun/common/json.h"

namespace opsrun::safety {

enum class Verdict {
  Allow,          // the action may start
  Deny,           // the step fails with the reason (on_failure, or the execution is blocked)
  NeedsApproval,  // the step waits for approve/reject, like an approval step
  Hold,           // the emergency stop is on: wait, and ask again when it is lifted
  Abort,          // the emergency stop is on with abort_running: end the execution
};
inline std::string_view to_string(Verdict v) {
  switch (v) {
    case Verdict::Allow: return "allow";
    case Verdict::Deny: return "deny";
    case Verdict::NeedsApproval: return "needs_approval";
    case Verdict::Hold: return "hold";
    case Verdict::Abort: return "abort";
  }
  return "deny";
}

// The step's target with its templates rendered against the attempt's scope.
struct ResolvedTarget {
  std::string name;
  std::string target_class;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> metadata;
};

struct ActionRequest {
  std::string execution_id;
  std::string runbook_id;
  std::string step_id;
  std::string attempt_key;
  std::string actor;                            // who started the execution
  std::string risk;                             // declared on the step; empty: derive
  std::optional<ResolvedTarget> target;
  std::string action;                           // what would run, already redacted
  bool dry_run = false;
  bool approved = false;                        // a person approved this attempt
  SystemTime at;                                // when asked; for action_finished, when it ended
};

// An action attempt that ended: its final outcome (attempts its retry policy absorbs are not
// reported). `request.at` is when it ended.
struct ActionResult {
  ActionRequest request;
  bool ok = false;
  std::string error;                            // why it failed; redacted before it is kept
};

struct Decision {
  Verdict verdict = Verdict::Allow;
  std::string reason;
  std::string rule;                             // which rule decided ("" when allowed)
  std::string risk;                             // low | medium | high, as evaluated
};

struct Admission {
  bool admit = true;
  bool queue = false;                           // when not admitted: wait for a free slot
  std::string reason;
};

class Gate {
 public:
  virtual ~Gate() = default;
  // Decides, and audits the decision durably before returning (a decision that cannot be
  // audited is a denial). Called on the engine's loop thread: no slow work here.
  // decide_all: one turn's requests at once, in order, audited in one durable write.
  virtual std::vector<Decision> decide_all(const std::vector<ActionRequest>& requests) = 0;
  Decision decide(const ActionRequest& request) { return decide_all({request}).front(); }
  // Action attempts ended (one turn's worth): audited as `action` records, which
  // `opsrun actions failed` lists, and failures feed the failure-rate trip. Not for dry runs.
  virtual void actions_finished(const std::vector<ActionResult>& results) = 0;
  // Runbooks whose executions always run as dry runs.
  [[nodiscard]] virtual bool forced_dry_run(std::string_view runbook_id) const = 0;
  // The concurrency limit for a new execution, given how many of its runbook are active.
  [[nodiscard]] virtual Admission admit(std::string_view runbook_id, int active) const = 0;
  // `on_change` is called (from any thread) when the emergency stop changes, in this
  // process or another: held actions are decided again.
  virtual void set_listener(std::function<void()> on_change) = 0;
};

}  // namespace opsrun::safety
