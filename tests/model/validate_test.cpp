// Semantic validation, on YAML (with exact places) and on runbooks made in C++ (no places).
#include <gtest/gtest.h>

#include "opsrun/model/runbook_yaml.h"

namespace opsrun::model {
namespace {

using Sev = Diagnostic::Severity;

std::string all(const std::vector<Diagnostic>& ds) {
  std::string s;
  for (const auto& d : ds) s += d.describe() + "\n";
  return s;
}

std::vector<Diagnostic> load(const std::string& yaml) {
  return load_runbook_text(yaml, "v.yaml").diagnostics;
}

std::vector<Diagnostic> only(const std::vector<Diagnostic>& ds, Sev sev) {
  std::vector<Diagnostic> out;
  for (const auto& d : ds)
    if (d.severity == sev) out.push_back(d);
  return out;
}

TEST(Validate, UnknownStartPointsAtItsValue) {
  auto ds =
      load("id: bad\nstart: nowhere\nsteps:\n  - id: a\n    type: action\n    builtin: noop\n");
  auto e = only(ds, Sev::Error);
  ASSERT_EQ(e.size(), 1u) << all(ds);
  EXPECT_EQ(e[0].field, "start");
  EXPECT_EQ(e[0].line, 2);
  EXPECT_EQ(e[0].column, 8);
  EXPECT_EQ(e[0].describe(), "v.yaml:2:8: error: start: unknown step 'nowhere'");
}

TEST(Validate, MissingStart) {
  auto e =
      only(load("id: nostart\nsteps:\n  - {id: a, type: action, builtin: noop}\n"), Sev::Error);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].field, "start");
  EXPECT_NE(e[0].message.find("missing"), std::string::npos);
}

TEST(Validate, DuplicateIds) {
  auto ds = load(R"(id: dup
start: a
steps:
  - id: a
    type: action
    builtin: noop
  - id: a
    type: action
    builtin: noop
)");
  auto e = only(ds, Sev::Error);
  ASSERT_EQ(e.size(), 1u) << all(ds);
  EXPECT_EQ(e[0].field, "steps[1].id");
  EXPECT_EQ(e[0].line, 7);
  EXPECT_EQ(e[0].column, 9);
  EXPECT_NE(e[0].message.find("first defined on line 4"), std::string::npos) << e[0].message;
}

TEST(Validate, UnknownReferencesEverywhere) {
  auto ds = load(R"(id: refs
start: a
steps:
  - id: a
    type: action
    builtin: noop
    on_success: verfy
    on_failure: ghost
  - id: verify
    type: decision
    lua: "return 'x'"
    branches: {x: nope}
    on_success: p
  - id: p
    type: parallel
    steps: [verify-x]
  - id: l
    type: loop
    items: [1]
    step: missing-body
)");
  auto e = only(ds, Sev::Error);
  ASSERT_EQ(e.size(), 5u) << all(ds);
  EXPECT_EQ(e[0].field, "steps[0].on_success");
  EXPECT_EQ(e[0].line, 7);
  EXPECT_EQ(e[0].column, 17);
  EXPECT_NE(e[0].message.find("did you mean 'verify'"), std::string::npos);
  EXPECT_EQ(e[1].field, "steps[0].on_failure");
  EXPECT_EQ(e[1].line, 8);
  EXPECT_EQ(e[2].field, "steps[1].branches.x");
  EXPECT_EQ(e[2].line, 12);
  EXPECT_EQ(e[2].column, 19);
  EXPECT_EQ(e[3].field, "steps[2].steps[0]");
  EXPECT_EQ(e[3].line, 16);
  EXPECT_EQ(e[3].column, 13);
  EXPECT_EQ(e[4].field, "steps[3].step");
  EXPECT_EQ(e[4].line, 20);
  EXPECT_EQ(e[4].column, 11);
}

TEST(Validate, UnreachableIsAWarningOnly) {
  auto r = load_runbook_text(R"(id: unreach
start: a
steps:
  - id: a
    type: action
    builtin: noop
  - id: orphan
    type: action
    builtin: noop
)",
                             "v.yaml");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].severity, Sev::Warning);
  EXPECT_EQ(r.diagnostics[0].line, 7);
  EXPECT_EQ(r.diagnostics[0].column, 5);
  EXPECT_NE(r.diagnostics[0].message.find("unreachable"), std::string::npos);
  EXPECT_TRUE(r.diagnostics[0].describe().starts_with("v.yaml:7:5: warning: "));
}

TEST(Validate, LoopOverNonListLiteral) {
  auto e = only(load(R"(id: loop
start: l
steps:
  - id: l
    type: loop
    items: {a: 1}
    step: body
    concurrency: 0
  - id: body
    type: action
    builtin: noop
)"),
                Sev::Error);
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].field, "steps[0].items");
  EXPECT_EQ(e[0].line, 6);
  EXPECT_EQ(e[0].column, 12);
  EXPECT_EQ(e[1].field, "steps[0].concurrency");
  EXPECT_EQ(e[1].line, 8);
}

