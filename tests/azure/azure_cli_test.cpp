// `opsrun azure-events` as a user runs it: the real binary against the IMDS and ServiceNow
// fakes, config.json validation, and the shipped drain runbooks through `opsrun validate`.
#include <gtest/gtest.h>

#include <fstream>

#include "cli/run_binary.h"
#include "engine/engine_fixture.h"
#include "fakes/imds_fake.h"
#include "fakes/servicenow_fake.h"
#include "opsrun/azure/events.h"

namespace opsrun::testing {
namespace {

const std::string kSource = OPSRUN_SOURCE_DIR;

std::string write(const TempDir& dir, const std::string& name, const std::string& text) {
  std::ofstream(dir.file(name)) << text;
  return dir.file(name);
}

TEST(AzureEventsCli, OnceEndToEndAndOnceAgainAfterARestart) {
  TempDir dir;
  ImdsFake imds;
  ServiceNowFake servicenow;
  const auto nb =
      azure::format_rfc1123(std::chrono::system_clock::now() + std::chrono::minutes(15));
  imds.set_events(JsonArray{ImdsFake::event("B2C3-CLI", "Reboot", {"vm-test-0"}, nb)});
  const auto config =
      write(dir, "config.json",
            to_json_text(JsonObject{
                {"automation", JsonObject{{"dry_run", false},
                                          {"runbook_dir", kSource + "/runbooks"},
                                          {"drain", JsonObject{{"state_dir", dir.file("state")}}}}},
                {"servicenow", JsonObject{{"instance_url", servicenow.url()},
                                          {"username", "automation-user"},
                                          {"password", "sn-pass-0001"},
                                          {"auth_type", "basic"},
                                          {"assignment_group", "Infrastructure Team"},
                                          {"caller_id", "automation.user"},
                                          {"vm_identifier", "cli-vm"}}}}));
  const std::vector<std::string> args = {"azure-events", "--config",      config,
                                         "--once",       "--imds-url",    imds.url(),
                                         "--data-dir",   dir.file("data")};
  auto r = run_opsrun(args);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  for (const char* s :
       {"VM name from IMDS: vm-test-0",
        "=== Step 1: Executing Drain Hooks ===", "runbook azure-drain-reboot",
        "save-state: success", "Successfully acknowledged all 1 event(s)",
        "ServiceNow automation record created successfully: INC", "=== Automation Summary ==="})
    EXPECT_NE(r.out.find(s), std::string::npos) << s << "\n" << r.out;
  EXPECT_EQ((r.out + r.err).find("sn-pass-0001"), std::string::npos);
  EXPECT_EQ(imds.acknowledged(), std::vector<std::string>{"B2C3-CLI"});
  EXPECT_EQ(servicenow.incidents().size(), 1u);
  EXPECT_TRUE(std::filesystem::exists(dir.file("state/B2C3-CLI.json")));

  // Another process, same store, the event listed again (a new incarnation): handled once.
  imds.set_events(JsonArray{ImdsFake::event("B2C3-CLI", "Reboot", {"vm-test-0"}, nb)});
  r = run_opsrun(args);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("No new scheduled events"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("Step 1"), std::string::npos) << r.out;
  EXPECT_EQ(imds.acknowledged().size(), 1u);
  EXPECT_EQ(servicenow.incidents().size(), 1u);
}

TEST(AzureEventsCli, WithoutServiceNowSaysSoOnceAndDryRunPlans) {
  TempDir dir;
  ImdsFake imds;
  imds.set_events(JsonArray{ImdsFake::event(
      "D-1", "Preempt", {"vm-test-0"},
      azure::format_rfc1123(std::chrono::system_clock::now() + std::chrono::seconds(30)))});
  const auto config = write(dir, "config.json",
                            R"({"automation": {"runbook_dir": ")" + kSource + R"(/runbooks"}})");
  auto r = run_opsrun({"azure-events", "--config", config, "--once", "--dry-run", "--imds-url",
                       imds.url(), "--data-dir", dir.file("data")});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  std::size_t n = 0;
  for (std::size_t at = 0;
       (at = r.out.find("ServiceNow is not configured", at)) != std::string::npos; ++at)
    ++n;
  EXPECT_EQ(n, 1u) << r.out;
  EXPECT_NE(r.out.find("(DRY RUN)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[DRY RUN] plan for D-1 (Preempt): runbook azure-drain-preempt"),
            std::string::npos)
      << r.out;
  EXPECT_TRUE(imds.acknowledged().empty());
}

TEST(AzureEventsCli, BadInputIsExit2NamingTheProblem) {
  TempDir dir;
  const auto bad =
      write(dir, "bad.json",
            R"({"servicenow": {"instance_url": "https://x.service-now.com", "username": "u"}})");
  auto r = run_opsrun({"azure-events", "--config", bad, "--once"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("bad.json: servicenow.password: required"), std::string::npos) << r.err;
  r = run_opsrun({"azure-events", "--config", dir.file("missing.json"), "--once"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("missing.json: cannot be read"), std::string::npos) << r.err;
  const auto ok = write(dir, "ok.json", "{}");
  r = run_opsrun({"azure-events", "--config", ok, "--once", "--poll-interval", "0"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--poll-interval"), std::string::npos) << r.err;
}

TEST(AzureEventsCli, UnreachableImdsWithOnceIsExit1) {
  TempDir dir;
  const auto config = write(dir, "config.json",
                            R"({"automation": {"runbook_dir": ")" + kSource + R"(/runbooks"}})");
  std::string url;
  {
    ImdsFake gone;  // its port is closed again when this scope ends
    url = gone.url();
  }
  auto r = run_opsrun({"azure-events", "--config", config, "--once", "--imds-url", url,
                       "--data-dir", dir.file("data")});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("IMDS unavailable"), std::string::npos) << r.out;
}

TEST(AzureEventsCli, ShippedDrainRunbooksValidate) {
  auto r = run_opsrun({"validate", kSource + "/runbooks/azure-drain-reboot.yaml",
                       kSource + "/runbooks/azure-drain-redeploy.yaml",
                       kSource + "/runbooks/azure-drain-preempt.yaml",
                       kSource + "/runbooks/azure-drain-generic.yaml"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

}  // namespace
}  // namespace opsrun::testing
