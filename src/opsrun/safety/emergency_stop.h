// The emergency stop: one switch in the store's settings, so it binds every process and
// every node using that store at once (the seed kept it in one process's memory). Engaging
// and lifting it are audited and notified as P0 events.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "opsrun/audit/recorder.h"
#include "opsrun/common/clock.h"
#include "opsrun/common/error.h"
#include "opsrun/common/json.h"
#include "opsrun/notify/channel.h"

namespace opsrun::store {
class Store;
}

namespace opsrun::safety {

struct StopState {
  bool on = false;
  std::string reason;
  bool abort_running = false;                   // executions end at their next action
  std::string by;                               // actor who engaged it
  std::optional<SystemTime> since;
  std::string resumed_by;                       // the last resume, when off
  std::optional<SystemTime> resumed_at;
};
Json stop_to_json(const StopState& s);

// Where P0 notifications go (the Guard queues them off the engine's thread).
using NotifySink = std::function<void(const notify::Notification&)>;

class EmergencyStop {
 public:
  // `store` null: the switch lives in this object only (`opsrun run --ephemeral`).
  // `recorder` null: nothing is audited (tests; runs without an audit log).
  EmergencyStop(store::Store* store, Clock& clock, audit::Recorder* recorder, NotifySink notify);

  [[nodiscard]] Result<StopState> state();
  // Idempotent: engaging an engaged stop updates its reason and abort flag.
  Result<StopState> engage(std::string reason, bool abort_running, std::string actor);
  // Conflict when the stop is not engaged.
  Result<StopState> resume(std::string actor);

 private:
  Result<void> write(const StopState& s);
  void announce_engaged(const StopState& s);

  store::Store* store_;
  Clock& clock_;
  audit::Recorder* recorder_;
  NotifySink notify_;
  std::mutex mu_;
  StopState memory_;
};

// The setting key in the store.
inline constexpr std::string_view kStopSetting = "safety.emergency_stop";

}  // namespace opsrun::safety
