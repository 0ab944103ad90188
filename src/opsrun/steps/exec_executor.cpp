#include "opsrun/steps/exec_executor.h"

#include <unistd.h>

#include <map>

#include "opsrun/steps/process_internal.h"
#include "opsrun/steps/render_internal.h"

extern char** environ;

namespace opsrun::steps {

std::vector<std::string> build_child_env(const std::map<std::string, std::string>& step_env,
                                         std::string_view idempotency_key) {
  std::map<std::string, std::string> vars;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const auto eq = entry.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    vars.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  // Services started with an empty environment would otherwise find no programs at all.
  vars.try_emplace("PATH", "/usr/local/bin:/usr/bin:/bin");
  for (const auto& [k, v] : step_env) vars[k] = v;
  if (!idempotency_key.empty()) vars["OPSRUN_IDEMPOTENCY_KEY"] = std::string(idempotency_key);
  std::vector<std::string> out;
  out.reserve(vars.size());
  for (const auto& [k, v] : vars) out.push_back(k + "=" + v);
  return out;
}

StepOutcome ExecExecutor::run(const AttemptRequest& request, CancelToken& cancel) {
  StepOutcome o;
  const model::ExecSpec& spec = request.step->exec;
  auto failed = [&](std::string error) {
    o.ok = false;
    o.error = "exec: " + error;
    o.result = JsonObject{{"status", "failure"}, {"error", o.error}};
    return o;
  };

  detail::ProcessSpec ps;
  auto argv = detail::render_list(spec.argv, request.scope, "argv");
  if (!argv) return failed(argv.error().describe());
  ps.argv = std::move(*argv);
  auto env = detail::render_map(spec.env, request.scope, "env");
  if (!env) return failed(env.error().describe());
  for (const auto& [k, _] : *env)
    if (k.empty() || k.find('=') != std::string::npos)
      return failed("env: invalid variable name '" + k + "'");
  ps.env = build_child_env(*env, request.idempotency_key);
  if (!spec.cwd.empty()) {
    auto cwd = detail::render_field(spec.cwd, request.scope, "cwd");
    if (!cwd) return failed(cwd.error().describe());
    ps.cwd = std::move(*cwd);
  }
  if (spec.stdin_text) {
    auto in = detail::render_field(*spec.stdin_text, request.scope, "stdin");
    if (!in) return failed(in.error().describe());
    ps.stdin_text = std::move(*in);
  }

  detail::ProcessLimits limits;
  limits.output_cap = options_.output_cap;
  limits.timeout = request.timeout;
  limits.kill_grace = options_.kill_grace;

  detail::ProcessResult pr = detail::run_process(ps, limits, cancel);
  if (!pr.started) {
    StepOutcome f = failed(pr.spawn_error);
    f.result.as_object()["duration_ms"] = pr.duration.count();
    return f;
  }

  JsonObject r;
  r["exit_code"] = pr.exit_code;
  if (pr.signal != 0) r["signal"] = detail::signal_name(pr.signal);
  r["stdout"] = pr.out;
  r["stderr"] = pr.err;
  if (pr.out_truncated) r["stdout_truncated"] = true;
  if (pr.err_truncated) r["stderr_truncated"] = true;
  r["duration_ms"] = pr.duration.count();
  o.value = detail::trim(pr.out);

  if (pr.stopped == CancelReason::Timeout) {
    o.timed_out = true;
    o.error = "exec: " + ps.argv[0] + ": timed out after " +
              std::to_string(request.timeout ? request.timeout->count() : pr.duration.count()) +
              "ms";
  } else if (pr.stopped == CancelReason::Cancelled) {
    o.cancelled = true;
    o.error = "cancelled";
  } else if (pr.signal != 0) {
    o.error = "exec: " + ps.argv[0] + ": killed by " + detail::signal_name(pr.signal);
  } else if (pr.exit_code != 0) {
    o.error = "exec: " + ps.argv[0] + ": exit code " + std::to_string(pr.exit_code);
    // The last line of stderr usually says why; keep the message one short line.
    const std::string tail = detail::trim(pr.err);
    if (!tail.empty()) {
      const auto nl = tail.find_last_of('\n');
      std::string last = nl == std::string::npos ? tail : tail.substr(nl + 1);
      if (last.size() > 200) last = last.substr(0, 200) + "...";
      o.error += ": " + last;
    }
  }
  o.ok = pr.stopped == CancelReason::None && pr.signal == 0 && pr.exit_code == 0;
  r["status"] = o.ok ? "success" : "failure";
  o.result = std::move(r);
  return o;
}

}  // namespace opsrun::steps
