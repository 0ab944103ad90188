// The client verbs: exec, status, list, cancel, approve, reject, actions failed|retry
// (through the HTTP API), and `token new`.
#include <cstdio>

#include "opsrun/cli/api_client.h"
#include "opsrun/cli/commands.h"
#include "opsrun/server/auth.h"

namespace opsrun::cli {

namespace {

// Prints an API error and maps it to an exit code: 2 for what the caller got wrong.
int report(const char* verb, const ApiResponse& r) {
  std::string message = to_json_text(r.body);
  if (r.body.is_object())
    if (const Json* m = r.body.as_object().if_contains("message"); m != nullptr && m->is_string())
      message = std::string(m->as_string());
  std::fprintf(stderr, "%s: HTTP %ld: %s\n", verb, r.status, message.c_str());
  return r.status >= 400 && r.status < 500 ? kExitInvalid : kExitFailed;
}

void print_execution(const Json& e, const std::string& output) {
  if (output == "json") {
    std::printf("%s\n", to_pretty_json(e).c_str());
    return;
  }
  auto field = [&](const char* k) {
    const Json* v = e.is_object() ? e.as_object().if_contains(k) : nullptr;
    return v ? json_to_text(*v) : std::string();
  };
  std::printf("%s  %s  %s  step %s  started %s\n", field("executionId").c_str(), field("runbookId").c_str(),
              field("status").c_str(), field("currentStep").c_str(), field("startTime").c_str());
  if (const Json* h = e.as_object().if_contains("history"); h != nullptr && h->is_array())
    for (const auto& entry : h->as_array())
      std::printf("  %-8s %s%s\n", json_to_text(entry.at("status")).c_str(), json_to_text(entry.at("stepId")).c_str(),
                  entry.as_object().contains("error") ? ("  " + json_to_text(entry.at("error"))).c_str() : "");
}

int follow(const ApiClient& client, const std::string& id, const std::string& output) {
  auto r = client.stream("/api/executions/" + id + "/events", [&](const std::string& event, const std::string& data) {
    if (output == "json") {
      std::printf("%s\n", data.c_str());
    } else {
      auto j = parse_json(data);
      std::string step, detail;
      if (j && j->is_object()) {
        const auto& o = j->as_object();
        if (const Json* s = o.if_contains("stepId")) step = json_to_text(*s);
        if (const Json* s = o.if_contains("status")) detail = json_to_text(*s);
      }
      std::printf("%-24s %s %s\n", event.c_str(), step.c_str(), detail.c_str());
    }
    std::fflush(stdout);
  });
  if (!r) {
    std::fprintf(stderr, "status --follow: %s\n", r.error().describe().c_str());
    return kExitFailed;
  }
  return kExitOk;
}

}  // namespace

int cmd_exec(const ExecFlags& flags) {
  auto ctx = parse_context(flags.ctx, flags.ctx_json);
  if (!ctx) {
    std::fprintf(stderr, "exec: %s\n", ctx.error().describe().c_str());
    return kExitInvalid;
  }
  ApiClient client(flags.client);
  JsonObject body{{"runbookId", flags.runbook}, {"context", *ctx}, {"async", flags.async || flags.wait}};
  if (flags.dry_run) body["dryRun"] = true;
  auto r = client.call("POST", "/api/runbooks/execute", to_json_text(body));
  if (!r) {
    std::fprintf(stderr, "exec: %s\n", r.error().describe().c_str());
    return kExitFailed;
  }
  if (r->status >= 300) return report("exec", *r);
  if (flags.async && !flags.wait) {
    if (flags.client.output == "json") std::printf("%s\n", to_pretty_json(r->body).c_str());
    else std::printf("%s %s\n", json_to_text(r->body.at("executionId")).c_str(), json_to_text(r->body.at("status")).c_str());
    return kExitOk;
  }
  Json e = r->body;
  if (flags.wait) {
    const std::string id = json_to_text(r->body.at("executionId"));
    if (flags.client.output == "text") (void)follow(client, id, "text");
    auto final_state = client.call("GET", "/api/executions/" + id);
    if (!final_state || final_state->status != 200) return kExitFailed;
    e = final_state->body;
  }
  print_execution(e, flags.client.output);
  return json_to_text(e.at("status")) == "completed" ? kExitOk : kExitFailed;
}

int cmd_status(const StatusFlags& flags) {
  ApiClient client(flags.client);
  if (flags.follow) return follow(client, flags.id, flags.client.output);
  auto r = client.call("GET", "/api/executions/" + flags.id);
  if (!r) {
    std::fprintf(stderr, "status: %s\n", r.error().describe().c_str());
    return kExitFailed;
  }
  if (r->status != 200) return report("status", *r);
  print_execution(r->body, flags.client.output);
  return kExitOk;
}

int cmd_list(const ListFlags& flags) {
  ApiClient client(flags.client);
  auto r = client.call("GET", flags.active ? "/api/runbooks?status=active" : "/api/runbooks");
  if (!r) {
    std::fprintf(stderr, "list: %s\n", r.error().describe().c_str());
    return kExitFailed;
  }
  if (r->status != 200) return report("list", *r);
  if (flags.client.output == "json") {
    std::printf("%s\n", to_pretty_json(r->body).c_str());
    return kExitOk;
  }
  for (const auto& e : r->body.at("executions").as_array()) {
    const auto& o = e.as_object();
    auto f = [&](const char* k) { return o.contains(k) ? json_to_text(o.at(k)) : std::string(); };
    std::printf("%-36s %-28s %-16s %s\n", f("executionId").c_str(), f("runbookId").c_str(), f("status").c_str(),
                f("startTime").c_str());
  }
  return kExitOk;
}

int cmd_verb(const VerbFlags& flags) {
  ApiClient client(flags.client);
  Result<ApiResponse> r = flags.verb == "cancel"
                              ? client.call("DELETE", "/api/runbooks?executionId=" + flags.id)
                              : client.call("POST", "/api/executions/" + flags.id + "/" + flags.verb,
                                            flags.comment.empty() ? "" : to_json_text(JsonObject{{"comment", flags.comment}}));
  if (!r) {
    std::fprintf(stderr, "%s: %s\n", flags.verb.c_str(), r.error().describe().c_str());
    return kExitFailed;
  }
  if (r->status >= 300) return report(flags.verb.c_str(), *r);
  if (flags.client.output == "json") std::printf("%s\n", to_pretty_json(r->body).c_str());
  else std::printf("%s: %s\n", flags.verb.c_str(), flags.id.c_str());
  return kExitOk;
}

int cmd_actions(const ActionsFlags& flags) {
  ApiClient client(flags.client);
  const bool retry = flags.verb == "retry";
  const std::string verb = "actions " + flags.verb;
  auto r = retry ? client.call("POST", "/api/actions/retry", to_json_text(JsonObject{{"actionId", flags.action_id}}))
                 : client.call("GET", "/api/actions/failed?hours=" + std::to_string(flags.hours) +
                                          "&limit=" + std::to_string(flags.limit) +
                                          (flags.execution.empty() ? "" : "&execution=" + flags.execution));
  if (!r) {
    std::fprintf(stderr, "%s: %s\n", verb.c_str(), r.error().describe().c_str());
    return kExitFailed;
  }
  if (r->status >= 300) return report(verb.c_str(), *r);
  if (flags.client.output == "json") {
    std::printf("%s\n", to_pretty_json(r->body).c_str());
    return kExitOk;
  }
  if (retry) {
    std::printf("retrying %s as execution %s (runbook %s from step %s)\n", flags.action_id.c_str(),
                json_to_text(r->body.at("executionId")).c_str(), json_to_text(r->body.at("runbookId")).c_str(),
                json_to_text(r->body.at("stepId")).c_str());
    return kExitOk;
  }
  const auto& actions = r->body.at("actions").as_array();
  if (actions.empty()) std::printf("no failed actions in the last %d hours\n", flags.hours);
  for (const Json& a : actions) {
    const Json& by = a.at("retriedBy");
    std::printf("%s  %s  %s  %s\n    %s%s\n", json_to_text(a.at("at")).c_str(), json_to_text(a.at("actionId")).c_str(),
                json_to_text(a.at("runbookId")).c_str(), json_to_text(a.at("actor")).c_str(),
                json_to_text(a.at("error")).c_str(),
                by.is_string() ? (" (retried by " + json_to_text(by) + ")").c_str() : "");
  }
  return kExitOk;
}

int cmd_token_new(const std::string& role, const std::string& name) {
  if (role != "viewer" && role != "operator" && role != "admin") {
    std::fprintf(stderr, "token new: --role must be viewer, operator or admin\n");
    return kExitInvalid;
  }
  auto t = server::generate_token();
  if (!t) {
    std::fprintf(stderr, "token new: %s\n", t.error().describe().c_str());
    return kExitFailed;
  }
  std::printf("token: %s\n", t->token.c_str());
  std::printf("# add to the tokens: section of opsrun.yaml (only the hash is stored):\n");
  std::printf("  - {name: %s, role: %s, hash: \"%s\"}\n", name.c_str(), role.c_str(), t->hash.c_str());
  return kExitOk;
}

}  // namespace opsrun::cli
