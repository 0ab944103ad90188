// The `channels:` section of opsrun.yaml, typed (docs/channels.md). Each entry is a channel
// name with its type's settings; `defaults:` sets the delivery limits of every channel.
// Secrets (webhook URLs, tokens, passwords, routing keys, HMAC secrets) usually come from
// ${VAR} references, which the loader expands.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "opsrun/common/duration.h"

namespace opsrun::config {

struct DeliveryConfig {
  Millis timeout{10'000};   // one request
  int max_attempts = 4;     // all tries
  Millis max_time{60'000};  // all attempts and waits between them
};

struct SlackConfig {
  std::string webhook_url;                               // incoming webhook (no threads), or
  std::map<std::string, std::string> severity_webhooks;  // P0|P1|P2|info -> webhook URL
  std::string bot_token;                                 // xoxb-...: chat.postMessage/update
  std::string api_url = "https://slack.com/api";
  std::string channel;                                   // bot: default channel (name or ID)
  std::map<std::string, std::string> severity_channels;  // P0|P1|P2|info -> channel
};

struct PagerDutyConfig {
  std::string routing_key;
  std::string url = "https://events.pagerduty.com/v2/enqueue";
  std::string source;  // default: this host's name
  std::string component;
  std::string group;
  std::string class_name;  // YAML `class`
};

struct EmailConfig {
  std::string url;  // smtp://host:587 or smtps://host:465
  std::string username;
  std::string password;
  std::string from;  // alerts@example.org
  std::vector<std::string> to;
  std::string tls = "required";  // smtp://: required (STARTTLS) | none
  std::string subject_prefix = "[opsrun]";
  std::string ca_file;  // PEM CA bundle for the server's certificate; empty: the system's
};

struct ServiceNowConfig {
  std::string instance_url;
  std::string auth_type = "basic";
  std::string username;
  std::string password;
  std::string client_id;
  std::string client_secret;
  std::string impact;  // "1".."3"; empty: from the severity
  std::string urgency;
  std::string assignment_group;
  std::string caller_id;
  std::string category;
  std::string subcategory;
  std::string close_code = "Solved (Permanently)";
  std::map<std::string, std::string> fields;  // extra fields: u_*, x_<vendor>_*
};

struct WebhookConfig {
  std::string url;
  std::string secret;  // HMAC-SHA256 key; empty: unsigned
  std::string signature_header = "X-Opsrun-Signature";
  std::map<std::string, std::string> headers;  // sent as they are (treated as secret)
};

struct ChannelConfig {
  std::string name;
  std::string type;   // slack|pagerduty|email|servicenow|webhook
  std::string where;  // file:line:column of the entry
  DeliveryConfig delivery;
  SlackConfig slack;  // the one matching `type` is filled
  PagerDutyConfig pagerduty;
  EmailConfig email;
  ServiceNowConfig servicenow;
  WebhookConfig webhook;
};

}  // namespace opsrun::config
