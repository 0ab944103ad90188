#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "opsrun/cli/commands.h"
#include "opsrun/cli/live_printer.h"

namespace opsrun::cli {

namespace {

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    const auto comma = s.find(',', start);
    std::string part = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!part.empty()) out.push_back(part);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

// Waits for the execution to settle, answering approval prompts on the way.
model::Execution drive(engine::Engine& engine, const std::string& id, bool auto_approve) {
  while (true) {
    auto e = engine.wait(id);
    if (!e) return model::Execution{};
    if (e->status != model::ExecutionStatus::Waiting) return *e;
    if (!e->attention_reason.empty()) {
      // Held by the emergency stop: nothing to answer here.
      std::fprintf(stderr, "step %s is held: %s; after `opsrun resume`, continue with `opsrun run --resume`\n",
                   e->current_step.c_str(), e->attention_reason.c_str());
      return *e;
    }
    bool approved = false;
    if (auto_approve) {
      approved = true;
    } else if (isatty(STDIN_FILENO)) {
      std::fprintf(stderr, "approve step %s? [y/N] ", e->current_step.c_str());
      std::string answer;
      std::getline(std::cin, answer);
      approved = answer == "y" || answer == "Y" || answer == "yes";
    } else {
      std::fprintf(stderr,
                   "step %s waits for an approval; run with --auto-approve, or approve it through "
                   "the API (opsrun serve) and continue with `opsrun run --resume`\n",
                   e->current_step.c_str());
      return *e;
    }
    const char* user = std::getenv("USER");
    if (auto r = engine.approve(id, approved, std::string("cli:") + (user != nullptr ? user : "unknown")); !r) {
      std::fprintf(stderr, "%s\n", r.error().describe().c_str());
      return *e;
    }
  }
}

int exit_code_for(const model::Execution& e) {
  return e.status == model::ExecutionStatus::Completed ? kExitOk : kExitFailed;
}

int resume_all(LocalRuntime& rt, const RunFlags& flags) {
  std::unique_ptr<LivePrinter> printer;
  if (flags.output == "text") printer = std::make_unique<LivePrinter>(rt.engine->bus(), stdout);
  auto report = rt.engine->recover();
  if (!report) {
    std::fprintf(stderr, "resume: %s\n", report.error().describe().c_str());
    return kExitFailed;
  }
  for (const auto& err : report->errors) std::fprintf(stderr, "resume: cannot rebuild %s\n", err.c_str());
  if (flags.output == "text")
    std::printf("resumed %d execution(s): %d interrupted attempt(s) re-run, %d need attention\n",
                report->resumed, report->relaunched_attempts, report->needs_attention);
  int code = report->errors.empty() ? kExitOk : kExitFailed;
  JsonArray all;
  for (const auto& e : rt.engine->list(false)) {
    const auto done = drive(*rt.engine, e.execution_id, flags.auto_approve);
    if (flags.output == "json") all.push_back(model::execution_to_json(done));
    else print_summary(done, stdout);
    if (exit_code_for(done) != kExitOk) code = kExitFailed;
  }
  if (flags.output == "json") std::printf("%s\n", to_pretty_json(all).c_str());
  return code;
}

}  // namespace

int cmd_run(const RunFlags& flags) {
  if (flags.output != "text" && flags.output != "json") {
    std::fprintf(stderr, "run: --output must be text or json\n");
    return kExitInvalid;
  }
  if (flags.resume) {
    auto rt = LocalRuntime::open(flags.store);
    if (!rt) {
      std::fprintf(stderr, "run: %s\n", rt.error().describe().c_str());
      return kExitFailed;
    }
    const int code = resume_all(**rt, flags);
    (*rt)->engine->stop();
    return code;
  }
  if (flags.target.empty()) {
    std::fprintf(stderr, "run: give a runbook FILE or id (or --resume)\n");
    return kExitInvalid;
  }
  auto rb = resolve_runbook(flags.target, flags.runbook_dirs);
  if (!rb) {
    std::fprintf(stderr, "%s\n", rb.error().describe().c_str());
    return rb.error().code == ErrorCode::NotFound ? kExitInvalid : kExitInvalid;
  }
  auto ctx = parse_context(flags.ctx, flags.ctx_json);
  if (!ctx) {
    std::fprintf(stderr, "run: %s\n", ctx.error().describe().c_str());
    return kExitInvalid;
  }
  auto rt = LocalRuntime::open(flags.store);
  if (!rt) {
    std::fprintf(stderr, "run: %s\n", rt.error().describe().c_str());
    return kExitFailed;
  }
  auto& engine = *(*rt)->engine;
  if (auto added = engine.add_runbook(*rb); !added) {
    std::fprintf(stderr, "%s\n", added.error().describe().c_str());
    return kExitInvalid;
  }
  std::unique_ptr<LivePrinter> printer;
  if (flags.output == "text") printer = std::make_unique<LivePrinter>(engine.bus(), stdout);
  engine::StartOptions options;
  options.dry_run = flags.dry_run;
  options.simulate_failures = split_commas(flags.simulate_failure);
  options.actor = "cli";
  auto id = engine.start(*rb, std::move(*ctx), options);
  if (!id) {
    std::fprintf(stderr, "run: %s\n", id.error().describe().c_str());
    return kExitInvalid;
  }
  const model::Execution e = drive(engine, *id, flags.auto_approve);
  printer.reset();
  if (flags.output == "json") std::printf("%s\n", to_pretty_json(model::execution_to_json(e)).c_str());
  else print_summary(e, stdout);
  engine.stop();
  return exit_code_for(e);
}

}  // namespace opsrun::cli
