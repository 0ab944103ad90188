// The schedule runner on a FakeClock over a real SQLite store: runs at due times, restarts
// neither double-fire nor lose a run, and the misfire policies after downtime.
#include <gtest/gtest.h>

#include <filesystem>

#include "opsrun/common/ids.h"
#include "scheduler/time_literal.h"
#include "opsrun/scheduler/schedule_runner.h"
#include "opsrun/store/store.h"

namespace opsrun::scheduler {
namespace {

ScheduleSpec spec(const char* id, const char* cron, Misfire misfire = Misfire::RunOnce) {
  auto s = CronSchedule::create(cron, "UTC");
  EXPECT_TRUE(s);
  return ScheduleSpec{.id = id, .runbook = "rb-" + std::string(id),
                      .context = JsonObject{{"who", "cron"}}, .misfire = misfire,
                      .schedule = std::move(*s)};
}

// An engine stand-in: records each start and, like the engine's group commit, makes the
// execution durable in the store (unless told to "crash" before that).
struct FakeEngine {
  store::Store* store = nullptr;
  bool durable = true;
  std::vector<ScheduledRun> started;

  StartFn fn() {
    return [this](const ScheduledRun& run) -> Result<std::string> {
      started.push_back(run);
      if (durable) {
        store::Batch b;
        b.executions.push_back(store::ExecutionRow{.execution_id = run.execution_id,
                                                   .runbook_id = run.runbook_id,
                                                   .status = "running"});
        if (auto r = store->commit(b); !r) return std::unexpected(r.error());
      }
      return run.execution_id;
    };
  }
  std::vector<std::string> dues() const {
    std::vector<std::string> out;
    for (const auto& r : started) out.push_back(format_time(r.due));
    return out;
  }
};

class RunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("opsrun-sched-" + random_hex(6));
    reopen();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void reopen() {
    store_.reset();
    auto s = store::open_store({.data_dir = dir_.string()});
    ASSERT_TRUE(s) << s.error().describe();
    store_ = std::move(*s);
    engine_.store = store_.get();
  }
  // A new runner over the same store, as after a restart.
  std::unique_ptr<ScheduleRunner> runner(std::vector<ScheduleSpec> specs) {
    auto r = std::make_unique<ScheduleRunner>(clock_, *store_, std::move(specs), engine_.fn());
    EXPECT_TRUE(r->load());
    return r;
  }
  std::vector<ScheduleSpec> every5(Misfire m = Misfire::RunOnce) {
    std::vector<ScheduleSpec> v;
    v.push_back(spec("five", "*/5 * * * *", m));
    return v;
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::Store> store_;
  FakeClock clock_{at("2026-01-01T10:02:00Z")};
  FakeEngine engine_;
};

TEST_F(RunnerTest, RunsEachDueTimeOnce) {
  auto r = runner(every5());
  EXPECT_TRUE(r->run_due().empty());
  EXPECT_EQ(format_time(*r->next_due("five")), "2026-01-01T10:05:00.000Z");
  clock_.advance_to(at("2026-01-01T10:05:00Z"));
  auto runs = r->run_due();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].runbook_id, "rb-five");
  EXPECT_EQ(runs[0].context.at("who").as_string(), "cron");
  EXPECT_EQ(runs[0].execution_id, ScheduleRunner::execution_id_for("five", at("2026-01-01T10:05:00Z")));
  EXPECT_TRUE(r->run_due().empty());  // the same instant again: nothing
  clock_.advance_to(at("2026-01-01T10:09:59Z"));
  EXPECT_TRUE(r->run_due().empty());
  clock_.advance_to(at("2026-01-01T10:10:20Z"));  // a little late is still on time
  EXPECT_EQ(r->run_due().size(), 1u);
  EXPECT_EQ(engine_.dues(), (std::vector<std::string>{"2026-01-01T10:05:00.000Z", "2026-01-01T10:10:00.000Z"}));
  auto stored = store_->get_setting("schedule/five/last_run");
  ASSERT_TRUE(stored && *stored);
  auto json = parse_json(**stored);
  ASSERT_TRUE(json);
  EXPECT_EQ(json->at("due").as_string(), "2026-01-01T10:10:00.000Z");
  EXPECT_EQ(json->at("outcome").as_string(), "started");
}

