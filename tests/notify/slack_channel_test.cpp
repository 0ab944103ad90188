// The Slack channel end to end against the Slack fake: incoming webhook, bot token with
// severity -> channel mapping, threads whose parent survives a registry restart (through a
// durable key-value store), resolve updating the parent, and no token in errors or logs.
#include <gtest/gtest.h>

#include <map>

#include "fakes/slack_fake.h"
#include "notify/channel_fixture.h"
#include "support/clock_driver.h"

namespace opsrun::testing {
namespace {

using notify::Action;
using notify::Severity;

std::string bot_yaml(const SlackFake& slack, const std::string& token = SlackFake::kToken) {
  return "  slack:\n    bot_token: " + token + "\n    api_url: " + slack.api_url() +
         "\n    channel: \"#alerts-info\"\n"
         "    severity_channels: {P0: \"#alerts-critical\", P1: \"#alerts-critical\", P2: "
         "\"#alerts-warning\"}\n";
}

// A stand-in for the store's settings table: outlives the channels built on it.
struct Settings {
  std::map<std::string, std::string, std::less<>> values;
  notify::KeyValue kv() {
    return {[this](std::string_view k) -> Result<std::optional<std::string>> {
              auto it = values.find(k);
              if (it == values.end()) return std::optional<std::string>();
              return std::optional<std::string>(it->second);
            },
            [this](std::string_view k, std::string_view v) -> Result<void> {
              values[std::string(k)] = std::string(v);
              return {};
            }};
  }
};

TEST(SlackChannel, IncomingWebhookPostsTheText) {
  SlackFake slack;
  FakeClock clock;
  auto ch = channel_from_yaml("  slack:\n    webhook_url: " + slack.webhook_url() + "\n", clock);
  ASSERT_TRUE(ch);
  auto sent = ch->deliver(alert("disk full on web01", Severity::P2));
  ASSERT_TRUE(sent) << sent.error().describe();
  ASSERT_EQ(slack.messages().size(), 1u);
  EXPECT_NE(slack.messages()[0].text.find("disk full on web01"), std::string::npos);
  EXPECT_NE(slack.messages()[0].text.find("*P2*"), std::string::npos);
}

TEST(SlackChannel, SeverityWebhooksPickTheChannelsWebhook) {
  SlackFake slack;
  FakeClock clock;
  const std::string critical = slack.add_webhook("critical");
  auto ch = channel_from_yaml("  slack:\n    webhook_url: " + slack.webhook_url() +
                                  "\n    severity_webhooks: {P0: \"" + critical + "\"}\n",
                              clock);
  ASSERT_TRUE(ch->deliver(alert("down", Severity::P0)));
  ASSERT_TRUE(ch->deliver(alert("fyi", Severity::Info)));
  const auto m = slack.messages();
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].channel, "/services/T0001/Bcritical/secret-critical");
  EXPECT_EQ(m[1].channel, SlackFake::kWebhookPath);
}

TEST(SlackChannel, ARevokedWebhookFailsWithoutShowingItsUrl) {
  SlackFake slack;
  FakeClock clock;
  const std::string revoked = slack.api_url().substr(0, slack.api_url().size() - 4) +
                              "/services/T0001/B0001/revoked-secret-path";
  auto ch = channel_from_yaml("  slack:\n    webhook_url: " + revoked + "\n", clock);
  const Error sent = failure_hiding(*ch, alert("x"), "revoked-secret-path");
  EXPECT_NE(sent.message.find("HTTP 404"), std::string::npos) << sent.message;
  EXPECT_EQ(slack.requests().size(), 1u);  // 404 is final
}

TEST(SlackChannel, BotPostsBySeverityToTheMappedChannel) {
  SlackFake slack;
  FakeClock clock;
  auto ch = channel_from_yaml(bot_yaml(slack), clock);
  ASSERT_TRUE(ch->deliver(alert("down", Severity::P0)));
  ASSERT_TRUE(ch->deliver(alert("slow", Severity::P2)));
  ASSERT_TRUE(ch->deliver(alert("fyi", Severity::Info)));
  const auto m = slack.messages();
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0].channel, slack.channel_id("alerts-critical"));
  EXPECT_EQ(m[1].channel, slack.channel_id("alerts-warning"));
  EXPECT_EQ(m[2].channel, slack.channel_id("alerts-info"));
  EXPECT_EQ(slack.requests()[0].header("Authorization"),
            std::string("Bearer ") + SlackFake::kToken);
}

