// One conformance suite for every Store backend: SQLite always, PostgreSQL when the test
// cluster is up (make test starts one).
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "engine/engine_fixture.h"
#include "opsrun/store/store.h"
#include "store/pg_test_db.h"

namespace opsrun::testing {
namespace {

enum class Backend { Sqlite, Postgres };

class StoreConformance : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::Postgres) {
      if (!pg_admin_url()) {
        if (pg_required()) FAIL() << "OPSRUN_TEST_PG_URL is not set (make test starts a cluster)";
        GTEST_SKIP() << "no PostgreSQL test cluster (OPSRUN_TEST_PG_URL unset)";
      }
      pg_ = std::make_unique<PgTestDatabase>();
      ASSERT_FALSE(pg_->url().empty()) << "cannot create a test database";
      options_.url = pg_->url();
    } else {
      options_.data_dir = dir_.file("data");
    }
    store_ = open();
    ASSERT_NE(store_, nullptr);
  }
  void TearDown() override {
    store_.reset();
    pg_.reset();
  }

  std::unique_ptr<store::Store> open() {
    auto s = store::open_store(options_);
    EXPECT_TRUE(s) << (s ? "" : s.error().describe());
    return s ? std::move(*s) : nullptr;
  }

  static store::EventRecord event(const std::string& id, std::int64_t seq, std::string type = "started") {
    return {id, seq, std::move(type), 1000 + seq, R"({"n":)" + std::to_string(seq) + "}"};
  }
  static store::ExecutionRow row(const std::string& id, std::int64_t started, std::string status = "running",
                                 std::string runbook = "rb") {
    store::ExecutionRow r;
    r.execution_id = id;
    r.runbook_id = std::move(runbook);
    r.runbook_version = "1.0.0";
    r.status = std::move(status);
    r.current_step = "a";
    r.started_at_ms = started;
    r.updated_at_ms = started;
    if (r.status == "completed" || r.status == "failed") r.finished_at_ms = started + 10;
    return r;
  }

  TempDir dir_;
  std::unique_ptr<PgTestDatabase> pg_;
  store::OpenOptions options_;
  std::unique_ptr<store::Store> store_;
};

TEST_P(StoreConformance, BatchOfManyExecutionsCommitsTogether) {
  store::Batch b;
  for (int i = 0; i < 100; ++i) {
    const std::string id = "exec-" + std::to_string(1000 + i);
    b.executions.push_back(row(id, 1000 + i));
    for (int seq = 1; seq <= 3; ++seq) b.events.push_back(event(id, seq));
  }
  ASSERT_TRUE(store_->commit(b));
  auto events = store_->events("exec-1042");
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[2].seq, 3);
  EXPECT_EQ((*events)[2].data, R"({"n":3})");
  EXPECT_EQ((*events)[0].at_ms, 1001);
  auto after = store_->events("exec-1042", 2);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->size(), 1u);
  auto one = store_->execution("exec-1042");
  ASSERT_TRUE(one && *one);
  EXPECT_EQ((*one)->runbook_id, "rb");
  EXPECT_FALSE((*one)->finished_at_ms);
}

TEST_P(StoreConformance, DuplicateSeqRollsBackTheWholeBatch) {
  store::Batch first;
  first.executions.push_back(row("exec-a", 1));
  first.events.push_back(event("exec-a", 1));
  ASSERT_TRUE(store_->commit(first));
  store::Batch bad;
  bad.executions.push_back(row("exec-b", 2));
  bad.events.push_back(event("exec-b", 1));
  bad.events.push_back(event("exec-a", 1));  // already there
  auto r = store_->commit(bad);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::Conflict);
  EXPECT_NE(r.error().describe().find(store_->describe()), std::string::npos);
  auto b = store_->execution("exec-b");
  ASSERT_TRUE(b);
  EXPECT_FALSE(b->has_value());  // nothing half-written
  EXPECT_TRUE(store_->events("exec-b")->empty());
}

TEST_P(StoreConformance, UpsertKeepsOneRowPerExecution) {
  store::Batch b;
  b.executions.push_back(row("exec-a", 5));
  ASSERT_TRUE(store_->commit(b));
  b.executions[0].status = "completed";
  b.executions[0].finished_at_ms = 99;
  b.executions[0].reason = "done";
  ASSERT_TRUE(store_->commit(b));
  auto all = store_->list_executions({});
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].status, "completed");
  EXPECT_EQ((*all)[0].finished_at_ms.value_or(0), 99);
  EXPECT_EQ((*all)[0].reason, "done");
}

