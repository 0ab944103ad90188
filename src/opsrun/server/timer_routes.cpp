#include "opsrun/server/timer_routes.h"

#include "opsrun/common/duration.h"

namespace opsrun::server {

namespace {

using timers::TimerService;

// {"error": code, "message": ..., "field": where} with the status the error code calls for.
Response error_answer(const Error& e, std::optional<std::size_t> index = {}) {
  int status = 500;
  std::string code = "internal";
  switch (e.code) {
    case ErrorCode::InvalidArgument: status = 400, code = "invalid_argument"; break;
    case ErrorCode::NotFound: status = 404, code = "not_found"; break;
    case ErrorCode::Conflict:
    case ErrorCode::AlreadyExists: status = 409, code = "conflict"; break;
    case ErrorCode::Unavailable: status = 503, code = "unavailable"; break;
    default: break;
  }
  JsonObject o;
  o["error"] = code;
  o["message"] = e.describe();
  if (!e.where.empty()) o["field"] = e.where;
  if (index) o["index"] = *index;
  return Response::json(status, o);
}

Result<Json> object_body(const Request& r) {
  auto body = r.json();
  if (!body) return std::unexpected(body.error());
  if (!body->is_object()) return fail(ErrorCode::InvalidArgument, "the body must be a JSON object");
  return body;
}

Json with_note(const store::TimerRow& row, bool in_past) {
  Json j = timers::timer_to_json(row);
  if (in_past) j.as_object()["note"] = "execute_at is in the past; the timer fires now";
  return j;
}

Response create_one(TimerService& svc, Clock& clock, Request& r) {
  auto body = object_body(r);
  if (!body) return error_answer(body.error());
  auto spec = timers::parse_timer(*body, clock.now(), "");
  if (!spec) {
    svc.count_refused(1);
    return error_answer(spec.error());
  }
  const bool in_past = spec->in_past;
  auto made = svc.create({*spec});
  if (!made) return error_answer(made.error());
  return Response::json(made->created[0] ? 201 : 200, with_note(made->timers[0], in_past && made->created[0]));
}

// The index of "timers[12].x" as a number, for the error answer.
std::optional<std::size_t> index_of(std::string_view where) {
  const auto open = where.find('['), close = where.find(']');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) return std::nullopt;
  try {
    return std::stoul(std::string(where.substr(open + 1, close - open - 1)));
  } catch (...) {
    return std::nullopt;
  }
}

Response create_batch(TimerService& svc, Clock& clock, Request& r) {
  auto body = object_body(r);
  if (!body) return error_answer(body.error());
  const Json* items = body->as_object().if_contains("timers");
  if (!items || !items->is_array())
    return error_answer({ErrorCode::InvalidArgument, "an array of timers is required", "timers"});
  const auto& arr = items->as_array();
  if (arr.empty()) return error_answer({ErrorCode::InvalidArgument, "the batch is empty", "timers"});
  if (arr.size() > kMaxTimerBatch) {
    svc.count_refused(arr.size());
    return error_answer({ErrorCode::InvalidArgument,
                         std::to_string(arr.size()) + " timers; a batch holds at most " + std::to_string(kMaxTimerBatch),
                         "timers"});
  }
  const SystemTime now = clock.now();
  std::vector<timers::TimerSpec> specs;
  specs.reserve(arr.size());
  std::vector<std::size_t> past;
  for (std::size_t i = 0; i < arr.size(); ++i) {
    auto spec = timers::parse_timer(arr[i], now, "timers[" + std::to_string(i) + "]");
    if (!spec) {
      svc.count_refused(arr.size());
      return error_answer(spec.error(), i);
    }
    if (spec->in_past) past.push_back(i);
    specs.push_back(std::move(*spec));
  }
  auto made = svc.create(std::move(specs), "timers");
  if (!made) return error_answer(made.error(), index_of(made.error().where));
  JsonArray list;
  std::size_t created = 0;
  for (std::size_t i = 0; i < made->timers.size(); ++i) {
    created += made->created[i] ? 1 : 0;
    list.push_back(JsonObject{{"id", made->timers[i].id},
                              {"execute_at", format_time(from_unix_ms(made->timers[i].due_at_ms))},
                              {"created", made->created[i]}});
  }
  JsonObject out;
  out["created"] = created;
  out["existing"] = made->timers.size() - created;
  out["timers"] = std::move(list);
  if (!past.empty()) {
    JsonArray p;
    for (auto i : past) p.push_back(i);
    out["in_past"] = std::move(p);
    out["note"] = "the timers at the in_past indexes asked for a time already gone; they fire now";
  }
  return Response::json(created > 0 ? 201 : 200, out);
}

Response list(TimerService& svc, Request& r) {
  store::TimerQuery q;
  if (auto g = r.query_value("group_id")) q.group_id = *g;
  if (auto s = r.query_value("status")) {
    if (*s != "pending" && *s != "fired" && *s != "cancelled" && *s != "failed")
      return error_answer({ErrorCode::InvalidArgument, "must be pending, fired, cancelled or failed", "status"});
    q.status = *s;
  }
  if (auto l = r.query_value("limit")) {
    int n = 0;
    try {
      n = std::stoi(*l);
    } catch (...) {
      n = 0;
    }
    if (n < 1 || n > 1000) return error_answer({ErrorCode::InvalidArgument, "must be a number from 1 to 1000", "limit"});
    q.limit = n;
  }
  if (auto c = r.query_value("cursor")) q.after_id = *c;
  auto rows = svc.list(q);
  if (!rows) return error_answer(rows.error());
  JsonArray items;
  for (const auto& row : *rows) items.push_back(timers::timer_to_json(row));
  JsonObject out;
  out["timers"] = std::move(items);
  if (static_cast<int>(rows->size()) == q.limit) out["next_cursor"] = rows->back().id;
  else out["next_cursor"] = nullptr;
  return Response::json(200, out);
}

// --- v1 compatibility ------------------------------------------------------------------------

Response v1_error(int status, std::string_view code, std::string message, Json details, Clock& clock) {
  JsonObject o;
  o["error"] = code;
  o["message"] = std::move(message);
  o["details"] = std::move(details);
  o["timestamp"] = format_time(clock.now());
  return Response::json(status, o);
}

Response v1_fail(const Error& e, Clock& clock) {
  JsonObject details;
  if (!e.where.empty()) details["field"] = e.where;
  switch (e.code) {
    case ErrorCode::InvalidArgument:
    case ErrorCode::Conflict: return v1_error(400, "INVALID_INPUT", e.describe(), details, clock);
    case ErrorCode::NotFound: return v1_error(404, "TIMER_NOT_FOUND", e.describe(), details, clock);
    default: return v1_error(500, "INTERNAL_ERROR", e.describe(), details, clock);
  }
}

std::string v1_id(std::string_view ns, std::string_view id) { return std::string(ns) + ":" + std::string(id); }

// namespace and the id field ("id" on create, "timerId" elsewhere), checked.
Result<std::pair<std::string, std::string>> v1_key(const Json& body, const char* id_field) {
  const auto& o = body.as_object();
  const Json* ns = o.if_contains("namespace");
  const Json* id = o.if_contains(id_field);
  if (!ns || !ns->is_string() || ns->as_string().empty() || ns->as_string().size() > 255)
    return fail(ErrorCode::InvalidArgument, "a string of 1 to 255 characters is required", "namespace");
  if (std::string_view(ns->as_string()).find(':') != std::string_view::npos)
    return fail(ErrorCode::InvalidArgument, "must not contain ':'", "namespace");
  if (!id || !id->is_string() || id->as_string().empty() || id->as_string().size() > 255)
    return fail(ErrorCode::InvalidArgument, "a string of 1 to 255 characters is required", id_field);
  return std::pair{std::string(ns->as_string()), std::string(id->as_string())};
}

// v1 retryPolicy {maxAttempts, maxAttemptsDuration "1h", initialInterval "30s",
// backoffMultiplier, maxInterval "5m"} and callbackTimeoutSeconds as our retry object.
Result<JsonObject> v1_retry(const JsonObject& body, JsonObject retry) {
  if (const Json* p = body.if_contains("retryPolicy"); p && !p->is_null()) {
    if (!p->is_object()) return fail(ErrorCode::InvalidArgument, "must be an object", "retryPolicy");
    for (const auto& [k, v] : p->as_object()) {
      const std::string key(k), at = "retryPolicy." + std::string(k);
      if (key == "maxAttempts") retry["max_attempts"] = v;
      else if (key == "backoffMultiplier") retry["backoff_multiplier"] = v;
      else if (key == "maxAttemptsDuration" || key == "initialInterval" || key == "maxInterval") {
        if (!v.is_string()) return fail(ErrorCode::InvalidArgument, "must be a duration like \"30s\"", at);
        auto d = parse_duration(v.as_string());
        if (!d) return fail(ErrorCode::InvalidArgument, d.error().message, at);
        const char* ours = key == "maxAttemptsDuration" ? "max_duration_ms"
                           : key == "initialInterval"    ? "initial_interval_ms"
                                                         : "max_interval_ms";
        retry[ours] = d->count();
      } else {
        return fail(ErrorCode::InvalidArgument, "unknown field", at);
      }
    }
  }
  if (const Json* t = body.if_contains("callbackTimeoutSeconds"); t && !t->is_null()) {
    if (!t->is_number() || t->to_number<double>() <= 0 || t->to_number<double>() > 300)
      return fail(ErrorCode::InvalidArgument, "must be a number of seconds from 1 to 300", "callbackTimeoutSeconds");
    retry["timeout_ms"] = static_cast<std::int64_t>(t->to_number<double>() * 1000);
  }
  return retry;
}

Json v1_timer(const store::TimerRow& row) {
  JsonObject o;
  const auto colon = row.id.find(':');
  o["id"] = colon == std::string::npos ? row.id : row.id.substr(colon + 1);
  o["namespace"] = row.group_id;
  auto spec = timers::from_row(row);
  o["executeAt"] = format_time(spec ? spec->execute_at : from_unix_ms(row.due_at_ms));
  o["callbackUrl"] = spec && spec->callback ? Json(spec->callback->url) : Json(nullptr);
  o["payload"] = spec && spec->callback ? spec->callback->body : Json(nullptr);
  if (spec) {
    const auto& r = spec->retry;
    JsonObject p;
    p["maxAttempts"] = r.max_attempts;
    p["maxAttemptsDuration"] = format_duration(r.max_duration);
    p["initialInterval"] = format_duration(r.initial_interval);
    p["backoffMultiplier"] = r.backoff_multiplier;
    p["maxInterval"] = format_duration(r.max_interval);
    o["retryPolicy"] = std::move(p);
    o["callbackTimeoutSeconds"] = static_cast<double>(r.timeout.count()) / 1000.0;
  }
  o["createdAt"] = format_time(from_unix_ms(row.created_at_ms));
  o["updatedAt"] = format_time(from_unix_ms(row.executed_at_ms.value_or(row.created_at_ms)));
  o["executedAt"] = row.executed_at_ms ? Json(format_time(from_unix_ms(*row.executed_at_ms))) : Json(nullptr);
  o["status"] = row.status;
  return o;
}

Response v1_create(TimerService& svc, Clock& clock, Request& r) {
  auto body = object_body(r);
  if (!body) return v1_fail(body.error(), clock);
  auto key = v1_key(*body, "id");
  if (!key) return v1_fail(key.error(), clock);
  const auto& o = body->as_object();
  const Json* at = o.if_contains("executeAt");
  const Json* url = o.if_contains("callbackUrl");
  if (!at || !at->is_string()) return v1_fail({ErrorCode::InvalidArgument, "an ISO 8601 time is required", "executeAt"}, clock);
  if (!url || !url->is_string()) return v1_fail({ErrorCode::InvalidArgument, "a URL is required", "callbackUrl"}, clock);
  auto retry = v1_retry(o, {});
  if (!retry) return v1_fail(retry.error(), clock);
  JsonObject callback{{"url", *url}};
  if (const Json* p = o.if_contains("payload"); p && !p->is_null()) {
    if (!p->is_object()) return v1_fail({ErrorCode::InvalidArgument, "must be an object", "payload"}, clock);
    callback["body"] = *p;
  }
  JsonObject ours{{"id", v1_id(key->first, key->second)}, {"group_id", key->first}, {"execute_at", *at},
                  {"callback", std::move(callback)}, {"retry", std::move(*retry)}};
  timers::ParseLimits limits;
  limits.max_id = 511;
  auto spec = timers::parse_timer(ours, clock.now(), "", limits);
  if (!spec) {
    svc.count_refused(1);
    Error e = spec.error();
    if (e.where == "execute_at") e.where = "executeAt";
    else if (e.where.starts_with("callback.url")) e.where = "callbackUrl";
    else if (e.where == "id") e.where = "id";
    return v1_fail(e, clock);
  }
  auto made = svc.create({*spec});
  if (!made && made.error().code == ErrorCode::Conflict) {  // v1: idempotent on (namespace, id)
    auto existing = svc.get(spec->id);
    if (existing) return Response::json(200, v1_timer(*existing));
  }
  if (!made) return v1_fail(made.error(), clock);
  return Response::json(200, v1_timer(made->timers[0]));
}

// Our id of the timer a get/delete body {namespace, timerId} names.
Result<std::string> v1_target(const Request& r) {
  auto body = object_body(r);
  if (!body) return std::unexpected(body.error());
  auto key = v1_key(*body, "timerId");
  if (!key) return std::unexpected(key.error());
  return v1_id(key->first, key->second);
}

Response v1_get(TimerService& svc, Clock& clock, Request& r) {
  auto id = v1_target(r);
  if (!id) return v1_fail(id.error(), clock);
  auto row = svc.get(*id);
  if (!row) return v1_fail(row.error(), clock);
  return Response::json(200, v1_timer(*row));
}

Response v1_update(TimerService& svc, Clock& clock, Request& r) {
  auto body = object_body(r);
  if (!body) return v1_fail(body.error(), clock);
  auto key = v1_key(*body, "timerId");
  if (!key) return v1_fail(key.error(), clock);
  const std::string id = v1_id(key->first, key->second);
  auto row = svc.get(id);
  if (!row) return v1_fail(row.error(), clock);
  auto spec = timers::from_row(*row);
  if (!spec) return v1_fail(spec.error(), clock);
  const auto& o = body->as_object();
  JsonObject changes;
  for (const auto& [k, v] : o) {
    const std::string key_name(k);
    if (key_name == "namespace" || key_name == "timerId" || key_name == "retryPolicy" ||
        key_name == "callbackTimeoutSeconds")
      continue;
    if (key_name == "executeAt") changes["execute_at"] = v;
    else if (key_name == "payload") changes["payload"] = v;
    else if (key_name == "callbackUrl") {
      if (!spec->callback) return v1_fail({ErrorCode::InvalidArgument, "this timer has no callback", "callbackUrl"}, clock);
      JsonObject cb{{"url", v}, {"method", spec->callback->method}, {"body", spec->callback->body}};
      JsonObject h;
      for (const auto& [hk, hv] : spec->callback->headers) h[hk] = hv;
      cb["headers"] = std::move(h);
      if (const Json* p = o.if_contains("payload")) cb["body"] = *p;
      changes["callback"] = std::move(cb);
      changes.erase("payload");
    } else {
      return v1_fail({ErrorCode::InvalidArgument, "cannot be changed", key_name}, clock);
    }
  }
  if (changes.contains("callback")) changes.erase("payload");
  auto retry = v1_retry(o, {});
  if (!retry) return v1_fail(retry.error(), clock);
  if (!retry->empty()) changes["retry"] = std::move(*retry);
  auto patched = svc.patch(id, changes);
  if (!patched) return v1_fail(patched.error(), clock);
  return Response::json(200, v1_timer(*patched));
}

Response v1_delete(TimerService& svc, Clock& clock, Request& r) {
  auto id = v1_target(r);
  if (!id) return v1_fail(id.error(), clock);
  auto done = svc.cancel(*id);
  if (!done && done.error().code == ErrorCode::Conflict) {
    auto row = svc.get(*id);
    if (row && row->status == "cancelled") return Response::text(204, "");  // deleting twice is fine
  }
  if (!done) return v1_fail(done.error(), clock);
  return Response::text(204, "");
}

}  // namespace

