// Loading YAML into the model: every field of the format, and errors with their places.
#include <gtest/gtest.h>

#include "opsrun/model/runbook_yaml.h"

namespace opsrun::model {
namespace {

using Sev = Diagnostic::Severity;

std::string all(const LoadResult& r) {
  std::string s;
  for (const auto& d : r.diagnostics) s += d.describe() + "\n";
  return s;
}

std::vector<Diagnostic> errors(const LoadResult& r) {
  std::vector<Diagnostic> out;
  for (const auto& d : r.diagnostics)
    if (d.severity == Sev::Error) out.push_back(d);
  return out;
}

// Loads YAML expected to have exactly one error, and returns it.
Diagnostic one_error(const std::string& yaml) {
  auto r = load_runbook_text(yaml, "rb.yaml");
  EXPECT_FALSE(r.ok());
  auto e = errors(r);
  EXPECT_EQ(e.size(), 1u) << all(r);
  return e.empty() ? Diagnostic{} : e[0];
}

constexpr const char* kFull = R"(id: full-runbook
name: Full Runbook
description: every field
version: 2.1.0
tags: [critical, db]
timeout: 10m
context:
  service_url: http://127.0.0.1:8081
  unit: ai-worker
  load: 0.5
  queues: [a, b]
  nested: {deep: true, count: 3, none: ~, quoted: "42", word: nan, host: inf, exp: 1e3}
start: health
steps:
  - id: health
    name: Check health
    description: GET /health
    type: check
    http:
      method: post
      url: "{{ ctx.service_url }}/health"
      headers: {Authorization: "Bearer {{ env.TOKEN }}"}
      body: {probe: true, who: "{{ ctx.unit }}"}
      expect:
        status: 201
        body_contains: ok
        json: {"$.status": "ok", "$.count": 3}
    timeout: 2s
    on_success: notify-ok
    on_failure: restart
  - id: restart
    type: action
    exec: ["systemctl", "restart", "{{ ctx.unit }}"]
    env: {MODE: "{{ ctx.mode }}"}
    cwd: /tmp
    stdin: "hello"
    retry: {attempts: 4, backoff: fixed, delay: 500ms, max_delay: 30s, jitter: 0.2}
    idempotent: true
    target: {name: "{{ ctx.unit }}", labels: {env: prod}}
    risk: high
    save_as: restart_out
    on_success: evaluate
  - id: evaluate
    type: decision
    lua: |
      if ctx.load > 0.9 then return "critical" end
      return "normal"
    branches: {critical: all, normal: loop-queues, default: approve}
  - id: notify-ok
    type: notify
    channels: [log, slack]
    message: "{{ ctx.service_url }} is healthy"
  - id: cooldown
    type: wait
    duration: 1m30s
    on_success: restart
  - id: all
    type: parallel
    steps: [cooldown-body, sleep]
    min_success: 1
    on_success: loop-queues
  - id: cooldown-body
    type: action
    lua: "return true"
  - id: sleep
    type: action
    builtin: sleep
    with: {duration: 2s}
    retry: true
  - id: loop-queues
    type: loop
    items_from: ctx.queues
    step: per-queue
    concurrency: 2
    fail_fast: false
    on_success: approve
  - id: literal-loop
    type: loop
    items: [q1, q2]
    step: per-queue
  - id: per-queue
    type: action
    exec: ["echo", "{{ item }}", "{{ index }}"]
  - id: approve
    type: approval
    message: "Promote?"
    timeout: 1h
    channels: [log]
    on_success: cooldown
)";

TEST(Yaml, EveryFieldIsParsed) {
  auto r = load_runbook_text(kFull, "full.yaml");
  ASSERT_TRUE(r.ok()) << all(r);
  const Runbook& rb = *r.runbook;
  EXPECT_EQ(rb.id, "full-runbook");
  EXPECT_EQ(rb.name, "Full Runbook");
  EXPECT_EQ(rb.description, "every field");
  EXPECT_EQ(rb.version, "2.1.0");
  EXPECT_EQ(rb.tags, (std::vector<std::string>{"critical", "db"}));
  EXPECT_EQ(rb.timeout, Millis(600'000));
  EXPECT_EQ(rb.start, "health");
  EXPECT_EQ(rb.source_file, "full.yaml");
  EXPECT_EQ(rb.source_text, kFull);
  // Context keeps YAML types: numbers, booleans, null, lists; quoted stays a string.
  EXPECT_EQ(rb.context.at("service_url").as_string(), "http://127.0.0.1:8081");
  EXPECT_DOUBLE_EQ(rb.context.at("load").as_double(), 0.5);
  EXPECT_EQ(rb.context.at("queues").as_array().size(), 2u);
  EXPECT_TRUE(rb.context.at("nested").at("deep").as_bool());
  EXPECT_EQ(rb.context.at("nested").at("count").as_int64(), 3);
  EXPECT_TRUE(rb.context.at("nested").at("none").is_null());
  EXPECT_EQ(rb.context.at("nested").at("quoted").as_string(), "42");
  EXPECT_EQ(rb.context.at("nested").at("word").as_string(), "nan");
  EXPECT_EQ(rb.context.at("nested").at("host").as_string(), "inf");
  EXPECT_DOUBLE_EQ(rb.context.at("nested").at("exp").as_double(), 1000.0);
  ASSERT_EQ(rb.steps.size(), 12u);

  const Step& h = *rb.find("health");
  EXPECT_EQ(h.type, StepType::Check);
  EXPECT_EQ(h.name, "Check health");
  EXPECT_EQ(h.description, "GET /health");
  EXPECT_EQ(h.executor, ExecutorKind::Http);
  EXPECT_EQ(h.http.method, "POST");
  EXPECT_EQ(h.http.url, "{{ ctx.service_url }}/health");
  EXPECT_EQ(h.http.headers.at("Authorization"), "Bearer {{ env.TOKEN }}");
  ASSERT_TRUE(h.http.body);
  auto body = parse_json(*h.http.body);
  ASSERT_TRUE(body) << *h.http.body;
  EXPECT_TRUE(body->at("probe").as_bool());
  EXPECT_EQ(body->at("who").as_string(), "{{ ctx.unit }}");
  EXPECT_EQ(h.http.expect.status, 201);
  EXPECT_EQ(h.http.expect.body_contains, "ok");
  ASSERT_EQ(h.http.expect.json.size(), 2u);
  EXPECT_EQ(h.http.expect.json[0].first, "$.status");
  EXPECT_EQ(h.http.expect.json[0].second.as_string(), "ok");
  EXPECT_EQ(h.http.expect.json[1].second.as_int64(), 3);
  EXPECT_EQ(h.timeout, Millis(2000));
  EXPECT_EQ(h.on_success, "notify-ok");
  EXPECT_EQ(h.on_failure, "restart");
  EXPECT_EQ(h.mark.line, 15);
  EXPECT_EQ(h.mark.column, 5);
  EXPECT_TRUE(h.is_idempotent());

  const Step& a = *rb.find("restart");
  EXPECT_EQ(a.executor, ExecutorKind::Exec);
  EXPECT_EQ(a.exec.argv, (std::vector<std::string>{"systemctl", "restart", "{{ ctx.unit }}"}));
  EXPECT_EQ(a.exec.env.at("MODE"), "{{ ctx.mode }}");
  EXPECT_EQ(a.exec.cwd, "/tmp");
  EXPECT_EQ(a.exec.stdin_text, "hello");
  EXPECT_EQ(a.retry.attempts, 4);
  EXPECT_EQ(a.retry.backoff, Backoff::Fixed);
  EXPECT_EQ(a.retry.delay, Millis(500));
  EXPECT_EQ(a.retry.max_delay, Millis(30'000));
  EXPECT_DOUBLE_EQ(a.retry.jitter, 0.2);
  EXPECT_EQ(a.idempotent, true);
  ASSERT_TRUE(a.target);
  EXPECT_EQ(a.target->name, "{{ ctx.unit }}");
  EXPECT_EQ(a.target->labels.at("env"), "prod");
  EXPECT_EQ(a.risk, "high");
  EXPECT_EQ(a.save_as, "restart_out");

  const Step& d = *rb.find("evaluate");
  EXPECT_EQ(d.type, StepType::Decision);
  EXPECT_EQ(d.executor, ExecutorKind::Lua);
  EXPECT_NE(d.lua.find("return \"critical\""), std::string::npos);
  EXPECT_EQ(d.branches.size(), 3u);
  EXPECT_EQ(d.branches.at("default"), "approve");

  const Step& n = *rb.find("notify-ok");
  EXPECT_EQ(n.channels, (std::vector<std::string>{"log", "slack"}));
  EXPECT_EQ(n.message, "{{ ctx.service_url }} is healthy");

  EXPECT_EQ(rb.find("cooldown")->duration, Millis(90'000));

  const Step& p = *rb.find("all");
  EXPECT_EQ(p.steps, (std::vector<std::string>{"cooldown-body", "sleep"}));
  EXPECT_EQ(p.min_success, 1);

  const Step& s = *rb.find("sleep");
  EXPECT_EQ(s.executor, ExecutorKind::Builtin);
  EXPECT_EQ(s.builtin.name, "sleep");
  EXPECT_EQ(s.builtin.with.at("duration").as_string(), "2s");
  // retry: true is the documented shorthand.
  EXPECT_EQ(s.retry.attempts, 3);
  EXPECT_EQ(s.retry.backoff, Backoff::Exponential);
  EXPECT_EQ(s.retry.delay, Millis(1000));
  EXPECT_FALSE(s.is_idempotent());  // an action is idempotent only when declared

  const Step& l = *rb.find("loop-queues");
  EXPECT_EQ(l.type, StepType::Loop);
  EXPECT_EQ(l.items_from, "ctx.queues");
  EXPECT_EQ(l.body, "per-queue");
  EXPECT_EQ(l.concurrency, 2);
  EXPECT_FALSE(l.fail_fast);
  const Step& ll = *rb.find("literal-loop");
  ASSERT_TRUE(ll.items);
  EXPECT_EQ(ll.items->as_array().size(), 2u);
  EXPECT_EQ(ll.concurrency, 1);
  EXPECT_TRUE(ll.fail_fast);

  const Step& ap = *rb.find("approve");
  EXPECT_EQ(ap.type, StepType::Approval);
  EXPECT_EQ(ap.message, "Promote?");
  EXPECT_EQ(ap.timeout, Millis(3'600'000));
  EXPECT_EQ(ap.channels, (std::vector<std::string>{"log"}));

  // literal-loop is unreachable: a warning only, in file order.
  ASSERT_EQ(r.diagnostics.size(), 1u) << all(r);
  EXPECT_EQ(r.diagnostics[0].severity, Sev::Warning);
  EXPECT_EQ(r.diagnostics[0].line, 77);
  EXPECT_EQ(r.diagnostics[0].column, 5);
}

TEST(Yaml, DefaultsWhenOmitted) {
  auto r = load_runbook_text(R"(id: tiny
start: a
steps:
  - id: a
    type: check
    http: {url: "http://127.0.0.1:1/"}
    on_success: n
  - id: n
    type: notify
    message: hi
)",
                             "tiny.yaml");
  ASSERT_TRUE(r.ok()) << all(r);
  const Runbook& rb = *r.runbook;
  EXPECT_EQ(rb.name, "tiny");
  EXPECT_EQ(rb.version, "1.0.0");
  EXPECT_FALSE(rb.timeout);
  EXPECT_TRUE(rb.context.is_object());
  const Step& a = rb.steps[0];
  EXPECT_EQ(a.http.method, "GET");
  EXPECT_EQ(a.http.expect.status, 0);
  EXPECT_EQ(a.retry.attempts, 1);
  EXPECT_FALSE(a.timeout);
  EXPECT_EQ(rb.steps[1].channels, (std::vector<std::string>{"log"}));
  EXPECT_TRUE(rb.steps[1].is_idempotent());
  EXPECT_TRUE(r.diagnostics.empty()) << all(r);
}

TEST(Yaml, UnknownKeyIsAnErrorWithSuggestion) {
  auto d = one_error(R"(id: typo
start: a
steps:
  - id: a
    type: action
    builtin: noop
    on_sucess: a
)");
  EXPECT_EQ(d.line, 7);
  EXPECT_EQ(d.column, 5);
  EXPECT_EQ(d.field, "steps[0].on_sucess");
  EXPECT_NE(d.message.find("did you mean 'on_success'"), std::string::npos) << d.message;
  EXPECT_EQ(d.describe(),
            "rb.yaml:7:5: error: steps[0].on_sucess: unknown key 'on_sucess' "
            "(did you mean 'on_success'?)");
}

TEST(Yaml, UnknownTopLevelAndNestedKeys) {
  auto r = load_runbook_text(R"(id: typo
strat: a
steps:
  - id: a
    type: action
    http: {url: "http://x/", methd: GET}
    retry: {attempts: 2, backof: fixed}
)",
                             "rb.yaml");
  auto e = errors(r);
  ASSERT_EQ(e.size(), 4u) << all(r);
  // In file order; the missing start is reported at the top of the document, and the
  // misspelled keys where they are written: all errors in one pass.
  EXPECT_EQ(e[0].field, "start");
  EXPECT_EQ(e[0].line, 1);
  EXPECT_EQ(e[1].field, "strat");
  EXPECT_EQ(e[1].line, 2);
  EXPECT_EQ(e[1].column, 1);
  EXPECT_NE(e[1].message.find("did you mean 'start'"), std::string::npos);
  EXPECT_EQ(e[2].line, 6);
  EXPECT_EQ(e[2].column, 30);
  EXPECT_EQ(e[2].field, "steps[0].http.methd");
  EXPECT_NE(e[2].message.find("'method'"), std::string::npos);
  EXPECT_EQ(e[3].line, 7);
  EXPECT_EQ(e[3].field, "steps[0].retry.backof");
}

TEST(Yaml, BadDurationNamesTheField) {
  auto d = one_error(R"(id: dur
start: a
steps:
  - id: a
    type: action
    builtin: noop
    retry:
      attempts: 3
      delay: 5x
)");
  EXPECT_EQ(d.field, "steps[0].retry.delay");
  EXPECT_EQ(d.line, 9);
  EXPECT_EQ(d.column, 14);
  EXPECT_NE(d.message.find("5x"), std::string::npos);
}

TEST(Yaml, WrongTypesNameTheField) {
  auto r = load_runbook_text(R"(id: types
start: a
tags: critical
steps:
  - id: a
    type: action
    builtin: noop
    idempotent: maybe
    timeout: [1s]
    retry: {attempts: many}
)",
                             "rb.yaml");
  auto e = errors(r);
  ASSERT_EQ(e.size(), 4u) << all(r);
  EXPECT_EQ(e[0].field, "tags");
  EXPECT_EQ(e[0].line, 3);
  EXPECT_EQ(e[0].column, 7);
  EXPECT_EQ(e[1].field, "steps[0].idempotent");
  EXPECT_EQ(e[1].line, 8);
  EXPECT_EQ(e[1].column, 17);
  EXPECT_EQ(e[2].field, "steps[0].timeout");
  EXPECT_EQ(e[3].field, "steps[0].retry.attempts");
  EXPECT_NE(e[3].message.find("many"), std::string::npos);
}

TEST(Yaml, SyntaxErrorHasLineAndColumn) {
  auto r = load_runbook_text("id: x\nsteps:\n  - id: a\n    type: [action\n", "bad.yaml");
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_GT(r.diagnostics[0].line, 0);
  EXPECT_GT(r.diagnostics[0].column, 0);
  EXPECT_NE(r.diagnostics[0].message.find("YAML"), std::string::npos);
  EXPECT_TRUE(r.diagnostics[0].describe().starts_with(
      "bad.yaml:" + std::to_string(r.diagnostics[0].line) + ":"));
  auto tab = load_runbook_text("id: x\nsteps:\n  - id: a\n   bad: : :\n\t- x\n", "tab.yaml");
  ASSERT_FALSE(tab.ok());
  EXPECT_GT(tab.diagnostics[0].line, 0);
}

TEST(Yaml, NotAMappingAndStepsNotAList) {
  auto r = load_runbook_text("- a\n- b\n", "list.yaml");
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.diagnostics.size(), 1u);  // nothing else is checked on a non-runbook
  EXPECT_EQ(r.diagnostics[0].line, 1);
  EXPECT_NE(r.diagnostics[0].message.find("mapping"), std::string::npos);
  auto r2 = load_runbook_text("id: x\nsteps: 5\n", "five.yaml");
  ASSERT_FALSE(r2.ok());
  bool found = false;
  for (const auto& d : errors(r2)) {  // one message about steps, where it is written
    if (d.field != "steps") continue;
    EXPECT_EQ(d.line, 2);
    EXPECT_EQ(d.column, 8);
    EXPECT_NE(d.message.find("expected a list"), std::string::npos) << d.message;
    EXPECT_FALSE(found);
    found = true;
  }
  EXPECT_TRUE(found) << all(r2);
}

TEST(Yaml, MissingFileNamesThePath) {
  auto r = load_runbook_file("/nonexistent/dir/runbook.yaml");
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].file, "/nonexistent/dir/runbook.yaml");
  EXPECT_NE(r.diagnostics[0].describe().find("/nonexistent/dir/runbook.yaml"), std::string::npos);
}

TEST(Yaml, ExactlyOneExecutor) {
  auto two = one_error(R"(id: two
start: a
steps:
  - id: a
    type: action
    exec: [true]
    lua: "return 1"
)");
  EXPECT_EQ(two.line, 4);
  EXPECT_NE(two.message.find("exactly one executor"), std::string::npos) << two.message;
  auto none = one_error(R"(id: none
start: a
steps:
  - id: a
    type: check
)");
  EXPECT_EQ(none.line, 4);
  EXPECT_EQ(none.column, 5);
  EXPECT_NE(none.message.find("needs an executor"), std::string::npos) << none.message;
}

TEST(Yaml, DecisionNeedsLuaAndBranches) {
  auto r = load_runbook_text(R"(id: dec
start: d
steps:
  - id: d
    type: decision
    exec: [echo, hi]
)",
                             "rb.yaml");
  auto e = errors(r);
  ASSERT_EQ(e.size(), 2u) << all(r);
  EXPECT_NE(e[0].message.find("lua"), std::string::npos);
  EXPECT_NE(e[1].message.find("branches"), std::string::npos);
}