TEST_P(StoreConformance, ListFiltersAndPagesNewestFirst) {
  store::Batch b;
  b.executions.push_back(row("exec-1", 100, "completed", "alpha"));
  b.executions.push_back(row("exec-2", 200, "running", "alpha"));
  b.executions.push_back(row("exec-3", 300, "failed", "beta"));
  b.executions.push_back(row("exec-4", 400, "waiting", "beta"));
  b.executions.push_back(row("exec-5", 500, "needs_attention", "beta"));
  ASSERT_TRUE(store_->commit(b));
  auto ids = [](const std::vector<store::ExecutionRow>& rows) {
    std::string s;
    for (const auto& r : rows) s += r.execution_id.substr(5);
    return s;
  };
  store::ExecutionQuery q;
  EXPECT_EQ(ids(*store_->list_executions(q)), "54321");
  q.runbook_id = "beta";
  EXPECT_EQ(ids(*store_->list_executions(q)), "543");
  q = {};
  q.status = "running";
  EXPECT_EQ(ids(*store_->list_executions(q)), "2");
  q = {};
  q.unfinished_only = true;
  EXPECT_EQ(ids(*store_->list_executions(q)), "42");
  q = {};
  q.limit = 2;
  EXPECT_EQ(ids(*store_->list_executions(q)), "54");
  q.before_id = "exec-4";
  EXPECT_EQ(ids(*store_->list_executions(q)), "32");
}

TEST_P(StoreConformance, Settings) {
  auto missing = store_->get_setting("emergency_stop");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing->has_value());
  ASSERT_TRUE(store_->put_setting("emergency_stop", "on"));
  ASSERT_TRUE(store_->put_setting("emergency_stop", "off"));
  EXPECT_EQ(store_->get_setting("emergency_stop")->value(), "off");
}

TEST_P(StoreConformance, CleanupDeletesOnlyOldFinishedExecutionsInBatches) {
  store::Batch b;
  for (int i = 0; i < 25; ++i) {
    const std::string id = "exec-old-" + std::to_string(i);
    b.executions.push_back(row(id, 1000 + i, "completed"));
    b.events.push_back(event(id, 1));
    b.events.push_back(event(id, 2));
  }
  b.executions.push_back(row("exec-old-running", 1000, "running"));
  b.executions.push_back(row("exec-new", 5'000'000, "completed"));
  ASSERT_TRUE(store_->commit(b));
  std::vector<std::int64_t> progress;
  auto stats = store_->cleanup(from_unix_ms(1'000'000), 10,
                               [&](const store::CleanupStats& s) { progress.push_back(s.executions_deleted); });
  ASSERT_TRUE(stats) << stats.error().describe();
  EXPECT_EQ(stats->executions_deleted, 25);
  EXPECT_EQ(stats->events_deleted, 50);
  EXPECT_EQ(stats->batches, 3);
  EXPECT_EQ(progress, (std::vector<std::int64_t>{10, 20, 25}));
  auto left = store_->list_executions({});
  ASSERT_EQ(left->size(), 2u);
  EXPECT_TRUE(store_->analyze());
  EXPECT_TRUE(store_->check_integrity());
}

TEST_P(StoreConformance, IntegrityCheckFindsAGapInTheHistory) {
  store::Batch b;
  b.executions.push_back(row("exec-gap", 1));
  b.events.push_back(event("exec-gap", 1));
  b.events.push_back(event("exec-gap", 3));
  ASSERT_TRUE(store_->commit(b));
  auto r = store_->check_integrity();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("exec-gap"), std::string::npos);
}

TEST_P(StoreConformance, PingAndReopenKeepData) {
  auto p = store_->ping();
  ASSERT_TRUE(p);
  store::Batch b;
  b.executions.push_back(row("exec-keep", 1));
  ASSERT_TRUE(store_->commit(b));
  store_.reset();
  store_ = open();
  ASSERT_NE(store_, nullptr);
  EXPECT_TRUE(store_->execution("exec-keep")->has_value());
}

