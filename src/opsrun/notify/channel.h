// Notification channels. A Channel delivers one notification; the registry finds channels by
// name. This issue ships `log` (a structured line) and `audit-log` (placeholder until the
// audit module replaces it); slack, pagerduty, email, servicenow and webhook come later.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "opsrun/common/error.h"
#include "opsrun/common/json.h"

namespace opsrun::notify {

enum class Severity { P0, P1, P2, Info };
std::string_view to_string(Severity s);

struct Notification {
  std::string execution_id;
  std::string runbook_id;
  std::string step_id;
  Severity severity = Severity::Info;
  std::string message;
  Json details;                                 // null or an object
};

class Channel {
 public:
  virtual ~Channel() = default;
  [[nodiscard]] virtual std::string name() const = 0;
  // Blocking; returns an error value on failure, never throws.
  virtual Result<void> send(const Notification& n) = 0;
};

class ChannelRegistry {
 public:
  // With the built-in `log` and `audit-log` channels registered.
  ChannelRegistry();
  void add(std::shared_ptr<Channel> channel);   // replaces a channel of the same name
  [[nodiscard]] std::shared_ptr<Channel> find(std::string_view name) const;
  [[nodiscard]] std::vector<std::string> names() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Channel>, std::less<>> channels_;
};

}  // namespace opsrun::notify
