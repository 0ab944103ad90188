#include <gtest/gtest.h>

#include "fakes/fake_util.h"
#include "fakes/servicenow_fake.h"
#include "opsrun/notify/servicenow_client.h"
#include "support/clock_driver.h"

namespace opsrun::testing {
namespace {

using std::chrono::seconds;

notify::ServiceNowSettings basic(const ServiceNowFake& fake) {
  notify::ServiceNowSettings s;
  s.instance_url = fake.url();
  s.username = "automation-user";
  s.password = "sn-pass-0001";
  s.timeout_seconds = 5;
  return s;
}

Json seed_record() {
  return JsonObject{{"short_description", "Azure Scheduled Event(s) Automated - 1 event(s)"},
                    {"category", "Infrastructure"},
                    {"subcategory", "Automation"},
                    {"impact", "2"},
                    {"urgency", "2"},
                    {"state", "6"},
                    {"close_code", "Solved (Permanently)"},
                    {"close_notes", "drained, acknowledged"},
                    {"u_azure_vm", "web01"},
                    {"u_event_count", 1}};
}

notify::ServiceNowSettings oauth(const ServiceNowFake& fake, std::string client_secret) {
  notify::ServiceNowSettings s;
  s.instance_url = fake.url();
  s.auth_type = "oauth";
  s.client_id = "sn-client";
  s.client_secret = std::move(client_secret);
  return s;
}

int table_requests(const ServiceNowFake& fake) {
  int n = 0;
  for (const auto& r : fake.requests())
    if (target_path(r.target).starts_with("/api/now/table/")) ++n;
  return n;
}

TEST(ServiceNowClient, CreatesAnIncidentWithCustomFieldsAndUpdatesIt) {
  ServiceNowFake fake;
  notify::ServiceNowClient client(basic(fake));
  auto ref = client.create_incident(seed_record());
  ASSERT_TRUE(ref) << ref.error().describe();
  EXPECT_EQ(ref->number, "INC0010001");
  EXPECT_EQ(ref->sys_id.size(), 32u);
  EXPECT_EQ(ref->link, fake.url() + "/nav_to.do?uri=incident.do%3Fsys_id%3D" + ref->sys_id);

  auto incidents = fake.incidents();
  ASSERT_EQ(incidents.size(), 1u);
  const JsonObject& rec = incidents.at(ref->sys_id);
  EXPECT_EQ(rec.at("u_azure_vm").as_string(), "web01");
  EXPECT_EQ(rec.at("u_event_count").as_string(), "1");  // ServiceNow keeps strings
  EXPECT_EQ(rec.at("priority").as_string(), "3");       // impact 2 x urgency 2
  EXPECT_EQ(rec.at("state").as_string(), "6");

  const auto reqs = fake.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(target_path(reqs[0].target), "/api/now/table/incident");
  EXPECT_EQ(reqs[0].header("Authorization"),
            "Basic " + base64_encode("automation-user:sn-pass-0001"));
  EXPECT_EQ(reqs[0].header("Content-Type"), "application/json");

  auto updated = client.update_incident(ref->sys_id,
                                        JsonObject{{"work_notes", "follow-up"}, {"urgency", "1"}});
  ASSERT_TRUE(updated) << updated.error().describe();
  incidents = fake.incidents();
  EXPECT_EQ(incidents.at(ref->sys_id).at("work_notes").as_string(), "follow-up");
  EXPECT_EQ(incidents.at(ref->sys_id).at("priority").as_string(), "2");
  EXPECT_EQ(fake.requests().back().method, "PATCH");
}

TEST(ServiceNowClient, Honours429RetryAfterThenSucceeds) {
  FakeClock clock;
  ClockDriver driver(clock);
  ServiceNowFake::Options o;
  o.clock = &clock;
  ServiceNowFake fake(o);
  fake.fail_next(429, "7");
  notify::ServiceNowClient client(basic(fake), clock);
  auto ref = client.create_incident(seed_record());
  ASSERT_TRUE(ref) << ref.error().describe();
  EXPECT_EQ(fake.incidents().size(), 1u);
  const auto times = fake.table_request_times();
  ASSERT_EQ(times.size(), 2u);
  EXPECT_EQ(times[1] - times[0], seconds(7));
}

TEST(ServiceNowClient, Retries500sUntilGivingUp) {
  FakeClock clock;
  ClockDriver driver(clock);
  ServiceNowFake fake;
  for (int i = 0; i < 5; ++i) fake.fail_next(500);
  auto settings = basic(fake);
  settings.max_attempts = 3;
  notify::ServiceNowClient client(settings, clock);
  auto ref = client.create_incident(seed_record());
  ASSERT_FALSE(ref);
  EXPECT_EQ(ref.error().code, ErrorCode::Unavailable);
  EXPECT_NE(ref.error().message.find("HTTP 500"), std::string::npos) << ref.error().message;
  EXPECT_NE(ref.error().message.find("gave up after 3 attempts"), std::string::npos)
      << ref.error().message;
  EXPECT_EQ(table_requests(fake), 3);
  EXPECT_TRUE(fake.incidents().empty());
}

TEST(ServiceNowClient, DoesNotRetryOther4xx) {
  ServiceNowFake fake;
  notify::ServiceNowClient client(basic(fake));
  // 403: a resolved incident without close_code breaks the data policy.
  auto ref = client.create_incident(JsonObject{{"short_description", "x"}, {"state", "6"}});
  ASSERT_FALSE(ref);
  EXPECT_EQ(ref.error().code, ErrorCode::PermissionDenied);
  EXPECT_NE(ref.error().message.find("close_code and close_notes are mandatory"),
            std::string::npos);
  EXPECT_EQ(table_requests(fake), 1);
  // 404: an unknown record.
  auto up =
      client.update_incident("0123456789abcdef0123456789abcdef", JsonObject{{"work_notes", "x"}});
  ASSERT_FALSE(up);
  EXPECT_EQ(up.error().code, ErrorCode::NotFound);
  EXPECT_EQ(table_requests(fake), 2);
  // A sys_id that would change the path is refused before any request.
  EXPECT_FALSE(client.update_incident("../sys_user", JsonObject{}));
  EXPECT_EQ(table_requests(fake), 2);
}

TEST(ServiceNowClient, WrongPasswordIs401AndNeverPrintsThePassword) {
  ServiceNowFake fake;
  auto settings = basic(fake);
  settings.password = "wrong-secret-9731";
  notify::ServiceNowClient client(settings);
  auto ref = client.create_incident(seed_record());
  ASSERT_FALSE(ref);
  EXPECT_EQ(ref.error().code, ErrorCode::PermissionDenied);
  EXPECT_NE(ref.error().message.find("User Not Authenticated"), std::string::npos);
  EXPECT_EQ(ref.error().describe().find("wrong-secret-9731"), std::string::npos);
  EXPECT_EQ(table_requests(fake), 1);
}

TEST(ServiceNowClient, OAuthClientCredentialsTokenIsReusedAndRenewedAfter401) {
  ServiceNowFake fake;
  notify::ServiceNowClient client(oauth(fake, "sn-client-secret-0001"));
  ASSERT_TRUE(client.create_incident(seed_record()));
  ASSERT_TRUE(client.create_incident(seed_record()));
  EXPECT_EQ(fake.token_requests(), 1);
  const auto reqs = fake.requests();
  EXPECT_EQ(reqs[0].header("Content-Type"), "application/x-www-form-urlencoded");
  EXPECT_NE(reqs[0].body.find("grant_type=client_credentials"), std::string::npos);
  EXPECT_TRUE(reqs[1].header("Authorization").starts_with("Bearer tok-"));

  fake.revoke_tokens();
  auto ref = client.create_incident(seed_record());
  ASSERT_TRUE(ref) << ref.error().describe();
  EXPECT_EQ(fake.token_requests(), 2);
  EXPECT_EQ(fake.incidents().size(), 3u);
}

TEST(ServiceNowClient, OAuthWithBadClientSecretFailsClearly) {
  ServiceNowFake fake;
  notify::ServiceNowClient client(oauth(fake, "not-the-secret-5521"));
  auto ref = client.create_incident(seed_record());
  ASSERT_FALSE(ref);
  EXPECT_NE(ref.error().message.find("servicenow oauth: HTTP 401"), std::string::npos)
      << ref.error().message;
  EXPECT_EQ(ref.error().describe().find("not-the-secret-5521"), std::string::npos);
  EXPECT_EQ(table_requests(fake), 0);
}

TEST(ServiceNowClient, UnreachableInstanceIsUnavailableAfterRetries) {
  FakeClock clock;
  ClockDriver driver(clock);
  std::string url;
  {
    ServiceNowFake fake;
    url = fake.url();
  }  // closed: connections are refused
  notify::ServiceNowSettings s;
  s.instance_url = url;
  s.username = "u";
  s.password = "p-unreachable-1";
  s.max_attempts = 2;
  notify::ServiceNowClient client(s, clock);
  auto ref = client.create_incident(seed_record());
  ASSERT_FALSE(ref);
  EXPECT_EQ(ref.error().code, ErrorCode::Unavailable);
  EXPECT_NE(ref.error().message.find("gave up after 2 attempts"), std::string::npos)
      << ref.error().message;
}

TEST(ServiceNowClient, ValidatesSettings) {
  notify::ServiceNowSettings s;
  EXPECT_EQ(notify::ServiceNowClient::validate(s).error().where, "instance_url");
  s.instance_url = "https://x.service-now.com";
  EXPECT_EQ(notify::ServiceNowClient::validate(s).error().where, "username");
  s.username = "u";
  s.password = "p";
  EXPECT_TRUE(notify::ServiceNowClient::validate(s));
  s.auth_type = "kerberos";
  EXPECT_EQ(notify::ServiceNowClient::validate(s).error().where, "auth_type");
  s.auth_type = "oauth";
  EXPECT_EQ(notify::ServiceNowClient::validate(s).error().where, "client_id");
}

}  // namespace
}  // namespace opsrun::testing