TEST_P(StoreConformance, BackupAndRestoreRoundTrip) {
  store::Batch b;
  b.executions.push_back(row("exec-before", 1, "completed"));
  b.events.push_back(event("exec-before", 1));
  ASSERT_TRUE(store_->commit(b));
  const std::string file = dir_.file("backup.gz");
  auto backed = store_->backup_to(file);
  ASSERT_TRUE(backed) << backed.error().describe();
  store::Batch after;
  after.executions.push_back(row("exec-after", 2));
  ASSERT_TRUE(store_->commit(after));
  // Refused while the store is open.
  auto busy = store::restore_from(file, options_);
  ASSERT_FALSE(busy);
  EXPECT_EQ(busy.error().code, ErrorCode::Conflict);
  store_.reset();
  // A corrupt backup is refused and changes nothing.
  const std::string junk = dir_.file("junk.gz");
  std::ofstream(junk) << "not a backup at all";
  EXPECT_FALSE(store::restore_from(junk, options_));
  store_ = open();
  EXPECT_TRUE(store_->execution("exec-after")->has_value());
  store_.reset();
  auto restored = store::restore_from(file, options_);
  ASSERT_TRUE(restored) << restored.error().describe();
  store_ = open();
  ASSERT_NE(store_, nullptr);
  EXPECT_TRUE(store_->execution("exec-before")->has_value());
  EXPECT_FALSE(store_->execution("exec-after")->has_value());
  EXPECT_EQ(store_->events("exec-before")->size(), 1u);
  EXPECT_TRUE(store_->check_integrity());
}

store::TimerRow timer(const std::string& id, std::int64_t due, std::string group = "billing") {
  store::TimerRow t;
  t.id = id;
  t.group_id = std::move(group);
  t.shard = static_cast<int>(id.size() % 32);
  t.due_at_ms = due;
  t.payload = R"({"callback":{"url":"http://127.0.0.1:9/x"}})";
  t.created_at_ms = 1;
  return t;
}

TEST_P(StoreConformance, TimersAreIdempotentByContentAndListedByDueTime) {
  auto first = store_->put_timers({timer("t-3", 300), timer("t-1", 100), timer("t-2", 200, "other")});
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, (std::vector<std::string>{"t-3", "t-1", "t-2"}));
  auto again = store_->put_timers({timer("t-1", 100), timer("t-5", 500, "other")});  // t-1 again: a no-op
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, std::vector<std::string>{"t-5"});
  auto conflict = store_->put_timers({timer("t-4", 400), timer("t-1", 999)});
  ASSERT_FALSE(conflict);
  EXPECT_EQ(conflict.error().code, ErrorCode::Conflict);
  EXPECT_NE(conflict.error().message.find("t-1"), std::string::npos);
  EXPECT_FALSE(store_->get_timer("t-4")->has_value());  // nothing half-created
  auto due = store_->due_timers(250, 10);
  ASSERT_TRUE(due);
  ASSERT_EQ(due->size(), 2u);
  EXPECT_EQ((*due)[0].id, "t-1");
  EXPECT_EQ((*due)[1].id, "t-2");
  store::TimerQuery q;
  q.group_id = "billing";
  auto listed = store_->list_timers(q);
  ASSERT_EQ(listed->size(), 2u);
  q.after_id = "t-1";
  EXPECT_EQ(store_->list_timers(q)->at(0).id, "t-3");
}

TEST_P(StoreConformance, FiredTimerCannotBeCancelled) {
  ASSERT_TRUE(store_->put_timers({timer("t-a", 100), timer("t-b", 100)}));
  auto fired = *store_->get_timer("t-a");
  fired->status = "fired";
  fired->attempts = 1;
  fired->executed_at_ms = 105;
  store::TimerRow ghost = *fired;
  ghost.id = "t-ghost";
  auto partial = store_->update_timers({*fired, ghost});
  ASSERT_FALSE(partial);
  EXPECT_EQ(partial.error().code, ErrorCode::NotFound);
  EXPECT_EQ(store_->get_timer("t-a")->value().status, "pending");  // all or nothing
  ASSERT_TRUE(store_->update_timers({*fired}));
  auto r = store_->cancel_timer("t-a");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::Conflict);
  EXPECT_NE(r.error().message.find("fired"), std::string::npos);
  ASSERT_TRUE(store_->cancel_timer("t-b"));
  EXPECT_EQ(store_->get_timer("t-b")->value().status, "cancelled");
  EXPECT_EQ(store_->cancel_timer("t-none").error().code, ErrorCode::NotFound);
  EXPECT_TRUE(store_->due_timers(1000, 10)->empty());
  auto stats = store_->cleanup(from_unix_ms(1'000'000), 10, nullptr);
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->timers_deleted, 2);
}

