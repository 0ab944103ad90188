// The `channels:` section of opsrun.yaml: typed settings, defaults, ${VAR} secrets, and every
// mistake reported at its file:line:column without echoing secret values.
#include <gtest/gtest.h>
#include <stdlib.h>

#include "opsrun/config/config.h"

namespace opsrun::config {
namespace {

TEST(ChannelsConfig, ReadsEveryTypeWithDefaultsAndOverrides) {
  setenv("OPSRUN_TEST_SLACK_TOKEN", "xoxb-secret-1", 1);
  auto c = load_text(R"(channels:
  defaults:
    timeout: 2s
    max_attempts: 3
  slack:
    bot_token: ${OPSRUN_TEST_SLACK_TOKEN}
    channel: "#ops"
    severity_channels: {P0: "#alerts-critical", P2: "#alerts-warning"}
  pd:
    type: pagerduty
    routing_key: 0123456789abcdef0123456789abcdef
    max_attempts: 5
  mail:
    type: email
    url: smtp://127.0.0.1:2525
    tls: none
    from: opsrun@example.org
    to: [a@example.org, b@example.org]
  snow:
    type: servicenow
    instance_url: https://x.service-now.com
    auth_type: oauth
    client_id: id
    client_secret: sec
    impact: "2"
    fields: {u_team: ops}
  hook:
    type: webhook
    url: http://127.0.0.1:9/h
    secret: k
)",
                     "c.yaml");
  unsetenv("OPSRUN_TEST_SLACK_TOKEN");
  ASSERT_TRUE(c) << c.error().describe();
  ASSERT_EQ(c->channels.size(), 5u);
  const auto& slack = c->channels[0];
  EXPECT_EQ(slack.type, "slack");
  EXPECT_EQ(slack.slack.bot_token, "xoxb-secret-1");
  EXPECT_EQ(slack.slack.severity_channels.at("P2"), "#alerts-warning");
  EXPECT_EQ(slack.delivery.timeout, Millis(2000));
  EXPECT_EQ(slack.delivery.max_attempts, 3);
  EXPECT_EQ(slack.where, "c.yaml:5:3");
  EXPECT_EQ(c->channels[1].delivery.max_attempts, 5);  // its own beats the defaults
  EXPECT_EQ(c->channels[1].delivery.timeout, Millis(2000));
  EXPECT_EQ(c->channels[2].email.to.size(), 2u);
  EXPECT_EQ(c->channels[2].email.tls, "none");
  EXPECT_EQ(c->channels[3].servicenow.fields.at("u_team"), "ops");
  EXPECT_EQ(c->channels[3].servicenow.impact, "2");
  EXPECT_EQ(c->channels[4].webhook.secret, "k");
  EXPECT_EQ(c->channels[4].webhook.signature_header, "X-Opsrun-Signature");
}

TEST(ChannelsConfig, UnknownKeyNamedAtItsLine) {
  auto c = load_text("channels:\n  hook:\n    type: webhook\n    url: http://h/x\n    secrett: k\n",
                     "c.yaml");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().where, "c.yaml:5:5");
  EXPECT_NE(c.error().message.find("channels.hook.secrett"), std::string::npos)
      << c.error().message;
}

TEST(ChannelsConfig, WrongTypesAndValuesAtTheirLine) {
  auto a = load_text("channels:\n  defaults:\n    max_attempts: many\n", "c.yaml");
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().where, "c.yaml:3:19");
  auto b = load_text("channels:\n  x:\n    type: carrier-pigeon\n", "c.yaml");
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().where, "c.yaml:3:11");
  EXPECT_NE(b.error().message.find("unknown channel type 'carrier-pigeon'"), std::string::npos);
  auto d = load_text("channels:\n  pagerduty:\n    routing_key: short\n", "c.yaml");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().where, "c.yaml:3:18");
  auto e = load_text("channels:\n  log:\n    type: webhook\n    url: http://h/\n", "c.yaml");
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("built-in"), std::string::npos);
  auto f = load_text("channels:\n  email:\n    url: smtp://h\n    from: a@b\n", "c.yaml");
  ASSERT_FALSE(f);
  EXPECT_NE(f.error().message.find("to is required"), std::string::npos);
  auto g = load_text(
      "channels:\n  snow:\n    type: servicenow\n    instance_url: https://x\n"
      "    username: u\n    password: p\n    fields: {team: ops}\n",
      "c.yaml");
  ASSERT_FALSE(g);
  EXPECT_NE(g.error().message.find("u_<name>"), std::string::npos);
}

TEST(ChannelsConfig, SlackNeedsExactlyOneWayToPost) {
  auto both = load_text(
      "channels:\n  slack:\n    webhook_url: https://h/s\n    bot_token: xoxb-1\n    channel: c\n");
  ASSERT_FALSE(both);
  EXPECT_NE(both.error().message.find("either"), std::string::npos);
  auto none = load_text("channels:\n  slack:\n    channel: c\n");
  ASSERT_FALSE(none);
  auto no_channel = load_text("channels:\n  slack:\n    bot_token: xoxb-1\n");
  ASSERT_FALSE(no_channel);
  EXPECT_NE(no_channel.error().message.find("set channel"), std::string::npos);
}

TEST(ChannelsConfig, ABadSecretValueIsNotEchoed) {
  setenv("OPSRUN_TEST_HOOK", "hooks.slack.com/services/T1/B2/very-secret-path", 1);
  auto c = load_text("channels:\n  slack:\n    webhook_url: ${OPSRUN_TEST_HOOK}\n", "c.yaml");
  unsetenv("OPSRUN_TEST_HOOK");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().where, "c.yaml:3:18");
  EXPECT_EQ(c.error().describe().find("very-secret-path"), std::string::npos)
      << c.error().describe();
}

TEST(ChannelsConfig, EmptyOrAbsentSectionHasNoChannels) {
  auto c = load_text("listen: 127.0.0.1:1\n");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->channels.empty());
  auto d = load_text("channels:\n");
  ASSERT_TRUE(d) << d.error().describe();
  EXPECT_TRUE(d->channels.empty());
}

}  // namespace
}  // namespace opsrun::config
