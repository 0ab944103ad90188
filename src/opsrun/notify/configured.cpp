#include "opsrun/notify/configured.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "opsrun/common/log.h"
#include "opsrun/notify/channels_internal.h"

namespace opsrun::notify {

namespace detail {

namespace {

std::string hex(const unsigned char* data, unsigned len) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned i = 0; i < len; ++i) {
    out += digits[data[i] >> 4];
    out += digits[data[i] & 15];
  }
  return out;
}

}  // namespace

Delivery::Delivery(Clock& c, const config::DeliveryConfig& d) : clock(c) {
  retry.max_attempts = d.max_attempts;
  retry.attempt_timeout = d.timeout;
  retry.budget = d.max_time;
}

Result<std::optional<std::string>> Memory::get(const std::string& key) {
  Result<std::optional<std::string>> out = std::optional<std::string>();
  if (kv_.get) {
    out = kv_.get(key);
  } else {
    std::lock_guard g(mu_);
    if (auto it = local_.find(key); it != local_.end())
      out = std::optional<std::string>(it->second);
  }
  if (out && *out && (*out)->empty()) *out = std::nullopt;  // forgotten
  return out;
}

void Memory::forget(const std::string& key, std::string_view channel) {
  if (auto r = put(key, ""); !r)
    log::warn("notification key not forgotten",
              {{"channel", std::string(channel)}, {"error", r.error().describe()}});
}

Result<void> Memory::put(const std::string& key, const std::string& value) {
  if (kv_.put) return kv_.put(key, value);
  std::lock_guard g(mu_);
  local_[key] = value;
  return {};
}

std::string headline(const Notification& n, std::size_t max) {
  std::string line = n.message.substr(0, n.message.find('\n'));
  if (line.size() <= max) return line;
  std::size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80)
    --cut;  // not mid-character
  return line.substr(0, cut) + "...";
}

std::string plain_text(const Notification& n) {
  std::string out = n.message;
  std::string where;
  if (!n.runbook_id.empty()) where += "runbook " + n.runbook_id;
  if (!n.execution_id.empty())
    where += (where.empty() ? "" : " · ") + std::string("execution ") + n.execution_id;
  if (!n.step_id.empty()) where += (where.empty() ? "" : " · ") + std::string("step ") + n.step_id;
  if (!where.empty()) out += "\n" + where;
  if (n.details.is_object() && !n.details.as_object().empty())
    out += "\n" + to_json_text(n.details);
  return out;
}

std::string sha256_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return hex(md, len);
}

std::string hmac_sha256_hex(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len);
  return hex(md, len);
}

}  // namespace detail

namespace {

void register_secrets(const config::ChannelConfig& c) {
  for (const std::string* s :
       {&c.slack.bot_token, &c.pagerduty.routing_key, &c.email.password, &c.servicenow.password,
        &c.servicenow.client_secret, &c.webhook.url, &c.webhook.secret})
    log::add_secret(*s);
  for (const auto& [_, value] : c.webhook.headers) log::add_secret(value);
  // A Slack webhook URL's path is the secret: redact it however the URL is cut.
  std::vector<std::string> slack_urls{c.slack.webhook_url};
  for (const auto& [_, url] : c.slack.severity_webhooks) slack_urls.push_back(url);
  for (const auto& u : slack_urls) {
    log::add_secret(u);
    const std::string origin = detail::url_origin(u);
    if (u.size() > origin.size() + 1) log::add_secret(u.substr(origin.size()));
  }
}

}  // namespace

std::shared_ptr<Channel> make_channel(const config::ChannelConfig& c, const ChannelDeps& deps) {
  register_secrets(c);
  if (c.type == "slack") return detail::make_slack(c, deps);
  if (c.type == "pagerduty") return detail::make_pagerduty(c, deps);
  if (c.type == "email") return detail::make_email(c, deps);
  if (c.type == "servicenow") return detail::make_servicenow(c, deps);
  if (c.type == "webhook") return detail::make_webhook(c, deps);
  return nullptr;
}

void add_configured_channels(ChannelRegistry& registry,
                             const std::vector<config::ChannelConfig>& channels,
                             const ChannelDeps& deps) {
  for (const auto& c : channels) registry.add(make_channel(c, deps));
}

}  // namespace opsrun::notify
