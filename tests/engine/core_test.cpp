// The pure core: inputs in, commands out, no threads and no clock.
#include <gtest/gtest.h>

#include "opsrun/engine/core.h"

namespace opsrun::engine {
namespace {

using model::Runbook;
using model::Step;
using model::StepType;

const SystemTime kT0 = from_unix_ms(1'700'000'000'000);

Step leaf(std::string id, StepType type = StepType::Action) {
  Step s;
  s.id = std::move(id);
  s.type = type;
  s.executor = model::ExecutorKind::Builtin;
  s.builtin.name = "noop";
  return s;
}

struct Harness {
  ExecutionState st;
  std::vector<Command> out;
  SystemTime now = kT0;

  explicit Harness(Runbook rb, Json ctx = JsonObject{}, std::vector<std::string> simulate = {},
                   bool dry_run = false)
      : st(make_state(std::make_shared<const Runbook>(std::move(rb)), "exec-1")) {
    Input in;
    in.kind = Input::Kind::Start;
    in.at = now;
    in.context = std::move(ctx);
    in.simulate = std::move(simulate);
    in.dry_run = dry_run;
    apply(st, in, out);
  }

  std::vector<Command> take(Command::Kind kind) {
    std::vector<Command> picked, rest;
    for (auto& c : out) (c.kind == kind ? picked : rest).push_back(std::move(c));
    out = std::move(rest);
    return picked;
  }

  std::vector<std::string> events() {
    std::vector<std::string> names;
    for (const auto& c : out)
      if (c.kind == Command::Kind::Publish) names.push_back(c.event);
    return names;
  }

  void finish(const std::string& key, bool ok, Json value = Json(), std::string error = {}) {
    Input in;
    in.kind = Input::Kind::AttemptFinished;
    in.at = now;
    in.key = key;
    in.outcome.ok = ok;
    in.outcome.value = std::move(value);
    in.outcome.error = std::move(error);
    apply(st, in, out);
  }

  void fire(const std::string& key) {
    Input in;
    in.kind = Input::Kind::TimerFired;
    in.at = now;
    in.key = key;
    apply(st, in, out);
  }

  // Runs the single pending attempt of `step` to the given outcome.
  void complete(const std::string& step, bool ok, Json value = Json()) {
    auto runs = take(Command::Kind::RunAttempt);
    ASSERT_EQ(runs.size(), 1u) << "expected one attempt of " << step;
    ASSERT_EQ(runs[0].step_id, step);
    finish(runs[0].key, ok, std::move(value), ok ? "" : "boom");
  }

