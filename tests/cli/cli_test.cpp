// The real `opsrun` binary: exit codes, output formats, and the shipped runbooks.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "cli/run_binary.h"
#include "opsrun/common/ids.h"
#include "opsrun/common/json.h"

namespace opsrun::testing {
namespace {

namespace fs = std::filesystem;

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("opsrun-cli-" + random_hex(6));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    const fs::path p = dir_ / name;
    std::ofstream(p) << text;
    return p.string();
  }
  std::string data_dir() const { return (dir_ / "data").string(); }

  fs::path dir_;
};

constexpr const char* kGood = R"(id: hello
name: Hello
start: greet
steps:
  - id: greet
    type: action
    exec: ["echo", "hello {{ ctx.who }}"]
    on_success: check
  - id: check
    type: check
    lua: 'return results.greet.stdout == "hello world\n"'
)";

TEST_F(Cli, ValidateExitCodes) {
  const auto good = write("good.yaml", kGood);
  const auto bad = write("bad.yaml", "id: bad\nstart: nowhere\nsteps:\n  - id: a\n    type: action\n    builtin: noop\n");
  auto r = run_opsrun({"validate", good});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = run_opsrun({"validate", good, bad});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("bad.yaml:2"), std::string::npos) << r.err;  // names the file and line
  EXPECT_NE(r.err.find("nowhere"), std::string::npos) << r.err;
}

