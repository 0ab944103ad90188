#include "opsrun/server/action_routes.h"

#include <charconv>

#include "opsrun/audit/audit_query.h"
#include "opsrun/audit/recorder.h"
#include "opsrun/common/ids.h"
#include "opsrun/engine/engine.h"

namespace opsrun::server {

namespace {

struct Actions {
  engine::Engine& engine;
  store::Store& store;
  audit::Recorder* recorder;
  Clock& clock;

  Response failed(const Request& req) {
    audit::FailedActionsQuery q;
    q.hours = 24;
    for (auto [key, target, hi] : {std::tuple{"hours", &q.hours, 24 * 366}, std::tuple{"limit", &q.limit, 1000}}) {
      auto text = req.query_value(key);
      if (!text) continue;
      int v = 0;
      auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
      if (ec != std::errc() || end != text->data() + text->size() || v < 0 || v > hi)
        return Response::error(400, "invalid_argument", std::string(key) + ": expected an integer from 0 to " +
                                                            std::to_string(hi) + ", got '" + *text + "'");
      *target = v;
    }
    q.execution_id = req.query_value("execution").value_or("");
    auto actions = audit::failed_actions(store, q, clock.now());
    if (!actions) return Response::from_error(actions.error());
    JsonArray list(actions->begin(), actions->end());
    const auto count = list.size();
    return Response::json(200, JsonObject{{"actions", std::move(list)}, {"count", count}});
  }

  // A retry starts a new execution of the same runbook at the failed step, with the failed
  // execution's context; its action passes the safety gate like any other.
  Response retry(Request& req) {
    auto body = req.json();
    if (!body) return Response::error(400, "invalid_json", body.error().describe());
    const Json* id = body->is_object() ? body->as_object().if_contains("actionId") : nullptr;
    if (id == nullptr || !id->is_string() || id->as_string().empty())
      return Response::error(422, "invalid_argument", "actionId: a non-empty string is required (see GET /api/actions/failed)");
    const std::string action_id(id->as_string());
    const std::string execution_id = action_id.substr(0, action_id.find('/'));
    audit::FailedActionsQuery q{.hours = 0, .execution_id = execution_id, .limit = 1000};
    auto actions = audit::failed_actions(store, q, clock.now());
    if (!actions) return Response::from_error(actions.error());
    const Json* found = nullptr;
    for (const Json& a : *actions)
      if (a.at("actionId").as_string() == action_id) found = &a;
    if (found == nullptr)
      return Response::error(404, "not_found", "no failed action " + action_id + " in the audit log");
    if (const Json& by = found->at("retriedBy"); by.is_string())
      return Response::error(409, "conflict", "action " + action_id + " was already retried by execution " +
                                                  std::string(by.as_string()));
    const std::string runbook_id(found->at("runbookId").as_string());
    const std::string step_id(found->at("stepId").as_string());
    auto original = engine.get(execution_id);
    if (!original) return Response::error(404, "not_found", "execution " + execution_id + " is gone (cleaned up?)");
    engine::StartOptions options;
    options.actor = req.actor();
    options.start_step = step_id;
    options.execution_id = new_execution_id(clock.now());
    if (recorder != nullptr) {
      // On record before it starts: the retry request itself is an audited decision.
      audit::AuditEntry e;
      e.actor = options.actor;
      e.kind = "action_retry";
      e.execution_id = options.execution_id;
      e.step_id = step_id;
      e.details = JsonObject{{"retry_of", action_id}, {"runbook", runbook_id}, {"original_execution", execution_id}};
      if (auto r = recorder->record(e); !r) return Response::from_error(r.error());
    }
    auto started = engine.start(runbook_id, original->context, options);
    if (!started) return Response::from_error(started.error());
    return Response::json(202, JsonObject{{"executionId", *started}, {"retryOf", action_id},
                                          {"runbookId", runbook_id}, {"stepId", step_id}});
  }
};

}  // namespace

void add_action_routes(Router& router, engine::Engine& engine, store::Store& store,
                       audit::Recorder* recorder, Clock& clock) {
  auto a = std::make_shared<Actions>(Actions{engine, store, recorder, clock});
  router.get("/api/actions/failed", Access::at_least(Role::Viewer), [a](Request& r) { return a->failed(r); });
  router.post("/api/actions/retry", Access::at_least(Role::Operator), [a](Request& r) { return a->retry(r); });
}

}  // namespace opsrun::server