void add_timer_routes(Router& router, TimerService& service, Clock& clock) {
  TimerService* s = &service;
  Clock* c = &clock;
  const Access write = Access::at_least(Role::Operator), read = Access::at_least(Role::Viewer);
  router.post("/api/timers", write, [s, c](Request& r) { return create_one(*s, *c, r); });
  router.post("/api/timers/batch", write, [s, c](Request& r) { return create_batch(*s, *c, r); });
  router.get("/api/timers", read, [s](Request& r) { return list(*s, r); });
  router.get("/api/timers/{id}", read, [s](Request& r) {
    auto row = s->get(r.params["id"]);
    return row ? Response::json(200, timers::timer_to_json(*row)) : error_answer(row.error());
  });
  router.del("/api/timers/{id}", write, [s](Request& r) {
    auto row = s->cancel(r.params["id"]);
    return row ? Response::json(200, timers::timer_to_json(*row)) : error_answer(row.error());
  });
  router.add("PATCH", "/api/timers/{id}", write, [s](Request& r) {
    auto body = object_body(r);
    if (!body) return error_answer(body.error());
    auto row = s->patch(r.params["id"], *body);
    return row ? Response::json(200, timers::timer_to_json(*row)) : error_answer(row.error());
  });
  router.post("/api/v1/timers/create", write, [s, c](Request& r) { return v1_create(*s, *c, r); });
  router.post("/api/v1/timers/get", read, [s, c](Request& r) { return v1_get(*s, *c, r); });
  router.post("/api/v1/timers/update", write, [s, c](Request& r) { return v1_update(*s, *c, r); });
  router.post("/api/v1/timers/delete", write, [s, c](Request& r) { return v1_delete(*s, *c, r); });
}

}  // namespace opsrun::server
