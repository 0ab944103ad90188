// The automation's config.json, in the seed's shape plus opsrun's additions:
//   {"imds_url": "...", "poll_interval": 5, "vm_name": "...",
//    "automation": {"dry_run": true, "runbook_dir": "runbooks", "default_drain_seconds": 120,
//                   "drain": {...context for the drain runbooks...}},
//    "servicenow": {"instance_url", "username", "password", "auth_type", "assignment_group",
//                   "caller_id", "vm_identifier"}}
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "opsrun/azure/imds_client.h"
#include "opsrun/common/error.h"
#include "opsrun/common/json.h"
#include "opsrun/notify/servicenow_client.h"

namespace opsrun::azure {

struct IncidentFields {
  std::string assignment_group;
  std::string caller_id;
  std::string vm_identifier;  // u_azure_vm
};

struct AzureEventsConfig {
  bool dry_run = false;
  std::string imds_url = kDefaultImdsUrl;
  int poll_interval_seconds = 5;  // at least 1
  std::string vm_name;            // empty: asked from IMDS
  std::string runbook_dir = "runbooks";
  int default_drain_seconds = 120;  // drain deadline when NotBefore is absent
  Json drain_context =
      JsonObject{};  // automation.drain: context of the drain runbooks
                     // (drain_script defaults to <runbook_dir>/scripts/azure-drain.sh)
  std::optional<notify::ServiceNowSettings> servicenow;  // none: no incidents
  IncidentFields incident;
};

// Errors name the file and the field ("config.json: servicenow.password: required ...").
[[nodiscard]] Result<AzureEventsConfig> parse_config(std::string_view json_text,
                                                     const std::string& file);
[[nodiscard]] Result<AzureEventsConfig> load_config_file(const std::string& path);

}  // namespace opsrun::azure
