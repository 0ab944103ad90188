// The engine shell with real executors: real processes, real time where it matters, and a
// simulated clock where it does not.
#include <signal.h>

#include <fstream>
#include <thread>

#include "engine/engine_fixture.h"

namespace opsrun::testing {
namespace {

using model::ExecutionStatus;

TEST(Engine, HourLongWaitAndBackoffsRunInstantlyOnTheSimulatedClock) {
  EngineHarness h(/*simulated=*/true);
  auto rb = parse_runbook(R"(
id: slow-on-paper
start: pause
steps:
  - id: pause
    type: wait
    duration: 1h
    on_success: flaky
  - id: flaky
    type: action
    builtin: fail
    with: {message: "still broken"}
    retry: {attempts: 3, backoff: exponential, delay: 10s, jitter: 0}
    on_failure: give-up
  - id: give-up
    type: action
    builtin: noop
)");
  const auto t0 = h.clock->now();
  const auto real0 = std::chrono::steady_clock::now();
  auto e = h.run(rb);
  EXPECT_EQ(e.status, ExecutionStatus::Completed);
  // 1h wait + 10s + 20s of backoff passed on the simulated clock...
  EXPECT_EQ(std::chrono::duration_cast<Millis>(*e.end_time - t0), Millis(3'600'000 + 30'000));
  // ...in well under a second of real time.
  EXPECT_LT(std::chrono::steady_clock::now() - real0, std::chrono::seconds(5));
  ASSERT_GE(e.history.size(), 3u);
  EXPECT_EQ(e.history[1].step_id, "flaky");
  EXPECT_EQ(e.history[1].attempts, 3);
}

TEST(Engine, SleepBuiltinAndStepTimeoutUseTheSimulatedClock) {
  EngineHarness h(true);
  auto rb = parse_runbook(R"(
id: sleepy
start: nap
steps:
  - id: nap
    type: action
    builtin: sleep
    with: {duration: 10m}
    timeout: 1m
    on_failure: after
  - id: after
    type: action
    builtin: noop
)");
  const auto t0 = h.clock->now();
  auto e = h.run(rb);
  EXPECT_EQ(e.status, ExecutionStatus::Completed);
  ASSERT_FALSE(e.errors.empty());
  EXPECT_EQ(e.errors[0].step, "nap");
  EXPECT_EQ(std::chrono::duration_cast<Millis>(e.history[0].end_time - t0), Millis(60'000));
}

TEST(Engine, TimeoutKillsTheChildAndItsGrandchildren) {
  TempDir dir;
  EngineHarness h(false);
  const std::string pidfile = dir.file("grandchild.pid");
  auto rb = parse_runbook(R"(
id: hangs
start: hang
steps:
  - id: hang
    type: action
    exec: ["sh", "-c", "sleep 30 & echo $! > {{ ctx.pidfile }}; sleep 30"]
    timeout: 300ms
)");
  const auto real0 = std::chrono::steady_clock::now();
  auto e = h.run(rb, JsonObject{{"pidfile", pidfile}});
  EXPECT_EQ(e.status, ExecutionStatus::Failed);
  EXPECT_LT(std::chrono::steady_clock::now() - real0, std::chrono::seconds(10));
  std::ifstream in(pidfile);
  pid_t grandchild = 0;
  in >> grandchild;
  ASSERT_GT(grandchild, 0);
  bool gone = false;
  // Gone, or a zombie waiting for init to reap it (a killed process that no longer runs).
  auto dead = [](pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string pid_field, comm, state;
    if (!(stat >> pid_field >> comm >> state)) return true;
    return state == "Z" || state == "X";
  };
  for (int i = 0; i < 100 && !gone; ++i) {
    gone = dead(grandchild);
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(gone) << "grandchild " << grandchild << " survived the timeout";
  EXPECT_NE(e.errors.at(0).error.find("timed out"), std::string::npos) << e.errors.at(0).error;
}

TEST(Engine, ParallelBranchesReallyOverlap) {
  EngineHarness h(false);
  auto rb = parse_runbook(R"(
id: fan-out
start: all
steps:
  - id: all
    type: parallel
    steps: [a, b, c]
  - id: a
    type: action
    exec: ["sleep", "0.5"]
  - id: b
    type: action
    exec: ["sleep", "0.5"]
  - id: c
    type: action
    exec: ["sleep", "0.5"]
)");
  const auto real0 = std::chrono::steady_clock::now();
  auto e = h.run(rb);
  const auto took = std::chrono::steady_clock::now() - real0;
  EXPECT_EQ(e.status, ExecutionStatus::Completed);
  EXPECT_LT(took, std::chrono::milliseconds(1400)) << "three 0.5 s branches ran one after another";
  // Every branch started before any branch ended.
  SystemTime latest_start{}, earliest_end = SystemTime::max();
  for (const auto& hst : e.history) {
    if (hst.step_id == "all") continue;
    latest_start = std::max(latest_start, hst.start_time);
    earliest_end = std::min(earliest_end, hst.end_time);
  }
  EXPECT_LT(latest_start, earliest_end);
}

TEST(Engine, LoopWithConcurrencyRunsItemsTwoAtATime) {
  EngineHarness h(false);
  auto rb = parse_runbook(R"(
id: queues
start: each
steps:
  - id: each
    type: loop
    items_from: ctx.queues
    step: drain
    concurrency: 2
  - id: drain
    type: action
    exec: ["sh", "-c", "sleep 0.3; echo drained $0", "{{ item }}"]
)");
  const auto real0 = std::chrono::steady_clock::now();
  auto e = h.run(rb, JsonObject{{"queues", JsonArray{"q1", "q2", "q3", "q4"}}});
  const auto took = std::chrono::steady_clock::now() - real0;
  EXPECT_EQ(e.status, ExecutionStatus::Completed);
  EXPECT_GE(took, std::chrono::milliseconds(550));   // not all four at once
  EXPECT_LT(took, std::chrono::milliseconds(1150));  // not one by one
  const auto& items = e.results.at("each").at("items").as_array();
  ASSERT_EQ(items.size(), 4u);
  EXPECT_NE(std::string(items[2].at("stdout").as_string()).find("drained q3"), std::string::npos);
}

TEST(Engine, ContextValuesNeverReachAShell) {
  TempDir dir;
  EngineHarness h(false);
  const std::string victim = dir.file("pwned");
  auto rb = parse_runbook(R"(
id: echo
start: say
steps:
  - id: say
    type: action
    exec: ["echo", "{{ ctx.name }}", "{{ ctx.other }}"]
)");
  const std::string evil = "x; touch " + victim;
  const std::string evil2 = "$(touch " + victim + ")";
  auto e = h.run(rb, JsonObject{{"name", evil}, {"other", evil2}});
  EXPECT_EQ(e.status, ExecutionStatus::Completed);
  EXPECT_FALSE(std::filesystem::exists(victim));
  EXPECT_EQ(std::string(e.results.at("say").at("stdout").as_string()), evil + " " + evil2 + "\n");
}

TEST(Engine, DryRunPerformsNoAction) {
  TempDir dir;
  EngineHarness h(false);
  const std::string marker = dir.file("created");
  auto rb = parse_runbook(R"(
id: dry
start: look
steps:
  - id: look
    type: check
    exec: ["true"]
    on_success: touch
  - id: touch
    type: action
    exec: ["touch", "{{ ctx.marker }}"]
)");
  engine::StartOptions o;
  o.dry_run = true;
  auto e = h.run(rb, JsonObject{{"marker", marker}}, o);
  EXPECT_EQ(e.status, ExecutionStatus::Completed);
  EXPECT_FALSE(std::filesystem::exists(marker));
  const auto& would = e.results.at("touch").at("wouldRun");
  EXPECT_NE(to_json_text(would).find(marker), std::string::npos);
  EXPECT_EQ(e.results.at("look").at("status").as_string(), "success");  // the check did run
}

TEST(Engine, SimulatedFailureTakesOnFailureWithoutRunning) {
  TempDir dir;
  EngineHarness h(false);
  const std::string marker = dir.file("ran");
  auto rb = parse_runbook(R"(
id: sim
start: act
steps:
  - id: act
    type: action
    exec: ["touch", "{{ ctx.marker }}"]
    on_failure: recover
  - id: recover
    type: action
    builtin: noop
)");
  engine::StartOptions o;
  o.simulate_failures = {"act"};
  auto e = h.run(rb, JsonObject{{"marker", marker}}, o);
  EXPECT_EQ(e.status, ExecutionStatus::Completed);
  EXPECT_FALSE(std::filesystem::exists(marker));
  ASSERT_EQ(e.history.size(), 2u);
  EXPECT_EQ(e.history[1].step_id, "recover");
  EXPECT_EQ(e.errors.at(0).error, "simulated failure");
}

TEST(Engine, LuaDecisionReadsContextAndBranches) {
  EngineHarness h(true);
  auto rb = parse_runbook(R"(
id: load
start: evaluate
steps:
  - id: evaluate
    type: decision
    lua: |
      ctx.seen = true
      if ctx.load > 0.9 then return "critical" end
      return "normal"
    branches: {critical: scale, normal: monitor}
  - id: scale
    type: action
    builtin: noop
  - id: monitor
    type: action
    builtin: noop
)");
  auto e = h.run(rb, JsonObject{{"load", 0.95}});
  EXPECT_EQ(e.status, ExecutionStatus::Completed);
  EXPECT_EQ(e.history.back().step_id, "scale");
  EXPECT_TRUE(e.context.at("seen").as_bool());
}

TEST(Engine, EventBusCarriesTheSeedsEventNamesInOrder) {
  EngineHarness h(true);
  std::vector<std::string> names;
  std::mutex mu;
  h.engine->bus().on("*", [&](const engine::BusEvent& ev) {
    std::lock_guard g(mu);
    names.push_back(ev.name);
  });
  auto rb = parse_runbook(R"(
id: events
start: a
steps:
  - id: a
    type: action
    builtin: fail
    retry: {attempts: 2, delay: 1s}
    on_failure: tell
  - id: tell
    type: notify
    channels: [log]
    message: "a failed"
)");
  ASSERT_TRUE(h.engine->add_runbook(rb));
  auto e = h.run(rb);
  EXPECT_EQ(e.status, ExecutionStatus::Completed);
  std::lock_guard g(mu);
  const std::vector<std::string> expected = {
      "runbook:registered", "execution:started", "step:started", "step:retrying", "step:started",
      "step:failed",        "step:started",      "step:completed", "notification:sent",
      "execution:completed"};
  EXPECT_EQ(names, expected);
}

TEST(Engine, CancelTerminatesARunningProcessAtOnce) {
  EngineHarness h(false);
  auto rb = parse_runbook(R"(
id: long
start: sleep
steps:
  - id: sleep
    type: action
    exec: ["sleep", "30"]
)");
  auto id = h.engine->start(rb, JsonObject{});
  ASSERT_TRUE(id);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const auto real0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(h.engine->cancel(*id, "tester"));
  auto e = h.engine->wait(*id, Millis(10'000));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->status, ExecutionStatus::Cancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - real0, std::chrono::seconds(3));
  EXPECT_FALSE(h.engine->cancel(*id, "tester"));  // already finished: a Conflict, not a crash
}

TEST(Engine, ApprovalWaitsForAPerson) {
  EngineHarness h(false);
  auto rb = parse_runbook(R"(
id: gated
start: ask
steps:
  - id: ask
    type: approval
    message: "Promote?"
    on_success: promote
    on_failure: rollback
  - id: promote
    type: action
    builtin: noop
  - id: rollback
    type: action
    builtin: noop
)");
  auto id = h.engine->start(rb, JsonObject{});
  ASSERT_TRUE(id);
  auto waiting = h.engine->wait(*id, Millis(5000));
  ASSERT_TRUE(waiting);
  EXPECT_EQ(waiting->status, ExecutionStatus::Waiting);
  ASSERT_TRUE(h.engine->approve(*id, false, "dave", "not today"));
  auto e = h.engine->wait(*id, Millis(5000));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->status, ExecutionStatus::Completed);
  EXPECT_EQ(e->history.back().step_id, "rollback");
  EXPECT_EQ(e->results.at("ask").at("by").as_string(), "dave");
}

}  // namespace
}  // namespace opsrun::testing

namespace opsrun::testing {
namespace {

TEST(Engine, FluentBuilderRunbookWithCxxCallablesRuns) {
  EngineHarness h(true);
  std::atomic<int> restarts{0};
  auto registered = model::runbook()
                        .withMetadata({.id = "custom-recovery", .name = "Custom Service Recovery",
                                       .description = "Recover custom service", .version = "1.0.0"})
                        .check("health-check", "Check service health",
                               [](model::NativeScope& s) -> Result<Json> {
                                 return Json(s.ctx.as_object().contains("healthy"));
                               })
                        .onSuccess("notify-ok")
                        .onFailure("restart-service")
                        .action("restart-service", "Restart the service",
                                [&](model::NativeScope& s) -> Result<Json> {
                                  ++restarts;
                                  s.ctx.as_object()["healthy"] = true;
                                  return Json("restarted");
                                })
                        .onSuccess("health-check")
                        .notify("notify-ok", "Service is healthy", {"log"})
                        .startWith("health-check")
                        .registerWith(*h.engine);
  ASSERT_TRUE(registered) << registered.error().describe();
  auto id = h.engine->start("custom-recovery", JsonObject{});
  ASSERT_TRUE(id);
  auto e = h.engine->wait(*id, Millis(10'000));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->status, model::ExecutionStatus::Completed);
  EXPECT_EQ(restarts.load(), 1);
  std::vector<std::string> steps;
  for (const auto& hst : e->history) steps.push_back(hst.step_id);
  EXPECT_EQ(steps, (std::vector<std::string>{"health-check", "restart-service", "health-check", "notify-ok"}));
}

}  // namespace
}  // namespace opsrun::testing
