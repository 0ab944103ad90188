#include <cstdio>

#include "opsrun/cli/commands.h"
#include "opsrun/cli/live_printer.h"

namespace opsrun::cli {

namespace {

int list(store::Store& store, const ExecutionsFlags& flags) {
  store::ExecutionQuery q;
  q.status = flags.state;
  q.runbook_id = flags.runbook;
  q.limit = flags.limit;
  auto rows = store.list_executions(q);
  if (!rows) {
    std::fprintf(stderr, "executions: %s\n", rows.error().describe().c_str());
    return kExitFailed;
  }
  if (flags.output == "json") {
    JsonArray a;
    for (const auto& r : *rows) {
      JsonObject o;
      o["executionId"] = r.execution_id;
      o["runbookId"] = r.runbook_id;
      o["status"] = r.status;
      o["currentStep"] = r.current_step;
      o["startTime"] = format_time(from_unix_ms(r.started_at_ms));
      if (r.finished_at_ms) o["endTime"] = format_time(from_unix_ms(*r.finished_at_ms));
      if (!r.reason.empty()) o["reason"] = r.reason;
      a.push_back(std::move(o));
    }
    std::printf("%s\n", to_pretty_json(a).c_str());
    return kExitOk;
  }
  std::printf("%-36s %-28s %-16s %-24s %s\n", "EXECUTION", "RUNBOOK", "STATUS", "STARTED", "STEP");
  for (const auto& r : *rows)
    std::printf("%-36s %-28s %-16s %-24s %s\n", r.execution_id.c_str(), r.runbook_id.c_str(),
                r.status.c_str(), format_time(from_unix_ms(r.started_at_ms)).c_str(),
                r.current_step.c_str());
  return kExitOk;
}

int show(store::Store& store, const ExecutionsFlags& flags) {
  auto e = engine::rebuild_from_store(store, flags.id, nullptr);
  if (!e) {
    std::fprintf(stderr, "executions show: %s\n", e.error().describe().c_str());
    return e.error().code == ErrorCode::NotFound ? kExitInvalid : kExitFailed;
  }
  // The summary row is authoritative for the status (an operator verb may be pending).
  if (flags.output == "json") std::printf("%s\n", to_pretty_json(model::execution_to_json(*e)).c_str());
  else print_timeline(*e, stdout);
  return kExitOk;
}

// retry | skip | abort: loads the execution into a local engine, applies the verb and
// carries the execution on in this process until it settles again.
int operate(const ExecutionsFlags& flags) {
  engine::OperatorAction action = flags.verb == "retry"  ? engine::OperatorAction::Retry
                                  : flags.verb == "skip" ? engine::OperatorAction::Skip
                                                         : engine::OperatorAction::Abort;
  auto rt = LocalRuntime::open(flags.store);
  if (!rt) {
    std::fprintf(stderr, "executions %s: %s\n", flags.verb.c_str(), rt.error().describe().c_str());
    return kExitFailed;
  }
  auto& engine = *(*rt)->engine;
  auto row = (*rt)->store->execution(flags.id);
  if (!row || !*row) {
    std::fprintf(stderr, "executions %s: no execution %s\n", flags.verb.c_str(), flags.id.c_str());
    return kExitInvalid;
  }
  if ((*row)->status != "needs_attention") {
    std::fprintf(stderr, "executions %s: %s is %s, not needs_attention\n", flags.verb.c_str(),
                 flags.id.c_str(), (*row)->status.c_str());
    return kExitInvalid;
  }
  LivePrinter printer(engine.bus(), stdout);
  auto report = engine.recover();
  if (!report) {
    std::fprintf(stderr, "executions %s: %s\n", flags.verb.c_str(), report.error().describe().c_str());
    return kExitFailed;
  }
  const char* user = std::getenv("USER");
  if (auto r = engine.operator_action(flags.id, action, std::string("cli:") + (user ? user : "unknown")); !r) {
    std::fprintf(stderr, "executions %s: %s\n", flags.verb.c_str(), r.error().describe().c_str());
    return kExitInvalid;
  }
  int code = kExitOk;
  for (const auto& e : engine.list(false)) {
    auto done = engine.wait(e.execution_id);
    if (!done) continue;
    if (done->execution_id == flags.id) {
      print_summary(*done, stdout);
      if (done->status != model::ExecutionStatus::Completed) code = kExitFailed;
    }
  }
  engine.stop();
  return code;
}

}  // namespace

int cmd_executions(const ExecutionsFlags& flags) {
  if (flags.verb == "retry" || flags.verb == "skip" || flags.verb == "abort") return operate(flags);
  auto store = open_store_from(flags.store);
  if (!store) {
    std::fprintf(stderr, "executions: %s\n", store.error().describe().c_str());
    return kExitFailed;
  }
  if (flags.verb == "list") return list(**store, flags);
  if (flags.verb == "show") return show(**store, flags);
  std::fprintf(stderr, "executions: unknown verb '%s'\n", flags.verb.c_str());
  return kExitInvalid;
}

}  // namespace opsrun::cli
