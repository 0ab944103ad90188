// The real `opsrun` binary: policy validation, and the emergency stop held in the store
// binding a separate `opsrun run` process.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "cli/run_binary.h"
#include "opsrun/common/ids.h"

namespace opsrun::testing {
namespace {

namespace fs = std::filesystem;

class SafetyCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("opsrun-safety-cli-" + random_hex(6));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
    return (dir_ / name).string();
  }
  std::string data() const { return (dir_ / "data").string(); }
  fs::path dir_;
};

TEST_F(SafetyCli, PolicyValidateExplainsEveryErrorWithFileAndLine) {
  const std::string bad = write("bad.yaml", R"(protected_targets:
  - name: prod
    match: {labels: {env: prod}}
    effect: explode
change_windows:
  - {name: w, time_zone: Atlantis/Capital, hours: "09:00-17:00"}
)");
  auto r = run_opsrun({"policy", "validate", bad});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("bad.yaml:4:13: error: protected_targets[0].effect: expected deny or require_approval"),
            std::string::npos) << r.err;
  EXPECT_NE(r.err.find("bad.yaml:6:26: error: change_windows[0].time_zone: unknown time zone 'Atlantis/Capital'"),
            std::string::npos) << r.err;
  auto ok = run_opsrun({"policy", "validate", std::string(OPSRUN_SOURCE_DIR) + "/policies/cloud-safety.yaml"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("6 of 6 seed rules on"), std::string::npos) << ok.out;
}

TEST_F(SafetyCli, EmergencyStopInTheStoreHoldsAnotherProcessUntilResume) {
  const std::string marker = (dir_ / "acted").string();
  const std::string rb = write("rb.yaml", "id: act\nstart: go\nsteps:\n  - {id: go, type: action, exec: [\"touch\", \"" +
                                              marker + "\"]}\n");
  auto stop = run_opsrun({"emergency-stop", "--reason", "mass deletion seen", "--data-dir", data()});
  ASSERT_EQ(stop.exit_code, 0) << stop.err;
  auto status = run_opsrun({"safety", "status", "--data-dir", data(), "--output", "json"});
  EXPECT_NE(status.out.find("\"on\": true"), std::string::npos) << status.out;

  auto held = run_opsrun({"run", rb, "--data-dir", data()});
  EXPECT_EQ(held.exit_code, 1);
  EXPECT_NE(held.out.find("is held: emergency stop engaged by"), std::string::npos) << held.out;
  EXPECT_FALSE(fs::exists(marker));

  ASSERT_EQ(run_opsrun({"resume", "--data-dir", data()}).exit_code, 0);
  EXPECT_EQ(run_opsrun({"resume", "--data-dir", data()}).exit_code, 1);  // nothing to lift
  auto resumed = run_opsrun({"run", "--resume", "--data-dir", data()});
  EXPECT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
  EXPECT_TRUE(fs::exists(marker));
}

TEST_F(SafetyCli, RunWithAPolicyDeniesAProtectedTarget) {
  const std::string policy = write("p.yaml", "preset: cloud-safety\nrules: {business_hours_protection: {enabled: false}}\n");
  const std::string rb = write("rb.yaml", R"(id: cleanup
start: delete
steps:
  - id: delete
    type: action
    builtin: noop
    target: {name: i-123, labels: {Environment: Production}}
)");
  auto r = run_opsrun({"run", rb, "--ephemeral", "--policy", policy});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("delete denied: production resource: tag Environment=Production"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("blocked"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace opsrun::testing
