// The emergency stop: held in the store, binding every engine that shares it; running
// executions wait at their next action and carry on after resume, or end if told to.
#include <fstream>
#include <thread>

#include "safety/safety_fixture.h"

namespace opsrun::testing {
namespace {

using model::ExecutionStatus;

// An approval step first, so the test can engage the stop while the execution runs and
// before its action starts; then an action that leaves a mark.
model::RunbookPtr two_steps() {
  return parse_runbook(R"(
id: remediate
start: confirm
steps:
  - id: confirm
    type: approval
    on_success: act
  - id: act
    type: action
    exec: ["sh", "-c", "echo acted >> {{ ctx.marker }}"]
)");
}

bool marked(const std::string& file) { return std::ifstream(file).good(); }

TEST(EmergencyStop, BlocksTheNextActionOfARunningExecutionAndResumeLetsItFinish) {
  SafetyHarness h("");
  const std::string marker = h.dir.file("acted");
  auto id = h.engine->start(two_steps(), JsonObject{{"marker", marker}});
  ASSERT_TRUE(id);
  ASSERT_EQ(h.engine->wait(*id, Millis(10'000))->status, ExecutionStatus::Waiting);

  ASSERT_TRUE(h.guard->engage_stop("mass deletion seen", false, "token:oncall"));
  ASSERT_TRUE(h.engine->approve(*id, true, "token:alice"));
  auto held = h.engine->wait(*id, Millis(10'000));
  ASSERT_TRUE(held);
  EXPECT_EQ(held->status, ExecutionStatus::Waiting);
  EXPECT_EQ(held->current_step, "act");
  EXPECT_NE(held->attention_reason.find("mass deletion seen"), std::string::npos) << held->attention_reason;
  EXPECT_FALSE(marked(marker)) << "an action started during the emergency stop";
  // The store's summary shows it waiting, for every process to see.
  auto row = h.store->execution(*id);
  ASSERT_TRUE(row && *row);
  EXPECT_EQ((*row)->status, "waiting");

  ASSERT_TRUE(h.guard->resume("token:oncall"));
  auto done = h.engine->wait(*id, Millis(10'000));
  // wait() may return while the re-check is on its way: wait again until it settles.
  for (int i = 0; i < 100 && done && done->status == ExecutionStatus::Waiting; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    done = h.engine->wait(*id, Millis(10'000));
  }
  ASSERT_TRUE(done);
  EXPECT_EQ(done->status, ExecutionStatus::Completed);
  EXPECT_TRUE(marked(marker));
  // Stop and resume are audited and notified as P0.
  EXPECT_EQ(h.recorder.of_kind("emergency_stop").size(), 1u);
  EXPECT_EQ(h.recorder.of_kind("resume").size(), 1u);
  ASSERT_TRUE(h.capture->wait_for(notify::Severity::P0));
  std::string p0;
  for (int i = 0; i < 100 && p0.find("lifted") == std::string::npos; ++i) {
    p0.clear();
    for (const auto& n : h.capture->sent())
      if (n.severity == notify::Severity::P0) p0 += n.message + "\n";
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_NE(p0.find("EMERGENCY STOP engaged by token:oncall: mass deletion seen"), std::string::npos) << p0;
  EXPECT_NE(p0.find("emergency stop lifted by token:oncall"), std::string::npos) << p0;
}

TEST(EmergencyStop, AbortRunningEndsExecutionsAtTheirNextAction) {
  SafetyHarness h("");
  const std::string marker = h.dir.file("acted");
  auto id = h.engine->start(two_steps(), JsonObject{{"marker", marker}});
  ASSERT_TRUE(id);
  ASSERT_TRUE(h.engine->wait(*id, Millis(10'000)));
  ASSERT_TRUE(h.guard->engage_stop("runaway", true, "token:oncall"));
  ASSERT_TRUE(h.engine->approve(*id, true, "token:alice"));
  auto e = h.engine->wait(*id, Millis(10'000));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->status, ExecutionStatus::Cancelled);
  EXPECT_FALSE(marked(marker));
  ASSERT_FALSE(e->errors.empty());
  EXPECT_NE(e->errors.back().error.find("aborted by the emergency stop"), std::string::npos);
}

TEST(EmergencyStop, NewExecutionsRunChecksButNoAction) {
  SafetyHarness h("");
  ASSERT_TRUE(h.guard->engage_stop("freeze", false, "token:oncall"));
  auto rb = parse_runbook(R"(
id: look-then-act
start: probe
steps:
  - {id: probe, type: check, builtin: noop, on_success: tell}
  - {id: tell, type: notify, message: checking, on_success: act}
  - {id: act, type: action, builtin: noop}
)");
  auto e = h.run(rb);
  EXPECT_EQ(e.status, ExecutionStatus::Waiting);
  EXPECT_EQ(e.current_step, "act");
  ASSERT_EQ(e.history.size(), 2u);  // the check and the notification ran
  // A dry run is not held: it performs nothing.
  engine::StartOptions dry;
  dry.dry_run = true;
  EXPECT_EQ(h.run(rb, JsonObject{}, dry).status, ExecutionStatus::Completed);
}

TEST(EmergencyStop, AStopEngagedByAnotherProcessBindsThisOne) {
  SafetyHarness h("emergency_stop: {poll_interval: 50ms}\n");
  // "Another process": its own Guard over the same store.
  store::OpenOptions o;
  o.data_dir = h.dir.file("data");
  auto other_store = store::open_store(o);
  ASSERT_TRUE(other_store);
  SystemClock clock;
  safety::EmergencyStop other(other_store->get(), clock, nullptr, nullptr);
  ASSERT_TRUE(other.engage("stop from node 2", false, "cli:bob"));

  auto rb = parse_runbook("id: rb\nstart: go\nsteps:\n  - {id: go, type: action, builtin: noop}\n");
  auto id = h.engine->start(rb, JsonObject{});
  ASSERT_TRUE(id);
  auto held = h.engine->wait(*id, Millis(10'000));
  ASSERT_TRUE(held);
  EXPECT_EQ(held->status, ExecutionStatus::Waiting);
  EXPECT_NE(held->attention_reason.find("stop from node 2"), std::string::npos);

  ASSERT_TRUE(other.resume("cli:bob"));
  // This process's Guard sees the change within its poll interval and re-asks.
  model::ExecutionStatus status = ExecutionStatus::Waiting;
  for (int i = 0; i < 250 && status != ExecutionStatus::Completed; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    status = h.engine->get(*id)->status;
  }
  EXPECT_EQ(status, ExecutionStatus::Completed);
}

TEST(EmergencyStop, AHeldExecutionSurvivesARestartAndResumesAfterwards) {
  SafetyHarness h("");
  ASSERT_TRUE(h.guard->engage_stop("freeze", false, "token:oncall"));
  auto rb = parse_runbook("id: rb\nstart: go\nsteps:\n  - {id: go, type: action, builtin: noop}\n");
  auto id = h.engine->start(rb, JsonObject{});
  ASSERT_TRUE(id);
  ASSERT_EQ(h.engine->wait(*id, Millis(10'000))->status, ExecutionStatus::Waiting);
  h.engine->stop();
  h.engine.reset();

  h.start_engine();
  ASSERT_TRUE(h.engine->add_runbook(rb));
  auto report = h.engine->recover();
  ASSERT_TRUE(report) << report.error().describe();
  EXPECT_EQ(report->resumed, 1);
  auto still = h.engine->wait(*id, Millis(10'000));
  ASSERT_TRUE(still);
  EXPECT_EQ(still->status, ExecutionStatus::Waiting);
  ASSERT_TRUE(h.guard->resume("token:oncall"));
  model::ExecutionStatus status = ExecutionStatus::Waiting;
  for (int i = 0; i < 250 && status != ExecutionStatus::Completed; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    status = h.engine->get(*id)->status;
  }
  EXPECT_EQ(status, ExecutionStatus::Completed);
}

TEST(EmergencyStop, StateIsKeptInTheStoreAndResumeOfNothingIsAConflict) {
  TempDir dir;
  store::OpenOptions o;
  o.data_dir = dir.file("data");
  auto s = store::open_store(o);
  ASSERT_TRUE(s);
  FakeClock clock;
  MemoryRecorder recorder;
  safety::EmergencyStop stop(s->get(), clock, &recorder, nullptr);
  EXPECT_FALSE(stop.state()->on);
  auto r = stop.resume("x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::Conflict);
  EXPECT_FALSE(stop.engage("", false, "x")) << "a stop needs a reason";
  ASSERT_TRUE(stop.engage("disk wipe", true, "token:oncall"));
  auto raw = (*s)->get_setting(safety::kStopSetting);
  ASSERT_TRUE(raw && *raw);
  EXPECT_NE((*raw)->find("disk wipe"), std::string::npos);
  auto st = stop.state();
  EXPECT_TRUE(st->on);
  EXPECT_TRUE(st->abort_running);
  EXPECT_EQ(st->by, "token:oncall");
  ASSERT_TRUE(stop.resume("token:lead"));
  EXPECT_FALSE(stop.state()->on);
  EXPECT_EQ(stop.state()->resumed_by, "token:lead");
  // A resume that cannot be audited does not happen.
  ASSERT_TRUE(stop.engage("again", false, "x"));
  recorder.set_failing(true);
  EXPECT_FALSE(stop.resume("x"));
  EXPECT_TRUE(stop.state()->on);
}

TEST(FailureTrip, FiveFailedActionsInFifteenMinutesEngageTheStopWithAP0) {
  SafetyHarness h("");  // the default trip: 5 failures in 15 minutes
  auto rb = parse_runbook(R"(
id: flaky
start: each
steps:
  - id: each
    type: loop
    items: [1, 2, 3, 4, 5, 6, 7]
    step: poke
    fail_fast: false
  - id: poke
    type: action
    builtin: fail
    with: {message: "api error"}
)");
  auto e = h.run(rb);
  // Five failures trip the stop; the sixth action is held, not run.
  EXPECT_EQ(e.status, ExecutionStatus::Waiting);
  EXPECT_NE(e.attention_reason.find("failure-rate trip"), std::string::npos) << e.attention_reason;
  int failures = 0;
  for (const auto& x : e.history)
    if (x.step_id == "poke" && x.status == model::HistoryStatus::Failure) ++failures;
  EXPECT_EQ(failures, 5);
  auto st = h.guard->stop_state();
  ASSERT_TRUE(st);
  EXPECT_TRUE(st->on);
  EXPECT_EQ(st->by, "system:failure-trip");
  auto p0 = h.capture->wait_for(notify::Severity::P0);
  ASSERT_TRUE(p0);
  EXPECT_NE(p0->message.find("failure-rate trip"), std::string::npos);
  EXPECT_EQ(h.recorder.of_kind("emergency_stop").size(), 1u);
}

TEST(FailureTrip, FailuresSpreadOverMoreThanTheWindowDoNotTrip) {
  SafetyHarness h("failure_trip: {failures: 3, window: 10m}\n");
  auto rb = parse_runbook("id: rb\nstart: go\nsteps:\n  - {id: go, type: action, builtin: fail}\n");
  auto& clock = dynamic_cast<FakeClock&>(*h.clock);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(h.run(rb).status, ExecutionStatus::Failed);
    clock.advance(std::chrono::minutes(6));
  }
  EXPECT_FALSE(h.guard->stop_state()->on);
  clock.advance(std::chrono::minutes(5));
  // Three within the window do.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(h.run(rb).status, ExecutionStatus::Failed) << i;
  // The gate hears of a failure just after the execution settles: give it a moment.
  bool on = false;
  for (int i = 0; i < 200 && !on; ++i) {
    on = h.guard->stop_state()->on;
    if (!on) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(on);
}

}  // namespace
}  // namespace opsrun::testing
