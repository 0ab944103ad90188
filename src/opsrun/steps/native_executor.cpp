#include "opsrun/steps/native_executor.h"

#include <chrono>
#include <exception>

#include "opsrun/steps/http_executor.h"

namespace opsrun::steps {

namespace {

const Json& scope_field(const Json& scope, std::string_view name) {
  static const Json kNull;
  if (!scope.is_object()) return kNull;
  auto it = scope.get_object().find(name);
  return it == scope.get_object().end() ? kNull : it->value();
}

}  // namespace

StepOutcome NativeExecutor::run(const AttemptRequest& request, CancelToken&) {
  StepOutcome o;
  const auto t0 = std::chrono::steady_clock::now();
  const auto elapsed_ms = [&] {
    return std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - t0).count();
  };
  if (!request.step->native) {
    o.error = "native: step " + request.step->id + " has no callable";
    o.result = JsonObject{{"status", "failure"}, {"error", o.error}};
    return o;
  }
  const Json& ctx_before = scope_field(request.scope, "ctx");
  Json ctx = ctx_before.is_object() ? ctx_before : Json(JsonObject{});
  const Json& index = scope_field(request.scope, "index");
  model::NativeScope scope{ctx, scope_field(request.scope, "results"),
                           scope_field(request.scope, "item"),
                           index.is_int64() ? static_cast<int>(index.get_int64()) : -1};
  Result<Json> r = fail(ErrorCode::Internal, "not run");
  try {
    r = request.step->native(scope);
  } catch (const std::exception& e) {
    r = fail(ErrorCode::Internal, std::string("threw: ") + e.what());
  } catch (...) {
    r = fail(ErrorCode::Internal, "threw a non-standard exception");
  }
  if (!r) {
    o.error = "native: " + r.error().describe();
    o.result = JsonObject{{"status", "failure"}, {"error", o.error}, {"duration_ms", elapsed_ms()}};
    return o;
  }
  if (ctx.is_object()) {
    const JsonObject empty;
    const JsonObject& old = ctx_before.is_object() ? ctx_before.get_object() : empty;
    for (const auto& kv : ctx.get_object()) {
      auto it = old.find(kv.key());
      if (it == old.end() || !json_equal(it->value(), kv.value())) o.ctx_updates[kv.key()] = kv.value();
    }
    for (const auto& kv : old)
      if (!ctx.get_object().contains(kv.key())) o.ctx_updates[kv.key()] = nullptr;
  }
  o.ok = true;
  o.value = std::move(*r);
  o.result = JsonObject{{"status", "success"}, {"value", o.value}, {"duration_ms", elapsed_ms()}};
  return o;
}

}  // namespace opsrun::steps
