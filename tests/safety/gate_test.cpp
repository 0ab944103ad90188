// The decision point: a real engine asks a real Guard before every action, with real
// processes where an action's side effect must be seen (or not seen) on disk.
#include <fstream>

#include "opsrun/common/log.h"
#include "safety/safety_fixture.h"

namespace opsrun::testing {
namespace {

using model::ExecutionStatus;

int lines_in(const std::string& file) {
  std::ifstream in(file);
  int n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

const char* kProductionPolicy = R"(
protected_targets:
  - name: production
    match: {labels: {env: [production, prod]}}
    effect: deny
    reason: "production resources are off limits"
)";

TEST(SafetyGate, ProductionTargetIsDeniedAndTheExecutionTakesOnFailure) {
  SafetyHarness h(kProductionPolicy);
  const std::string marker = h.dir.file("deleted");
  auto rb = parse_runbook(R"(
id: cleanup
start: delete
steps:
  - id: delete
    type: action
    exec: ["sh", "-c", "echo gone >> {{ ctx.marker }}"]
    target: {name: "{{ ctx.vm }}", labels: {env: "{{ ctx.env }}"}}
    on_failure: report
  - id: report
    type: action
    builtin: noop
)");
  auto e = h.run(rb, JsonObject{{"marker", marker}, {"vm", "web-1"}, {"env", "Production"}});
  EXPECT_EQ(e.status, ExecutionStatus::Completed);  // on_failure handled it
  EXPECT_EQ(lines_in(marker), 0) << "the denied action ran";
  // The reason is in the step's result, and in errors/history.
  const auto& r = e.results.at("delete").as_object();
  EXPECT_EQ(r.at("status").as_string(), "failure");
  EXPECT_NE(std::string(r.at("error").as_string()).find("production resources are off limits"), std::string::npos);
  EXPECT_EQ(r.at("safety").at("decision").as_string(), "deny");
  EXPECT_EQ(r.at("safety").at("rule").as_string(), "protected_target:production");
  ASSERT_EQ(e.history.size(), 2u);
  EXPECT_EQ(e.history[1].step_id, "report");
  // Audited: one denial for delete (with the rendered target), one allow for report.
  auto decisions = h.recorder.of_kind("safety_decision");
  ASSERT_EQ(decisions.size(), 2u);
  EXPECT_EQ(decisions[0].step_id, "delete");
  EXPECT_EQ(decisions[0].decision, "deny");
  EXPECT_EQ(decisions[0].target, "web-1");
  EXPECT_EQ(decisions[0].execution_id, e.execution_id);
  EXPECT_NE(decisions[0].action.find("echo gone"), std::string::npos);
  EXPECT_EQ(decisions[1].decision, "allow");
  // A production target at risk is a P0 event.
  auto p0 = h.capture->wait_for(notify::Severity::P0);
  ASSERT_TRUE(p0);
  EXPECT_EQ(p0->step_id, "delete");
}

TEST(SafetyGate, DenialWithoutOnFailureBlocksTheExecution) {
  SafetyHarness h(kProductionPolicy);
  auto rb = parse_runbook(R"(
id: cleanup
start: delete
steps:
  - id: delete
    type: action
    builtin: noop
    target: {name: db-1, labels: {env: prod}}
)");
  auto e = h.run(rb);
  EXPECT_EQ(e.status, ExecutionStatus::Blocked);
  EXPECT_NE(e.attention_reason.find("off limits"), std::string::npos) << e.attention_reason;
  // The summary row says so too.
  auto row = h.store->execution(e.execution_id);
  ASSERT_TRUE(row && *row);
  EXPECT_EQ((*row)->status, "blocked");
}

TEST(SafetyGate, UnprotectedTargetsRunAndEveryDecisionIsAuditedBeforeTheAction) {
  SafetyHarness h(kProductionPolicy);
  const std::string marker = h.dir.file("ran");
  auto rb = parse_runbook(R"(
id: cleanup
start: delete
steps:
  - id: delete
    type: action
    exec: ["sh", "-c", "echo ran >> {{ ctx.marker }}"]
    target: {name: dev-1, labels: {env: staging}}
)");
  auto e = h.run(rb, JsonObject{{"marker", marker}});
  EXPECT_EQ(e.status, ExecutionStatus::Completed);
  EXPECT_EQ(lines_in(marker), 1);
  // The history has the decision before the attempt started.
  auto events = h.store->events(e.execution_id);
  ASSERT_TRUE(events);
  int decision_at = -1, started_at = -1;
  for (std::size_t i = 0; i < events->size(); ++i) {
    if ((*events)[i].type == "safety_decision" && decision_at < 0) decision_at = static_cast<int>(i);
    if ((*events)[i].type == "attempt_started" && started_at < 0) started_at = static_cast<int>(i);
  }
  ASSERT_GE(decision_at, 0);
  EXPECT_LT(decision_at, started_at);
  EXPECT_EQ(h.recorder.of_kind("safety_decision").size(), 1u);
}

TEST(SafetyGate, ALoopDeleting50ResourcesStopsAtTheRateLimit) {
  SafetyHarness h(R"(
rate_limits:
  - name: deletions
    per: target_class
    target_classes: [volume]
    max: 10
    window: 1h
)");
  const std::string marker = h.dir.file("deleted");
  JsonArray volumes;
  for (int i = 0; i < 50; ++i) volumes.emplace_back("vol-" + std::to_string(i));
  auto rb = parse_runbook(R"(
id: mass-delete
start: each
steps:
  - id: each
    type: loop
    items_from: ctx.volumes
    step: delete
  - id: delete
    type: action
    exec: ["sh", "-c", "echo {{ item }} >> {{ ctx.marker }}"]
    target: {name: "{{ item }}", class: volume}
)");
  auto e = h.run(rb, JsonObject{{"volumes", volumes}, {"marker", h.dir.file("deleted")}});
  EXPECT_EQ(e.status, ExecutionStatus::Blocked);
  EXPECT_EQ(lines_in(marker), 10) << "more deletions than the limit allows ran";
  EXPECT_NE(e.attention_reason.find("rate limit deletions reached"), std::string::npos) << e.attention_reason;
  auto decisions = h.recorder.of_kind("safety_decision");
  ASSERT_EQ(decisions.size(), 11u);
  EXPECT_EQ(decisions.back().decision, "deny");
  EXPECT_EQ(decisions.back().target, "vol-10");
  // The limit binds across executions of the window too: another run is denied at once.
  auto again = h.run(rb, JsonObject{{"volumes", JsonArray{"vol-x"}}, {"marker", marker}});
  EXPECT_EQ(again.status, ExecutionStatus::Blocked);
  EXPECT_EQ(lines_in(marker), 10);
  // An hour later the window has room again.
  dynamic_cast<FakeClock&>(*h.clock).advance(std::chrono::minutes(61));
  auto later = h.run(rb, JsonObject{{"volumes", JsonArray{"vol-y"}}, {"marker", marker}});
  EXPECT_EQ(later.status, ExecutionStatus::Completed);
  EXPECT_EQ(lines_in(marker), 11);
}

TEST(SafetyGate, PerRunbookLimitCountsOnlyThatRunbook) {
  SafetyHarness h(R"(
rate_limits:
  - {name: restarts, per: runbook, runbooks: ["restart-*"], max: 2, window: 10m}
)");
  auto restart = parse_runbook("id: restart-web\nstart: go\nsteps:\n  - {id: go, type: action, builtin: noop}\n");
  auto other = parse_runbook("id: scale-web\nstart: go\nsteps:\n  - {id: go, type: action, builtin: noop}\n");
  EXPECT_EQ(h.run(restart).status, ExecutionStatus::Completed);
  EXPECT_EQ(h.run(restart).status, ExecutionStatus::Completed);
  EXPECT_EQ(h.run(restart).status, ExecutionStatus::Blocked);
  EXPECT_EQ(h.run(other).status, ExecutionStatus::Completed);
}

TEST(SafetyGate, HighRiskActionWaitsForApprovalThenRuns) {
  SafetyHarness h("risk: {require_approval: [high]}\n");
  const std::string marker = h.dir.file("ran");
  auto rb = parse_runbook(R"(
id: resize
start: resize
steps:
  - id: resize
    type: action
    risk: high
    exec: ["sh", "-c", "echo ran >> {{ ctx.marker }}"]
)");
  auto id = h.engine->start(rb, JsonObject{{"marker", marker}});
  ASSERT_TRUE(id);
  auto waiting = h.engine->wait(*id, Millis(10'000));
  ASSERT_TRUE(waiting);
  EXPECT_EQ(waiting->status, ExecutionStatus::Waiting);
  EXPECT_EQ(lines_in(marker), 0);
  ASSERT_TRUE(h.engine->approve(*id, true, "token:alice", "ok, maintenance"));
  auto done = h.engine->wait(*id, Millis(10'000));
  ASSERT_TRUE(done);
  EXPECT_EQ(done->status, ExecutionStatus::Completed);
  EXPECT_EQ(lines_in(marker), 1);
  auto decisions = h.recorder.of_kind("safety_decision");
  ASSERT_EQ(decisions.size(), 2u);
  EXPECT_EQ(decisions[0].decision, "needs_approval");
  EXPECT_EQ(decisions[1].decision, "allow");
  EXPECT_EQ(decisions[1].reason, "approved");
  EXPECT_TRUE(h.capture->wait_for(notify::Severity::P2));
}

TEST(SafetyGate, RejectedApprovalBlocks) {
  SafetyHarness h("risk: {require_approval: [high]}\n");
  auto rb = parse_runbook("id: resize\nstart: go\nsteps:\n  - {id: go, type: action, risk: high, builtin: noop}\n");
  auto id = h.engine->start(rb, JsonObject{});
  ASSERT_TRUE(id);
  ASSERT_TRUE(h.engine->wait(*id, Millis(10'000)));
  ASSERT_TRUE(h.engine->approve(*id, false, "token:bob", "not now"));
  auto done = h.engine->wait(*id, Millis(10'000));
  ASSERT_TRUE(done);
  EXPECT_EQ(done->status, ExecutionStatus::Blocked);
  EXPECT_NE(done->attention_reason.find("rejected by token:bob: not now"), std::string::npos);
}

TEST(SafetyGate, ForcedDryRunDescribesInsteadOfActing) {
  SafetyHarness h("forced_dry_run: [\"cleanup-*\"]\n");
  const std::string marker = h.dir.file("ran");
  auto rb = parse_runbook(R"(
id: cleanup-volumes
start: delete
steps:
  - id: delete
    type: action
    exec: ["sh", "-c", "echo ran >> {{ ctx.marker }}"]
)");
  auto e = h.run(rb, JsonObject{{"marker", marker}});
  EXPECT_EQ(e.status, ExecutionStatus::Completed);
  EXPECT_TRUE(e.dry_run);
  EXPECT_EQ(lines_in(marker), 0);
  EXPECT_TRUE(e.results.at("delete").at("dryRun").as_bool());
}

TEST(SafetyGate, ConcurrencyLimitRejectsOrQueues) {
  SafetyHarness h(R"(
concurrency:
  - {runbooks: [one-at-a-time], max: 1, excess: reject}
  - {runbooks: [queued], max: 1, excess: queue}
)");
  auto gated = [](const std::string& id) {
    return parse_runbook("id: " + id + "\nstart: ask\nsteps:\n  - {id: ask, type: approval, on_success: go}\n"
                         "  - {id: go, type: action, builtin: noop}\n");
  };
  auto first = h.engine->start(gated("one-at-a-time"), JsonObject{});
  ASSERT_TRUE(first);
  auto second = h.engine->start(gated("one-at-a-time"), JsonObject{});
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::Unavailable);
  EXPECT_NE(second.error().message.find("limit 1"), std::string::npos);

  auto q1 = h.engine->start(gated("queued"), JsonObject{});
  auto q2 = h.engine->start(gated("queued"), JsonObject{});
  ASSERT_TRUE(q1 && q2);
  ASSERT_TRUE(h.engine->wait(*q1, Millis(10'000)));
  EXPECT_EQ(h.engine->get(*q2)->status, ExecutionStatus::Pending);
  ASSERT_TRUE(h.engine->approve(*q1, true, "t"));
  EXPECT_EQ(h.engine->wait(*q1, Millis(10'000))->status, ExecutionStatus::Completed);
  // q1 ended: q2 starts and reaches its approval.
  auto w = h.engine->wait(*q2, Millis(10'000));
  ASSERT_TRUE(w);
  EXPECT_EQ(w->status, ExecutionStatus::Waiting);
}

TEST(SafetyGate, ADecisionThatCannotBeAuditedIsADenial) {
  SafetyHarness h("");
  h.recorder.set_failing(true);
  auto rb = parse_runbook("id: rb\nstart: go\nsteps:\n  - {id: go, type: action, builtin: noop}\n");
  auto e = h.run(rb);
  EXPECT_EQ(e.status, ExecutionStatus::Blocked);
  EXPECT_NE(e.attention_reason.find("could not be audited"), std::string::npos) << e.attention_reason;
}

TEST(SafetyGate, OneTurnsDecisionsAreAuditedInOneWrite) {
  SafetyHarness h("");
  auto rb = parse_runbook(R"(
id: fan
start: all
steps:
  - {id: all, type: parallel, steps: [a, b, c, d]}
  - {id: a, type: action, builtin: noop}
  - {id: b, type: action, builtin: noop}
  - {id: c, type: action, builtin: noop}
  - {id: d, type: action, builtin: noop}
)");
  auto e = h.run(rb);
  EXPECT_EQ(e.status, ExecutionStatus::Completed);
  const auto decisions = h.recorder.of_kind("safety_decision");
  ASSERT_EQ(decisions.size(), 4u);
  // The four branches start in one turn: their decisions share one durable write, and the
  // four outcomes (no-ops end at once, in one turn) another.
  EXPECT_EQ(h.recorder.batches(), (std::vector<std::size_t>{4, 4}));
  for (const auto& d : decisions) EXPECT_EQ(d.decision, "allow");
  const auto outcomes = h.recorder.of_kind("action");
  ASSERT_EQ(outcomes.size(), 4u);
  for (const auto& o : outcomes) EXPECT_EQ(o.outcome, "succeeded");
}

TEST(SafetyGate, ChecksAndNotificationsDoNotPassTheGate) {
  SafetyHarness h(kProductionPolicy);
  auto rb = parse_runbook(R"(
id: look
start: probe
steps:
  - id: probe
    type: check
    builtin: noop
    target: {name: db-1, labels: {env: prod}}
    on_success: tell
  - id: tell
    type: notify
    message: hello
)");
  auto e = h.run(rb);
  EXPECT_EQ(e.status, ExecutionStatus::Completed);
  EXPECT_TRUE(h.recorder.of_kind("safety_decision").empty());
}

TEST(SafetyGate, ASecretFromTheConfigIsInNoDecisionRecordLogOrNotification) {
  const std::string secret = "s3cr3t-" + random_hex(8);
  log::add_secret(secret);
  SafetyHarness h(kProductionPolicy);
  auto rb = parse_runbook(R"(
id: rotate
start: push
steps:
  - id: push
    type: action
    exec: ["sh", "-c", "echo {{ ctx.password }} > /dev/null"]
    target: {name: "db-{{ ctx.password }}", labels: {env: prod}}
    on_failure: again
  - id: again
    type: action
    exec: ["sh", "-c", "echo {{ ctx.password }} > /dev/null"]
)");
  ::testing::internal::CaptureStderr();
  auto e = h.run(rb, JsonObject{{"password", secret}});
  h.capture->wait_for(notify::Severity::P0);
  const std::string logged = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(e.status, ExecutionStatus::Completed);
  EXPECT_EQ(logged.find(secret), std::string::npos) << logged;
  auto decisions = h.recorder.of_kind("safety_decision");
  ASSERT_EQ(decisions.size(), 2u);
  for (const auto& d : decisions) {
    const std::string all = d.actor + d.target + d.action + d.reason + to_json_text(d.details);
    EXPECT_EQ(all.find(secret), std::string::npos) << all;
  }
  for (const auto& n : h.capture->sent())
    EXPECT_EQ((n.message + to_json_text(n.details)).find(secret), std::string::npos) << n.message;
}

TEST(SafetyGate, ReplayRebuildsTheSameRecordWithoutAGate) {
  SafetyHarness h(kProductionPolicy);
  auto rb = parse_runbook(R"(
id: cleanup
start: delete
steps:
  - id: delete
    type: action
    builtin: noop
    target: {name: db-1, labels: {env: prod}}
    on_failure: report
  - id: report
    type: action
    builtin: noop
)");
  auto e = h.run(rb);
  h.engine->stop();  // every record durable
  auto rebuilt = engine::rebuild_from_store(*h.store, e.execution_id, nullptr);
  ASSERT_TRUE(rebuilt) << rebuilt.error().describe();
  EXPECT_EQ(rebuilt->status, e.status);
  EXPECT_EQ(to_json_text(model::execution_to_json(*rebuilt)), to_json_text(model::execution_to_json(e)));
}

}  // namespace
}  // namespace opsrun::testing
