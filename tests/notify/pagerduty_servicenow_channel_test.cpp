// The PagerDuty and ServiceNow channels end to end against their fakes: one alert / one
// incident per key through trigger, acknowledge and resolve; retries; no secret shown.
#include <gtest/gtest.h>

#include "fakes/pagerduty_fake.h"
#include "fakes/servicenow_fake.h"
#include "notify/channel_fixture.h"
#include "support/clock_driver.h"

namespace opsrun::testing {
namespace {

using notify::Action;
using notify::Severity;

constexpr const char* kRoutingKey = "r0uting0key0secret00000000000001";

std::string pd_yaml(const PagerDutyFake& pd, const std::string& extra = "") {
  return "  pagerduty:\n    routing_key: " + std::string(kRoutingKey) + "\n    url: " + pd.url() +
         "\n    source: web01\n    component: disk\n" + extra;
}

TEST(PagerDutyChannel, TriggerAcknowledgeResolveOneAlertByKey) {
  PagerDutyFake pd;
  FakeClock clock;
  auto ch = channel_from_yaml(pd_yaml(pd), clock);
  ASSERT_TRUE(ch);
  auto t = ch->deliver(alert("disk 95% on web01", Severity::P0, "disk-web01"));
  ASSERT_TRUE(t) << t.error().describe();
  EXPECT_EQ(t->at("dedup_key").as_string(), "disk-web01");
  EXPECT_EQ(pd.state(kRoutingKey, "disk-web01"), "triggered");
  const JsonObject first = pd.events().at(0);
  EXPECT_EQ(first.at("payload").at("severity").as_string(), "critical");
  EXPECT_EQ(first.at("payload").at("source").as_string(), "web01");
  EXPECT_EQ(first.at("payload").at("component").as_string(), "disk");
  EXPECT_EQ(first.at("payload").at("custom_details").at("execution").as_string(), "exec-42");

  ASSERT_TRUE(ch->deliver(alert("looking", Severity::P0, "disk-web01", Action::Acknowledge)));
  EXPECT_EQ(pd.state(kRoutingKey, "disk-web01"), "acknowledged");
  ASSERT_TRUE(ch->deliver(alert("cleaned up", Severity::P0, "disk-web01", Action::Resolve)));
  EXPECT_EQ(pd.state(kRoutingKey, "disk-web01"), "resolved");
  EXPECT_EQ(pd.events().size(), 3u);
  EXPECT_FALSE(pd.events()[2].contains("payload"));
}

TEST(PagerDutyChannel, WithoutAKeyPagerDutyChoosesOneAndResolveNeedsAKey) {
  PagerDutyFake pd;
  FakeClock clock;
  auto ch = channel_from_yaml(pd_yaml(pd), clock);
  auto t = ch->deliver(alert("one-off"));
  ASSERT_TRUE(t) << t.error().describe();
  EXPECT_FALSE(t->at("dedup_key").as_string().empty());
  auto r = ch->deliver(alert("done", Severity::P1, "", Action::Resolve));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);
  EXPECT_EQ(pd.requests().size(), 1u);  // refused before sending
}

TEST(PagerDutyChannel, LongKeysAreHashedToFit) {
  PagerDutyFake pd;
  FakeClock clock;
  auto ch = channel_from_yaml(pd_yaml(pd), clock);
  const std::string group_key(400, 'g');
  auto t = ch->deliver(alert("x", Severity::P2, group_key));
  ASSERT_TRUE(t) << t.error().describe();
  EXPECT_EQ(t->at("dedup_key").as_string().size(), 64u);
}

TEST(PagerDutyChannel, RateLimitedIsRetriedAnInvalidEventIsNotAndTheKeyNeverShows) {
  PagerDutyFake pd;
  FakeClock clock;
  ClockDriver driver(clock);
  pd.fail_next(429, "30");
  auto ch = channel_from_yaml(pd_yaml(pd), clock);
  const SystemTime start = clock.now();
  ASSERT_TRUE(ch->deliver(alert("x", Severity::P1, "k")));
  EXPECT_EQ(clock.now() - start, std::chrono::seconds(30));
  EXPECT_EQ(pd.requests().size(), 2u);

  pd.fail_next(400);
  const Error bad = failure_hiding(*ch, alert("y", Severity::P1, "k"), kRoutingKey);
  EXPECT_EQ(bad.code, ErrorCode::InvalidArgument);
  EXPECT_EQ(pd.requests().size(), 3u);
}

std::string sn_yaml(const ServiceNowFake& sn) {
  return "  servicenow:\n    instance_url: " + sn.url() +
         "\n    username: automation-user\n    password: sn-pass-0001\n"
         "    assignment_group: Operations\n    fields: {u_source: opsrun}\n";
}

TEST(ServiceNowChannel, OneIncidentPerKeyUpdatedThenResolved) {
  ServiceNowFake sn;
  FakeClock clock;
  auto ch = channel_from_yaml(sn_yaml(sn), clock);
  ASSERT_TRUE(ch);
  auto created = ch->deliver(alert("disk full on web01\nmore detail", Severity::P0, "disk-web01"));
  ASSERT_TRUE(created) << created.error().describe();
  EXPECT_EQ(created->at("incident").as_string(), "created");
  const std::string sys_id(created->at("sys_id").as_string());
  auto rec = sn.incidents().at(sys_id);
  EXPECT_EQ(rec.at("short_description").as_string(), "disk full on web01");
  EXPECT_EQ(rec.at("impact").as_string(), "1");
  EXPECT_EQ(rec.at("urgency").as_string(), "1");
  EXPECT_EQ(rec.at("u_source").as_string(), "opsrun");
  EXPECT_EQ(rec.at("assignment_group").as_string(), "Operations");
  EXPECT_EQ(rec.at("correlation_id").as_string(), "disk-web01");

  auto updated = ch->deliver(alert("still full", Severity::P0, "disk-web01"));
  ASSERT_TRUE(updated) << updated.error().describe();
  EXPECT_EQ(updated->at("incident").as_string(), "updated");
  auto resolved = ch->deliver(alert("cleaned up", Severity::P0, "disk-web01", Action::Resolve));
  ASSERT_TRUE(resolved) << resolved.error().describe();
  EXPECT_EQ(resolved->at("incident").as_string(), "resolved");
  ASSERT_EQ(sn.incidents().size(), 1u);
  rec = sn.incidents().at(sys_id);
  EXPECT_EQ(rec.at("state").as_string(), "6");
  EXPECT_EQ(rec.at("close_notes").as_string(), "cleaned up");
  EXPECT_EQ(rec.at("close_code").as_string(), "Solved (Permanently)");

  ASSERT_TRUE(ch->deliver(alert("unrelated", Severity::Info)));
  EXPECT_EQ(sn.incidents().size(), 2u);  // no key: its own incident
  auto recurred = ch->deliver(alert("disk full again", Severity::P0, "disk-web01"));
  ASSERT_TRUE(recurred);
  EXPECT_EQ(recurred->at("incident").as_string(), "created");  // the resolved one stays closed
  EXPECT_EQ(sn.incidents().size(), 3u);
  EXPECT_EQ(sn.incidents().at(sys_id).at("state").as_string(), "6");
}

TEST(ServiceNowChannel, OAuthClientCredentialsFromConfig) {
  ServiceNowFake sn;
  FakeClock clock;
  auto ch = channel_from_yaml("  snow:\n    type: servicenow\n    instance_url: " + sn.url() +
                                  "\n    auth_type: oauth\n    client_id: sn-client\n"
                                  "    client_secret: sn-client-secret-0001\n    impact: \"3\"\n",
                              clock);
  auto created = ch->deliver(alert("x", Severity::P0));
  ASSERT_TRUE(created) << created.error().describe();
  EXPECT_EQ(sn.token_requests(), 1);
  EXPECT_EQ(
      sn.incidents().at(std::string(created->at("sys_id").as_string())).at("impact").as_string(),
      "3");
}

TEST(ServiceNowChannel, ADeletedIncidentIsOpenedAgain) {
  ServiceNowFake sn;
  FakeClock clock;
  auto ch = channel_from_yaml(sn_yaml(sn), clock);
  auto first = ch->deliver(alert("disk full", Severity::P2, "disk-web02"));
  ASSERT_TRUE(first) << first.error().describe();
  sn.remove_incident(std::string(first->at("sys_id").as_string()));
  auto second = ch->deliver(alert("still full", Severity::P2, "disk-web02"));
  ASSERT_TRUE(second) << second.error().describe();
  EXPECT_EQ(second->at("incident").as_string(), "created");
  EXPECT_NE(second->at("sys_id").as_string(), first->at("sys_id").as_string());
  auto third = ch->deliver(alert("and again", Severity::P2, "disk-web02"));
  ASSERT_TRUE(third);
  EXPECT_EQ(third->at("incident").as_string(), "updated");  // the new one is remembered
  EXPECT_EQ(sn.incidents().size(), 1u);
}

TEST(ServiceNowChannel, AWrongPasswordFailsAtOnceWithoutShowingIt) {
  ServiceNowFake sn;
  FakeClock clock;
  auto ch =
      channel_from_yaml("  sn:\n    type: servicenow\n    instance_url: " + sn.url() +
                            "\n    username: automation-user\n    password: wrong-pass-secret\n",
                        clock);
  const Error r = failure_hiding(*ch, alert("x"), "wrong-pass-secret");
  EXPECT_EQ(r.code, ErrorCode::PermissionDenied);
  EXPECT_NE(r.message.find("sn"), std::string::npos);
  EXPECT_EQ(sn.requests().size(), 1u);
}

}  // namespace
}  // namespace opsrun::testing