  model::ExecutionStatus status() const { return st.record.status; }
};

TEST(Core, CheckTakesOnSuccessOrOnFailure) {
  for (bool healthy : {true, false}) {
    Runbook rb;
    rb.id = "rb";
    rb.start = "check";
    Step check = leaf("check", StepType::Check);
    check.on_success = "ok";
    check.on_failure = "repair";
    rb.steps = {check, leaf("ok"), leaf("repair")};
    Harness h(rb);
    EXPECT_EQ(h.status(), model::ExecutionStatus::Running);
    h.complete("check", healthy);
    h.complete(healthy ? "ok" : "repair", true);
    EXPECT_EQ(h.status(), model::ExecutionStatus::Completed);
    ASSERT_EQ(h.st.record.history.size(), 2u);
    EXPECT_EQ(h.st.record.history[1].step_id, healthy ? "ok" : "repair");
    EXPECT_EQ(h.st.record.history[0].status,
              healthy ? model::HistoryStatus::Success : model::HistoryStatus::Failure);
  }
}

TEST(Core, FailureWithoutOnFailureFailsTheExecution) {
  Runbook rb;
  rb.id = "rb";
  rb.start = "a";
  rb.steps = {leaf("a")};
  Harness h(rb);
  h.complete("a", false);
  EXPECT_EQ(h.status(), model::ExecutionStatus::Failed);
  ASSERT_EQ(h.st.record.errors.size(), 1u);
  EXPECT_EQ(h.st.record.errors[0].step, "a");
  auto ev = h.events();
  EXPECT_NE(std::find(ev.begin(), ev.end(), "execution:failed"), ev.end());
}

TEST(Core, RetriesCountAllTriesWithExponentialBackoffCapped) {
  Runbook rb;
  rb.id = "rb";
  rb.start = "a";
  Step a = leaf("a");
  a.retry = {.attempts = 4, .backoff = model::Backoff::Exponential, .delay = Millis(1000),
             .max_delay = Millis(3000), .jitter = 0.0};
  rb.steps = {a};
  Harness h(rb);
  std::vector<Millis> delays;
  for (int attempt = 1; attempt <= 4; ++attempt) {
    auto runs = h.take(Command::Kind::RunAttempt);
    ASSERT_EQ(runs.size(), 1u);
    EXPECT_EQ(runs[0].attempt, attempt);
    EXPECT_EQ(runs[0].key, "exec-1/a/" + std::to_string(attempt));
    h.finish(runs[0].key, false, Json(), "nope");
    auto timers = h.take(Command::Kind::StartTimer);
    if (attempt < 4) {
      ASSERT_EQ(timers.size(), 1u);
      delays.push_back(std::chrono::duration_cast<Millis>(timers[0].due - h.now));
      h.now = timers[0].due;
      h.fire(timers[0].key);
    } else {
      EXPECT_TRUE(timers.empty());
    }
  }
  // 1s, 2s, then 4s capped at 3s.
  EXPECT_EQ(delays, (std::vector<Millis>{Millis(1000), Millis(2000), Millis(3000)}));
  // A retryable step that keeps failing with no on_failure fails the run (never swallowed).
  EXPECT_EQ(h.status(), model::ExecutionStatus::Failed);
  EXPECT_EQ(h.st.record.history.back().attempts, 4);
}

TEST(Core, JitterStaysWithinBoundsAndIsDeterministic) {
  model::RetryPolicy p{.attempts = 5, .backoff = model::Backoff::Exponential,
                       .delay = Millis(1000), .max_delay = std::nullopt, .jitter = 0.2};
  for (int i = 0; i < 50; ++i) {
    const std::string key = "exec-x/step/" + std::to_string(i);
    const Millis d = retry_delay(p, 3, key);  // base 2000 ms
    EXPECT_GE(d.count(), 1600);
    EXPECT_LE(d.count(), 2400);
    EXPECT_EQ(d, retry_delay(p, 3, key));
  }
  model::RetryPolicy fixed{.attempts = 3, .backoff = model::Backoff::Fixed, .delay = Millis(700)};
  EXPECT_EQ(retry_delay(fixed, 3, "k"), Millis(700));
}

TEST(Core, RetrySucceedsOnSecondAttempt) {
  Runbook rb;
  rb.id = "rb";
  rb.start = "a";
  Step a = leaf("a");
  a.retry.attempts = 3;
  rb.steps = {a};
  Harness h(rb);
  h.complete("a", false);
  auto timers = h.take(Command::Kind::StartTimer);
  ASSERT_EQ(timers.size(), 1u);
  EXPECT_EQ(timers[0].due - h.now, Millis(1000));
  auto ev = h.events();
  EXPECT_NE(std::find(ev.begin(), ev.end(), "step:retrying"), ev.end());
  h.fire(timers[0].key);
  h.complete("a", true);
  EXPECT_EQ(h.status(), model::ExecutionStatus::Completed);
  EXPECT_EQ(h.st.record.results.at("a").at("attempts").as_int64(), 2);
}

TEST(Core, DecisionFollowsBranchDefaultOrFails) {
  auto make = [](bool with_default) {
    Runbook rb;
    rb.id = "rb";
    rb.start = "d";
    Step d = leaf("d", StepType::Decision);
    d.branches = {{"critical", "scale"}, {"normal", "monitor"}};
    if (with_default) d.branches["default"] = "monitor";
    rb.steps = {d, leaf("scale"), leaf("monitor")};
    return rb;
  };
  {
    Harness h(make(false));
    h.complete("d", true, Json("critical"));
    h.complete("scale", true);
    EXPECT_EQ(h.status(), model::ExecutionStatus::Completed);
  }
  {
    Harness h(make(true));
    h.complete("d", true, Json("weird"));
    h.complete("monitor", true);
    EXPECT_EQ(h.status(), model::ExecutionStatus::Completed);
  }
  {
    Harness h(make(false));
    h.complete("d", true, Json("weird"));
    EXPECT_EQ(h.status(), model::ExecutionStatus::Failed);
    EXPECT_NE(h.st.record.errors.back().error.find("'weird'"), std::string::npos);
  }
}

TEST(Core, ParallelLaunchesAllBranchesAtOnceAndHonoursMinSuccess) {
  for (int min_success : {0, 2}) {
    Runbook rb;
    rb.id = "rb";
    rb.start = "p";
    Step p = leaf("p", StepType::Parallel);
    p.executor = model::ExecutorKind::None;
    p.steps = {"a", "b", "c"};
    if (min_success) p.min_success = min_success;
    p.on_success = "after";
    rb.steps = {p, leaf("a"), leaf("b"), leaf("c"), leaf("after")};
    Harness h(rb);
    auto runs = h.take(Command::Kind::RunAttempt);
    ASSERT_EQ(runs.size(), 3u);  // all three in flight together
    h.finish(runs[0].key, true);
    h.finish(runs[1].key, false, Json(), "down");
    EXPECT_TRUE(h.take(Command::Kind::RunAttempt).empty());  // waits for the last branch
    h.finish(runs[2].key, true);
    if (min_success == 2) {
      h.complete("after", true);
      EXPECT_EQ(h.status(), model::ExecutionStatus::Completed);
    } else {
      EXPECT_EQ(h.status(), model::ExecutionStatus::Failed);
    }
    EXPECT_EQ(h.st.record.results.at("p").at("succeeded").as_int64(), 2);
  }
}

TEST(Core, LoopRespectsConcurrencyAndPassesItems) {
  Runbook rb;
  rb.id = "rb";
  rb.start = "l";
  Step l = leaf("l", StepType::Loop);
  l.executor = model::ExecutorKind::None;
  l.items_from = "ctx.queues";
  l.body = "one";
  l.concurrency = 2;
  rb.steps = {l, leaf("one")};
  Harness h(rb, JsonObject{{"queues", JsonArray{"q1", "q2", "q3", "q4", "q5"}}});
  std::vector<std::string> seen;
  int max_in_flight = 0;
  std::vector<Command> in_flight = h.take(Command::Kind::RunAttempt);
  while (!in_flight.empty()) {
    max_in_flight = std::max<int>(max_in_flight, static_cast<int>(in_flight.size()));
    Command c = in_flight.front();
    in_flight.erase(in_flight.begin());
    seen.push_back(json_to_text(c.item) + "@" + std::to_string(c.index));
    h.finish(c.key, true);
    for (auto& more : h.take(Command::Kind::RunAttempt)) in_flight.push_back(more);
  }
  EXPECT_EQ(max_in_flight, 2);
  EXPECT_EQ(seen, (std::vector<std::string>{"q1@0", "q2@1", "q3@2", "q4@3", "q5@4"}));
  EXPECT_EQ(h.status(), model::ExecutionStatus::Completed);
  EXPECT_EQ(h.st.record.results.at("l").at("items").as_array().size(), 5u);
}

TEST(Core, LoopFailFastCancelsTheRest) {
  Runbook rb;
  rb.id = "rb";
  rb.start = "l";
  Step l = leaf("l", StepType::Loop);
  l.executor = model::ExecutorKind::None;
  l.items = JsonArray{1, 2, 3, 4};
  l.body = "one";
  l.concurrency = 2;
  l.on_failure = "cleanup";
  rb.steps = {l, leaf("one"), leaf("cleanup")};
  Harness h(rb);
  auto runs = h.take(Command::Kind::RunAttempt);
  ASSERT_EQ(runs.size(), 2u);
  h.finish(runs[0].key, false, Json(), "bad item");
  auto cancels = h.take(Command::Kind::CancelAttempt);
  ASSERT_EQ(cancels.size(), 1u);
  EXPECT_EQ(cancels[0].key, runs[1].key);
  h.complete("cleanup", true);  // items 3 and 4 never started
  EXPECT_EQ(h.status(), model::ExecutionStatus::Completed);
  h.finish(runs[1].key, true);  // a late answer of the cancelled item changes nothing
  EXPECT_EQ(h.status(), model::ExecutionStatus::Completed);
}

TEST(Core, LoopOverNonListFails) {
  Runbook rb;
  rb.id = "rb";
  rb.start = "l";
  Step l = leaf("l", StepType::Loop);
  l.items_from = "ctx.queues";
  l.body = "one";
  rb.steps = {l, leaf("one")};
  Harness h(rb, JsonObject{{"queues", "not-a-list"}});
  EXPECT_EQ(h.status(), model::ExecutionStatus::Failed);
  EXPECT_NE(h.st.record.errors[0].error.find("not a list"), std::string::npos);
}

TEST(Core, WaitStartsATimerForItsDuration) {
  Runbook rb;
  rb.id = "rb";
  rb.start = "w";
  Step w = leaf("w", StepType::Wait);
  w.duration = Millis(30'000);
  w.on_success = "after";
  rb.steps = {w, leaf("after")};
  Harness h(rb);
  auto timers = h.take(Command::Kind::StartTimer);
  ASSERT_EQ(timers.size(), 1u);
  EXPECT_EQ(timers[0].due, kT0 + Millis(30'000));
  h.now = timers[0].due;
  h.fire(timers[0].key);
  h.complete("after", true);
  EXPECT_EQ(h.status(), model::ExecutionStatus::Completed);
}

TEST(Core, RunbookTimeoutFailsAndStopsRunningAttempts) {
  Runbook rb;
  rb.id = "rb";
  rb.start = "a";
  rb.timeout = Millis(5000);
  rb.steps = {leaf("a")};
  Harness h(rb);
  auto timers = h.take(Command::Kind::StartTimer);
  ASSERT_EQ(timers.size(), 1u);
  auto runs = h.take(Command::Kind::RunAttempt);
  h.now = timers[0].due;
  h.fire(timers[0].key);
  EXPECT_EQ(h.status(), model::ExecutionStatus::Failed);
  auto cancels = h.take(Command::Kind::CancelAttempt);
  ASSERT_EQ(cancels.size(), 1u);
  EXPECT_EQ(cancels[0].key, runs[0].key);
}

TEST(Core, CancelStopsEverything) {
  Runbook rb;
  rb.id = "rb";
  rb.start = "a";
  rb.steps = {leaf("a")};
  Harness h(rb);
  auto runs = h.take(Command::Kind::RunAttempt);
  Input in;
  in.kind = Input::Kind::Cancel;
  in.at = h.now;
  in.actor = "alice";
  apply(h.st, in, h.out);
  EXPECT_EQ(h.status(), model::ExecutionStatus::Cancelled);
  EXPECT_EQ(h.take(Command::Kind::CancelAttempt).size(), 1u);
  auto ev = h.events();
  EXPECT_NE(std::find(ev.begin(), ev.end(), "execution:cancelled"), ev.end());
}

TEST(Core, ApprovalWaitsThenFollowsTheDecisionOrTimesOut) {
  auto make = [] {
    Runbook rb;
    rb.id = "rb";
    rb.start = "ok?";
    Step a = leaf("ok?", StepType::Approval);
    a.executor = model::ExecutorKind::None;
    a.timeout = Millis(3'600'000);
    a.on_success = "promote";
    a.on_failure = "rollback";
    rb.steps = {a, leaf("promote"), leaf("rollback")};
    return rb;
  };
  for (int mode = 0; mode < 3; ++mode) {
    Harness h(make());
    EXPECT_EQ(h.status(), model::ExecutionStatus::Waiting);
    auto timers = h.take(Command::Kind::StartTimer);
    ASSERT_EQ(timers.size(), 1u);
    if (mode == 2) {
      h.fire(timers[0].key);
    } else {
      Input in;
      in.kind = Input::Kind::Approval;
      in.at = h.now;
      in.approved = mode == 0;
      in.actor = "bob";
      apply(h.st, in, h.out);
      EXPECT_EQ(h.take(Command::Kind::CancelTimer).size(), 1u);
    }
    h.complete(mode == 0 ? "promote" : "rollback", true);
    EXPECT_EQ(h.status(), model::ExecutionStatus::Completed);
  }
}

TEST(Core, InterruptedAttemptNeedsAttentionThenOperatorDecides) {
  for (auto action : {OperatorAction::Retry, OperatorAction::Skip, OperatorAction::Abort}) {
    Runbook rb;
    rb.id = "rb";
    rb.start = "a";
    Step a = leaf("a");
    a.on_success = "b";
    rb.steps = {a, leaf("b")};
    Harness h(rb);
    auto runs = h.take(Command::Kind::RunAttempt);
    Input in;
    in.kind = Input::Kind::Interrupted;
    in.at = h.now;
    in.key = runs[0].key;
    in.reason = "interrupted";
    apply(h.st, in, h.out);
    EXPECT_EQ(h.status(), model::ExecutionStatus::NeedsAttention);
    EXPECT_EQ(h.st.record.attention_reason, "interrupted");
    Input op;
    op.kind = Input::Kind::Operator;
    op.at = h.now;
    op.action = action;
    op.actor = "carol";
    apply(h.st, op, h.out);
    if (action == OperatorAction::Abort) {
      EXPECT_EQ(h.status(), model::ExecutionStatus::Failed);
      continue;
    }
    if (action == OperatorAction::Retry) {
      auto again = h.take(Command::Kind::RunAttempt);
      ASSERT_EQ(again.size(), 1u);
      EXPECT_EQ(again[0].attempt, 2);  // a new attempt, a new idempotency key
      h.finish(again[0].key, true);
    } else {
      EXPECT_EQ(h.st.record.history.back().status, model::HistoryStatus::Skipped);
    }
    h.complete("b", true);
    EXPECT_EQ(h.status(), model::ExecutionStatus::Completed);
  }
}

TEST(Core, SimulatedFailureOfAWaitTakesOnFailure) {
  Runbook rb;
  rb.id = "rb";
  rb.start = "w";
  Step w = leaf("w", StepType::Wait);
  w.duration = Millis(1000);
  w.on_failure = "fallback";
  rb.steps = {w, leaf("fallback")};
  Harness h(rb, JsonObject{}, {"w"});
  EXPECT_TRUE(h.take(Command::Kind::StartTimer).empty());
  h.complete("fallback", true);
  EXPECT_EQ(h.status(), model::ExecutionStatus::Completed);
  EXPECT_EQ(h.st.record.errors[0].error, "simulated failure");
}

TEST(Core, DryRunMarksOnlyActions) {
  Runbook rb;
  rb.id = "rb";
  rb.start = "c";
  Step c = leaf("c", StepType::Check);
  c.on_success = "a";
  rb.steps = {c, leaf("a")};
  Harness h(rb, JsonObject{}, {}, /*dry_run=*/true);
  auto runs = h.take(Command::Kind::RunAttempt);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_FALSE(runs[0].dry_run);
  h.finish(runs[0].key, true);
  runs = h.take(Command::Kind::RunAttempt);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_TRUE(runs[0].dry_run);
}

TEST(Core, ContextUpdatesAndSaveAs) {
  Runbook rb;
  rb.id = "rb";
  rb.start = "a";
  rb.context = JsonObject{{"x", 1}, {"keep", "default"}};
  Step a = leaf("a");
  a.save_as = "answer";
  rb.steps = {a};
  Harness h(rb, JsonObject{{"x", 2}});
  EXPECT_EQ(h.st.record.context.at("x").as_int64(), 2);  // the caller's context wins
  auto runs = h.take(Command::Kind::RunAttempt);
  Input in;
  in.kind = Input::Kind::AttemptFinished;
  in.at = h.now;
  in.key = runs[0].key;
  in.outcome.ok = true;
  in.outcome.value = 42;
  in.outcome.ctx_updates["y"] = "set by script";
  apply(h.st, in, h.out);
  EXPECT_EQ(h.st.record.context.at("answer").as_int64(), 42);
  EXPECT_EQ(h.st.record.context.at("y").as_string(), "set by script");
  EXPECT_EQ(h.st.record.context.at("keep").as_string(), "default");
}

TEST(Core, InputsRoundTripThroughJson) {
  Input in;
  in.kind = Input::Kind::AttemptFinished;
  in.key = "exec-1/a/2";
  in.outcome.ok = false;
  in.outcome.error = "exit 3";
  in.outcome.timed_out = true;
  in.outcome.ctx_updates["k"] = "v";
  auto back = input_from_json("attempt_finished", input_to_json(in));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->key, in.key);
  EXPECT_EQ(back->outcome.error, "exit 3");
  EXPECT_TRUE(back->outcome.timed_out);
  EXPECT_EQ(back->outcome.ctx_updates.at("k").as_string(), "v");
  EXPECT_FALSE(input_from_json("bogus", JsonObject{}));
}

}  // namespace
}  // namespace opsrun::engine