TEST(Yaml, KeysThatDoNotApplyToTheType) {
  auto d = one_error(R"(id: wrong
start: a
steps:
  - id: a
    type: check
    builtin: noop
    duration: 5s
)");
  EXPECT_EQ(d.field, "steps[0].duration");
  EXPECT_EQ(d.line, 7);
  EXPECT_EQ(d.column, 15);
  EXPECT_NE(d.message.find("wait"), std::string::npos) << d.message;
  EXPECT_NE(d.message.find("does not apply to a check"), std::string::npos) << d.message;
}

TEST(Yaml, UnknownTypeSuggestsAndDoesNotCascade) {
  auto d = one_error(R"(id: wrong
start: a
steps:
  - id: a
    type: actoin
)");
  EXPECT_EQ(d.field, "steps[0].type");
  EXPECT_EQ(d.line, 5);
  EXPECT_EQ(d.column, 11);
  EXPECT_NE(d.message.find("did you mean 'action'"), std::string::npos) << d.message;
}

TEST(Yaml, SeedUppercaseTypesAreAccepted) {
  auto r = load_runbook_text(R"(id: seed
start: a
steps:
  - id: a
    type: NOTIFICATION
    message: hello
)",
                             "rb.yaml");
  ASSERT_TRUE(r.ok()) << all(r);
  EXPECT_EQ(r.runbook->steps[0].type, StepType::Notify);
}

