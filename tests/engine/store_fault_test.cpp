// The store fails in the middle of a run (a full disk under SQLite, PostgreSQL going away):
// the engine performs no side effect whose records are not durable, and when the fault
// clears the execution carries on and the store holds its whole history.
#include <libpq-fe.h>
#include <signal.h>
#include <sys/resource.h>

#include <filesystem>
#include <functional>
#include <thread>

#include "engine/engine_fixture.h"
#include "store/pg_test_db.h"

namespace opsrun::testing {
namespace {

using model::ExecutionStatus;

const char* kRunbook = R"(
id: outage
start: ask
steps:
  - id: ask
    type: approval
    message: go?
    on_success: touch
  - id: touch
    type: action
    exec: ["touch", "{{ ctx.marker }}"]
)";

// Starts the runbook, breaks the store while it waits for its approval, approves, checks
// that the action does not run, mends the store and checks that it finishes durably.
void hold_then_resume(store::Store& store, const std::function<void()>& break_store,
                      const std::function<void()>& mend_store, const store::OpenOptions& reopen) {
  TempDir dir;
  SystemClock clock;
  notify::ChannelRegistry channels;
  steps::StepRunner runner{steps::StepRunnerOptions{}, channels};
  auto engine = engine::Engine::create(clock, runner, &store);
  const std::string marker = dir.file("touched");
  auto id = engine->start(parse_runbook(kRunbook), JsonObject{{"marker", marker}});
  ASSERT_TRUE(id);
  auto waiting = engine->wait(*id, Millis(10'000));
  ASSERT_TRUE(waiting);
  ASSERT_EQ(waiting->status, ExecutionStatus::Waiting);

  break_store();
  ASSERT_TRUE(engine->approve(*id, true, "token:oncall"));
  // The approval cannot be committed: the action must not start (several retry rounds).
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  EXPECT_FALSE(std::filesystem::exists(marker)) << "a side effect ran before its records were durable";
  mend_store();

  auto done = engine->wait(*id, Millis(30'000));
  ASSERT_TRUE(done);
  EXPECT_EQ(done->status, ExecutionStatus::Completed);
  EXPECT_TRUE(std::filesystem::exists(marker));
  engine->stop(Millis(0));

  // Nothing lost or half-written: another handle reads the whole history back.
  auto other = store::open_store(reopen);
  ASSERT_TRUE(other) << other.error().describe();
  auto row = (*other)->execution(*id);
  ASSERT_TRUE(row && row->has_value());
  EXPECT_EQ((*row)->status, "completed");
  auto events = (*other)->events(*id);
  ASSERT_TRUE(events);
  bool approved = false, finished = false;
  for (const auto& ev : *events) {
    approved = approved || ev.type == "approval";
    finished = finished || ev.type == "attempt_finished";
  }
  EXPECT_TRUE(approved);
  EXPECT_TRUE(finished);
}

TEST(StoreFaults, SqliteFullDiskHoldsSideEffectsThenResumes) {
  TempDir dir;
  store::OpenOptions o;
  o.data_dir = dir.file("data");
  auto store = store::open_store(o);
  ASSERT_TRUE(store) << store.error().describe();
  // A file size limit of one byte makes every write to the database and its WAL fail as a
  // full disk does (EFBIG instead of ENOSPC), for this process only.
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &saved), 0);
  auto old_handler = signal(SIGXFSZ, SIG_IGN);
  hold_then_resume(
      **store,
      [&] {
        rlimit tiny = saved;
        tiny.rlim_cur = 1;
        ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &tiny), 0);
      },
      [&] { ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &saved), 0); }, o);
  setrlimit(RLIMIT_FSIZE, &saved);
  signal(SIGXFSZ, old_handler);
}

// Runs one statement on the admin connection; true when the server accepted it.
bool pg_admin_query(const std::string& sql) {
  auto admin = pg_admin_url();
  if (!admin) return false;
  PGconn* c = PQconnectdb(admin->c_str());
  bool ok = PQstatus(c) == CONNECTION_OK;
  if (ok) {
    PGresult* r = PQexec(c, sql.c_str());
    ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    PQclear(r);
  }
  PQfinish(c);
  return ok;
}

TEST(StoreFaults, PostgresGoingAwayMidRunHoldsSideEffectsThenResumes) {
  PgTestDatabase db;
  if (db.url().empty()) {
    if (pg_required()) FAIL() << "OPSRUN_TEST_PG_URL is not set";
    GTEST_SKIP() << "no PostgreSQL test cluster (OPSRUN_TEST_PG_URL)";
  }
  const std::string name = db.url().substr(db.url().rfind('/') + 1);
  store::OpenOptions o;
  o.url = db.url();
  auto store = store::open_store(o);
  ASSERT_TRUE(store) << store.error().describe();
  // The database refuses new connections and its sessions are killed: to opsrun it is as if
  // the server went away, and it stays away until we let it back.
  hold_then_resume(
      **store,
      [&] {
        ASSERT_TRUE(pg_admin_query("ALTER DATABASE " + name + " ALLOW_CONNECTIONS false"));
        ASSERT_TRUE(pg_admin_query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" +
                                   name + "'"));
      },
      [&] { ASSERT_TRUE(pg_admin_query("ALTER DATABASE " + name + " ALLOW_CONNECTIONS true")); }, o);
}

}  // namespace
}  // namespace opsrun::testing
