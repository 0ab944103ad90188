// `opsrun`: one program, many subcommands. This file only declares the command line;
// each command lives in its own cmd_*.cpp.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "opsrun/cli/commands.h"
#include "opsrun/server/daemon.h"

namespace {

void add_store_flags(CLI::App* cmd, opsrun::cli::StoreFlags& flags, bool allow_ephemeral) {
  cmd->add_option("--data-dir", flags.data_dir, "SQLite data directory (file opsrun.db)")
      ->capture_default_str();
  cmd->add_option("--store", flags.url, "PostgreSQL URL: postgres://user@host:port/db");
  if (allow_ephemeral)
    cmd->add_flag("--ephemeral", flags.ephemeral, "keep the execution in memory only (no store)");
}

}  // namespace

int main(int argc, char** argv) {
  using namespace opsrun::cli;
  CLI::App app{"opsrun: durable, audited, safe operations automation"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "opsrun 0.1.0");
  int code = kExitOk;

  std::vector<std::string> validate_paths;
  auto* validate = app.add_subcommand("validate", "check runbook files (exit 0 valid, 2 invalid)");
  validate->add_option("FILE", validate_paths, "runbook files or directories")->required();
  validate->callback([&] { code = cmd_validate(validate_paths); });

  RunFlags run;
  auto* run_cmd = app.add_subcommand("run", "run a runbook in this process, showing each step live");
  run_cmd->add_option("FILE|ID", run.target, "a runbook file, or the id of one in --runbooks");
  run_cmd->add_option("--ctx", run.ctx, "context value key=value (repeatable)");
  run_cmd->add_option("--ctx-json", run.ctx_json, "context as a JSON object");
  run_cmd->add_flag("--dry-run", run.dry_run, "run checks and decisions, never perform an action");
  run_cmd->add_option("--simulate-failure", run.simulate_failure,
                      "make these steps fail without running them: STEP[,STEP]");
  run_cmd->add_option("--output", run.output, "text or json")->capture_default_str();
  run_cmd->add_flag("--resume", run.resume, "finish every unfinished execution in the store");
  run_cmd->add_flag("--auto-approve", run.auto_approve, "approve approval steps without asking");
  run_cmd->add_option("--runbooks", run.runbook_dirs, "directories to find runbook ids in")
      ->capture_default_str();
  add_store_flags(run_cmd, run.store, true);
  run_cmd->add_option("--policy", run.store.policy, "a safety policy file to apply to this run");
  run_cmd->add_option("--config", run.store.config, "opsrun.yaml whose channels notify steps use (default: ./opsrun.yaml if present)");
  run_cmd->callback([&] { code = cmd_run(run); });

  ExecutionsFlags ex;
  auto* executions = app.add_subcommand("executions", "inspect and operate stored executions");
  executions->require_subcommand(1);
  auto* ex_list = executions->add_subcommand("list", "list executions, newest first");
  ex_list->add_option("--state", ex.state, "only this status (running, failed, needs_attention, ...)");
  ex_list->add_option("--runbook", ex.runbook, "only this runbook id");
  ex_list->add_option("--limit", ex.limit, "at most this many")->capture_default_str();
  ex_list->add_option("--output", ex.output, "text or json");
  add_store_flags(ex_list, ex.store, false);
  ex_list->callback([&] { ex.verb = "list"; code = cmd_executions(ex); });
  auto* ex_show = executions->add_subcommand("show", "an execution's history as a timeline");
  ex_show->add_option("ID", ex.id)->required();
  ex_show->add_option("--output", ex.output, "text or json");
  add_store_flags(ex_show, ex.store, false);
  ex_show->callback([&] { ex.verb = "show"; code = cmd_executions(ex); });
  for (const char* verb : {"retry", "skip", "abort"}) {
    auto* sub = executions->add_subcommand(
        verb, std::string(verb) + " the interrupted step of an execution that needs attention");
    sub->add_option("ID", ex.id)->required();
    add_store_flags(sub, ex.store, false);
    sub->callback([&, verb] { ex.verb = verb; code = cmd_executions(ex); });
  }

  CleanupFlags cleanup;
  auto* cleanup_cmd = app.add_subcommand("cleanup", "delete finished executions and executed timers past retention");
  cleanup_cmd->add_option("--retention-days", cleanup.retention_days, "keep this many days")->capture_default_str();
  cleanup_cmd->add_option("--batch-size", cleanup.batch_size, "rows per transaction")->capture_default_str();
  add_store_flags(cleanup_cmd, cleanup.store, false);
  cleanup_cmd->callback([&] { code = cmd_cleanup(cleanup); });

  BackupFlags backup;
  auto* backup_cmd = app.add_subcommand("backup", "write a compressed backup of the store");
  backup_cmd->add_option("FILE", backup.file)->required();
  add_store_flags(backup_cmd, backup.store, false);
  backup_cmd->callback([&] { code = cmd_backup(backup); });
  auto* restore_cmd = app.add_subcommand("restore", "replace the store with a verified backup");
  restore_cmd->add_option("FILE", backup.file)->required();
  restore_cmd->add_flag("--yes", backup.yes, "do not ask for confirmation");
  add_store_flags(restore_cmd, backup.store, false);
  restore_cmd->callback([&] { code = cmd_restore(backup); });

  opsrun::server::DaemonFlags serve;
  auto* serve_cmd = app.add_subcommand("serve", "run the HTTP API and the engine until SIGTERM/SIGINT");
  serve_cmd->add_option("--config", serve.config_file, "opsrun.yaml (default: ./opsrun.yaml if present)");
  serve_cmd->add_option("--listen", serve.listen, "host:port (default 127.0.0.1:8080; port 0 picks one)");
  serve_cmd->add_option("--data-dir", serve.data_dir, "SQLite data directory (default ./opsrun-data)");
  serve_cmd->add_option("--store", serve.store_url, "PostgreSQL URL: postgres://user@host:port/db");
  serve_cmd->add_option("--runbooks", serve.runbook_dirs, "runbook directories (default ./runbooks)");
  serve_cmd->add_option("--policy", serve.policy_file, "safety policy file (default: the config's policies section)");
  serve_cmd->add_option("--grace", serve.grace_seconds, "seconds running steps may finish at shutdown")
      ->capture_default_str();
  serve_cmd->callback([&] { code = opsrun::server::run_daemon(serve); });

  auto add_client_flags = [](CLI::App* cmd, ClientFlags& f) {
    cmd->add_option("--server", f.server, "API base URL (default $OPSRUN_SERVER or http://127.0.0.1:8080)");
    cmd->add_option("--token", f.token, "bearer token (default $OPSRUN_TOKEN)");
    cmd->add_option("--output", f.output, "text or json")->check(CLI::IsMember({"text", "json"}));
  };
  ExecFlags exec;
  auto* exec_cmd = app.add_subcommand("exec", "start a runbook through the API");
  exec_cmd->add_option("RUNBOOK", exec.runbook)->required();
  exec_cmd->add_option("--ctx", exec.ctx, "context value key=value (repeatable)");
  exec_cmd->add_option("--ctx-json", exec.ctx_json, "context as a JSON object");
  exec_cmd->add_flag("--async", exec.async, "return at once with the execution id");
  exec_cmd->add_flag("--wait", exec.wait, "start, stream the steps, then print the result");
  exec_cmd->add_flag("--dry-run", exec.dry_run, "run checks and decisions, never perform an action");
  add_client_flags(exec_cmd, exec.client);
  exec_cmd->callback([&] { code = cmd_exec(exec); });

  StatusFlags status;
  auto* status_cmd = app.add_subcommand("status", "an execution's state (through the API)");
  status_cmd->add_option("ID", status.id)->required();
  status_cmd->add_flag("--follow", status.follow, "stream the live history until it ends");
  add_client_flags(status_cmd, status.client);
  status_cmd->callback([&] { code = cmd_status(status); });

  ListFlags list;
  auto* list_cmd = app.add_subcommand("list", "recent executions (through the API)");
  list_cmd->add_flag("--active", list.active, "only executions still running");
  add_client_flags(list_cmd, list.client);
  list_cmd->callback([&] { code = cmd_list(list); });

  ActionsFlags actions;
  auto* actions_cmd = app.add_subcommand("actions", "failed actions and their retry (through the API)");
  actions_cmd->require_subcommand(1);
  auto* actions_failed = actions_cmd->add_subcommand("failed", "actions that failed for good, newest first");
  actions_failed->add_option("--hours", actions.hours, "only this recent (0: any age)")->capture_default_str();
  actions_failed->add_option("--execution", actions.execution, "only this execution's");
  actions_failed->add_option("--limit", actions.limit, "at most this many (1..1000)")->capture_default_str();
  add_client_flags(actions_failed, actions.client);
  actions_failed->callback([&] { actions.verb = "failed"; code = cmd_actions(actions); });
  auto* actions_retry = actions_cmd->add_subcommand(
      "retry", "retry a failed action: a new execution from its step, through the safety checks");
  actions_retry->add_option("ACTION_ID", actions.action_id, "as `actions failed` lists it")->required();
  add_client_flags(actions_retry, actions.client);
  actions_retry->callback([&] { actions.verb = "retry"; code = cmd_actions(actions); });

  VerbFlags verb;
  for (const char* name : {"cancel", "approve", "reject"}) {
    auto* sub = app.add_subcommand(name, std::string(name) + " an execution (through the API)");
    sub->add_option("ID", verb.id)->required();
    if (std::string(name) != "cancel") sub->add_option("--comment", verb.comment, "recorded with the decision");
    add_client_flags(sub, verb.client);
    sub->callback([&, name] { verb.verb = name; code = cmd_verb(verb); });
  }

  std::vector<std::string> policy_files;
  auto* policy_cmd = app.add_subcommand("policy", "safety policies");
  policy_cmd->require_subcommand(1);
  auto* policy_validate = policy_cmd->add_subcommand("validate", "check policy files; every error at its file:line (exit 0 valid, 2 invalid)");
  policy_validate->add_option("FILE", policy_files, "policy files, or an opsrun.yaml with a policies section")->required();
  policy_validate->callback([&] { code = cmd_policy_validate(policy_files); });

  SafetyFlags safety;
  auto* stop_cmd = app.add_subcommand("emergency-stop", "stop every action of every process sharing the store (audited, P0)");
  stop_cmd->add_option("--reason", safety.reason, "why; shown to everyone and recorded")->required();
  stop_cmd->add_flag("--abort-running", safety.abort_running, "end running executions at their next action instead of holding them");
  add_store_flags(stop_cmd, safety.store, false);
  stop_cmd->add_option("--output", safety.output, "text or json");
  stop_cmd->callback([&] { safety.verb = "emergency-stop"; code = cmd_safety(safety); });
  auto* resume_cmd = app.add_subcommand("resume", "lift the emergency stop; held actions carry on");
  add_store_flags(resume_cmd, safety.store, false);
  resume_cmd->add_option("--output", safety.output, "text or json");
  resume_cmd->callback([&] { safety.verb = "resume"; code = cmd_safety(safety); });
  auto* safety_cmd = app.add_subcommand("safety", "the safety layer");
  safety_cmd->require_subcommand(1);
  auto* safety_status = safety_cmd->add_subcommand("status", "the emergency stop as stored");
  add_store_flags(safety_status, safety.store, false);
  safety_status->add_option("--output", safety.output, "text or json");
  safety_status->callback([&] { safety.verb = "status"; code = cmd_safety(safety); });

  std::string token_role = "operator", token_name = "new-token";
  auto* token_cmd = app.add_subcommand("token", "API tokens");
  token_cmd->require_subcommand(1);
  auto* token_new = token_cmd->add_subcommand("new", "print a new token and the hash line for opsrun.yaml");
  token_new->add_option("--role", token_role, "viewer, operator or admin")->capture_default_str();
  token_new->add_option("--name", token_name, "the token's name in the config")->capture_default_str();
  token_new->callback([&] { code = cmd_token_new(token_role, token_name); });

  TimersFlags timers;
  auto* timers_cmd = app.add_subcommand("timers", "durable timers (through the API)");
  timers_cmd->require_subcommand(1);
  auto* timers_create = timers_cmd->add_subcommand("create", "create a timer that calls a URL or starts a runbook");
  auto* when = timers_create->add_option_group("when");
  when->add_option("--in", timers.in, "fire after this long: 500ms, 30s, 5m, 1h30m");
  when->add_option("--at", timers.at, "fire at this RFC 3339 time");
  when->require_option(1);
  auto* what = timers_create->add_option_group("what");
  what->add_option("--callback", timers.callback, "POST to this http(s) URL");
  what->add_option("--runbook", timers.runbook, "start this runbook");
  what->require_option(1);
  timers_create->add_option("--group", timers.group, "group (namespace) of the timer");
  timers_create->add_option("--id", timers.id, "the timer's id (default: generated)");
  timers_create->add_option("--payload", timers.payload, "JSON sent as the callback's payload");
  timers_create->add_option("--ctx", timers.ctx, "runbook context value key=value (repeatable)");
  timers_create->add_option("--ctx-json", timers.ctx_json, "runbook context as a JSON object");
  add_client_flags(timers_create, timers.client);
  timers_create->callback([&] { timers.verb = "create"; code = cmd_timers(timers); });
  auto* timers_list = timers_cmd->add_subcommand("list", "list timers");
  timers_list->add_option("--group", timers.group, "only this group");
  timers_list->add_option("--status", timers.status, "pending, fired, cancelled or failed")
      ->check(CLI::IsMember({"pending", "fired", "cancelled", "failed"}));
  timers_list->add_option("--limit", timers.limit, "at most this many")->capture_default_str()->check(CLI::Range(1, 1000));
  timers_list->add_option("--cursor", timers.cursor, "continue after this timer id (next_cursor)");
  add_client_flags(timers_list, timers.client);
  timers_list->callback([&] { timers.verb = "list"; code = cmd_timers(timers); });
  for (const char* name : {"show", "cancel"}) {
    auto* sub = timers_cmd->add_subcommand(name, std::string(name) + " a timer");
    sub->add_option("ID", timers.id)->required();
    add_client_flags(sub, timers.client);
    sub->callback([&, name] { timers.verb = name; code = cmd_timers(timers); });
  }

  SchedulesFlags schedules;
  auto* schedules_cmd = app.add_subcommand("schedules", "list the schedules of opsrun.yaml with their next runs");
  schedules_cmd->add_option("--config", schedules.config_file, "opsrun.yaml (default: ./opsrun.yaml)");
  schedules_cmd->add_option("--from", schedules.from, "list runs after this RFC 3339 time (default: now)");
  schedules_cmd->add_option("--count", schedules.count, "runs to list per schedule")->capture_default_str()
      ->check(CLI::Range(1, 1000));
  schedules_cmd->callback([&] { code = cmd_schedules(schedules); });

  AuditFlags audit;
  auto* audit_cmd = app.add_subcommand("audit", "the hash-chained audit log");
  audit_cmd->require_subcommand(1);
  auto* audit_verify = audit_cmd->add_subcommand("verify", "walk the chain; exit 1 naming the first bad record");
  audit_verify->add_option("--output", audit.output, "text or json")->check(CLI::IsMember({"text", "json"}));
  add_store_flags(audit_verify, audit.store, false);
  audit_verify->callback([&] { audit.verb = "verify"; code = cmd_audit(audit); });
  auto* audit_tail = audit_cmd->add_subcommand("tail", "recent audit records");
  audit_tail->add_option("--hours", audit.hours, "records of the last N hours (0: any age)")->capture_default_str();
  audit_tail->add_option("--execution", audit.execution, "only records of this execution");
  audit_tail->add_option("--limit", audit.limit, "at most this many (newest)")->capture_default_str();
  audit_tail->add_option("--output", audit.output, "text or json")->check(CLI::IsMember({"text", "json"}));
  add_store_flags(audit_tail, audit.store, false);
  audit_tail->callback([&] { audit.verb = "tail"; code = cmd_audit(audit); });

  NotifyTestFlags notify_test;
  auto* notify_cmd = app.add_subcommand("notify", "notification channels");
  notify_cmd->require_subcommand(1);
  auto* notify_test_cmd = notify_cmd->add_subcommand("test", "send a test message through channels and say what happened");
  notify_test_cmd->add_option("CHANNEL", notify_test.channels, "channel names (see opsrun.yaml channels:)");
  notify_test_cmd->add_flag("--all", notify_test.all, "every configured channel, and log");
  notify_test_cmd->add_option("--config", notify_test.config_file, "opsrun.yaml (default: ./opsrun.yaml if present)");
  notify_test_cmd->add_option("--severity", notify_test.severity, "P0, P1, P2 or info")->capture_default_str();
  notify_test_cmd->add_option("--message", notify_test.message, "the text to send");
  notify_test_cmd->add_option("--output", notify_test.output, "text or json")->check(CLI::IsMember({"text", "json"}));
  notify_test_cmd->callback([&] { code = cmd_notify_test(notify_test); });

  AzureEventsFlags azure_events;
  auto* azure_cmd = app.add_subcommand("azure-events", "watch Azure Scheduled Events: drain, acknowledge early, file a ServiceNow record");
  azure_cmd->add_option("--config", azure_events.config, "config.json (default: ./config.json if present)");
  azure_cmd->add_flag("--once", azure_events.once, "check once and exit");
  azure_cmd->add_flag("--dry-run", azure_events.dry_run, "plan only: no drain, no acknowledgement, no record");
  azure_cmd->add_option("--poll-interval", azure_events.poll_interval, "seconds between polls, 1-3600 (default 5)")
      ->check(CLI::Range(1, 3600));
  azure_cmd->add_option("--imds-url", azure_events.imds_url, "IMDS base URL (default http://169.254.169.254)");
  add_store_flags(azure_cmd, azure_events.store, false);
  azure_cmd->callback([&] { code = cmd_azure_events(azure_events); });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : kExitInvalid;
  }
  return code;
}
