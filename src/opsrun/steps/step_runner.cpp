#include "opsrun/steps/step_runner.h"

#include <cstdlib>
#include <exception>
#include <map>
#include <shared_mutex>

#include "opsrun/notify/channel.h"
#include "opsrun/steps/builtins.h"
#include "opsrun/steps/exec_executor.h"
#include "opsrun/steps/http_executor.h"
#include "opsrun/steps/lua_executor.h"
#include "opsrun/steps/native_executor.h"
#include "opsrun/steps/notify_step.h"
#include "opsrun/steps/render_internal.h"

namespace opsrun::steps {

namespace {

StepOutcome failure(std::string error) {
  StepOutcome o;
  o.error = std::move(error);
  o.result = JsonObject{{"status", "failure"}, {"error", o.error}};
  return o;
}

// describe() never fails: a field that does not render shows its error instead.
template <class T>
Json or_error(const Result<T>& r, auto&& to_json) {
  if (!r) return JsonObject{{"error", r.error().describe()}};
  return to_json(*r);
}

Json string_list(const std::vector<std::string>& v) {
  JsonArray a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

Json redacted_map(const std::map<std::string, std::string>& m) {
  JsonObject o;
  for (const auto& [k, v] : m) o[k] = detail::looks_secret(k) ? std::string("***") : v;
  return o;
}

}  // namespace

struct StepRunner::Impl {
  StepRunnerOptions options;
  notify::ChannelRegistry& channels;
  ExecExecutor exec;
  HttpExecutor http;
  LuaExecutor lua;
  NativeExecutor native;
  mutable std::shared_mutex mu;                 // guards builtins
  std::map<std::string, BuiltinFn, std::less<>> builtins;

  Impl(StepRunnerOptions o, notify::ChannelRegistry& c)
      : options(std::move(o)),
        channels(c),
        exec(ExecOptions{options.output_cap, options.kill_grace}),
        http(HttpOptions{options.output_cap}),
        lua(LuaOptions{options.lua_memory_limit, options.lua_instruction_limit}),
        builtins(default_builtins()) {}

  StepOutcome run_builtin(const AttemptRequest& request, CancelToken& cancel) {
    BuiltinFn fn;
    {
      std::shared_lock g(mu);
      auto it = builtins.find(request.step->builtin.name);
      if (it == builtins.end()) return failure("unknown builtin '" + request.step->builtin.name + "'");
      fn = it->second;
    }
    const Json& with = request.step->builtin.with;
    const bool plain = with.is_null() || (with.is_object() && with.get_object().empty());
    if (plain) return fn(request, cancel);
    // Built-ins see `with` rendered; the step itself is immutable and shared, so render into
    // a copy.
    auto rendered = detail::render_json(with, request.scope, "with");
    if (!rendered) return failure(request.step->builtin.name + ": " + rendered.error().describe());
    model::Step step = *request.step;
    step.builtin.with = std::move(*rendered);
    AttemptRequest copy = request;
    copy.step = &step;
    return fn(copy, cancel);
  }

  StepOutcome run_executor(const AttemptRequest& request, CancelToken& cancel) {
    switch (request.step->executor) {
      case model::ExecutorKind::Exec: return exec.run(request, cancel);
      case model::ExecutorKind::Http: return http.run(request, cancel);
      case model::ExecutorKind::Lua: return lua.run(request, cancel);
      case model::ExecutorKind::Builtin: return run_builtin(request, cancel);
      case model::ExecutorKind::Native: return native.run(request, cancel);
      case model::ExecutorKind::None: break;
    }
    return failure("step " + request.step->id + " has no executor");
  }

  StepOutcome run(const AttemptRequest& request, CancelToken& cancel) {
    if (request.step == nullptr) return failure("no step given");
    const model::Step& step = *request.step;
    if (request.dry_run) {
      StepOutcome o;
      o.ok = true;
      o.result = JsonObject{{"dryRun", true}, {"wouldRun", describe(request)}};
      return o;
    }
    StepOutcome o;
    switch (step.type) {
      case model::StepType::Notify: return run_notify_step(request, channels, cancel);
      case model::StepType::Check:
      case model::StepType::Action:
      case model::StepType::Decision: o = run_executor(request, cancel); break;
      default:
        return failure("a " + std::string(model::to_string(step.type)) +
                       " step is run by the engine, not by an executor");
    }
    if (o.ok && step.type == model::StepType::Check &&
        (step.executor == model::ExecutorKind::Lua || step.executor == model::ExecutorKind::Native) &&
        !json_truthy(o.value)) {
      o.ok = false;
      o.error = "check returned " + (o.value.is_null() ? std::string("nil") : to_json_text(o.value));
    }
    if (o.ok && step.type == model::StepType::Decision && !o.value.is_string()) {
      o.ok = false;
      o.error = "decision must return a branch name (a string), got " +
                (o.value.is_null() ? std::string("nil") : to_json_text(o.value));
    }
    if (o.result.is_object()) {
      auto& r = o.result.as_object();
      r["status"] = o.ok ? "success" : "failure";
      if (!o.value.is_null()) r["value"] = o.value;
      if (!o.ok && !o.error.empty()) r["error"] = o.error;
    }
    return o;
  }

