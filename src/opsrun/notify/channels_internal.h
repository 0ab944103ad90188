// What the configured channels share, and their factories (one file per channel).
// Internal to the notify module.
#pragma once

#include <map>
#include <mutex>

#include "opsrun/notify/configured.h"
#include "opsrun/notify/http_post_internal.h"

namespace opsrun::notify::detail {

// The delivery limits of a channel and the pacing of one delivery.
struct Delivery {
  Clock& clock;
  RetryOptions retry;
  Delivery(Clock& c, const config::DeliveryConfig& d);
  [[nodiscard]] Pacing pacing(const Notification& n) const {
    return {clock, n.control.sleep, n.control.deadline, n.control.cancelled};
  }
};

// KeyValue with a process-local fallback when no store backs it. The store has no delete:
// forgetting writes an empty value, which get() reports as absent.
class Memory {
 public:
  explicit Memory(KeyValue kv) : kv_(std::move(kv)) {}
  [[nodiscard]] Result<std::optional<std::string>> get(const std::string& key);
  [[nodiscard]] Result<void> put(const std::string& key, const std::string& value);
  // put(key, ""), logging (not returning) a failure: the delivery itself succeeded.
  void forget(const std::string& key, std::string_view channel);

 private:
  KeyValue kv_;
  std::mutex mu_;
  std::map<std::string, std::string> local_;
};

// The notification as a few lines of text: the message, then "runbook · execution · step"
// and the details as JSON when present.
std::string plain_text(const Notification& n);
// The first line of the message, at most `max` bytes (cut on a UTF-8 boundary).
std::string headline(const Notification& n, std::size_t max = 200);
// Lower-case hex SHA-256 and HMAC-SHA256.
std::string sha256_hex(std::string_view data);
std::string hmac_sha256_hex(std::string_view key, std::string_view data);
// The result of a channel that answered nothing worth recording.
inline Result<void> as_void(const Result<Json>& r) {
  if (!r) return std::unexpected(r.error());
  return {};
}

std::shared_ptr<Channel> make_slack(const config::ChannelConfig& c, const ChannelDeps& deps);
std::shared_ptr<Channel> make_pagerduty(const config::ChannelConfig& c, const ChannelDeps& deps);
std::shared_ptr<Channel> make_email(const config::ChannelConfig& c, const ChannelDeps& deps);
std::shared_ptr<Channel> make_servicenow(const config::ChannelConfig& c, const ChannelDeps& deps);
std::shared_ptr<Channel> make_webhook(const config::ChannelConfig& c, const ChannelDeps& deps);

}  // namespace opsrun::notify::detail
