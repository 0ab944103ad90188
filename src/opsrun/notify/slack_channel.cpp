// Slack: an incoming webhook (one message per notification, no threads: its answer has no
// ts), or a bot token with chat.postMessage / chat.update. With a bot token a notification
// with a key starts a thread; later ones with that key reply in it (the parent's channel ID
// and ts are remembered durably), and a resolve also marks the parent RESOLVED.
#include "opsrun/common/log.h"
#include "opsrun/notify/channels_internal.h"

namespace opsrun::notify::detail {

namespace {

std::string_view emoji(Severity s, Action a) {
  if (a == Action::Resolve) return "✅";
  switch (s) {
    case Severity::P0:
    case Severity::P1:
      return "🚨";
    case Severity::P2:
      return "⚠️";
    case Severity::Info:
      return "ℹ️";
  }
  return "ℹ️";
}

std::string slack_text(const Notification& n) {
  std::string head = std::string(emoji(n.severity, n.action)) + " ";
  if (n.action == Action::Resolve)
    head += "*RESOLVED* ";
  else if (n.action == Action::Acknowledge)
    head += "*ACKNOWLEDGED* ";
  head += "*" + std::string(to_string(n.severity)) + "* ";
  return head + plain_text(n);
}

// Errors after which a reply cannot go into the stored thread: start a new one.
bool thread_gone(std::string_view error) {
  return error == "channel_not_found" || error == "thread_not_found" ||
         error == "message_not_found" || error == "is_archived";
}

class SlackChannel final : public Channel {
 public:
  SlackChannel(const config::ChannelConfig& c, const ChannelDeps& deps)
      : name_(c.name), cfg_(c.slack), delivery_(deps.clock, c.delivery), memory_(deps.memory) {
    while (!cfg_.api_url.empty() && cfg_.api_url.back() == '/') cfg_.api_url.pop_back();
  }

  [[nodiscard]] std::string name() const override { return name_; }
  Result<void> send(const Notification& n) override { return as_void(deliver(n)); }

  Result<Json> deliver(const Notification& n) override {
    if (cfg_.bot_token.empty()) return via_webhook(n);
    return via_api(n);
  }

 private:
  std::string name_;
  config::SlackConfig cfg_;
  Delivery delivery_;
  Memory memory_;
  std::mutex thread_mu_;  // one thread start at a time, so two posts never both become parents

  std::string pick(const std::map<std::string, std::string>& by_severity,
                   const std::string& fallback, Severity s) const {
    auto it = by_severity.find(std::string(to_string(s)));
    return it != by_severity.end() ? it->second : fallback;
  }

  Result<Json> via_webhook(const Notification& n) {
    HttpCall call;
    call.url = pick(cfg_.severity_webhooks, cfg_.webhook_url, n.severity);
    call.headers = {"Content-Type: application/json"};
    call.body = to_json_text(
        JsonObject{{"text", slack_text(n)}, {"unfurl_links", false}, {"unfurl_media", false}});
    auto reply = http_with_retry(call, delivery_.retry, delivery_.pacing(n), name_);
    if (!reply) return std::unexpected(reply.error());
    if (reply->status != 200) return std::unexpected(http_failure(name_, call, *reply));
    return Json(JsonObject{{"attempts", reply->attempts}});
  }

  // One Web API method call: its JSON answer, {"ok":true,...} or {"ok":false,"error":...}.
  Result<JsonObject> api(const std::string& method, const Notification& n, JsonObject body) {
    HttpCall call;
    call.url = cfg_.api_url + "/" + method;
    call.headers = {"Content-Type: application/json; charset=utf-8",
                    "Authorization: Bearer " + cfg_.bot_token};
    call.body = to_json_text(body);
    auto reply = http_with_retry(call, delivery_.retry, delivery_.pacing(n), name_);
    if (!reply) return std::unexpected(reply.error());
    if (!reply->ok()) return std::unexpected(http_failure(name_, call, *reply));
    auto j = parse_json(reply->body);
    if (!j || !j->is_object())
      return fail(ErrorCode::Unavailable, name_ + ": " + method + " answered no JSON");
    return j->as_object();
  }

  // A field of Slack's answer, or null when it sent none (a receipt records what there is).
  static Json field(const JsonObject& answer, std::string_view key) {
    const Json* v = answer.if_contains(key);
    return v != nullptr ? *v : Json(nullptr);
  }
  static bool ok(const JsonObject& answer) {
    const Json* v = answer.if_contains("ok");
    return v != nullptr && v->is_bool() && v->as_bool();
  }
  static std::string error_code(const JsonObject& answer) {
    const Json* e = answer.if_contains("error");
    return e != nullptr && e->is_string() ? std::string(e->as_string()) : "unknown_error";
  }
  Error failure(const std::string& method, const JsonObject& answer) const {
    const std::string code = error_code(answer);
    const bool auth = code == "not_authed" || code == "invalid_auth" || code == "token_revoked" ||
                      code == "token_expired" || code == "missing_scope" ||
                      code == "account_inactive";
    return Error{auth ? ErrorCode::PermissionDenied : ErrorCode::InvalidArgument,
                 name_ + ": " + method + " failed: " + log::redact(code),
                 {}};
  }