TEST_F(RunnerTest, ExecutionIdsAreDistinctPerScheduleAndDue) {
  const auto t = at("2026-01-01T10:05:00Z");
  EXPECT_EQ(ScheduleRunner::execution_id_for("a", t), ScheduleRunner::execution_id_for("a", t));
  EXPECT_NE(ScheduleRunner::execution_id_for("a", t), ScheduleRunner::execution_id_for("b", t));
  EXPECT_NE(ScheduleRunner::execution_id_for("a", t),
            ScheduleRunner::execution_id_for("a", t + std::chrono::minutes(5)));
  EXPECT_TRUE(ScheduleRunner::execution_id_for("a", t).starts_with("exec-1767261900000-"));
}

TEST_F(RunnerTest, RestartDoesNotFireAgain) {
  {
    auto r = runner(every5());
    clock_.advance_to(at("2026-01-01T10:05:00Z"));
    ASSERT_EQ(r->run_due().size(), 1u);
  }
  reopen();  // the process restarts within the same minute
  clock_.advance_to(at("2026-01-01T10:05:40Z"));
  auto r = runner(every5());
  EXPECT_TRUE(r->run_due().empty());
  clock_.advance_to(at("2026-01-01T10:10:00Z"));
  EXPECT_EQ(r->run_due().size(), 1u);
  EXPECT_EQ(engine_.dues(), (std::vector<std::string>{"2026-01-01T10:05:00.000Z", "2026-01-01T10:10:00.000Z"}));
}

TEST_F(RunnerTest, RestartRestartsARunThatNeverReachedTheStore) {
  engine_.durable = false;  // the process dies after the claim, before the engine commits
  {
    auto r = runner(every5());
    clock_.advance_to(at("2026-01-01T10:05:00Z"));
    ASSERT_EQ(r->run_due().size(), 1u);
  }
  engine_.durable = true;
  reopen();
  clock_.advance_to(at("2026-01-01T10:05:30Z"));
  auto r = runner(every5());
  auto runs = r->run_due();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(format_time(runs[0].due), "2026-01-01T10:05:00.000Z");
  EXPECT_EQ(runs[0].execution_id, engine_.started[0].execution_id);  // the same id: never two
  EXPECT_TRUE(r->run_due().empty());
  // Now durable: another restart leaves it alone.
  reopen();
  auto again = runner(every5());
  EXPECT_TRUE(again->run_due().empty());
  EXPECT_EQ(engine_.started.size(), 2u);
}

TEST_F(RunnerTest, MisfireRunOnceStartsOneCatchUpRunAfterDowntime) {
  {
    auto r = runner(every5());
    clock_.advance_to(at("2026-01-01T10:05:00Z"));
    ASSERT_EQ(r->run_due().size(), 1u);
  }
  reopen();
  clock_.advance_to(at("2026-01-01T13:02:00Z"));  // down for three hours: 35 runs missed
  auto r = runner(every5());
  auto runs = r->run_due();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(format_time(runs[0].due), "2026-01-01T13:00:00.000Z");
  EXPECT_TRUE(r->run_due().empty());
  clock_.advance_to(at("2026-01-01T13:05:00Z"));
  EXPECT_EQ(r->run_due().size(), 1u);
  EXPECT_EQ(engine_.started.size(), 3u);
}

TEST_F(RunnerTest, MisfireSkipStartsNoneAfterDowntime) {
  {
    auto r = runner(every5(Misfire::Skip));
    clock_.advance_to(at("2026-01-01T10:05:00Z"));
    ASSERT_EQ(r->run_due().size(), 1u);
  }
  reopen();
  clock_.advance_to(at("2026-01-01T13:02:00Z"));
  auto r = runner(every5(Misfire::Skip));
  EXPECT_TRUE(r->run_due().empty());
  auto stored = store_->get_setting("schedule/five/last_run");
  ASSERT_TRUE(stored && *stored);
  EXPECT_NE(stored->value().find("\"skipped\""), std::string::npos);
  clock_.advance_to(at("2026-01-01T13:05:00Z"));
  auto runs = r->run_due();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(format_time(runs[0].due), "2026-01-01T13:05:00.000Z");
  // A restart right after a skip neither replays the skipped runs nor the last one.
  reopen();
  auto again = runner(every5(Misfire::Skip));
  EXPECT_TRUE(again->run_due().empty());
  EXPECT_EQ(engine_.started.size(), 2u);
}

