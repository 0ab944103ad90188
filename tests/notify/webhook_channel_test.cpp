// The webhook channel end to end against a receiver that verifies the HMAC, and the shared
// retry rules (429 Retry-After, 5xx until give-up, other 4xx final) seen through it.
#include <gtest/gtest.h>

#include "fakes/webhook_receiver.h"
#include "notify/channel_fixture.h"
#include "support/clock_driver.h"

namespace opsrun::testing {
namespace {

std::string hook_yaml(const WebhookReceiver& r, const std::string& extra = "") {
  return "  hook:\n    type: webhook\n    url: " + r.url() + "\n    secret: hmac-secret-0001\n" +
         extra;
}

TEST(WebhookChannel, PostsSignedJsonTheReceiverVerifies) {
  WebhookReceiver receiver("hmac-secret-0001");
  FakeClock clock;
  auto ch = channel_from_yaml(hook_yaml(receiver), clock);
  ASSERT_TRUE(ch);
  auto sent = ch->deliver(alert("disk full on web01", notify::Severity::P0, "disk-web01"));
  ASSERT_TRUE(sent) << sent.error().describe();
  EXPECT_EQ(sent->at("status").as_int64(), 204);
  ASSERT_EQ(receiver.accepted().size(), 1u);
  auto body = parse_json(receiver.accepted()[0]);
  ASSERT_TRUE(body);
  EXPECT_EQ(body->at("message").as_string(), "disk full on web01");
  EXPECT_EQ(body->at("severity").as_string(), "P0");
  EXPECT_EQ(body->at("key").as_string(), "disk-web01");
  EXPECT_EQ(body->at("execution").as_string(), "exec-42");
  EXPECT_EQ(body->at("action").as_string(), "trigger");
}

TEST(WebhookChannel, AWrongSecretIsRejectedAndNotRetried) {
  WebhookReceiver receiver("the-real-secret");
  FakeClock clock;
  auto ch = channel_from_yaml(hook_yaml(receiver), clock);
  auto sent = ch->deliver(alert("x"));
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error().code, ErrorCode::PermissionDenied);
  EXPECT_NE(sent.error().message.find("HTTP 401"), std::string::npos) << sent.error().message;
  EXPECT_EQ(receiver.requests().size(), 1u);  // a 4xx other than 429 is final
}

TEST(WebhookChannel, Honours429RetryAfterThenSucceeds) {
  WebhookReceiver receiver("hmac-secret-0001");
  FakeClock clock;
  ClockDriver driver(clock);
  receiver.fail_next(429, "5");
  auto ch = channel_from_yaml(hook_yaml(receiver), clock);
  const SystemTime start = clock.now();
  auto sent = ch->deliver(alert("x"));
  ASSERT_TRUE(sent) << sent.error().describe();
  EXPECT_EQ(sent->at("attempts").as_int64(), 2);
  EXPECT_EQ(clock.now() - start, std::chrono::seconds(5));
  EXPECT_EQ(receiver.accepted().size(), 1u);
}

TEST(WebhookChannel, Retries500sUntilItGivesUp) {
  WebhookReceiver receiver("");
  FakeClock clock;
  ClockDriver driver(clock);
  for (int i = 0; i < 5; ++i) receiver.fail_next(500);
  auto ch = channel_from_yaml(
      "  hook:\n    type: webhook\n    url: " + receiver.url() + "\n    max_attempts: 3\n", clock);
  auto sent = ch->deliver(alert("x"));
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error().code, ErrorCode::Unavailable);
  EXPECT_NE(sent.error().message.find("gave up after 3 attempts"), std::string::npos)
      << sent.error().message;
  EXPECT_EQ(receiver.requests().size(), 3u);
}

TEST(WebhookChannel, A400IsNotRetried) {
  WebhookReceiver receiver("");
  FakeClock clock;
  receiver.fail_next(400);
  auto ch =
      channel_from_yaml("  hook:\n    type: webhook\n    url: " + receiver.url() + "\n", clock);
  auto sent = ch->deliver(alert("x"));
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error().code, ErrorCode::InvalidArgument);
  EXPECT_EQ(receiver.requests().size(), 1u);
}

TEST(WebhookChannel, ANetworkErrorIsRetriedAndNamesOnlyTheHost) {
  FakeClock clock;
  ClockDriver driver(clock);
  const std::string url = WebhookReceiver::unserved_url("token=url-secret-0001");
  auto ch = channel_from_yaml(
      "  hook:\n    type: webhook\n    url: " + url + "\n    max_attempts: 2\n", clock);
  const Error sent = failure_hiding(*ch, alert("x"), "url-secret-0001");
  EXPECT_EQ(sent.code, ErrorCode::Unavailable);
  EXPECT_NE(sent.message.find("gave up after 2 attempts"), std::string::npos) << sent.message;
}

}  // namespace
}  // namespace opsrun::testing
