// Kills a process running 200 executions with SIGKILL at random moments, restarts it, and
// checks that nothing was lost, nothing non-idempotent ran twice, and nothing is stuck.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "engine/engine_fixture.h"
#include "store/pg_test_db.h"

extern char** environ;

namespace opsrun::testing {
namespace {

pid_t spawn_driver(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  EXPECT_EQ(posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ), 0);
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

void crash_and_recover(const std::vector<std::string>& store_args, const std::string& ledger,
                       const store::OpenOptions& open) {
  constexpr int kExecutions = 200;
  std::vector<std::string> args = {CRASH_DRIVER};
  args.insert(args.end(), store_args.begin(), store_args.end());
  args.insert(args.end(), {"--ledger", ledger, "--count", std::to_string(kExecutions)});
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> delay_ms(150, 900);
  int kills = 0;
  for (int round = 0; round < 5; ++round) {
    pid_t pid = spawn_driver(args);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
    if (kill(pid, SIGKILL) == 0) ++kills;
    wait_exit(pid);
  }
  EXPECT_GE(kills, 3) << "the driver finished before it could be killed: make the runbook slower";
  // A last run without interruption settles everything.
  const int rc = wait_exit(spawn_driver(args));
  ASSERT_EQ(rc, 0);

  auto opened = store::open_store(open);
  ASSERT_TRUE(opened) << opened.error().describe();
  store::Store& store = **opened;
  store::ExecutionQuery q;
  q.limit = 10'000;
  auto rows = store.list_executions(q);
  ASSERT_TRUE(rows) << rows.error().describe();
  ASSERT_EQ(rows->size(), static_cast<std::size_t>(kExecutions));
  int completed = 0, attention = 0;
  for (const auto& r : *rows) {
    if (r.status == "completed") {
      ++completed;
    } else {
      EXPECT_EQ(r.status, "needs_attention") << r.execution_id;
      EXPECT_FALSE(r.reason.empty()) << r.execution_id;
      ++attention;
    }
  }
  // The ledger: "<execution>/<step>/<attempt>" per side effect.
  std::map<std::string, int> per_step;
  std::ifstream in(ledger);
  for (std::string line; std::getline(in, line);) {
    const auto last = line.rfind('/');
    ASSERT_NE(last, std::string::npos) << line;
    per_step[line.substr(0, last)]++;
  }
  for (const auto& r : *rows) {
    for (const char* step : {"s2", "s4"})  // not idempotent: at most once
      EXPECT_LE(per_step[r.execution_id + "/" + step], 1) << r.execution_id << " " << step;
    if (r.status != "completed") continue;
    for (const char* step : {"s1", "s3", "s6"})  // idempotent: at least once
      EXPECT_GE(per_step[r.execution_id + "/" + step], 1) << r.execution_id << " " << step;
  }
  auto integrity = store.check_integrity();
  EXPECT_TRUE(integrity) << integrity.error().describe();
  std::printf("crash test: %d kills, %d completed, %d need attention\n", kills, completed, attention);
}

TEST(Crash, SigkillLosesNothingOnSqlite) {
  TempDir dir;
  const std::string data = dir.file("data");
  store::OpenOptions open;
  open.data_dir = data;
  crash_and_recover({"--data-dir", data}, dir.file("ledger"), open);
}

TEST(Crash, SigkillLosesNothingOnPostgres) {
  if (!pg_admin_url()) {
    if (pg_required()) FAIL() << "OPSRUN_TEST_PG_URL is not set (make test starts a cluster)";
    GTEST_SKIP() << "no PostgreSQL test cluster (OPSRUN_TEST_PG_URL unset)";
  }
  TempDir dir;
  PgTestDatabase db;
  ASSERT_FALSE(db.url().empty());
  store::OpenOptions open;
  open.url = db.url();
  crash_and_recover({"--store", db.url()}, dir.file("ledger"), open);
}

}  // namespace
}  // namespace opsrun::testing