  Result<JsonObject> post(const Notification& n, const std::string& channel,
                          const std::string& thread_ts) {
    JsonObject body{{"channel", channel},
                    {"text", slack_text(n)},
                    {"unfurl_links", false},
                    {"unfurl_media", false}};
    if (!thread_ts.empty()) {
      body["thread_ts"] = thread_ts;
      if (n.action == Action::Resolve) body["reply_broadcast"] = true;
    }
    return api("chat.postMessage", n, std::move(body));
  }

  Result<Json> start_thread(const Notification& n, const std::string& memory_key) {
    auto posted = post(n, pick(cfg_.severity_channels, cfg_.channel, n.severity), "");
    if (!posted) return std::unexpected(posted.error());
    if (!ok(*posted)) return std::unexpected(failure("chat.postMessage", *posted));
    const Json* ch = posted->if_contains("channel");
    const Json* ts = posted->if_contains("ts");
    if (ch == nullptr || ts == nullptr || !ch->is_string() || !ts->is_string())
      return fail(ErrorCode::Unavailable, name_ + ": chat.postMessage answered no channel/ts");
    // A resolve that starts a thread has nothing to follow up on: not remembered.
    if (n.action != Action::Resolve) {
      const JsonObject parent{{"channel", *ch}, {"ts", *ts}};
      if (auto saved = memory_.put(memory_key, to_json_text(parent)); !saved)
        log::warn("slack thread parent not saved",
                  {{"channel", name_}, {"error", saved.error().describe()}});
    }
    return Json(
        JsonObject{{"channel", *ch}, {"ts", *ts}, {"thread_ts", *ts}, {"thread", "started"}});
  }

  Result<Json> via_api(const Notification& n) {
    if (n.key.empty()) {
      auto posted = post(n, pick(cfg_.severity_channels, cfg_.channel, n.severity), "");
      if (!posted) return std::unexpected(posted.error());
      if (!ok(*posted)) return std::unexpected(failure("chat.postMessage", *posted));
      return Json(JsonObject{{"channel", field(*posted, "channel")}, {"ts", field(*posted, "ts")}});
    }
    const std::string memory_key = "notify.slack." + name_ + ".thread." + n.key;
    std::lock_guard g(thread_mu_);
    auto stored = memory_.get(memory_key);
    if (!stored) return std::unexpected(stored.error());
    std::string channel, parent_ts;
    if (*stored) {
      if (auto j = parse_json(**stored); j && j->is_object()) {
        const Json* c = j->as_object().if_contains("channel");
        const Json* t = j->as_object().if_contains("ts");
        if (c && t && c->is_string() && t->is_string()) {
          channel = std::string(c->as_string());
          parent_ts = std::string(t->as_string());
        }
      }
    }
    if (parent_ts.empty()) return start_thread(n, memory_key);
    auto reply = post(n, channel, parent_ts);
    if (!reply) return std::unexpected(reply.error());
    if (!ok(*reply)) {
      if (thread_gone(error_code(*reply))) return start_thread(n, memory_key);
      return std::unexpected(failure("chat.postMessage", *reply));
    }
    JsonObject receipt{{"channel", channel},
                       {"ts", field(*reply, "ts")},
                       {"thread_ts", parent_ts},
                       {"thread", "replied"}};
    if (n.action == Action::Resolve) {
      // The parent shows the alert's state; the reply is what matters, so a failed edit only warns.
      Notification parent = n;
      parent.message = headline(n, 3000);
      auto updated =
          api("chat.update", n,
              JsonObject{{"channel", channel}, {"ts", parent_ts}, {"text", slack_text(parent)}});
      const bool done = updated && ok(*updated);
      receipt["parent_updated"] = done;
      memory_.forget(memory_key, name_);  // the key's next alert starts a new thread
      if (!done)
        log::warn("slack parent not updated",
                  {{"channel", name_},
                   {"error", updated ? failure("chat.update", *updated).message
                                     : updated.error().describe()}});
    }
    return Json(std::move(receipt));
  }
};

}  // namespace

std::shared_ptr<Channel> make_slack(const config::ChannelConfig& c, const ChannelDeps& deps) {
  return std::make_shared<SlackChannel>(c, deps);
}

}  // namespace opsrun::notify::detail
