// config.json: the seed's shape, opsrun's additions, and start-up errors naming the field.
#include <gtest/gtest.h>

#include <fstream>

#include "opsrun/azure/config.h"
#include "opsrun/azure/run.h"

namespace opsrun::azure {
namespace {

TEST(AzureConfig, AcceptsTheSeedShape) {
  auto cfg = parse_config(R"({
    "automation": {"dry_run": true},
    "servicenow": {"instance_url": "https://x.service-now.com", "username": "automation-user",
                   "password": "pw", "auth_type": "basic", "assignment_group": "Infrastructure Team",
                   "caller_id": "automation.user", "vm_identifier": "your-vm-name"}})",
                          "config.json");
  ASSERT_TRUE(cfg) << cfg.error().describe();
  EXPECT_TRUE(cfg->dry_run);
  EXPECT_EQ(cfg->imds_url, "http://169.254.169.254");
  EXPECT_EQ(cfg->poll_interval_seconds, 5);
  ASSERT_TRUE(cfg->servicenow);
  EXPECT_EQ(cfg->servicenow->username, "automation-user");
  EXPECT_EQ(cfg->incident.assignment_group, "Infrastructure Team");
  EXPECT_EQ(cfg->incident.caller_id, "automation.user");
  EXPECT_EQ(cfg->incident.vm_identifier, "your-vm-name");
}

TEST(AzureConfig, ServiceNowIsOptional) {
  auto cfg =
      parse_config(R"({"imds_url": "http://127.0.0.1:8080", "poll_interval": 1, "vm_name": "vm1",
                              "automation": {"drain": {"state_dir": "/tmp/s"}}})",
                   "c.json");
  ASSERT_TRUE(cfg) << cfg.error().describe();
  EXPECT_FALSE(cfg->servicenow);
  EXPECT_FALSE(cfg->dry_run);
  EXPECT_EQ(cfg->drain_context.at("state_dir").as_string(), "/tmp/s");
}

TEST(AzureConfig, ErrorsNameFileAndField) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"servicenow": {"instance_url": "https://x", "username": "u"}})",
       "c.json: servicenow.password"},
      {R"({"servicenow": {"username": "u", "password": "p"}})", "c.json: servicenow.instance_url"},
      {R"({"servicenow": {"instance_url": "https://x", "username": "u", "password": "p", "auth_type": "kerberos"}})",
       "c.json: servicenow.auth_type"},
      {R"({"poll_interval": 0})", "c.json: poll_interval"},
      {R"({"automation": {"dry_run": "yes"}})", "c.json: automation.dry_run"},
      {R"({"imds_url": "169.254.169.254"})", "c.json: imds_url"},
      {R"([1])", "c.json: the top level"},
  };
  for (const auto& [text, expected] : cases) {
    auto cfg = parse_config(text, "c.json");
    ASSERT_FALSE(cfg) << text;
    EXPECT_EQ(cfg.error().message.rfind(expected, 0), 0u) << cfg.error().message;
    EXPECT_EQ(cfg.error().message.find("\"p\""), std::string::npos);
  }
}

TEST(AzureConfig, TheShippedExampleLoads) {
  auto cfg = load_config_file(std::string(OPSRUN_SOURCE_DIR) + "/examples/config.json.example");
  ASSERT_TRUE(cfg) << cfg.error().describe();
  EXPECT_TRUE(cfg->dry_run);
  EXPECT_TRUE(cfg->servicenow);
  EXPECT_FALSE(load_config_file("/nonexistent/config.json"));
}

}  // namespace
}  // namespace opsrun::azure

namespace opsrun::azure {
namespace {

TEST(AzureServeSettings, OptInFromOpsrunYaml) {
  auto none = serve_settings(Json(nullptr));
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  auto off = serve_settings(
      JsonObject{{"scheduled_events", JsonObject{{"enabled", false}, {"config", "x.json"}}}});
  ASSERT_TRUE(off);
  EXPECT_FALSE(*off);
  auto on = serve_settings(JsonObject{
      {"scheduled_events",
       JsonObject{{"enabled", "true"},
                  {"config", std::string(OPSRUN_SOURCE_DIR) + "/examples/config.json.example"},
                  {"poll_interval", "2"}}}});
  ASSERT_TRUE(on) << on.error().describe();
  ASSERT_TRUE(*on);
  EXPECT_EQ((*on)->config.poll_interval_seconds, 2);
  EXPECT_TRUE((*on)->config.servicenow);
  auto typo = serve_settings(
      JsonObject{{"scheduled_events", JsonObject{{"enabled", true}, {"confg", "x.json"}}}});
  ASSERT_FALSE(typo);
  EXPECT_NE(typo.error().message.find("azure.scheduled_events.confg: unknown key"),
            std::string::npos);
  auto no_file = serve_settings(JsonObject{{"scheduled_events", JsonObject{{"enabled", true}}}});
  ASSERT_FALSE(no_file);
  EXPECT_NE(no_file.error().message.find("azure.scheduled_events.config"), std::string::npos);
  auto bad_interval = serve_settings(JsonObject{
      {"scheduled_events",
       JsonObject{{"enabled", true},
                  {"config", std::string(OPSRUN_SOURCE_DIR) + "/examples/config.json.example"},
                  {"poll_interval", 0}}}});
  ASSERT_FALSE(bad_interval);
  EXPECT_NE(bad_interval.error().message.find("poll_interval"), std::string::npos);
}

}  // namespace
}  // namespace opsrun::azure