TEST(Yaml, NotifySeverityKeyAndEvent) {
  auto r = load_runbook_text(R"(id: n
start: a
steps:
  - id: a
    type: notify
    channels: [pagerduty]
    message: disk full on {{ ctx.host }}
    severity: P1
    key: disk-{{ ctx.host }}
    event: resolve
)",
                             "rb.yaml");
  ASSERT_TRUE(r.ok()) << all(r);
  const Step& s = r.runbook->steps[0];
  EXPECT_EQ(s.severity, "P1");
  EXPECT_EQ(s.notify_key, "disk-{{ ctx.host }}");
  EXPECT_EQ(s.event, "resolve");
  auto bad = one_error("id: n\nstart: a\nsteps:\n  - {id: a, type: notify, channels: [log], message: m, severity: P5}\n");
  EXPECT_NE(bad.message.find("P0, P1, P2 or info"), std::string::npos) << bad.message;
  EXPECT_EQ(bad.line, 4);
}

TEST(Yaml, InvalidIdPattern) {
  auto d = one_error("id: Bad_Id\nstart: a\nsteps:\n  - {id: a, type: action, builtin: noop}\n");
  EXPECT_EQ(d.field, "id");
  EXPECT_EQ(d.line, 1);
  EXPECT_EQ(d.column, 5);
}

