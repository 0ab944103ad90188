#include "opsrun/server/api_routes.h"

#include <algorithm>
#include <map>

#include "opsrun/common/log.h"
#include "opsrun/model/execution.h"
#include "opsrun/server/safety_routes.h"

namespace opsrun::server {

namespace {

using model::ExecutionStatus;

Response from_error(const Error& e) { return Response::from_error(e); }
std::string actor_of(const Request& r) { return r.actor(); }

Json summary_of(const model::Execution& e) {
  return JsonObject{{"executionId", e.execution_id}, {"status", model::to_string(e.status)},
                    {"currentStep", e.current_step}, {"startTime", format_time(e.start_time)},
                    {"context", e.context}, {"history", model::execution_to_json(e).at("history")}};
}

Json row_json(const store::ExecutionRow& r) {
  JsonObject o;
  o["executionId"] = r.execution_id;
  o["runbookId"] = r.runbook_id;
  o["status"] = r.status;
  o["currentStep"] = r.current_step;
  o["startTime"] = format_time(from_unix_ms(r.started_at_ms));
  if (r.finished_at_ms) o["endTime"] = format_time(from_unix_ms(*r.finished_at_ms));
  if (!r.reason.empty()) o["reason"] = r.reason;
  return o;
}

struct Api {
  engine::Engine& engine;
  store::Store& store;
  std::string openapi;

  Response execute(Request& req) {
    auto body = req.json();
    if (!body) return Response::error(400, "invalid_json", body.error().describe());
    if (!body->is_object()) return Response::error(400, "invalid_argument", "the body must be a JSON object");
    const auto& o = body->as_object();
    const Json* id = o.if_contains("runbookId");
    if (id == nullptr || !id->is_string() || id->as_string().empty())
      return Response::error(422, "invalid_argument", "runbookId: a non-empty string is required");
    Json context = JsonObject{};
    if (const Json* c = o.if_contains("context"); c != nullptr && !c->is_null()) {
      if (!c->is_object()) return Response::error(422, "invalid_argument", "context: must be a JSON object");
      context = *c;
    }
    bool async = true;
    if (const Json* a = o.if_contains("async"); a != nullptr && !a->is_null()) {
      if (!a->is_bool()) return Response::error(422, "invalid_argument", "async: must be true or false");
      async = a->as_bool();
    }
    bool dry_run = false;
    if (const Json* d = o.if_contains("dryRun"); d != nullptr && d->is_bool()) dry_run = d->as_bool();
    engine::StartOptions options;
    options.actor = actor_of(req);
    options.dry_run = dry_run;
    auto started = engine.start(std::string(id->as_string()), std::move(context), options);
    if (!started) return from_error(started.error());
    // Acknowledge only a start that a crash cannot lose (DESIGN.md durability rule), and wait
    // for it, and for the end of a synchronous call, without holding an io thread.
    const std::string execution_id = *started;
    const std::string runbook_id(id->as_string());
    const Millis limit = async ? Millis(30'000) : Millis(300'000);
    auto later = std::make_shared<Deferred>(std::chrono::steady_clock::now() + limit, [async] {
      return async ? Response::error(503, "unavailable", "the start was not recorded in the store within 30s")
                   : Response::error(504, "timeout", "the execution did not settle within 300s; poll it instead");
    });
    engine.when_durable(execution_id, [this, later, execution_id, runbook_id, async](Result<void> durable) {
      if (!durable) {
        later->resume([e = durable.error()] { return from_error(e); });
      } else if (async) {
        later->resume([this, execution_id, runbook_id] { return accepted(execution_id, runbook_id); });
      } else {
        // Synchronous calls wait for the end (or for a person); keep them for short runbooks.
        engine.when_settled(execution_id, [later](std::optional<model::Execution> e) {
          later->resume([e = std::move(e)] {
            if (!e) return Response::error(503, "unavailable", "the server stopped before the execution settled; poll it");
            return Response::json(200, model::execution_to_json(*e));
          });
        });
      }
    });
    return Response::deferred(later);
  }

  Response accepted(const std::string& execution_id, const std::string& runbook_id) {
    auto e = engine.get(execution_id);
    JsonObject out;
    out["executionId"] = execution_id;
    out["status"] = e ? std::string(model::to_string(e->status)) : "pending";
    out["runbookId"] = runbook_id;
    out["startTime"] = e ? format_time(e->start_time) : format_time(std::chrono::system_clock::now());
    out["message"] = "Runbook execution started";
    return Response::json(202, out);
  }

