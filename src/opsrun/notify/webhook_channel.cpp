// A generic webhook: the notification as a JSON POST, signed with HMAC-SHA256 over the exact
// body when a secret is set (header `X-Opsrun-Signature: sha256=<hex>` by default).
#include "opsrun/notify/channels_internal.h"

namespace opsrun::notify::detail {

namespace {

class WebhookChannel final : public Channel {
 public:
  WebhookChannel(const config::ChannelConfig& c, const ChannelDeps& deps)
      : name_(c.name), cfg_(c.webhook), delivery_(deps.clock, c.delivery) {}

  [[nodiscard]] std::string name() const override { return name_; }
  Result<void> send(const Notification& n) override { return as_void(deliver(n)); }

  Result<Json> deliver(const Notification& n) override {
    JsonObject body{{"channel", name_},
                    {"timestamp", format_time(delivery_.clock.now())},
                    {"severity", to_string(n.severity)},
                    {"action", to_string(n.action)},
                    {"message", n.message},
                    {"execution", n.execution_id},
                    {"runbook", n.runbook_id},
                    {"step", n.step_id}};
    if (!n.key.empty()) body["key"] = n.key;
    if (!n.details.is_null()) body["details"] = n.details;
    HttpCall call;
    call.url = cfg_.url;
    call.body = to_json_text(body);
    call.headers = {"Content-Type: application/json"};
    for (const auto& [k, v] : cfg_.headers) call.headers.push_back(k + ": " + v);
    if (!cfg_.secret.empty())
      call.headers.push_back(cfg_.signature_header +
                             ": sha256=" + hmac_sha256_hex(cfg_.secret, call.body));
    auto reply = http_with_retry(call, delivery_.retry, delivery_.pacing(n), name_);
    if (!reply) return std::unexpected(reply.error());
    if (!reply->ok()) return std::unexpected(http_failure(name_, call, *reply));
    return Json(JsonObject{{"status", reply->status}, {"attempts", reply->attempts}});
  }

 private:
  std::string name_;
  config::WebhookConfig cfg_;
  Delivery delivery_;
};

}  // namespace

std::shared_ptr<Channel> make_webhook(const config::ChannelConfig& c, const ChannelDeps& deps) {
  return std::make_shared<WebhookChannel>(c, deps);
}

}  // namespace opsrun::notify::detail