TEST(SlackChannel, ThreadRepliesReuseTheParentAcrossARestart) {
  SlackFake slack;
  FakeClock clock;
  Settings settings;
  std::string parent_ts;
  {
    notify::ChannelRegistry registry;
    registry.add(channel_from_yaml(bot_yaml(slack), clock, settings.kv()));
    auto first = registry.send("slack", alert("disk 91% on web01", Severity::P1, "disk-web01"));
    ASSERT_TRUE(first) << first.error().describe();
    EXPECT_EQ(first->at("thread").as_string(), "started");
    parent_ts = std::string(first->at("ts").as_string());
  }  // the registry (and its channels) are gone, as after a restart
  notify::ChannelRegistry registry;
  registry.add(channel_from_yaml(bot_yaml(slack), clock, settings.kv()));
  auto reply = registry.send("slack", alert("disk 95% on web01", Severity::P1, "disk-web01"));
  ASSERT_TRUE(reply) << reply.error().describe();
  EXPECT_EQ(reply->at("thread").as_string(), "replied");
  auto resolved = registry.send(
      "slack", alert("disk back to 40%", Severity::P1, "disk-web01", Action::Resolve));
  ASSERT_TRUE(resolved) << resolved.error().describe();
  EXPECT_TRUE(resolved->at("parent_updated").as_bool());
  auto other = registry.send("slack", alert("cpu high", Severity::P1, "cpu-web01"));
  ASSERT_TRUE(other);
  EXPECT_EQ(other->at("thread").as_string(), "started");
  auto again = registry.send("slack", alert("disk 92% on web01", Severity::P1, "disk-web01"));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->at("thread").as_string(), "started");  // resolved: a new alert, a new thread

  const auto m = slack.messages();
  ASSERT_EQ(m.size(), 5u);
  EXPECT_EQ(m[0].ts, parent_ts);
  EXPECT_EQ(m[1].thread_ts, parent_ts);
  EXPECT_FALSE(m[1].reply_broadcast);
  EXPECT_EQ(m[2].thread_ts, parent_ts);
  EXPECT_TRUE(m[2].reply_broadcast);  // resolution shows in the channel too
  EXPECT_EQ(m[0].edits, 1);           // the parent now says RESOLVED
  EXPECT_NE(m[0].text.find("RESOLVED"), std::string::npos) << m[0].text;
  EXPECT_TRUE(m[3].thread_ts.empty());
  EXPECT_TRUE(m[4].thread_ts.empty());
  EXPECT_NE(m[4].ts, parent_ts);
}

TEST(SlackChannel, AThreadWhoseChannelVanishedStartsAgain) {
  SlackFake slack;
  FakeClock clock;
  Settings settings;
  auto ch = channel_from_yaml(bot_yaml(slack), clock, settings.kv());
  ASSERT_TRUE(ch->deliver(alert("one", Severity::P2, "k")));
  slack.delete_channel("alerts-warning");
  slack.add_channel("alerts-warning");  // recreated: a new ID
  auto again = ch->deliver(alert("two", Severity::P2, "k"));
  ASSERT_TRUE(again) << again.error().describe();
  EXPECT_EQ(again->at("thread").as_string(), "started");
  EXPECT_EQ(slack.messages().back().channel, slack.channel_id("alerts-warning"));
}

TEST(SlackChannel, RateLimitedThenPosted) {
  SlackFake slack;
  FakeClock clock;
  ClockDriver driver(clock);
  slack.fail_next(429, "2");
  auto ch = channel_from_yaml(bot_yaml(slack), clock);
  const SystemTime start = clock.now();
  auto sent = ch->deliver(alert("x"));
  ASSERT_TRUE(sent) << sent.error().describe();
  EXPECT_EQ(clock.now() - start, std::chrono::seconds(2));
  EXPECT_EQ(slack.messages().size(), 1u);
}

TEST(SlackChannel, ABadTokenFailsWithoutShowingIt) {
  SlackFake slack;
  FakeClock clock;
  auto ch = channel_from_yaml(bot_yaml(slack, "xoxb-wrong-secret-token"), clock);
  const Error sent = failure_hiding(*ch, alert("x"), "xoxb-wrong-secret-token");
  EXPECT_EQ(sent.code, ErrorCode::PermissionDenied);
  EXPECT_NE(sent.message.find("invalid_auth"), std::string::npos) << sent.message;
  EXPECT_EQ(slack.requests().size(), 1u);
}

}  // namespace
}  // namespace opsrun::testing
