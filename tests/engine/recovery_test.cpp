// Recovery in-process: an engine stops (as if the process died) and a new one over the same
// store carries every execution on.
#include <sqlite3.h>

#include <fstream>
#include <future>
#include <thread>

#include "engine/engine_fixture.h"

namespace opsrun::testing {
namespace {

using model::ExecutionStatus;

std::string wait_for_event(engine::Engine& engine, std::function<std::string()> start,
                           const std::string& event) {
  std::mutex mu;
  std::condition_variable cv;
  bool seen = false;
  auto sub = engine.bus().on(event, [&](const engine::BusEvent&) {
    std::lock_guard g(mu);
    seen = true;
    cv.notify_all();
  });
  std::string id = start();
  std::unique_lock lock(mu);
  cv.wait_for(lock, std::chrono::seconds(10), [&] { return seen; });
  engine.bus().off(sub);
  EXPECT_TRUE(seen) << "no " << event;
  return id;
}

TEST(Recovery, WaitResumesWithItsRemainingTime) {
  TempDir dir;
  auto rb = parse_runbook(R"(
id: patient
start: pause
steps:
  - id: pause
    type: wait
    duration: 1h
    on_success: done
  - id: done
    type: action
    builtin: noop
)");
  engine::EngineOptions manual;
  manual.auto_advance_simulated_clock = false;
  std::string id;
  SystemTime t0;
  {
    EngineHarness a(true, dir.path().string(), manual);
    t0 = a.clock->now();
    id = wait_for_event(*a.engine, [&] { return *a.engine->start(rb, JsonObject{}); }, "step:started");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let the turn commit
  }
  EngineHarness b(true, dir.path().string(), manual);
  auto* clock = static_cast<FakeClock*>(b.clock.get());
  clock->advance_to(t0 + Millis(30 * 60'000));
  auto report = b.engine->recover();
  ASSERT_TRUE(report) << report.error().describe();
  EXPECT_EQ(report->resumed, 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(b.engine->get(id)->status, ExecutionStatus::Running);  // 30 minutes still to go
  clock->advance_to(t0 + Millis(60 * 60'000));
  auto e = b.engine->wait(id, Millis(10'000));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->status, ExecutionStatus::Completed);
  EXPECT_EQ(*e->end_time, t0 + Millis(60 * 60'000));
}

TEST(Recovery, WaitDurableReturnsOnlyOnceTheStartIsInTheStore) {
  TempDir dir;
  auto rb = parse_runbook(R"(
id: acknowledged
start: pause
steps:
  - id: pause
    type: wait
    duration: 1h
)");
  engine::EngineOptions manual;
  manual.auto_advance_simulated_clock = false;
  EngineHarness a(true, dir.path().string(), manual);
  for (int i = 0; i < 20; ++i) {
    auto id = a.engine->start(rb, JsonObject{});
    ASSERT_TRUE(id);
    ASSERT_TRUE(a.engine->wait_durable(*id, Millis(10'000)));
    // What an API acknowledges must already be readable from the store by anyone.
    auto row = a.store->execution(*id);
    ASSERT_TRUE(row);
    ASSERT_TRUE(row->has_value()) << "acknowledged execution " << *id << " is not in the store";
    auto events = a.store->events(*id);
    ASSERT_TRUE(events);
    EXPECT_FALSE(events->empty());
  }
}

TEST(Recovery, NonBlockingWaitersHearOfTheCommitTheEndAndTheStop) {
  TempDir dir;
  auto pause = parse_runbook("id: paused\nstart: pause\nsteps:\n  - {id: pause, type: wait, duration: 1h}\n");
  auto quick = parse_runbook("id: quick\nstart: a\nsteps:\n  - {id: a, type: action, builtin: noop}\n");
  engine::EngineOptions manual;
  manual.auto_advance_simulated_clock = false;
  EngineHarness a(true, dir.path().string(), manual);
  auto id = a.engine->start(pause, JsonObject{});
  ASSERT_TRUE(id);
  std::promise<bool> in_store;
  a.engine->when_durable(*id, [&](Result<void> r) {
    // Called after the commit: the row is readable by anyone at this moment.
    auto row = a.store->execution(*id);
    in_store.set_value(r.has_value() && row && row->has_value());
  });
  auto durable = in_store.get_future();
  ASSERT_EQ(durable.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_TRUE(durable.get());

  auto done = a.engine->start(quick, JsonObject{});
  ASSERT_TRUE(done);
  std::promise<std::string> end;
  a.engine->when_settled(*done, [&](std::optional<model::Execution> e) {
    end.set_value(e ? std::string(model::to_string(e->status)) : "none");
  });
  auto ended = end.get_future();
  ASSERT_EQ(ended.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(ended.get(), "completed");

  // A waiter on an execution that never settles is answered when the engine stops.
  std::promise<bool> stopped;
  a.engine->when_settled(*id, [&](std::optional<model::Execution> e) { stopped.set_value(e.has_value()); });
  auto heard = stopped.get_future();
  EXPECT_EQ(heard.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
  a.engine->stop(Millis(0));
  ASSERT_EQ(heard.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_FALSE(heard.get());
}

TEST(Recovery, RealClockWaitFiresAfterRecovery) {
  // The recovering thread arms the timer while the loop already sleeps: it must wake up.
  TempDir dir;
  auto rb = parse_runbook(R"(
id: short-pause
start: pause
steps:
  - id: pause
    type: wait
    duration: 300ms
    on_success: done
  - id: done
    type: action
    builtin: noop
)");
  std::string id;
  {
    EngineHarness a(false, dir.path().string());
    id = wait_for_event(*a.engine, [&] { return *a.engine->start(rb, JsonObject{}); }, "step:started");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EngineHarness b(false, dir.path().string());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the loop is asleep by now
  ASSERT_TRUE(b.engine->recover());
  const auto t0 = std::chrono::steady_clock::now();
  auto e = b.engine->wait(id, Millis(5000));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->status, ExecutionStatus::Completed);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
}

TEST(Recovery, NoSideEffectBeforeItsStartIsDurable) {
  // While the database is locked nothing can be committed, so no step may start; once the
  // lock goes away the execution carries on by itself.
  TempDir dir;
  EngineHarness h(false, dir.path().string());
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open((dir.path() / "opsrun.db").c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  auto rb = parse_runbook(R"(
id: touchy
start: touch
steps:
  - id: touch
    type: action
    exec: ["touch", "{{ ctx.marker }}"]
)");
  const std::string marker = dir.file("marker");
  auto id = h.engine->start(rb, JsonObject{{"marker", marker}});
  ASSERT_TRUE(id);
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  EXPECT_FALSE(std::filesystem::exists(marker)) << "the step ran before its start was durable";
  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);
  auto e = h.engine->wait(*id, Millis(20'000));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->status, ExecutionStatus::Completed);
  EXPECT_TRUE(std::filesystem::exists(marker));
}

const char* kInterruptible = R"(
id: interruptible
start: act
steps:
  - id: act
    type: action
    exec: ["sh", "-c", "echo \"$OPSRUN_IDEMPOTENCY_KEY\" >> {{ ctx.ledger }}; if [ -f {{ ctx.flag }} ]; then exit 0; fi; sleep 30"]
    idempotent: IDEMPOTENT
    on_success: after
  - id: after
    type: action
    builtin: noop
)";

model::RunbookPtr interruptible(bool idempotent) {
  std::string yaml = kInterruptible;
  yaml.replace(yaml.find("IDEMPOTENT"), 10, idempotent ? "true" : "false");
  return parse_runbook(yaml);
}

std::vector<std::string> lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

TEST(Recovery, InterruptedNonIdempotentStepNeedsAnOperator) {
  TempDir dir;
  const Json ctx = JsonObject{{"ledger", dir.file("ledger")}, {"flag", dir.file("flag")}};
  std::string id;
  {
    EngineHarness a(false, dir.path().string());
    id = wait_for_event(*a.engine, [&] { return *a.engine->start(interruptible(false), ctx); },
                        "step:started");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }  // the process "dies" while `act` sleeps
  ASSERT_EQ(lines(dir.file("ledger")).size(), 1u);
  EngineHarness b(false, dir.path().string());
  auto report = b.engine->recover();
  ASSERT_TRUE(report);
  EXPECT_EQ(report->needs_attention, 1);
  auto e = b.engine->wait(id, Millis(5000));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->status, ExecutionStatus::NeedsAttention);
  EXPECT_NE(e->attention_reason.find("'act'"), std::string::npos) << e->attention_reason;
  EXPECT_EQ(lines(dir.file("ledger")).size(), 1u);  // not run again behind the operator's back
  std::ofstream(dir.file("flag")) << "go";
  ASSERT_TRUE(b.engine->operator_action(id, engine::OperatorAction::Retry, "oncall"));
  e = b.engine->wait(id, Millis(10'000));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->status, ExecutionStatus::Completed);
  const auto ledger = lines(dir.file("ledger"));
  ASSERT_EQ(ledger.size(), 2u);
  EXPECT_EQ(ledger[0], id + "/act/1");
  EXPECT_EQ(ledger[1], id + "/act/2");  // a new attempt carries a new idempotency key
}

TEST(Recovery, InterruptedIdempotentStepRunsAgainUnderTheSameKey) {
  TempDir dir;
  const Json ctx = JsonObject{{"ledger", dir.file("ledger")}, {"flag", dir.file("flag")}};
  std::string id;
  {
    EngineHarness a(false, dir.path().string());
    id = wait_for_event(*a.engine, [&] { return *a.engine->start(interruptible(true), ctx); },
                        "step:started");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  std::ofstream(dir.file("flag")) << "go";
  EngineHarness b(false, dir.path().string());
  auto report = b.engine->recover();
  ASSERT_TRUE(report);
  EXPECT_EQ(report->relaunched_attempts, 1);
  auto e = b.engine->wait(id, Millis(10'000));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->status, ExecutionStatus::Completed);
  const auto ledger = lines(dir.file("ledger"));
  ASSERT_EQ(ledger.size(), 2u);
  EXPECT_EQ(ledger[0], ledger[1]);  // the same attempt, the same idempotency key
}

TEST(Recovery, StoredHistoryRebuildsTheSameRecord) {
  TempDir dir;
  EngineHarness h(true, dir.path().string());
  auto rb = parse_runbook(R"(
id: rebuild
start: a
steps:
  - id: a
    type: action
    builtin: fail
    retry: {attempts: 2, delay: 5s}
    on_failure: b
  - id: b
    type: action
    lua: "ctx.fixed = 'yes'; return 7"
    save_as: seven
)");
  auto e = h.run(rb, JsonObject{{"who", "test"}});
  ASSERT_EQ(e.status, ExecutionStatus::Completed);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto rebuilt = engine::rebuild_from_store(*h.store, e.execution_id, nullptr);
  ASSERT_TRUE(rebuilt) << rebuilt.error().describe();
  EXPECT_EQ(to_json_text(model::execution_to_json(*rebuilt)), to_json_text(model::execution_to_json(e)));
  auto row = h.store->execution(e.execution_id);
  ASSERT_TRUE(row && *row);
  EXPECT_EQ((*row)->status, "completed");
}

}  // namespace
}  // namespace opsrun::testing
