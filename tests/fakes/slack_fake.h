// A Slack fake (../shared/specs/external-apis.md §3) on 127.0.0.1: incoming webhooks (200 "ok"
// or a status with a plain-text code) and the Web API methods chat.postMessage and
// chat.update (always HTTP 200 with {"ok":...} for logical errors, Bearer token checked,
// ts "<epoch>.<6 digits>" unique per channel, threads kept, chat.update only by channel ID).
// Faults: the next request answers a status (429 with Retry-After, 500...).
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "opsrun/common/json.h"
#include "support/loopback_http_server.h"

namespace opsrun::testing {

class SlackFake {
 public:
  struct Message {
    std::string channel;  // the channel ID (C...), or the webhook path for webhooks
    std::string ts;
    std::string thread_ts;  // "" for a top-level message
    std::string text;
    bool reply_broadcast = false;
    int edits = 0;  // chat.update calls that changed it
  };

  static constexpr const char* kToken = "xoxb-fake-token-0001";
  static constexpr const char* kWebhookPath = "/services/T0001/B0001/fakewebhooksecret0001";

  SlackFake();

  // The secret URL of the one registered incoming webhook, and the Web API base URL.
  [[nodiscard]] std::string webhook_url() const { return server_.url(kWebhookPath); }
  // Registers another incoming webhook (a second Slack channel's) and returns its URL.
  std::string add_webhook(const std::string& slug);
  [[nodiscard]] std::string api_url() const { return server_.url("/api"); }

  void fail_next(int status, std::string retry_after = "");
  // A channel that exists (name without '#'); its ID is returned. "alerts-*" and "ops" exist.
  std::string add_channel(const std::string& name);
  [[nodiscard]] std::string channel_id(const std::string& name) const;
  // Makes a channel vanish: posts to it answer channel_not_found, updates message_not_found.
  void delete_channel(const std::string& name);

  [[nodiscard]] std::vector<Message> messages() const;
  [[nodiscard]] std::vector<HttpRequest> requests() const { return server_.requests(); }

 private:
  HttpResponse handle(const HttpRequest& r);
  HttpResponse webhook(const HttpRequest& r);
  HttpResponse api(const HttpRequest& r, const std::string& method);
  std::string resolve(const std::string& channel) const;  // ID or name -> ID; "" unknown

  mutable std::mutex mu_;
  std::map<std::string, std::string> channels_;  // name -> ID
  std::vector<std::string> webhook_paths_{kWebhookPath};
  std::vector<Message> messages_;
  long long next_ts_ = 0;
  int channel_count_ = 0;      // IDs are never reused
  LoopbackHttpServer server_;  // last: stopped first
};

}  // namespace opsrun::testing