  Json describe_executor(const AttemptRequest& request) const {
    const model::Step& step = *request.step;
    const Json& scope = request.scope;
    switch (step.executor) {
      case model::ExecutorKind::Exec: {
        JsonObject d;
        d["exec"] = or_error(detail::render_list(step.exec.argv, scope, "argv"), string_list);
        d["env"] = or_error(detail::render_map(step.exec.env, scope, "env"), redacted_map);
        if (!step.exec.cwd.empty())
          d["cwd"] = or_error(detail::render_field(step.exec.cwd, scope, "cwd"), [](auto& s) { return Json(s); });
        if (step.exec.stdin_text)
          d["stdin"] = or_error(detail::render_field(*step.exec.stdin_text, scope, "stdin"),
                                [](auto& s) { return Json(s); });
        return d;
      }
      case model::ExecutorKind::Http: {
        JsonObject h;
        h["method"] = or_error(detail::render_field(step.http.method.empty() ? "GET" : step.http.method, scope, "method"),
                               [](auto& s) { return Json(s); });
        h["url"] = or_error(detail::render_field(step.http.url, scope, "url"),
                            [](auto& s) { return Json(detail::redact_url(s)); });
        h["headers"] = or_error(detail::render_map(step.http.headers, scope, "headers"), redacted_map);
        if (step.http.body)
          h["body"] = or_error(detail::render_field(*step.http.body, scope, "body"), [](auto& s) { return Json(s); });
        return JsonObject{{"http", std::move(h)}};
      }
      case model::ExecutorKind::Lua: return JsonObject{{"lua", step.lua}};
      case model::ExecutorKind::Builtin:
        return JsonObject{{"builtin", step.builtin.name},
                          {"with", or_error(detail::render_json(step.builtin.with, scope, "with"),
                                            [](auto& j) { return j; })}};
      case model::ExecutorKind::Native: return JsonObject{{"native", step.id}};
      case model::ExecutorKind::None: break;
    }
    return JsonObject{{"type", model::to_string(step.type)}};
  }

  Json describe(const AttemptRequest& request) const {
    if (request.step == nullptr) return JsonObject{{"error", "no step given"}};
    const model::Step& step = *request.step;
    if (step.type == model::StepType::Notify) {
      JsonObject n;
      n["channels"] = string_list(step.channels);
      n["message"] = or_error(detail::render_field(step.message, request.scope, "message"),
                              [](auto& s) { return Json(s); });
      if (!step.severity.empty()) n["severity"] = step.severity;
      if (!step.notify_key.empty())
        n["key"] = or_error(detail::render_field(step.notify_key, request.scope, "key"),
                            [](auto& s) { return Json(s); });
      if (!step.event.empty()) n["event"] = step.event;
      return JsonObject{{"notify", std::move(n)}};
    }
    if (step.type == model::StepType::Check || step.type == model::StepType::Action ||
        step.type == model::StepType::Decision)
      return describe_executor(request);
    return JsonObject{{"type", model::to_string(step.type)}};
  }
};

StepRunner::StepRunner(StepRunnerOptions options, notify::ChannelRegistry& channels)
    : impl_(std::make_unique<Impl>(std::move(options), channels)) {}

StepRunner::~StepRunner() = default;

StepOutcome StepRunner::run(const AttemptRequest& request, CancelToken& cancel) {
  try {
    return impl_->run(request, cancel);
  } catch (const std::exception& e) {
    return failure(std::string("internal error: ") + e.what());
  } catch (...) {
    return failure("internal error");
  }
}

Json StepRunner::describe(const AttemptRequest& request) const {
  try {
    return impl_->describe(request);
  } catch (const std::exception& e) {
    return JsonObject{{"error", std::string("internal error: ") + e.what()}};
  }
}

void StepRunner::register_builtin(std::string name, BuiltinFn fn) {
  std::unique_lock g(impl_->mu);
  impl_->builtins[std::move(name)] = std::move(fn);
}

bool StepRunner::has_builtin(std::string_view name) const {
  std::shared_lock g(impl_->mu);
  return impl_->builtins.contains(name);
}

const StepRunnerOptions& StepRunner::options() const { return impl_->options; }

Json make_scope(const Json& ctx, const Json& results, const Json& item, int index,
                std::string_view execution_id, const std::vector<std::string>& env_allow) {
  JsonObject env;
  for (const auto& name : env_allow)
    if (const char* v = std::getenv(name.c_str())) env[name] = v;
  return JsonObject{{"ctx", ctx.is_null() ? Json(JsonObject{}) : ctx},
                    {"results", results.is_null() ? Json(JsonObject{}) : results},
                    {"item", item},
                    {"index", index >= 0 ? Json(index) : Json(nullptr)},
                    {"execution", JsonObject{{"id", execution_id}}},
                    {"env", std::move(env)}};
}

}  // namespace opsrun::steps