  Response list_or_get(Request& req) {
    if (auto id = req.query_value("executionId")) {
      auto e = engine.get(*id);
      if (!e) return Response::error(404, "not_found", "no execution " + *id);
      return Response::json(200, summary_of(*e));
    }
    if (auto status = req.query_value("status")) {
      if (*status != "active") return Response::error(400, "invalid_argument", "status: only 'active' is supported");
      JsonArray items;
      for (const auto& e : engine.list(true)) items.push_back(summary_of(e));
      const auto count = items.size();
      return Response::json(200, JsonObject{{"executions", std::move(items)}, {"count", count}});
    }
    store::ExecutionQuery q;
    q.limit = 20;
    auto rows = store.list_executions(q);
    if (!rows) return from_error(rows.error());
    JsonArray executions;
    for (const auto& r : *rows) executions.push_back(row_json(r));
    // Counts by status over the whole store.
    JsonObject summary;
    for (const char* s : {"pending", "running", "waiting", "needs_attention", "completed", "failed", "cancelled", "blocked"}) {
      store::ExecutionQuery c;
      c.status = s;
      c.limit = 1'000'000;
      auto n = store.list_executions(c);
      summary[s] = n ? static_cast<std::int64_t>(n->size()) : 0;
    }
    JsonArray runbooks;
    for (const auto& rb : engine.runbooks()) {
      JsonArray tags;
      for (const auto& t : rb->tags) tags.emplace_back(t);
      runbooks.push_back(JsonObject{{"id", rb->id}, {"name", rb->name}, {"version", rb->version}, {"tags", tags}});
    }
    return Response::json(200, JsonObject{{"executions", executions}, {"summary", summary}, {"runbooks", runbooks}});
  }

  Response cancel_by_query(Request& req) {
    auto id = req.query_value("executionId");
    if (!id) return Response::error(400, "invalid_argument", "executionId: query parameter is required");
    auto r = engine.cancel(*id, actor_of(req), "cancelled through the API");
    if (!r) return r.error().code == ErrorCode::Conflict ? Response::error(404, "not_running", r.error().message)
                                                         : from_error(r.error());
    return Response::json(200, JsonObject{{"executionId", *id}, {"status", "cancelled"}});
  }

  Response verb(Request& req, const std::string& which) {
    const std::string id = req.params["id"];
    Result<void> r;
    if (which == "approve" || which == "reject") {
      std::string comment;
      if (!req.body.empty()) {
        auto body = req.json();
        if (!body) return Response::error(400, "invalid_json", body.error().describe());
        if (body->is_object())
          if (const Json* c = body->as_object().if_contains("comment"); c != nullptr && c->is_string())
            comment = std::string(c->as_string());
      }
      r = engine.approve(id, which == "approve", actor_of(req), comment);
    } else if (which == "abort" || which == "retry" || which == "skip") {
      auto e = engine.get(id);
      if (which == "abort" && e && e->status != ExecutionStatus::NeedsAttention) {
        r = engine.cancel(id, actor_of(req), "aborted through the API");
      } else {
        const auto action = which == "retry" ? engine::OperatorAction::Retry
                            : which == "skip" ? engine::OperatorAction::Skip
                                              : engine::OperatorAction::Abort;
        r = engine.operator_action(id, action, actor_of(req));
      }
    }
    if (!r) return from_error(r.error());
    return Response::json(202, JsonObject{{"executionId", id}, {"accepted", which}});
  }

  Response stats() {
    store::ExecutionQuery q;
    q.limit = 1'000'000;
    auto rows = store.list_executions(q);
    if (!rows) return from_error(rows.error());
    struct Acc {
      std::int64_t executions = 0, successful = 0, failed = 0, finished = 0, total_ms = 0;
      std::map<std::string, int> failing_steps;
    };
    std::map<std::string, Acc> by_runbook;
    for (const auto& r : *rows) {
      auto& a = by_runbook[r.runbook_id];
      ++a.executions;
      if (r.status == "completed") ++a.successful;
      if (r.status == "failed" || r.status == "blocked") {
        ++a.failed;
        ++a.failing_steps[r.current_step];
      }
      if (r.finished_at_ms) {
        ++a.finished;
        a.total_ms += *r.finished_at_ms - r.started_at_ms;
      }
    }
    JsonObject out;
    for (const auto& [id, a] : by_runbook) {
      std::vector<std::pair<std::string, int>> steps(a.failing_steps.begin(), a.failing_steps.end());
      std::sort(steps.begin(), steps.end(), [](const auto& x, const auto& y) { return x.second > y.second; });
      JsonArray common;
      for (std::size_t i = 0; i < steps.size() && i < 5; ++i)
        common.push_back(JsonObject{{"step", steps[i].first}, {"failures", steps[i].second}});
      out[id] = JsonObject{{"executions", a.executions},
                           {"successful", a.successful},
                           {"failed", a.failed},
                           {"successRate", a.executions ? static_cast<double>(a.successful) / static_cast<double>(a.executions) : 0.0},
                           {"averageDurationMs", a.finished ? a.total_ms / a.finished : 0},
                           {"commonFailingSteps", common}};
    }
    return Response::json(200, JsonObject{{"runbooks", out}});
  }