TEST_F(RunnerTest, SkipStillRunsWhatIsOnlySlightlyLate) {
  auto r = runner(every5(Misfire::Skip));
  clock_.advance_to(at("2026-01-01T10:05:50Z"));  // within the 60 s grace
  EXPECT_EQ(r->run_due().size(), 1u);
}

TEST_F(RunnerTest, ANewScheduleStartsFromNowAndRemembersThat) {
  clock_.advance_to(at("2026-01-01T10:07:00Z"));
  {
    auto r = runner(every5());
    EXPECT_TRUE(r->run_due().empty());  // 10:05 was before the schedule existed
  }
  reopen();
  clock_.advance_to(at("2026-01-01T10:12:00Z"));
  auto r = runner(every5());
  auto runs = r->run_due();  // 10:10 came due while down: one catch-up run
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(format_time(runs[0].due), "2026-01-01T10:10:00.000Z");
}

TEST_F(RunnerTest, AFailedStartIsRecordedAndNotRetriedForever) {
  std::vector<ScheduleSpec> v;
  v.push_back(spec("bad", "*/5 * * * *"));
  int calls = 0;
  {
    ScheduleRunner r(clock_, *store_, std::move(v), [&](const ScheduledRun&) -> Result<std::string> {
      ++calls;
      return fail(ErrorCode::NotFound, "unknown runbook 'rb-bad'");
    });
    ASSERT_TRUE(r.load());
    clock_.advance_to(at("2026-01-01T10:05:00Z"));
    EXPECT_EQ(r.run_due().size(), 1u);
    EXPECT_TRUE(r.run_due().empty());
  }
  EXPECT_EQ(calls, 1);
  auto stored = store_->get_setting("schedule/bad/last_run");
  ASSERT_TRUE(stored && *stored);
  EXPECT_NE(stored->value().find("unknown runbook 'rb-bad'"), std::string::npos);
  reopen();
  std::vector<ScheduleSpec> v2;
  v2.push_back(spec("bad", "*/5 * * * *"));
  auto r = runner(std::move(v2));
  EXPECT_TRUE(r->run_due().empty());
  EXPECT_TRUE(engine_.started.empty());
}

TEST_F(RunnerTest, SchedulesAreIndependent) {
  std::vector<ScheduleSpec> v;
  v.push_back(spec("five", "*/5 * * * *"));
  v.push_back(spec("hourly", "0 * * * *"));
  auto r = runner(std::move(v));
  clock_.advance_to(at("2026-01-01T11:00:00Z"));  // 11:00 due for both; 58 min since load
  auto runs = r->run_due();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].schedule_id, "five");
  EXPECT_EQ(runs[1].schedule_id, "hourly");
  EXPECT_NE(runs[0].execution_id, runs[1].execution_id);
}

TEST_F(RunnerTest, TheThreadFiresWhenTheFakeClockReachesTheDueTime) {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> dues;
  ScheduleRunner r(clock_, *store_, every5(), [&](const ScheduledRun& run) -> Result<std::string> {
    std::lock_guard g(mu);
    dues.push_back(format_time(run.due));
    cv.notify_all();
    return run.execution_id;
  });
  ASSERT_TRUE(r.start());
  auto wait_for = [&](std::size_t n) {
    std::unique_lock lk(mu);
    return cv.wait_for(lk, std::chrono::seconds(10), [&] { return dues.size() >= n; });
  };
  clock_.advance_to(at("2026-01-01T10:05:00Z"));
  ASSERT_TRUE(wait_for(1));
  clock_.advance_to(at("2026-01-01T10:10:00Z"));
  ASSERT_TRUE(wait_for(2));
  r.stop();
  std::lock_guard g(mu);
  EXPECT_EQ(dues, (std::vector<std::string>{"2026-01-01T10:05:00.000Z", "2026-01-01T10:10:00.000Z"}));
}

}  // namespace
}  // namespace opsrun::scheduler
