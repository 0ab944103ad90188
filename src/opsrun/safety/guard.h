// The Guard: the safety layer's implementation of the engine's Gate. It evaluates a
// policy (policy.h) before every action: the emergency stop (read from the store at each
// decision, so a stop engaged by any process binds at once), protected targets, the seed's
// six rules, change windows, risk levels and rate limits; it audits every decision through
// the Recorder before answering, counts failed actions for the failure-rate trip, and sends
// safety notifications by severity on its own thread (never on the engine's loop thread).
//
// Threading: decide_all()/actions_finished() come from the engine's loop thread; engage/resume/
// status from API threads; everything shared is under one mutex.
#pragma once

#include <memory>

#include "opsrun/audit/recorder.h"
#include "opsrun/common/clock.h"
#include "opsrun/safety/emergency_stop.h"
#include "opsrun/safety/gate.h"
#include "opsrun/safety/policy.h"

namespace opsrun::notify {
class ChannelRegistry;
}
namespace opsrun::store {
class Store;
}

namespace opsrun::safety {

class Guard final : public Gate {
 public:
  // `store` null: the stop lives in memory; `recorder` null: nothing is audited;
  // `channels` null: notifications only reach the log.
  static std::unique_ptr<Guard> create(Policy policy, Clock& clock, store::Store* store,
                                       audit::Recorder* recorder, notify::ChannelRegistry* channels);
  ~Guard() override;
  Guard(const Guard&) = delete;
  Guard& operator=(const Guard&) = delete;

  std::vector<Decision> decide_all(const std::vector<ActionRequest>& requests) override;
  using Gate::decide;
  void actions_finished(const std::vector<ActionResult>& results) override;
  [[nodiscard]] bool forced_dry_run(std::string_view runbook_id) const override;
  [[nodiscard]] Admission admit(std::string_view runbook_id, int active) const override;
  void set_listener(std::function<void()> on_change) override;

  // The operator verbs (API, CLI): the listener is told at once.
  Result<StopState> engage_stop(std::string reason, bool abort_running, std::string actor);
  Result<StopState> resume(std::string actor);
  [[nodiscard]] Result<StopState> stop_state();
  // {emergencyStop, failureTrip, rateLimits, policy} for GET /api/safety/status.
  [[nodiscard]] Json status();
  [[nodiscard]] const Policy& policy() const;

 private:
  struct Impl;
  explicit Guard(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace opsrun::safety
