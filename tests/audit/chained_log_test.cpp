// The chained log over a real SQLite store: encoding, hashes, concurrent appenders, secret
// redaction, the tail query and the rotated JSON-lines file.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "cli/run_binary.h"
#include "opsrun/audit/audit_query.h"
#include "opsrun/audit/chained_log.h"
#include "opsrun/common/ids.h"
#include "opsrun/common/log.h"
#include "opsrun/store/store.h"

namespace opsrun::audit {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

class ChainedLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("opsrun-audit-" + random_hex(6));
    store_ = open();
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  std::unique_ptr<store::Store> open() {
    auto s = store::open_store({.data_dir = (dir_ / "data").string()});
    EXPECT_TRUE(s) << s.error().describe();
    return s ? std::move(*s) : nullptr;
  }

  fs::path dir_;
  std::unique_ptr<store::Store> store_;
  FakeClock clock_{from_unix_ms(1'800'000'000'000)};
};

TEST_F(ChainedLogTest, CanonicalRecordsChainFromTheAnchor) {
  ChainedLog log(*store_, clock_);
  AuditEntry e{.actor = "ops-token", .kind = "action", .execution_id = "exec-1", .step_id = "restart",
               .target = "vm-1", .action = "systemctl restart api", .decision = "allow",
               .reason = "", .outcome = "succeeded", .dry_run = false,
               .details = JsonObject{{"z", 1}, {"a", JsonArray{"x", true}}}};
  ASSERT_EQ(*log.record(e), 1);
  clock_.advance(Millis(5));
  ASSERT_EQ(*log.record({.actor = "system", .kind = "resume"}), 2);
  auto rows = store_->audit_range(0, 10);
  ASSERT_TRUE(rows && rows->size() == 2);
  const auto& first = (*rows)[0];
  EXPECT_EQ(first.data,
            R"({"action":"systemctl restart api","actor":"ops-token","at":"2027-01-15T08:00:00.000Z",)"
            R"("decision":"allow","details":{"a":["x",true],"z":1},"dry_run":false,"execution_id":"exec-1",)"
            R"("kind":"action","outcome":"succeeded","reason":"","seq":1,"step_id":"restart","target":"vm-1"})");
  EXPECT_EQ(first.prev_hash, kAnchorHash);
  EXPECT_EQ(first.hash, chain_hash(kAnchorHash, first.data));
  EXPECT_EQ(first.hash.size(), 64u);
  EXPECT_EQ((*rows)[1].prev_hash, first.hash);
  EXPECT_EQ((*rows)[1].at_ms, 1'800'000'000'005);
  // A known SHA-256 (of "ab\nc", as `printf 'ab\nc' | sha256sum` prints it).
  EXPECT_EQ(chain_hash("ab", "c"), "0acdf9a2665198da784232d827b01ae3d24af5db060d723950cfcd47cd82ac07");
}

TEST_F(ChainedLogTest, ConcurrentAppendersThroughTwoStoreHandlesKeepOneChain) {
  auto second = open();  // as a second process would: its own connection to the same file
  ChainedLog a(*store_, clock_), b(*second, clock_);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 40; ++i) {
        auto r = (t % 2 == 0 ? a : b).record({.actor = "t" + std::to_string(t), .kind = "action"});
        ASSERT_TRUE(r) << r.error().describe();
      }
    });
  for (auto& t : threads) t.join();
  auto v = verify(*store_);
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->ok) << v->detail;
  EXPECT_EQ(v->records, 160);
  EXPECT_EQ(v->head_seq, 160);
}

TEST_F(ChainedLogTest, BatchesChainInOrderAndInterleaveWithAnotherWriter) {
  auto second = open();
  ChainedLog batcher(*store_, clock_), single(*second, clock_);
  std::vector<AuditEntry> three = {{.actor = "b", .kind = "safety_decision", .step_id = "one"},
                                   {.actor = "b", .kind = "safety_decision", .step_id = "two"},
                                   {.actor = "b", .kind = "safety_decision", .step_id = "three"}};
  std::thread other([&] {
    for (int i = 0; i < 30; ++i) ASSERT_TRUE(single.record({.actor = "s", .kind = "action"}));
  });
  std::int64_t last = 0;
  for (int i = 0; i < 30; ++i) {
    auto r = batcher.record_all(three);
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_GT(*r, last);
    last = *r;
  }
  other.join();
  auto v = verify(*store_);
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->ok) << v->detail;
  EXPECT_EQ(v->records, 120);
  // A batch is contiguous and in the given order: the other writer never lands inside one.
  auto rows = store_->audit_range(0, 200);
  ASSERT_TRUE(rows);
  for (std::size_t i = 0; i < rows->size(); ++i)
    if ((*rows)[i].data.find(R"("step_id":"one")") != std::string::npos) {
      ASSERT_LT(i + 2, rows->size());
      EXPECT_NE((*rows)[i + 1].data.find(R"("step_id":"two")"), std::string::npos);
      EXPECT_NE((*rows)[i + 2].data.find(R"("step_id":"three")"), std::string::npos);
    }
  EXPECT_FALSE(batcher.record_all({}));
}

