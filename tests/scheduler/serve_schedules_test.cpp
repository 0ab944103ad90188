// The real `opsrun serve` with schedules: a run missed while it was down starts at start-up
// (misfire run_once) under the runner's deterministic execution id, and bad schedules keep
// the server from starting.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "cli/run_binary.h"
#include "opsrun/common/ids.h"
#include "opsrun/scheduler/schedule_runner.h"
#include "opsrun/store/store.h"

namespace opsrun::scheduler {
namespace {

namespace fs = std::filesystem;

class ServeSchedules : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("opsrun-serve-sched-" + random_hex(6));
    fs::create_directories(dir_ / "runbooks");
    std::ofstream(dir_ / "runbooks" / "tick.yaml")
        << "id: tick\nstart: a\nsteps:\n  - id: a\n    type: action\n    builtin: noop\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write_config(const std::string& schedules) { std::ofstream(dir_ / "opsrun.yaml") << schedules; }
  std::vector<std::string> serve_args() const {
    return {"serve", "--config", (dir_ / "opsrun.yaml").string(), "--listen", "127.0.0.1:0",
            "--data-dir", (dir_ / "data").string(), "--runbooks", (dir_ / "runbooks").string()};
  }

  fs::path dir_;
};

TEST_F(ServeSchedules, AMissedRunStartsAtStartUp) {
  write_config(
      "schedules:\n  - id: yearly\n    cron: \"0 0 1 1 *\"\n    runbook: tick\n    misfire: run_once\n");
  // The schedule last ran long ago: this year's 1 January run was missed while down.
  {
    auto store = store::open_store({.data_dir = (dir_ / "data").string()});
    ASSERT_TRUE(store) << store.error().describe();
    ASSERT_TRUE((*store)->put_setting(ScheduleRunner::setting_key("yearly"),
                                      R"({"due":"2000-01-01T00:00:00.000Z","execution_id":"","outcome":"started"})"));
  }
  auto cron = CronSchedule::create("0 0 1 1 *", "UTC");
  ASSERT_TRUE(cron);
  const SystemTime now = SystemClock().now();
  SystemTime due{};
  for (auto t : cron->next_runs(now - std::chrono::hours(24 * 400), 3))
    if (t <= now) due = t;
  const std::string id = ScheduleRunner::execution_id_for("yearly", due);

  std::vector<std::string> args = {OPSRUN_BINARY};
  for (auto& a : serve_args()) args.push_back(a);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, (dir_ / "serve.out").c_str(), O_WRONLY | O_CREAT, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, (dir_ / "serve.err").c_str(), O_WRONLY | O_CREAT, 0644);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);

  auto store = store::open_store({.data_dir = (dir_ / "data").string()});
  ASSERT_TRUE(store) << store.error().describe();
  std::string status;
  for (int i = 0; i < 300 && status != "completed"; ++i) {  // bounded: 15 s
    auto row = (*store)->execution(id);
    if (row && *row) status = (*row)->status;
    if (status != "completed") std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid, SIGTERM);
  int wstatus = 0;
  waitpid(pid, &wstatus, 0);
  EXPECT_EQ(status, "completed") << "no completed execution " << id;
  auto row = (*store)->execution(id);
  ASSERT_TRUE(row && *row);
  EXPECT_EQ((*row)->runbook_id, "tick");
  auto last = (*store)->get_setting(ScheduleRunner::setting_key("yearly"));
  ASSERT_TRUE(last && *last);
  EXPECT_NE(last->value().find(id), std::string::npos);
  auto events = (*store)->events(id);
  ASSERT_TRUE(events && !events->empty());
  EXPECT_EQ(events->front().type, "started");
  EXPECT_TRUE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
}

TEST_F(ServeSchedules, BadSchedulesKeepTheServerFromStarting) {
  write_config("schedules:\n  - {id: a, cron: \"0 25 * * *\", runbook: tick}\n");
  auto bad_cron = testing::run_opsrun(serve_args());
  EXPECT_EQ(bad_cron.exit_code, 2);
  EXPECT_NE(bad_cron.err.find("schedules[0].cron"), std::string::npos) << bad_cron.err;
  EXPECT_NE(bad_cron.err.find("hour field, column 3: 25 is out of range 0-23"), std::string::npos) << bad_cron.err;
  write_config("schedules:\n  - {id: a, cron: \"0 2 * * *\", runbook: nope}\n");
  auto unknown = testing::run_opsrun(serve_args());
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("schedule a: unknown runbook 'nope'"), std::string::npos) << unknown.err;
}

TEST_F(ServeSchedules, CliListsNextRuns) {
  write_config("schedules:\n  - {id: nightly, cron: \"30 2 * * *\", timezone: Europe/Berlin, runbook: tick}\n");
  auto r = testing::run_opsrun({"schedules", "--config", (dir_ / "opsrun.yaml").string(), "--from",
                                "2024-03-30T12:00:00Z"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "nightly: runbook tick, cron \"30 2 * * *\", Europe/Berlin, misfire run_once\n"
            "  2024-03-31 03:00 CEST (+02:00)  2024-03-31T01:00:00.000Z\n"
            "  2024-04-01 02:30 CEST (+02:00)  2024-04-01T00:30:00.000Z\n"
            "  2024-04-02 02:30 CEST (+02:00)  2024-04-02T00:30:00.000Z\n"
            "  2024-04-03 02:30 CEST (+02:00)  2024-04-03T00:30:00.000Z\n"
            "  2024-04-04 02:30 CEST (+02:00)  2024-04-04T00:30:00.000Z\n");
  write_config("schedules:\n  - {id: nightly, cron: \"30 2 * *\", runbook: tick}\n");
  auto bad = testing::run_opsrun({"schedules", "--config", (dir_ / "opsrun.yaml").string()});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("schedules[0].cron: schedule 'nightly': cron \"30 2 * *\": expected 5 fields"),
            std::string::npos) << bad.err;
}

}  // namespace
}  // namespace opsrun::scheduler