TEST(Validate, LoopNeedsItems) {
  auto e = only(load("id: l\nstart: l\nsteps:\n  - {id: l, type: loop, step: b}\n"
                     "  - {id: b, type: action, builtin: noop}\n"),
                Sev::Error);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_NE(e[0].message.find("items"), std::string::npos);
}

TEST(Validate, BodiesMustBeLeavesAndTheirTransitionsWarn) {
  auto ds = load(R"(id: bodies
start: p
steps:
  - id: p
    type: parallel
    steps: [inner, leaf]
    min_success: 3
  - id: inner
    type: parallel
    steps: [leaf]
  - id: leaf
    type: action
    builtin: noop
    on_success: p
)");
  auto e = only(ds, Sev::Error);
  ASSERT_EQ(e.size(), 2u) << all(ds);
  EXPECT_EQ(e[0].field, "steps[0].steps[0]");
  EXPECT_NE(e[0].message.find("branch bodies must be"), std::string::npos);
  EXPECT_EQ(e[1].field, "steps[0].min_success");
  EXPECT_EQ(e[1].line, 7);
  EXPECT_EQ(e[1].column, 18);
  EXPECT_NE(e[1].message.find("between 1 and 2"), std::string::npos);
  auto w = only(ds, Sev::Warning);
  ASSERT_EQ(w.size(), 2u) << all(ds);  // leaf's transitions, from p and from inner
  EXPECT_NE(w[0].message.find("not followed"), std::string::npos);
}

TEST(Validate, RetryAttemptsAtLeastOne) {
  auto e = only(load("id: r\nstart: a\nsteps:\n  - id: a\n    type: action\n    builtin: noop\n"
                     "    retry: {attempts: 0}\n"),
                Sev::Error);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].field, "steps[0].retry.attempts");
  EXPECT_EQ(e[0].line, 7);
  EXPECT_EQ(e[0].column, 23);
}

TEST(Validate, TemplatesCheckedInEveryTemplatedField) {
  auto ds = load(R"(id: tpl
start: a
steps:
  - id: a
    type: action
    exec: ["ok", "{{ ctx.a"]
    env: {X: "{{ nope.y }}"}
    target: {name: "{{ }}", labels: {l: "{{ ctx.ok }}"}}
    on_success: h
  - id: h
    type: action
    http:
      url: "{{ bad root }}"
      headers: {H: "{{ ctx.x.y }}"}
      body: {text: "{{ weird }}"}
    on_success: n
  - id: n
    type: notify
    message: "{{ results.a.stdout }} and {{ item.x } }"
)");
  auto e = only(ds, Sev::Error);
  std::vector<std::string> fields;
  for (const auto& d : e) fields.push_back(d.field);
  EXPECT_EQ(fields, (std::vector<std::string>{"steps[0].exec[1]", "steps[0].env.X",
                                              "steps[0].target.name", "steps[1].http.url",
                                              "steps[1].http.body", "steps[2].message"}))
      << all(ds);
}

// Runbooks made in C++: same checks, no line:column in the text.
TEST(Validate, CppRunbookWithoutMarks) {
  Runbook rb;
  rb.id = "cpp";
  rb.start = "a";
  Step a;
  a.id = "a";
  a.type = StepType::Check;
  a.executor = ExecutorKind::Native;
  a.native = [](NativeScope&) -> Result<Json> { return Json(true); };
  a.on_success = "b";
  rb.steps.push_back(a);
  auto ds = validate_runbook(rb);
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].line, 0);
  EXPECT_EQ(ds[0].describe(), "error: steps[0].on_success: unknown step 'b' (step 'a')");
  rb.steps[0].on_success.clear();
  EXPECT_TRUE(validate_runbook(rb).empty()) << all(validate_runbook(rb));
}

TEST(Validate, DecisionWithoutBranchesAndEmptyTarget) {
  Runbook rb;
  rb.id = "d";
  rb.start = "d";
  Step d;
  d.id = "d";
  d.type = StepType::Decision;
  d.executor = ExecutorKind::Native;
  d.native = [](NativeScope&) -> Result<Json> { return Json("x"); };
  rb.steps.push_back(d);
  auto ds = validate_runbook(rb);
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_NE(ds[0].message.find("needs branches"), std::string::npos);
  rb.steps[0].branches["x"] = "";
  ds = validate_runbook(rb);
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].field, "steps[0].branches.x");
  EXPECT_NE(ds[0].message.find("names no step"), std::string::npos);
}

TEST(Validate, SaveAsIsOneContextKey) {
  auto e = only(load("id: s\nstart: a\nsteps:\n  - id: a\n    type: action\n    builtin: noop\n"
                     "    save_as: a.b\n"),
                Sev::Error);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].field, "steps[0].save_as");
  EXPECT_EQ(e[0].line, 7);
  EXPECT_EQ(e[0].column, 14);
}

TEST(Validate, EmptyRunbook) {
  Runbook rb;
  auto ds = validate_runbook(rb);
  std::vector<std::string> fields;
  for (const auto& d : ds) fields.push_back(d.field);
  EXPECT_EQ(fields, (std::vector<std::string>{"id", "steps", "start"}));
}

}  // namespace
}  // namespace opsrun::model