  // The history so far, then live events of this execution until it finishes.
  Response events(Request& req) {
    const std::string id = req.params["id"];
    auto e = engine.get(id);
    if (!e) return Response::error(404, "not_found", "no execution " + id);
    auto stream = std::make_shared<SseStream>();
    auto sub = std::make_shared<std::uint64_t>(0);
    // Subscribe before replaying so nothing falls between the two; the bus runs handlers
    // on the engine's loop thread, pushes never block.
    *sub = engine.bus().on("*", [this, stream, sub, id](const engine::BusEvent& ev) {
      if (ev.execution_id != id) return;
      if (stream->closed()) {
        engine.bus().off(*sub);
        return;
      }
      JsonObject data;
      data["event"] = ev.name;
      data["executionId"] = ev.execution_id;
      data["stepId"] = ev.step_id;
      data["time"] = format_time(ev.at);
      data["payload"] = ev.payload;
      stream->push(ev.name, to_json_text(data));
      if (ev.name == "execution:completed" || ev.name == "execution:failed" || ev.name == "execution:cancelled") {
        stream->close();
        engine.bus().off(*sub);
      }
    });
    const Json record = model::execution_to_json(*e);
    for (const auto& h : record.at("history").as_array()) stream->push("history", to_json_text(h));
    if (model::is_terminal(e->status)) {
      stream->push("execution:" + std::string(model::to_string(e->status)),
                   to_json_text(JsonObject{{"executionId", id}, {"status", model::to_string(e->status)}}));
      stream->close();
      engine.bus().off(*sub);
    }
    return Response::sse(stream);
  }
};

void add_metrics(engine::Engine& engine, metrics::Registry& registry) {
  auto& executions = registry.counter("opsrun_executions_total", "Executions finished, by runbook and status.",
                                      {"runbook", "status"});
  auto& duration = registry.histogram("opsrun_execution_duration_seconds", "Execution duration.", {"runbook"},
                                      {0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600});
  auto& step_failures = registry.counter("opsrun_step_failures_total", "Step failures, by runbook and step.",
                                         {"runbook", "step"});
  auto& active = registry.gauge("opsrun_executions_active", "Executions not yet finished.");
  registry.on_collect([&engine, &active] { active.with({}).set(static_cast<double>(engine.list(true).size())); });
  engine.bus().on("*", [&engine, &executions, &duration, &step_failures](const engine::BusEvent& ev) {
    if (ev.name == "step:failed") {
      step_failures.with({ev.runbook_id, ev.step_id}).inc();
      return;
    }
    if (ev.name != "execution:completed" && ev.name != "execution:failed" && ev.name != "execution:cancelled")
      return;
    const std::string status = ev.name.substr(std::string("execution:").size());
    executions.with({ev.runbook_id, status}).inc();
    if (auto e = engine.get(ev.execution_id); e && e->end_time)
      duration.with({ev.runbook_id}).observe(std::chrono::duration<double>(*e->end_time - e->start_time).count());
  });
}

}  // namespace

void add_api_routes(Router& router, engine::Engine& engine, store::Store& store,
                    metrics::Registry& registry, std::string openapi_yaml, safety::Guard* guard) {
  auto api = std::make_shared<Api>(Api{engine, store, std::move(openapi_yaml)});
  const Access viewer = Access::at_least(Role::Viewer);
  const Access operator_role = Access::at_least(Role::Operator);
  router.post("/api/runbooks/execute", operator_role, [api](Request& r) { return api->execute(r); });
  router.post("/api/runbooks", operator_role, [api](Request& r) { return api->execute(r); });
  router.get("/api/runbooks", viewer, [api](Request& r) { return api->list_or_get(r); });
  router.del("/api/runbooks", operator_role, [api](Request& r) { return api->cancel_by_query(r); });
  router.get("/api/runbooks/{id}", viewer, [api](Request& r) {
    auto rb = api->engine.runbook(r.params["id"]);
    if (!rb) return Response::error(404, "not_found", "no runbook " + r.params["id"]);
    return Response::json(200, model::runbook_to_json(*rb));
  });
  router.get("/api/executions/{id}", viewer, [api](Request& r) {
    auto e = api->engine.get(r.params["id"]);
    if (!e) return Response::error(404, "not_found", "no execution " + r.params["id"]);
    return Response::json(200, model::execution_to_json(*e));
  });
  router.get("/api/executions/{id}/events", viewer, [api](Request& r) { return api->events(r); });
  for (const char* verb : {"approve", "reject", "retry", "skip", "abort"}) {
    const std::string v = verb;
    router.post("/api/executions/{id}/" + v, operator_role, [api, v](Request& r) { return api->verb(r, v); });
  }
  router.get("/api/stats", viewer, [api](Request&) { return api->stats(); });
  router.get("/api/openapi.yaml", Access::anyone(), [api](Request&) {
    if (api->openapi.empty()) return Response::error(404, "not_found", "docs/openapi.yaml was not found");
    return Response::text(200, api->openapi, "application/yaml");
  });
  add_metrics(engine, registry);
  if (guard != nullptr) add_safety_routes(router, *guard);
}

}  // namespace opsrun::server
