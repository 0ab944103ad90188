// The `channels:` section of opsrun.yaml: one typed entry per channel, every problem at its
// file:line:column.
#include <cctype>

#include "opsrun/config/yaml_reader_internal.h"

namespace opsrun::config::detail {

namespace {

const std::set<std::string> kTypes = {"slack", "pagerduty", "email", "servicenow", "webhook"};
const std::set<std::string> kSeverities = {"P0", "P1", "P2", "info"};
const std::set<std::string> kDeliveryKeys = {"timeout", "max_attempts", "max_time"};

bool valid_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (unsigned char c : name)
    if (!std::isalnum(c) && c != '-' && c != '_' && c != '.') return false;
  return true;
}

bool is_url(const std::string& s, std::initializer_list<std::string_view> schemes) {
  for (auto scheme : schemes)
    if (s.starts_with(std::string(scheme) + "://") && s.size() > scheme.size() + 3) return true;
  return false;
}

class ChannelsReader {
 public:
  explicit ChannelsReader(const YamlReader& r) : r_(r) {}

  std::vector<ChannelConfig> read(const YAML::Node& section) {
    std::vector<ChannelConfig> out;
    if (section.IsNull()) return out;
    r_.map(section, "channels");
    DeliveryConfig defaults;
    if (auto d = section["defaults"]) {
      r_.fields(d, "channels.defaults", kDeliveryKeys,
                [&](const std::string& k, const YAML::Node& v) {
                  delivery_key(defaults, "channels.defaults." + k, k, v);
                });
    }
    for (auto it = section.begin(); it != section.end(); ++it) {
      const std::string name = it->first.Scalar();
      if (name == "defaults") continue;
      const std::string ctx = "channels." + name;
      if (!valid_name(name))
        r_.error(it->first,
                 ctx + ": a channel name uses letters, digits, '-', '_' and '.' (at most 64)");
      if (name == "log" || name == "audit-log")
        r_.error(it->first,
                 ctx + ": '" + name + "' is a built-in channel and cannot be configured");
      const YAML::Node v = it->second;  // a copy: the iterator hands out temporaries
      r_.map(v, ctx);
      ChannelConfig c;
      c.name = name;
      c.where = r_.where(it->first);
      c.delivery = defaults;
      if (auto t = v["type"])
        c.type = r_.str(t, ctx + ".type");
      else if (kTypes.contains(name))
        c.type = name;
      if (!kTypes.contains(c.type)) {
        r_.error(
            v["type"] ? v["type"] : it->first,
            ctx + (c.type.empty() ? ": set type (slack, pagerduty, email, servicenow or webhook)"
                                  : ".type: unknown channel type '" + c.type +
                                        "' (known: email, pagerduty, servicenow, slack, webhook)"));
      }
      if (c.type == "slack") slack(c, v, ctx);
      if (c.type == "pagerduty") pagerduty(c, v, ctx);
      if (c.type == "email") email(c, v, ctx);
      if (c.type == "servicenow") servicenow(c, v, ctx);
      if (c.type == "webhook") webhook(c, v, ctx);
      out.push_back(std::move(c));
    }
    return out;
  }

 private:
  const YamlReader& r_;

  // Reads the entry's keys: the type's own, plus `type` and the delivery limits.
  template <class F>
  void entry(ChannelConfig& c, const YAML::Node& v, const std::string& ctx,
             std::set<std::string> keys, F f) {
    keys.insert("type");
    keys.insert(kDeliveryKeys.begin(), kDeliveryKeys.end());
    r_.fields(v, ctx, keys, [&](const std::string& k, const YAML::Node& val) {
      if (k == "type") return;
      if (kDeliveryKeys.contains(k)) return delivery_key(c.delivery, ctx + "." + k, k, val);
      f(k, val, ctx + "." + k);
    });
  }