TEST_F(Cli, RunSucceedsWithJsonRecord) {
  const auto good = write("good.yaml", kGood);
  auto r = run_opsrun({"run", good, "--ctx", "who=world", "--output", "json", "--data-dir", data_dir()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto j = parse_json(r.out);
  ASSERT_TRUE(j) << r.out;
  EXPECT_EQ(j->at("status").as_string(), "completed");
  EXPECT_EQ(j->at("runbookId").as_string(), "hello");
  EXPECT_EQ(j->at("history").as_array().size(), 2u);
  EXPECT_TRUE(std::string(j->at("executionId").as_string()).starts_with("exec-"));
}

TEST_F(Cli, RunFailsWithExitOneAndInvalidInputWithTwo) {
  const auto good = write("good.yaml", kGood);
  auto r = run_opsrun({"run", good, "--ctx", "who=nobody", "--data-dir", data_dir()});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("failed"), std::string::npos) << r.out;
  r = run_opsrun({"run", write("broken.yaml", "id: x\nsteps: 5\n"), "--data-dir", data_dir()});
  EXPECT_EQ(r.exit_code, 2);
  r = run_opsrun({"run", good, "--ctx", "novalue", "--data-dir", data_dir()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("key=value"), std::string::npos) << r.err;
  r = run_opsrun({"run", "no-such-runbook", "--data-dir", data_dir()});
  EXPECT_EQ(r.exit_code, 2);
}

TEST_F(Cli, SimulatedFailureTakesTheFailurePath) {
  const auto rb = write("sim.yaml", R"(id: sim
start: act
steps:
  - id: act
    type: action
    exec: ["touch", "{{ ctx.marker }}"]
    on_failure: fallback
  - id: fallback
    type: action
    builtin: log
    with: {message: "took the fallback"}
)");
  const std::string marker = (dir_ / "marker").string();
  auto r = run_opsrun({"run", rb, "--ctx", "marker=" + marker, "--simulate-failure", "act",
                       "--output", "json", "--ephemeral"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_FALSE(fs::exists(marker));
  auto j = parse_json(r.out);
  ASSERT_TRUE(j);
  EXPECT_EQ(j->at("history").as_array().back().at("stepId").as_string(), "fallback");
}

TEST_F(Cli, ShippedRunbooksValidateAndDryRun) {
  const std::string runbooks = std::string(OPSRUN_SOURCE_DIR) + "/runbooks";
  auto r = run_opsrun({"validate", runbooks});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  for (const char* id : {"ai-service-recovery", "database-performance", "high-memory-usage"}) {
    r = run_opsrun({"run", id, "--runbooks", runbooks, "--dry-run", "--output", "json",
                    "--data-dir", data_dir()});
    EXPECT_LE(r.exit_code, 1) << id << r.err;
    auto j = parse_json(r.out);
    ASSERT_TRUE(j) << id << ": " << r.out << r.err;
    EXPECT_TRUE(j->at("dryRun").as_bool());
    // No action ran: every action's result is a plan.
    for (const auto& kv : j->at("results").as_object()) {
      if (kv.value().is_object() && kv.value().as_object().contains("wouldRun")) {
        EXPECT_TRUE(kv.value().at("dryRun").as_bool()) << kv.key();
      }
    }
  }
}

TEST_F(Cli, ExecutionsListAndShowReadTheStore) {
  const auto good = write("good.yaml", kGood);
  auto r = run_opsrun({"run", good, "--ctx", "who=world", "--output", "json", "--data-dir", data_dir()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string id(parse_json(r.out)->at("executionId").as_string());
  r = run_opsrun({"executions", "list", "--data-dir", data_dir()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(id), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("completed"), std::string::npos);
  r = run_opsrun({"executions", "list", "--state", "failed", "--data-dir", data_dir()});
  EXPECT_EQ(r.out.find(id), std::string::npos);
  r = run_opsrun({"executions", "show", id, "--data-dir", data_dir()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("greet"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("check"), std::string::npos) << r.out;
  r = run_opsrun({"executions", "show", "exec-nope", "--data-dir", data_dir()});
  EXPECT_EQ(r.exit_code, 2);
}

TEST_F(Cli, ResumeFinishesAKilledRun) {
  // A run killed while it waits leaves an unfinished execution; --resume finishes it.
  const auto rb = write("slow.yaml", R"(id: slow
start: first
steps:
  - id: first
    type: action
    exec: ["sh", "-c", "echo first >> \"$0\"", "{{ ctx.ledger }}"]
    idempotent: true
    on_success: pause
  - id: pause
    type: wait
    duration: 1s
    on_success: last
  - id: last
    type: action
    exec: ["sh", "-c", "echo last >> \"$0\"", "{{ ctx.ledger }}"]
)");
  const std::string ledger = (dir_ / "ledger").string();
  // `timeout -s KILL` plays the crash: the run is killed during its 1 s wait.
  std::string cmd = std::string("timeout -s KILL 0.6 ") + OPSRUN_BINARY + " run " + rb +
                    " --ctx ledger=" + ledger + " --data-dir " + data_dir() + " > /dev/null 2>&1";
  EXPECT_NE(std::system(cmd.c_str()), 0);
  auto r = run_opsrun({"executions", "list", "--state", "running", "--data-dir", data_dir()});
  EXPECT_NE(r.out.find("slow"), std::string::npos) << r.out;
  r = run_opsrun({"run", "--resume", "--data-dir", data_dir()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  std::ifstream in(ledger);
  std::string all((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(all, "first\nlast\n");
}

}  // namespace
}  // namespace opsrun::testing

namespace opsrun::testing {
namespace {

TEST_F(Cli, OperatorRetriesAnInterruptedStepThroughTheCli) {
  // A non-idempotent action killed mid-run needs a person; `executions retry` carries it on.
  const auto rb = write("fragile.yaml", R"(id: fragile
start: act
steps:
  - id: act
    type: action
    exec: ["sh", "-c", "echo ran >> \"$0\"; [ -f \"$1\" ] || sleep 30", "{{ ctx.ledger }}", "{{ ctx.flag }}"]
)");
  const std::string ledger = (dir_ / "ledger").string(), flag = (dir_ / "flag").string();
  std::string cmd = std::string("timeout -s KILL 1 ") + OPSRUN_BINARY + " run " + rb + " --ctx ledger=" +
                    ledger + " --ctx flag=" + flag + " --data-dir " + data_dir() + " > /dev/null 2>&1";
  EXPECT_NE(std::system(cmd.c_str()), 0);
  auto r = run_opsrun({"run", "--resume", "--data-dir", data_dir()});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;  // it needs attention, so it did not succeed
  r = run_opsrun({"executions", "list", "--state", "needs_attention", "--output", "json", "--data-dir", data_dir()});
  auto list = parse_json(r.out);
  ASSERT_TRUE(list && list->is_array() && list->as_array().size() == 1u) << r.out << r.err;
  const std::string id(list->as_array()[0].at("executionId").as_string());
  EXPECT_NE(std::string(list->as_array()[0].at("reason").as_string()).find("'act'"), std::string::npos);
  std::ofstream(flag) << "go";
  r = run_opsrun({"executions", "retry", id, "--data-dir", data_dir()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  r = run_opsrun({"executions", "show", id, "--output", "json", "--data-dir", data_dir()});
  EXPECT_EQ(parse_json(r.out)->at("status").as_string(), "completed") << r.out;
  std::ifstream in(ledger);
  std::string all((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(all, "ran\nran\n");
}

}  // namespace
}  // namespace opsrun::testing
