// `opsrun timers create|list|show|cancel`: the timer API from the command line.
#include <cstdio>

#include "opsrun/cli/api_client.h"
#include "opsrun/cli/commands.h"
#include "opsrun/common/duration.h"

namespace opsrun::cli {

namespace {

std::string text_of(const Json& o, const char* key) {
  const Json* v = o.is_object() ? o.as_object().if_contains(key) : nullptr;
  return v && !v->is_null() ? json_to_text(*v) : std::string("-");
}

// The API's {error, message, field} answer on stderr; 2 for what the caller got wrong.
int refused(const std::string& verb, const ApiResponse& r) {
  std::string where = text_of(r.body, "field");
  std::fprintf(stderr, "timers %s: HTTP %ld: %s%s\n", verb.c_str(), r.status, text_of(r.body, "message").c_str(),
               where == "-" ? "" : (" (field " + where + ")").c_str());
  return r.status >= 400 && r.status < 500 ? kExitInvalid : kExitFailed;
}

void print_line(const Json& t) {
  std::printf("%-40s %-12s %-9s %s  attempts %s%s\n", text_of(t, "id").c_str(), text_of(t, "group_id").c_str(),
              text_of(t, "status").c_str(), text_of(t, "execute_at").c_str(), text_of(t, "attempts").c_str(),
              text_of(t, "last_error") == "" ? "" : ("  " + text_of(t, "last_error")).c_str());
}

Result<std::string> create_body(const TimersFlags& f) {
  JsonObject o;
  if (!f.id.empty()) o["id"] = f.id;
  if (!f.group.empty()) o["group_id"] = f.group;
  if (!f.in.empty()) {
    auto d = parse_duration(f.in);
    if (!d) return fail(ErrorCode::InvalidArgument, d.error().message, "--in");
    o["delay_ms"] = d->count();
  } else {
    o["execute_at"] = f.at;
  }
  if (!f.callback.empty()) {
    JsonObject cb{{"url", f.callback}};
    if (!f.payload.empty()) {
      auto p = parse_json(f.payload);
      if (!p) return fail(ErrorCode::InvalidArgument, p.error().message, "--payload");
      cb["body"] = *p;
    }
    o["callback"] = std::move(cb);
  } else {
    auto ctx = parse_context(f.ctx, f.ctx_json);
    if (!ctx) return std::unexpected(ctx.error());
    o["runbook"] = JsonObject{{"id", f.runbook}, {"context", *ctx}};
  }
  return to_json_text(o);
}

}  // namespace

int cmd_timers(const TimersFlags& f) {
  ApiClient client(f.client);
  Result<ApiResponse> r = fail(ErrorCode::Internal, "no verb");
  if (f.verb == "create") {
    auto body = create_body(f);
    if (!body) {
      std::fprintf(stderr, "timers create: %s\n", body.error().describe().c_str());
      return kExitInvalid;
    }
    r = client.call("POST", "/api/timers", *body);
  } else if (f.verb == "list") {
    std::string q = "/api/timers?limit=" + std::to_string(f.limit);
    if (!f.group.empty()) q += "&group_id=" + f.group;
    if (!f.status.empty()) q += "&status=" + f.status;
    if (!f.cursor.empty()) q += "&cursor=" + f.cursor;
    r = client.call("GET", q);
  } else {
    r = client.call(f.verb == "show" ? "GET" : "DELETE", "/api/timers/" + f.id);
  }
  if (!r) {
    std::fprintf(stderr, "timers %s: %s\n", f.verb.c_str(), r.error().describe().c_str());
    return kExitFailed;
  }
  if (r->status >= 300) return refused(f.verb, *r);
  if (f.client.output == "json") {
    std::printf("%s\n", to_pretty_json(r->body).c_str());
    return kExitOk;
  }
  if (f.verb == "list") {
    const Json* items = r->body.as_object().if_contains("timers");
    if (items && items->is_array())
      for (const auto& t : items->as_array()) print_line(t);
    if (text_of(r->body, "next_cursor") != "-") std::printf("more: --cursor %s\n", text_of(r->body, "next_cursor").c_str());
    return kExitOk;
  }
  print_line(r->body);
  if (f.verb == "create" && text_of(r->body, "note") != "-") std::printf("note: %s\n", text_of(r->body, "note").c_str());
  if (f.verb == "show" && text_of(r->body, "lateness_ms") != "-")
    std::printf("executed %s (%s ms late)\n", text_of(r->body, "executed_at").c_str(), text_of(r->body, "lateness_ms").c_str());
  return kExitOk;
}

}  // namespace opsrun::cli
