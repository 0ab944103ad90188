#include "opsrun/server/audit_routes.h"

#include <charconv>

#include "opsrun/audit/audit_query.h"

namespace opsrun::server {

namespace {

// A query integer within [lo, hi], or an error naming the parameter.
Result<std::int64_t> int_param(const Request& req, const std::string& key, std::int64_t fallback,
                               std::int64_t lo, std::int64_t hi) {
  auto text = req.query_value(key);
  if (!text) return fallback;
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
  if (ec != std::errc() || end != text->data() + text->size() || v < lo || v > hi)
    return fail(ErrorCode::InvalidArgument, key + ": expected an integer from " + std::to_string(lo) +
                                                " to " + std::to_string(hi) + ", got '" + *text + "'");
  return v;
}

Response tail(store::Store& store, Clock& clock, const Request& req) {
  audit::TailQuery q;
  auto hours = int_param(req, "hours", 0, 0, 24 * 366);
  auto limit = int_param(req, "limit", 100, 1, 1000);
  auto cursor = int_param(req, "cursor", 0, 0, INT64_MAX);
  for (const auto* p : {&hours, &limit, &cursor})
    if (!*p) return Response::error(400, "invalid_argument", p->error().describe());
  q.hours = static_cast<int>(*hours);
  q.limit = static_cast<int>(*limit);
  q.cursor = *cursor;
  q.execution_id = req.query_value("execution").value_or("");
  auto page = audit::tail(store, q, clock.now());
  if (!page) return Response::error(503, "unavailable", page.error().describe());
  JsonArray records;
  for (auto& r : page->records) records.push_back(std::move(r));
  JsonObject out;
  out["records"] = std::move(records);
  out["next_cursor"] = page->next_cursor;  // 0: nothing older matches (as `opsrun audit tail`)
  return Response::json(200, Json(std::move(out)));
}

}  // namespace

void add_audit_routes(Router& router, store::Store& store, Clock& clock) {
  store::Store* s = &store;
  Clock* c = &clock;
  router.get("/api/audit/verify", Access::at_least(Role::Viewer), [s](Request&) {
    auto v = audit::verify(*s);
    if (!v) return Response::error(503, "unavailable", v.error().describe());
    return Response::json(200, audit::to_json(*v));
  });
  router.get("/api/audit", Access::at_least(Role::Viewer), [s, c](Request& r) { return tail(*s, *c, r); });
}

}  // namespace opsrun::server
