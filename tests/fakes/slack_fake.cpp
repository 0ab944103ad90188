#include "fakes/slack_fake.h"

#include <algorithm>
#include <cstdio>

namespace opsrun::testing {

namespace {

HttpResponse text_reply(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse api_reply(JsonObject body) {
  HttpResponse r;
  r.body = to_json_text(body);
  r.content_type = "application/json; charset=utf-8";
  return r;
}

HttpResponse api_error(std::string code) {
  return api_reply(JsonObject{{"ok", false}, {"error", std::move(code)}});
}

std::string str(const JsonObject& o, const char* key) {
  const Json* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

}  // namespace

SlackFake::SlackFake() {
  for (const char* name : {"alerts-critical", "alerts-warning", "alerts-info", "ops"})
    add_channel(name);
  server_.set_handler([this](const HttpRequest& r) { return handle(r); });
}

void SlackFake::fail_next(int status, std::string retry_after) {
  HttpResponse r =
      text_reply(status, status == 429 ? R"({"ok":false,"error":"ratelimited"})" : "rollup_error");
  if (!retry_after.empty()) r.headers.emplace_back("Retry-After", retry_after);
  server_.push_response(std::move(r));
}

std::string SlackFake::add_channel(const std::string& name) {
  std::lock_guard g(mu_);
  char id[16];
  std::snprintf(id, sizeof id, "C%08d", ++channel_count_);
  return channels_.emplace(name, id).first->second;
}

std::string SlackFake::add_webhook(const std::string& slug) {
  const std::string path = "/services/T0001/B" + slug + "/secret-" + slug;
  std::lock_guard g(mu_);
  webhook_paths_.push_back(path);
  return server_.url(path);
}

std::string SlackFake::channel_id(const std::string& name) const {
  std::lock_guard g(mu_);
  auto it = channels_.find(name);
  return it == channels_.end() ? "" : it->second;
}

void SlackFake::delete_channel(const std::string& name) {
  std::lock_guard g(mu_);
  channels_.erase(name);
}

std::vector<SlackFake::Message> SlackFake::messages() const {
  std::lock_guard g(mu_);
  return messages_;
}

std::string SlackFake::resolve(const std::string& channel) const {
  const std::string name = channel.starts_with("#") ? channel.substr(1) : channel;
  for (const auto& [n, id] : channels_)
    if (n == name || id == channel) return id;
  return "";
}

HttpResponse SlackFake::handle(const HttpRequest& r) {
  if (r.method != "POST") return text_reply(405, "method_not_allowed");
  if (r.target.starts_with("/services/")) return webhook(r);
  if (r.target.starts_with("/api/")) return api(r, r.target.substr(5));
  return text_reply(404, "not_found");
}

HttpResponse SlackFake::webhook(const HttpRequest& r) {
  {
    std::lock_guard g(mu_);
    if (std::find(webhook_paths_.begin(), webhook_paths_.end(), r.target) == webhook_paths_.end())
      return text_reply(404, "no_service");
  }
  auto body = parse_json(r.body);
  if (!body || !body->is_object()) return text_reply(400, "invalid_payload");
  const std::string text = str(body->as_object(), "text");
  if (text.empty()) return text_reply(400, "no_text");
  std::lock_guard g(mu_);
  messages_.push_back(Message{r.target, "", "", text, false, 0});
  return text_reply(200, "ok");
}

HttpResponse SlackFake::api(const HttpRequest& r, const std::string& method) {
  const std::string auth = r.header("Authorization");
  if (auth.empty()) return api_error("not_authed");
  if (auth != std::string("Bearer ") + kToken) return api_error("invalid_auth");
  if (!r.header("Content-Type").starts_with("application/json"))
    return api_error("invalid_post_type");
  auto parsed = parse_json(r.body);
  if (!parsed || !parsed->is_object()) return api_error("invalid_json");
  const JsonObject& b = parsed->as_object();
  std::lock_guard g(mu_);
  const std::string channel = str(b, "channel");
  const std::string text = str(b, "text");
  if (method == "chat.postMessage") {
    const std::string id = resolve(channel);
    if (id.empty()) return api_error("channel_not_found");
    if (text.empty()) return api_error("no_text");
    const std::string thread_ts = str(b, "thread_ts");
    if (!thread_ts.empty()) {
      bool parent = false;
      for (const auto& m : messages_)
        parent = parent || (m.channel == id && m.ts == thread_ts && m.thread_ts.empty());
      if (!parent) return api_error("thread_not_found");
    }
    char ts[32];
    std::snprintf(ts, sizeof ts, "%lld.%06lld", 1700000000LL + next_ts_ / 1000000,
                  next_ts_ % 1000000);
    ++next_ts_;
    const Json* broadcast = b.if_contains("reply_broadcast");
    messages_.push_back(
        Message{id, ts, thread_ts, text,
                broadcast != nullptr && broadcast->is_bool() && broadcast->as_bool(), 0});
    return api_reply(
        JsonObject{{"ok", true},
                   {"channel", id},
                   {"ts", ts},
                   {"message", JsonObject{{"text", text}, {"type", "message"}, {"ts", ts}}}});
  }
  if (method == "chat.update") {
    const std::string ts = str(b, "ts");
    if (!channel.starts_with("C")) return api_error("channel_not_found");  // an ID, never a name
    for (auto& m : messages_) {
      if (m.channel != channel || m.ts != ts) continue;
      if (resolve(channel).empty()) break;
      m.text = text;
      ++m.edits;
      return api_reply(JsonObject{{"ok", true}, {"channel", channel}, {"ts", ts}, {"text", text}});
    }
    return api_error("message_not_found");
  }
  return api_error("unknown_method");
}

}  // namespace opsrun::testing
