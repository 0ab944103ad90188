// The real `opsrun` binary with configured channels: `opsrun notify test` against loopback
// fakes, and a local `opsrun run` whose notify step goes through opsrun.yaml's channels and
// records a failed delivery on the execution. Secrets never in the output.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "cli/run_binary.h"
#include "fakes/slack_fake.h"
#include "fakes/webhook_receiver.h"
#include "opsrun/common/ids.h"
#include "support/notify_runbook.h"

namespace opsrun::testing {
namespace {

namespace fs = std::filesystem;

class NotifyCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("opsrun-notify-cli-" + random_hex(6));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
    return (dir_ / name).string();
  }
  // A webhook that verifies its HMAC, a Slack incoming webhook, and a webhook nobody serves.
  std::string config(const WebhookReceiver& hook, const SlackFake& slack,
                     const std::string& dead_url) {
    return write("opsrun.yaml",
                 "channels:\n  defaults: {max_attempts: 1}\n"
                 "  hook:\n    type: webhook\n    url: " +
                     hook.url() +
                     "\n    secret: cli-hmac-secret-0001\n"
                     "  team:\n    type: slack\n    webhook_url: " +
                     slack.webhook_url() + "\n  dead:\n    type: webhook\n    url: " + dead_url +
                     "\n");
  }
  static std::string dead_url() {
    return WebhookReceiver::unserved_url("token=dead-url-secret-0001");
  }
  fs::path dir_;
};

TEST_F(NotifyCli, TestOneChannelThenAll) {
  WebhookReceiver hook("cli-hmac-secret-0001");
  SlackFake slack;
  const auto cfg = config(hook, slack, dead_url());
  auto one = run_opsrun({"notify", "test", "hook", "--config", cfg});
  EXPECT_EQ(one.exit_code, 0) << one.out << one.err;
  EXPECT_NE(one.out.find("hook"), std::string::npos) << one.out;
  ASSERT_EQ(hook.accepted().size(), 1u);  // the signature verified
  EXPECT_NE(hook.accepted()[0].find("opsrun notification test"), std::string::npos);

  auto all = run_opsrun({"notify", "test", "--all", "--config", cfg, "--output", "json"});
  EXPECT_EQ(all.exit_code, 1) << all.out << all.err;  // one of them failed
  auto report = parse_json(all.out);
  ASSERT_TRUE(report && report->is_array()) << all.out;
  std::map<std::string, bool> ok;
  for (const auto& row : report->as_array())
    ok[std::string(row.at("channel").as_string())] = row.at("ok").as_bool();
  EXPECT_EQ(ok, (std::map<std::string, bool>{
                    {"dead", false}, {"hook", true}, {"log", true}, {"team", true}}));
  EXPECT_EQ(hook.accepted().size(), 2u);
  EXPECT_EQ(slack.messages().size(), 1u);
  for (const std::string& out : {one.out, one.err, all.out, all.err}) {
    EXPECT_EQ(out.find("cli-hmac-secret-0001"), std::string::npos) << out;
    EXPECT_EQ(out.find("dead-url-secret-0001"), std::string::npos) << out;
    EXPECT_EQ(out.find("fakewebhooksecret0001"), std::string::npos) << out;
  }
}

TEST_F(NotifyCli, UnknownChannelAndBadConfigAreInvalidInput) {
  WebhookReceiver hook("cli-hmac-secret-0001");
  SlackFake slack;
  auto r = run_opsrun({"notify", "test", "nope", "--config", config(hook, slack, dead_url())});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown channel 'nope'"), std::string::npos) << r.err;
  const auto bad =
      write("bad.yaml", "channels:\n  hook:\n    type: webhook\n    urll: http://x/\n");
  r = run_opsrun({"notify", "test", "--all", "--config", bad});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("bad.yaml:4:5"), std::string::npos) << r.err;
  EXPECT_EQ(hook.requests().size(), 0u);
}

TEST_F(NotifyCli, LocalRunNotifiesThroughConfiguredChannelsAndRecordsAFailure) {
  WebhookReceiver hook("cli-hmac-secret-0001");
  SlackFake slack;
  const auto cfg = config(hook, slack, dead_url());
  const auto rb = write("rb.yaml", kTellRunbook);
  auto r = run_opsrun(
      {"run", rb, "--ctx", "host=web01", "--config", cfg, "--output", "json", "--ephemeral"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  ASSERT_EQ(hook.accepted().size(), 1u);
  auto body = parse_json(hook.accepted()[0]);
  ASSERT_TRUE(body);
  EXPECT_EQ(body->at("message").as_string(), "disk full on web01");
  EXPECT_EQ(body->at("key").as_string(), "disk-web01");
  EXPECT_EQ(body->at("severity").as_string(), "P1");
  EXPECT_NE(r.out.find("channel 'dead' failed"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("dead-url-secret-0001"), std::string::npos) << r.out;
  EXPECT_EQ(r.err.find("dead-url-secret-0001"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace opsrun::testing