TEST_F(ChainedLogTest, SecretsAreRedactedBeforeHashingAndWriting) {
  const std::string secret = "pw-" + random_hex(12);
  log::add_secret(secret);
  const auto jsonl = dir_ / "audit.jsonl";
  ChainedLog log(*store_, clock_, {.jsonl_path = jsonl.string()});
  ASSERT_TRUE(log.record({.actor = "ops", .kind = "action", .action = "mysql -p" + secret + " -e 'DROP x'",
                          .reason = "token " + secret, .details = JsonObject{{"password", secret},
                                                                             {secret, JsonArray{secret}}}}));
  auto rows = store_->audit_range(0, 1);
  ASSERT_TRUE(rows && rows->size() == 1);
  EXPECT_EQ((*rows)[0].data.find(secret), std::string::npos);
  EXPECT_NE((*rows)[0].data.find("mysql -p*** -e"), std::string::npos);
  EXPECT_TRUE(verify(*store_)->ok);
  store_.reset();  // flush everything to the files, then grep every byte of them
  for (const auto& f : fs::recursive_directory_iterator(dir_))
    if (f.is_regular_file()) {
      EXPECT_EQ(slurp(f.path()).find(secret), std::string::npos) << f.path();
    }
}

TEST_F(ChainedLogTest, TailFiltersByAgeAndExecutionAndPages) {
  ChainedLog log(*store_, clock_);
  for (int i = 1; i <= 30; ++i) {
    clock_.advance(Millis(10 * 60 * 1000));  // one record every 10 minutes: 5 hours in all
    ASSERT_TRUE(log.record({.actor = "a", .kind = "action", .execution_id = i % 3 == 0 ? "exec-x" : "exec-y",
                            .step_id = std::to_string(i)}));
  }
  const SystemTime now = clock_.now();
  auto hour = tail(*store_, {.hours = 1, .execution_id = "", .limit = 100, .cursor = 0}, now);
  ASSERT_TRUE(hour);
  ASSERT_EQ(hour->records.size(), 7u);  // records 24..30 (record 24 is exactly an hour old)
  EXPECT_EQ(hour->records.front().at("seq").as_int64(), 30);
  EXPECT_EQ(hour->records.back().at("seq").as_int64(), 24);
  EXPECT_EQ(hour->next_cursor, 0);
  EXPECT_EQ(hour->records.front().at("hash").as_string().size(), 64u);

  auto x = tail(*store_, {.hours = 0, .execution_id = "exec-x", .limit = 4, .cursor = 0}, now);
  ASSERT_TRUE(x);
  std::vector<std::int64_t> seqs;
  for (const auto& r : x->records) seqs.push_back(r.at("seq").as_int64());
  EXPECT_EQ(seqs, (std::vector<std::int64_t>{30, 27, 24, 21}));
  ASSERT_EQ(x->next_cursor, 21);
  auto more = tail(*store_, {.hours = 0, .execution_id = "exec-x", .limit = 100, .cursor = x->next_cursor}, now);
  ASSERT_TRUE(more);
  EXPECT_EQ(more->records.size(), 6u);  // 18, 15, 12, 9, 6, 3
  EXPECT_EQ(more->records.back().at("seq").as_int64(), 3);
  EXPECT_EQ(more->next_cursor, 0);
}

TEST_F(ChainedLogTest, JsonLinesFileRotatesBySize) {
  const auto jsonl = dir_ / "audit.jsonl";
  ChainedLog log(*store_, clock_, {.jsonl_path = jsonl.string(), .jsonl_max_bytes = 2000, .jsonl_keep = 3});
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(log.record({.actor = "a", .kind = "action", .step_id = std::to_string(i)}));
  ASSERT_TRUE(fs::exists(jsonl));
  ASSERT_TRUE(fs::exists(jsonl.string() + ".1"));
  ASSERT_TRUE(fs::exists(jsonl.string() + ".3"));
  EXPECT_FALSE(fs::exists(jsonl.string() + ".4"));
  std::int64_t newest = 0;
  for (const char* suffix : {"", ".1", ".2", ".3"}) {
    const auto file = jsonl.string() + suffix;
    EXPECT_LE(fs::file_size(file), 2000u) << file;
    std::istringstream lines(slurp(file));
    std::string line;
    while (std::getline(lines, line)) {
      auto j = parse_json(line);
      ASSERT_TRUE(j && j->is_object()) << line;
      EXPECT_EQ(j->at("hash").as_string().size(), 64u);
      newest = std::max(newest, j->at("seq").as_int64());
    }
  }
  EXPECT_EQ(newest, 40);
}

TEST_F(ChainedLogTest, CliVerifyAndTail) {
  {
    SystemClock real;
    ChainedLog recent(*store_, real);
    ASSERT_TRUE(recent.record({.actor = "alice", .kind = "action", .execution_id = "exec-7", .action = "reboot"}));
  }
  store_.reset();
  const std::string data = (dir_ / "data").string();
  auto ok = testing::run_opsrun({"audit", "verify", "--data-dir", data});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("audit log intact: 1 records"), std::string::npos) << ok.out;
  auto t = testing::run_opsrun({"audit", "tail", "--hours", "1", "--execution", "exec-7", "--output", "json",
                                "--data-dir", data});
  ASSERT_EQ(t.exit_code, 0) << t.err;
  auto j = parse_json(t.out);
  ASSERT_TRUE(j) << t.out;
  ASSERT_EQ(j->at("records").as_array().size(), 1u);
  EXPECT_EQ(j->at("records").as_array()[0].at("action").as_string(), "reboot");
  auto text = testing::run_opsrun({"audit", "tail", "--data-dir", data});
  EXPECT_NE(text.out.find("#1 alice action execution_id=exec-7 action=reboot"), std::string::npos) << text.out;
}

}  // namespace
}  // namespace opsrun::audit
