// Notification channels. A Channel delivers one notification; the registry finds channels by
// name, sends through them and counts the outcomes. Built in: `log` and `audit-log`; the
// configured ones (slack, pagerduty, email, servicenow, webhook) come from opsrun.yaml's
// `channels:` section (configured.h, docs/channels.md).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "opsrun/common/error.h"
#include "opsrun/common/json.h"
#include "opsrun/notify/delivery.h"

namespace opsrun::metrics {
class Registry;
template <class Child>
class Family;
class Counter;
}  // namespace opsrun::metrics

namespace opsrun::notify {

enum class Severity { P0, P1, P2, Info };
std::string_view to_string(Severity s);
// "P0", "P1", "P2", "info" (case-insensitive); nullopt otherwise.
std::optional<Severity> parse_severity(std::string_view text);

// What a notification does to the alert its key names (PagerDuty's event_action; Slack and
// ServiceNow resolve their thread or incident).
enum class Action { Trigger, Acknowledge, Resolve };
std::string_view to_string(Action a);
std::optional<Action> parse_action(std::string_view text);

struct Notification {
  std::string execution_id;
  std::string runbook_id;
  std::string step_id;
  Severity severity = Severity::Info;
  std::string message;
  Json details;                                 // null or an object
  // Groups notifications about one alert: a Slack thread, a PagerDuty dedup_key, one
  // ServiceNow incident. Empty: every notification stands alone.
  std::string key;
  Action action = Action::Trigger;
  DeliveryControl control;                      // the caller's deadline and cancellable waits
};

class Channel {
 public:
  virtual ~Channel() = default;
  [[nodiscard]] virtual std::string name() const = 0;
  // Blocking; returns an error value on failure, never throws.
  virtual Result<void> send(const Notification& n) = 0;
  // send() with what the service answered (a Slack ts, a PagerDuty dedup_key, an incident
  // number), for the notify step's result. Default: send() and an empty object.
  virtual Result<Json> deliver(const Notification& n);
};

class ChannelRegistry {
 public:
  // With the built-in `log` and `audit-log` channels registered.
  ChannelRegistry();
  ~ChannelRegistry();
  void add(std::shared_ptr<Channel> channel);   // replaces a channel of the same name
  [[nodiscard]] std::shared_ptr<Channel> find(std::string_view name) const;
  [[nodiscard]] std::vector<std::string> names() const;

  // Delivers through the named channel (NotFound when there is none), catching anything a
  // channel throws, and counts opsrun_notifications_total{channel,outcome="sent|failed"}
  // when metrics are set.
  Result<Json> send(std::string_view name, const Notification& n);
  // Registers the counter in `registry`, which must outlive this registry.
  void set_metrics(metrics::Registry& registry);

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Channel>, std::less<>> channels_;
  metrics::Family<metrics::Counter>* counter_ = nullptr;
};

}  // namespace opsrun::notify