TEST(Yaml, RetryFalseMeansOneTry) {
  auto r = load_runbook_text(
      "id: r\nstart: a\nsteps:\n  - {id: a, type: action, builtin: noop, retry: false}\n",
      "r.yaml");
  ASSERT_TRUE(r.ok()) << all(r);
  EXPECT_EQ(r.runbook->steps[0].retry.attempts, 1);
}

TEST(Yaml, HttpBodyStringIsKeptVerbatim) {
  auto r = load_runbook_text(R"(id: body
start: a
steps:
  - id: a
    type: action
    http: {method: PUT, url: "http://h/", body: "raw {{ ctx.x }}"}
)",
                             "rb.yaml");
  ASSERT_TRUE(r.ok()) << all(r);
  EXPECT_EQ(*r.runbook->steps[0].http.body, "raw {{ ctx.x }}");
  EXPECT_EQ(r.runbook->steps[0].http.method, "PUT");
}

TEST(Yaml, BadTemplateInArgvIsLocated) {
  auto d = one_error(R"(id: tpl
start: a
steps:
  - id: a
    type: action
    exec: ["echo", "{{ secrets.x }}"]
)");
  EXPECT_EQ(d.field, "steps[0].exec[1]");
  EXPECT_EQ(d.line, 6);
  EXPECT_EQ(d.column, 20);
  EXPECT_NE(d.message.find("secrets"), std::string::npos);
}

