// Editing, deleting or swapping audit rows directly in the database is found by verify() at
// the right record, on SQLite and on PostgreSQL (the throwaway cluster of `make test`).
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <thread>

#include "opsrun/audit/audit_query.h"
#include "opsrun/audit/chained_log.h"
#include "opsrun/common/ids.h"
#include "opsrun/store/store.h"
#include "store/pg_test_db.h"

namespace opsrun::audit {
namespace {

namespace fs = std::filesystem;

// One store to tamper with, and a raw connection to its database behind the Store's back.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual store::Store& store() = 0;
  virtual void sql(const std::string& statement) = 0;
};

class SqliteBackend final : public Backend {
 public:
  SqliteBackend() : dir_(fs::temp_directory_path() / ("opsrun-audit-" + random_hex(6))) {
    auto s = store::open_store({.data_dir = dir_.string()});
    EXPECT_TRUE(s) << s.error().describe();
    store_ = std::move(*s);
  }
  ~SqliteBackend() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  store::Store& store() override { return *store_; }
  void sql(const std::string& statement) override {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_ / "opsrun.db").c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db, statement.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
    sqlite3_free(err);
    sqlite3_close(db);
  }

 private:
  fs::path dir_;
  std::unique_ptr<store::Store> store_;
};

class PostgresBackend final : public Backend {
 public:
  PostgresBackend() {
    if (db_.url().empty()) return;
    auto s = store::open_store({.url = db_.url()});
    EXPECT_TRUE(s) << s.error().describe();
    if (s) store_ = std::move(*s);
  }
  bool available() const { return store_ != nullptr; }
  store::Store& store() override { return *store_; }
  void sql(const std::string& statement) override {
    PGconn* c = PQconnectdb(db_.url().c_str());
    ASSERT_EQ(PQstatus(c), CONNECTION_OK) << PQerrorMessage(c);
    PGresult* r = PQexec(c, statement.c_str());
    EXPECT_EQ(PQresultStatus(r), PGRES_COMMAND_OK) << PQerrorMessage(c);
    PQclear(r);
    PQfinish(c);
  }

 private:
  testing::PgTestDatabase db_;
  std::unique_ptr<store::Store> store_;
};

class Tamper : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      backend_ = std::make_unique<SqliteBackend>();
    } else {
      auto pg = std::make_unique<PostgresBackend>();
      if (!pg->available()) {
        if (testing::pg_required()) FAIL() << "OPSRUN_TEST_PG_URL is not set (CI requires PostgreSQL)";
        GTEST_SKIP() << "no PostgreSQL test cluster (OPSRUN_TEST_PG_URL); run scripts/run-tests.sh";
      }
      backend_ = std::move(pg);
    }
    ChainedLog log(backend_->store(), clock_);
    for (int i = 1; i <= 8; ++i) {
      clock_.advance(Millis(1000));
      auto seq = log.record({.actor = "alice", .kind = "action", .execution_id = "exec-1",
                             .step_id = "step-" + std::to_string(i), .target = "vm-" + std::to_string(i),
                             .action = "restart vm-" + std::to_string(i), .decision = "allow",
                             .outcome = "succeeded"});
      ASSERT_TRUE(seq) << seq.error().describe();
      ASSERT_EQ(*seq, i);
    }
    auto ok = verify(backend_->store());
    ASSERT_TRUE(ok);
    ASSERT_TRUE(ok->ok) << ok->detail;
    ASSERT_EQ(ok->records, 8);
    ASSERT_EQ(ok->head_seq, 8);
  }

  void expect_broken(std::int64_t seq, const std::string& problem) {
    auto r = verify(backend_->store());
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_FALSE(r->ok);
    EXPECT_EQ(r->first_bad_seq, seq) << r->detail;
    EXPECT_EQ(r->problem, problem) << r->detail;
  }

  FakeClock clock_;
  std::unique_ptr<Backend> backend_;
};

TEST_P(Tamper, EditedRecord) {
  backend_->sql("UPDATE audit_records SET data = replace(data, 'restart vm-5', 'delete vm-5') WHERE seq = 5");
  expect_broken(5, "altered");
}

TEST_P(Tamper, EditedAndRehashedRecordIsCaughtByTheNextLink) {
  auto rows = backend_->store().audit_range(4, 1);
  ASSERT_TRUE(rows && rows->size() == 1);
  std::string data = (*rows)[0].data;
  data.replace(data.find("restart vm-5"), 12, "delete vm-5!");
  const std::string hash = chain_hash((*rows)[0].prev_hash, data);
  backend_->sql("UPDATE audit_records SET data = '" + data + "', hash = '" + hash + "' WHERE seq = 5");
  expect_broken(5, "altered");
}

TEST_P(Tamper, DeletedRecord) {
  backend_->sql("DELETE FROM audit_records WHERE seq = 4");
  expect_broken(4, "removed");
}

TEST_P(Tamper, DeletedFirstRecord) {
  backend_->sql("DELETE FROM audit_records WHERE seq = 1");
  expect_broken(1, "removed");
}

TEST_P(Tamper, SwappedRecords) {
  backend_->sql("UPDATE audit_records SET seq = -3 WHERE seq = 3");
  backend_->sql("UPDATE audit_records SET seq = 3 WHERE seq = 4");
  backend_->sql("UPDATE audit_records SET seq = 4 WHERE seq = -3");
  expect_broken(3, "reordered");
}

TEST_P(Tamper, DeletedAndRenumbered) {
  backend_->sql("DELETE FROM audit_records WHERE seq = 6");
  backend_->sql("UPDATE audit_records SET seq = seq - 1 WHERE seq = 7");
  backend_->sql("UPDATE audit_records SET seq = seq - 1 WHERE seq = 8");
  expect_broken(6, "reordered");
}

TEST_P(Tamper, ChangedTime) {
  backend_->sql("UPDATE audit_records SET at_ms = at_ms - 3600000 WHERE seq = 2");
  expect_broken(2, "altered");
}

TEST_P(Tamper, NewRecordsAfterVerifyStillChainOn) {
  ChainedLog log(backend_->store(), clock_);
  ASSERT_EQ(*log.record({.actor = "bob", .kind = "resume"}), 9);
  auto r = verify(backend_->store());
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok);
  EXPECT_EQ(r->head_seq, 9);
}

// Two nodes appending at once: each has its own connection; the store refuses the loser's
// row with Conflict and the log re-reads the head and retries.
TEST(AuditPostgres, ConcurrentNodesKeepOneChain) {
  testing::PgTestDatabase db;
  if (db.url().empty()) {
    if (testing::pg_required()) FAIL() << "OPSRUN_TEST_PG_URL is not set (CI requires PostgreSQL)";
    GTEST_SKIP() << "no PostgreSQL test cluster (OPSRUN_TEST_PG_URL)";
  }
  auto a = store::open_store({.url = db.url()});
  auto b = store::open_store({.url = db.url()});
  ASSERT_TRUE(a && b);
  FakeClock clock;
  ChainedLog la(**a, clock), lb(**b, clock);
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        auto r = (t == 0 ? la : lb).record({.actor = "node" + std::to_string(t), .kind = "action"});
        ASSERT_TRUE(r) << r.error().describe();
      }
    });
  for (auto& t : threads) t.join();
  auto v = verify(**a);
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->ok) << v->detail;
  EXPECT_EQ(v->head_seq, 100);
}

INSTANTIATE_TEST_SUITE_P(Backends, Tamper, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace opsrun::audit