  void delivery_key(DeliveryConfig& d, const std::string& key, const std::string& k,
                    const YAML::Node& v) const {
    if (k == "timeout") {
      d.timeout = r_.duration(v, key);
      if (d.timeout < Millis(100) || d.timeout > Millis(600'000))
        r_.error(v, key + ": expected 100ms to 10m");
    } else if (k == "max_attempts") {
      auto n = r_.number(v, key);
      if (n < 1 || n > 20) r_.error(v, key + ": expected 1 to 20");
      d.max_attempts = static_cast<int>(n);
    } else if (k == "max_time") {
      d.max_time = r_.duration(v, key);
      if (d.max_time < Millis(1000) || d.max_time > Millis(3'600'000))
        r_.error(v, key + ": expected 1s to 1h");
    }
  }

  std::string url(const YAML::Node& v, const std::string& key,
                  std::initializer_list<std::string_view> schemes) const {
    std::string s = r_.str(v, key);
    if (!is_url(s, schemes)) {
      std::string list;
      for (auto sc : schemes) list += (list.empty() ? "" : " or ") + std::string(sc) + "://";
      // The value may be a secret (a Slack webhook URL): name the problem, not the value.
      r_.error(v, key + ": expected a URL starting with " + list);
    }
    return s;
  }

  std::map<std::string, std::string> severity_map(const YAML::Node& v, const std::string& key,
                                                  bool urls) const {
    std::map<std::string, std::string> out;
    r_.fields(v, key, kSeverities, [&](const std::string& sev, const YAML::Node& sv) {
      out[sev] = urls ? url(sv, key + "." + sev, {"https", "http"}) : r_.str(sv, key + "." + sev);
    });
    return out;
  }

  std::map<std::string, std::string> string_map(const YAML::Node& v, const std::string& key) const {
    r_.map(v, key);
    std::map<std::string, std::string> out;
    for (auto it = v.begin(); it != v.end(); ++it)
      out[it->first.Scalar()] = r_.str(it->second, key + "." + it->first.Scalar());
    return out;
  }

  void slack(ChannelConfig& c, const YAML::Node& v, const std::string& ctx) {
    auto& s = c.slack;
    entry(c, v, ctx,
          {"webhook_url", "severity_webhooks", "bot_token", "api_url", "channel",
           "severity_channels"},
          [&](const std::string& k, const YAML::Node& val, const std::string& key) {
            if (k == "webhook_url") s.webhook_url = url(val, key, {"https", "http"});
            if (k == "severity_webhooks") s.severity_webhooks = severity_map(val, key, true);
            if (k == "bot_token") s.bot_token = r_.str(val, key);
            if (k == "api_url") s.api_url = url(val, key, {"https", "http"});
            if (k == "channel") s.channel = r_.str(val, key);
            if (k == "severity_channels") s.severity_channels = severity_map(val, key, false);
          });
    const bool webhook = !s.webhook_url.empty() || !s.severity_webhooks.empty();
    if (webhook == !s.bot_token.empty())
      r_.error(v, ctx +
                      ": set either webhook_url/severity_webhooks (incoming webhook) or bot_token "
                      "(Web API)");
    if (!s.bot_token.empty() && s.channel.empty() &&
        s.severity_channels.size() < kSeverities.size())
      r_.error(v, ctx + ": with bot_token, set channel (or severity_channels for every severity)");
    if (webhook && (!s.channel.empty() || !s.severity_channels.empty()))
      r_.error(v, ctx +
                      ": channel and severity_channels need bot_token (an incoming webhook posts "
                      "to its own channel)");
    if (webhook && s.webhook_url.empty() && s.severity_webhooks.size() < kSeverities.size())
      r_.error(v, ctx + ": set webhook_url (or severity_webhooks for every severity)");
  }

  void pagerduty(ChannelConfig& c, const YAML::Node& v, const std::string& ctx) {
    auto& p = c.pagerduty;
    entry(c, v, ctx, {"routing_key", "url", "source", "component", "group", "class"},
          [&](const std::string& k, const YAML::Node& val, const std::string& key) {
            if (k == "routing_key") {
              p.routing_key = r_.str(val, key);
              if (p.routing_key.size() != 32)
                r_.error(val, key + ": expected the 32-character integration key");
            }
            if (k == "url") p.url = url(val, key, {"https", "http"});
            if (k == "source") p.source = r_.str(val, key);
            if (k == "component") p.component = r_.str(val, key);
            if (k == "group") p.group = r_.str(val, key);
            if (k == "class") p.class_name = r_.str(val, key);
          });
    if (p.routing_key.empty()) r_.error(v, ctx + ": routing_key is required");
  }

  void email(ChannelConfig& c, const YAML::Node& v, const std::string& ctx) {
    auto& e = c.email;
    entry(c, v, ctx,
          {"url", "username", "password", "from", "to", "tls", "subject_prefix", "ca_file"},
          [&](const std::string& k, const YAML::Node& val, const std::string& key) {
            if (k == "url") e.url = url(val, key, {"smtp", "smtps"});
            if (k == "username") e.username = r_.str(val, key);
            if (k == "password") e.password = r_.str(val, key);
            if (k == "from") e.from = address(val, key);
            if (k == "to") {
              if (val.IsScalar())
                e.to.push_back(address(val, key));
              else if (val.IsSequence())
                for (const auto& a : val) e.to.push_back(address(a, key + "[]"));
              else
                r_.error(val, key + ": expected an address or a list of addresses");
            }
            if (k == "tls") {
              e.tls = r_.str(val, key);
              if (e.tls != "required" && e.tls != "none")
                r_.error(val, key + ": expected required or none");
            }
            if (k == "subject_prefix") e.subject_prefix = r_.str(val, key);
            if (k == "ca_file") e.ca_file = r_.str(val, key);
          });
    if (e.url.empty()) r_.error(v, ctx + ": url is required (smtp://host:587 or smtps://host:465)");
    if (e.from.empty()) r_.error(v, ctx + ": from is required");
    if (e.to.empty()) r_.error(v, ctx + ": to is required");
  }

  std::string address(const YAML::Node& v, const std::string& key) const {
    std::string a = r_.str(v, key);
    const auto at = a.find('@');
    const bool ok = at != std::string::npos && at > 0 && at + 1 < a.size() &&
                    a.find_first_of(" <>\r\n,;\"") == std::string::npos;
    if (!ok)
      r_.error(v, key + ": expected a plain address like alerts@example.org, got '" + a + "'");
    return a;
  }

  void servicenow(ChannelConfig& c, const YAML::Node& v, const std::string& ctx) {
    auto& s = c.servicenow;
    entry(c, v, ctx,
          {"instance_url", "auth_type", "username", "password", "client_id", "client_secret",
           "impact", "urgency", "assignment_group", "caller_id", "category", "subcategory",
           "close_code", "fields"},
          [&](const std::string& k, const YAML::Node& val, const std::string& key) {
            if (k == "instance_url") s.instance_url = url(val, key, {"https", "http"});
            if (k == "auth_type") {
              s.auth_type = r_.str(val, key);
              if (s.auth_type != "basic" && s.auth_type != "oauth")
                r_.error(val, key + ": expected basic or oauth");
            }
            if (k == "username") s.username = r_.str(val, key);
            if (k == "password") s.password = r_.str(val, key);
            if (k == "client_id") s.client_id = r_.str(val, key);
            if (k == "client_secret") s.client_secret = r_.str(val, key);
            if (k == "impact" || k == "urgency") {
              std::string x = r_.str(val, key);
              if (x != "1" && x != "2" && x != "3")
                r_.error(val, key + ": expected 1 (high), 2 (medium) or 3 (low)");
              (k == "impact" ? s.impact : s.urgency) = x;
            }
            if (k == "assignment_group") s.assignment_group = r_.str(val, key);
            if (k == "caller_id") s.caller_id = r_.str(val, key);
            if (k == "category") s.category = r_.str(val, key);
            if (k == "subcategory") s.subcategory = r_.str(val, key);
            if (k == "close_code") s.close_code = r_.str(val, key);
            if (k == "fields") {
              s.fields = string_map(val, key);
              for (auto f = val.begin(); f != val.end(); ++f) {
                const std::string name = f->first.Scalar();
                if (!name.starts_with("u_") && !name.starts_with("x_"))
                  r_.error(f->first,
                           key + "." + name +
                               ": custom fields are named u_<name> or x_<vendor>_<app>_<name>");
              }
            }
          });
    if (s.instance_url.empty()) r_.error(v, ctx + ": instance_url is required");
    if (s.auth_type == "basic" && (s.username.empty() || s.password.empty()))
      r_.error(v, ctx + ": basic auth needs username and password");
    if (s.auth_type == "oauth" && (s.client_id.empty() || s.client_secret.empty()))
      r_.error(v, ctx + ": oauth needs client_id and client_secret");
  }

  void webhook(ChannelConfig& c, const YAML::Node& v, const std::string& ctx) {
    auto& w = c.webhook;
    entry(c, v, ctx, {"url", "secret", "signature_header", "headers"},
          [&](const std::string& k, const YAML::Node& val, const std::string& key) {
            if (k == "url") w.url = url(val, key, {"https", "http"});
            if (k == "secret") w.secret = r_.str(val, key);
            if (k == "signature_header") w.signature_header = r_.str(val, key);
            if (k == "headers") w.headers = string_map(val, key);
          });
    if (w.url.empty()) r_.error(v, ctx + ": url is required");
  }
};

}  // namespace

std::vector<ChannelConfig> read_channels(const YamlReader& r, const YAML::Node& section) {
  return ChannelsReader(r).read(section);
}

}  // namespace opsrun::config::detail
