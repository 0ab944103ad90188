// The `opsrun` subcommands. Each returns the process exit code:
// 0 success, 1 the operation failed (an execution failed), 2 invalid input or usage.
#pragma once

#include <string>
#include <vector>

#include "opsrun/cli/api_client.h"
#include "opsrun/cli/runtime.h"

namespace opsrun::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitInvalid = 2;

int cmd_validate(const std::vector<std::string>& paths);

struct RunFlags {
  std::string target;                           // FILE or runbook id
  std::vector<std::string> ctx;                 // key=value
  std::string ctx_json;
  bool dry_run = false;
  std::string simulate_failure;                 // STEP[,STEP]
  std::string output = "text";                  // text | json
  bool resume = false;
  bool auto_approve = false;
  std::vector<std::string> runbook_dirs{"runbooks"};
  StoreFlags store;
};
int cmd_run(const RunFlags& flags);

struct ExecutionsFlags {
  std::string verb;                             // list | show | retry | skip | abort
  std::string id;
  std::string state;
  std::string runbook;
  int limit = 50;
  std::string output = "text";
  StoreFlags store;
};
int cmd_executions(const ExecutionsFlags& flags);

struct CleanupFlags {
  int retention_days = 90;
  int batch_size = 1000;
  StoreFlags store;
};
int cmd_cleanup(const CleanupFlags& flags);

struct BackupFlags {
  std::string file;
  bool yes = false;                             // restore: no confirmation prompt
  StoreFlags store;
};
int cmd_backup(const BackupFlags& flags);
int cmd_restore(const BackupFlags& flags);

struct ExecFlags {
  std::string runbook;
  std::vector<std::string> ctx;
  std::string ctx_json;
  bool async = false;
  bool wait = false;
  bool dry_run = false;
  ClientFlags client;
};
int cmd_exec(const ExecFlags& flags);

struct StatusFlags {
  std::string id;
  bool follow = false;
  ClientFlags client;
};
int cmd_status(const StatusFlags& flags);

struct ListFlags {
  bool active = false;
  ClientFlags client;
};
int cmd_list(const ListFlags& flags);

struct VerbFlags {
  std::string verb;                             // cancel | approve | reject
  std::string id;
  std::string comment;
  ClientFlags client;
};
int cmd_verb(const VerbFlags& flags);

// `opsrun actions failed [--hours 24] [--execution ID] [--limit N]` and
// `opsrun actions retry ACTION_ID` (through the API).
struct ActionsFlags {
  std::string verb;                             // failed | retry
  int hours = 24;
  int limit = 100;
  std::string execution;
  std::string action_id;
  ClientFlags client;
};
int cmd_actions(const ActionsFlags& flags);

int cmd_token_new(const std::string& role, const std::string& name);

struct SchedulesFlags {
  std::string config_file;                      // empty: ./opsrun.yaml
  std::string from;                             // RFC 3339; empty: now
  int count = 5;
};
int cmd_schedules(const SchedulesFlags& flags);

struct AuditFlags {
  std::string verb;                             // verify | tail
  int hours = 1;                                // tail: 0 = any age
  std::string execution;
  int limit = 100;
  std::string output = "text";
  StoreFlags store;
};
int cmd_audit(const AuditFlags& flags);

// Safety (cmd_safety.cpp): `policy validate`, and the emergency stop on the store.
int cmd_policy_validate(const std::vector<std::string>& files);
struct SafetyFlags {
  std::string verb;                             // emergency-stop | resume | status
  std::string reason;
  bool abort_running = false;
  std::string output = "text";
  StoreFlags store;
};
int cmd_safety(const SafetyFlags& flags);

struct TimersFlags {
  std::string verb;                             // create | list | show | cancel
  std::string id;
  std::string in;                               // create: a duration ("30s")
  std::string at;                               // create: an RFC 3339 time
  std::string group;
  std::string callback;                         // create: the callback URL
  std::string runbook;                          // create: the runbook to start
  std::string payload;                          // create: JSON sent as the callback's payload
  std::vector<std::string> ctx;                 // create: runbook context key=value
  std::string ctx_json;
  std::string status;                           // list
  int limit = 50;                               // list
  std::string cursor;                           // list
  ClientFlags client;
};
// `opsrun timers create|list|show|cancel`, through the API.
int cmd_timers(const TimersFlags& flags);

// `opsrun notify test` (cmd_notify.cpp): a test message through named or all channels; exit
// 0 when every one delivered, 1 when any failed, 2 for an unknown channel or a bad config.
struct NotifyTestFlags {
  std::vector<std::string> channels;
  bool all = false;
  std::string config_file;                      // empty: ./opsrun.yaml if present
  std::string severity = "info";
  std::string message;                          // empty: a standard test line
  std::string output = "text";
};
int cmd_notify_test(const NotifyTestFlags& flags);

// `opsrun azure-events` (cmd_azure.cpp): the Azure Scheduled Events watcher; exit 2 for a bad
// config or flag, 1 when --once could not read IMDS.
struct AzureEventsFlags {
  std::string config;                           // empty: ./config.json if present
  bool once = false;
  bool dry_run = false;                         // or automation.dry_run in the config
  int poll_interval = 0;                        // seconds, 1..3600; 0: the config's (default 5)
  std::string imds_url;                         // empty: the config's (default 169.254.169.254)
  StoreFlags store;                             // handled EventIds live in the store
};
int cmd_azure_events(const AzureEventsFlags& flags);

// Parses --ctx key=value pairs (numbers, true/false and null are typed; everything else is a
// string) and --ctx-json (an object), the JSON overriding nothing it does not name.
Result<Json> parse_context(const std::vector<std::string>& pairs, const std::string& json);

// FILE path, or an id looked up in the runbook directories.
Result<model::RunbookPtr> resolve_runbook(const std::string& target,
                                          const std::vector<std::string>& dirs);

}  // namespace opsrun::cli
