#include "opsrun/server/safety_routes.h"

#include "opsrun/common/log.h"

namespace opsrun::server {

namespace {

std::string actor_of(const Request& r) { return r.actor(); }

Response stop_answer(const Result<safety::StopState>& s) {
  if (s) return Response::json(200, safety::stop_to_json(*s));
  switch (s.error().code) {
    case ErrorCode::InvalidArgument: return Response::error(422, "invalid_argument", s.error().describe());
    case ErrorCode::Conflict: return Response::error(409, "conflict", s.error().describe());
    case ErrorCode::Unavailable: return Response::error(503, "unavailable", s.error().describe());
    default: return Response::error(500, "internal", s.error().describe());
  }
}

Response engage(safety::Guard& guard, Request& req) {
  auto body = req.json();
  if (!body) return Response::error(400, "invalid_json", body.error().describe());
  if (!body->is_object()) return Response::error(400, "invalid_argument", "the body must be a JSON object");
  const auto& o = body->as_object();
  const Json* reason = o.if_contains("reason");
  if (reason == nullptr || !reason->is_string() || reason->as_string().empty())
    return Response::error(422, "invalid_argument", "reason: a non-empty string is required");
  bool abort_running = false;
  if (const Json* a = o.if_contains("abort_running"); a != nullptr && !a->is_null()) {
    if (!a->is_bool()) return Response::error(422, "invalid_argument", "abort_running: must be true or false");
    abort_running = a->as_bool();
  }
  return stop_answer(guard.engage_stop(std::string(reason->as_string()), abort_running, actor_of(req)));
}

}  // namespace

void add_safety_routes(Router& router, safety::Guard& guard) {
  safety::Guard* g = &guard;
  router.get("/api/safety/status", Access::at_least(Role::Viewer),
             [g](Request&) { return Response::json(200, parse_json(log::redact(to_json_text(g->status()))).value()); });
  router.post("/api/safety/emergency-stop", Access::at_least(Role::Admin), [g](Request& r) { return engage(*g, r); });
  router.del("/api/safety/emergency-stop", Access::at_least(Role::Admin),
             [g](Request& r) { return stop_answer(g->resume(actor_of(r))); });
}

}  // namespace opsrun::server