TEST_P(StoreConformance, AuditRowsAppendDenselyInOrder) {
  EXPECT_FALSE(store_->last_audit()->has_value());
  ASSERT_TRUE(store_->append_audit({{1, 10, "{}", "", "h1"}, {2, 11, "{}", "h1", "h2"}}));
  auto gap = store_->append_audit({{4, 12, "{}", "h2", "h4"}});
  ASSERT_FALSE(gap);
  EXPECT_EQ(gap.error().code, ErrorCode::Conflict);
  ASSERT_TRUE(store_->append_audit({{3, 12, "{}", "h2", "h3"}}));
  EXPECT_EQ(store_->last_audit()->value().hash, "h3");
  auto range = store_->audit_range(1, 10);
  ASSERT_EQ(range->size(), 2u);
  EXPECT_EQ((*range)[0].prev_hash, "h1");
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreConformance,
                         ::testing::Values(Backend::Sqlite, Backend::Postgres),
                         [](const auto& info) {
                           return info.param == Backend::Sqlite ? std::string("Sqlite") : std::string("Postgres");
                         });

// --- backend-specific faults -------------------------------------------------------------

TEST(SqliteFaults, ForeignAndCorruptFilesAreRefusedByPath) {
  TempDir dir;
  const std::string data = dir.file("data");
  std::filesystem::create_directories(data);
  const std::string db = data + "/opsrun.db";
  std::ofstream(db) << "this is not a database, it is a text file with enough bytes to look like one"
                    << std::string(2000, 'x');
  store::OpenOptions o;
  o.data_dir = data;
  auto r = store::open_store(o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);
  EXPECT_NE(r.error().describe().find(db), std::string::npos) << r.error().describe();
  std::filesystem::remove(db);
  sqlite3* foreign = nullptr;
  sqlite3_open(db.c_str(), &foreign);
  sqlite3_exec(foreign, "CREATE TABLE invoices (id INTEGER)", nullptr, nullptr, nullptr);
  sqlite3_close(foreign);
  r = store::open_store(o);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("not an opsrun database"), std::string::npos);
}

TEST(SqliteFaults, NewerSchemaIsRefused) {
  TempDir dir;
  store::OpenOptions o;
  o.data_dir = dir.file("data");
  ASSERT_TRUE(store::open_store(o));
  sqlite3* db = nullptr;
  sqlite3_open((o.data_dir + "/opsrun.db").c_str(), &db);
  sqlite3_exec(db, "UPDATE opsrun_schema SET version = 99", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  auto r = store::open_store(o);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("newer opsrun (schema 99"), std::string::npos) << r.error().message;
}

TEST(SqliteFaults, LockedDatabaseIsUnavailableNotACrash) {
  TempDir dir;
  store::OpenOptions o;
  o.data_dir = dir.file("data");
  auto s = store::open_store(o);
  ASSERT_TRUE(s);
  sqlite3* other = nullptr;
  sqlite3_open((o.data_dir + "/opsrun.db").c_str(), &other);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  store::Batch b;
  store::ExecutionRow r;
  r.execution_id = "exec-x";
  r.runbook_id = "rb";
  b.executions.push_back(r);
  auto res = (*s)->commit(b);  // waits the busy timeout, then gives up cleanly
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code, ErrorCode::Unavailable);
  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);
  EXPECT_TRUE((*s)->commit(b));  // the fault cleared: the same batch goes through
}

TEST(SqliteFaults, MissingDirectoryWithoutCreateIsNamed) {
  store::OpenOptions o;
  o.data_dir = "/nonexistent/opsrun-data";
  o.create = false;
  auto r = store::open_store(o);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("/nonexistent/opsrun-data"), std::string::npos);
}

TEST(PostgresFaults, ServerDownIsUnavailableQuicklyWithoutThePassword) {
  store::OpenOptions o;
  o.url = "postgres://opsrun:hunter2secret@127.0.0.1:1/opsrun";
  const auto t0 = std::chrono::steady_clock::now();
  auto r = store::open_store(o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::Unavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(6));
  EXPECT_EQ(r.error().describe().find("hunter2secret"), std::string::npos) << r.error().describe();
  EXPECT_NE(r.error().describe().find("127.0.0.1:1"), std::string::npos);
}

}  // namespace
}  // namespace opsrun::testing