TEST(Yaml, DuplicateMappingKey) {
  auto d = one_error(R"(id: dup
start: a
steps:
  - id: a
    type: action
    builtin: noop
    on_success: a
    on_success: a
)");
  EXPECT_EQ(d.line, 8);
  EXPECT_NE(d.message.find("duplicate key"), std::string::npos);
}

}  // namespace
}  // namespace opsrun::model

namespace opsrun::model {
namespace {

TEST(YamlExtras, ShorthandsForHttpAndTarget) {
  auto r = load_runbook_text(R"(id: short
start: a
steps:
  - id: a
    type: check
    http: "http://127.0.0.1:9/health"
    target: web-1
)",
                             "rb.yaml");
  ASSERT_TRUE(r.ok());
  const Step& a = r.runbook->steps[0];
  EXPECT_EQ(a.executor, ExecutorKind::Http);
  EXPECT_EQ(a.http.url, "http://127.0.0.1:9/health");
  EXPECT_EQ(a.http.method, "GET");
  ASSERT_TRUE(a.target);
  EXPECT_EQ(a.target->name, "web-1");
}

TEST(YamlExtras, OptionsThatNeedTheirExecutor) {
  auto r = load_runbook_text(R"(id: opts
start: a
steps:
  - id: a
    type: action
    lua: "return 1"
    env: {A: b}
    with: {x: 1}
    on_success: l
  - id: l
    type: loop
    items: [1]
    items_from: ctx.list
    step: a
)",
                             "rb.yaml");
  ASSERT_FALSE(r.ok());
  std::vector<std::string> messages;
  for (const auto& d : r.diagnostics)
    if (d.severity == Diagnostic::Severity::Error) messages.push_back(d.message);
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_NE(messages[0].find("need an exec step"), std::string::npos) << messages[0];
  EXPECT_NE(messages[1].find("'with' needs 'builtin'"), std::string::npos) << messages[1];
  EXPECT_NE(messages[2].find("not both"), std::string::npos) << messages[2];
}

TEST(YamlExtras, EmptyAndScalarDocuments) {
  for (const char* text : {"", "just text", "42"}) {
    auto r = load_runbook_text(text, "x.yaml");
    ASSERT_FALSE(r.ok());
    ASSERT_EQ(r.diagnostics.size(), 1u) << text;
    EXPECT_EQ(r.diagnostics[0].line, 1) << text;
    EXPECT_NE(r.diagnostics[0].message.find("mapping"), std::string::npos);
  }
}

TEST(YamlExtras, LoadsFromFileWithSourceText) {
  const std::string path = ::testing::TempDir() + "/model_yaml_test_rb.yaml";
  const std::string text =
      "id: from-file\nstart: a\nsteps:\n  - {id: a, type: action, builtin: noop}\n";
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs(text.c_str(), f);
    std::fclose(f);
  }
  auto r = load_runbook_file(path);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.runbook->source_file, path);
  EXPECT_EQ(r.runbook->source_text, text);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace opsrun::model
