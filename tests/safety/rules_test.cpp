// The pure rules: each of the seed's six, globs, change windows across time zones, risk.
#include <gtest/gtest.h>

#include "opsrun/safety/evaluate_internal.h"

namespace opsrun::safety {
namespace {

using detail::seed_rule_hits;

SystemTime at(const char* rfc3339) {
  SystemTime t;
  EXPECT_TRUE(parse_time(rfc3339, t)) << rfc3339;
  return t;
}

// The preset's rules with every rule on, as cloud-safety.yaml sets them.
SeedRules all_on() {
  auto l = load_policy_text("preset: cloud-safety\n", "p.yaml");
  EXPECT_TRUE(l.ok());
  return l.policy->rules;
}

std::vector<std::string> names(const std::vector<detail::Hit>& hits) {
  std::vector<std::string> out;
  for (const auto& h : hits) out.push_back(h.rule);
  return out;
}

const SystemTime kNight = at("2026-03-10T22:00:00Z");  // outside 09-17 UTC

TEST(SeedRules, ProductionTagsBlockCaseInsensitively) {
  const auto rules = all_on();
  for (auto [k, v] : std::vector<std::pair<std::string, std::string>>{
           {"Environment", "PRODUCTION"}, {"Stage", "live"}, {"Tier", "Critical"}, {"Critical", "YES"}, {"critical", "1"}}) {
    ResolvedTarget t{.name = "x", .labels = {{k, v}}};
    EXPECT_EQ(names(seed_rule_hits(rules, "rb", t, Risk::Low, kNight)),
              std::vector<std::string>{"production_tag_protection"}) << k << "=" << v;
  }
  ResolvedTarget staging{.name = "x", .labels = {{"Environment", "staging"}, {"Critical", "no"}}};
  EXPECT_TRUE(seed_rule_hits(rules, "rb", staging, Risk::Low, kNight).empty());
}

TEST(SeedRules, BusinessHoursBlockMediumAndHighRiskOnlyInsideTheHours) {
  auto rules = all_on();
  ResolvedTarget t{.name = "x"};
  const auto ten = at("2026-03-10T10:00:00Z");
  EXPECT_EQ(names(seed_rule_hits(rules, "rb", t, Risk::Medium, ten)), std::vector<std::string>{"business_hours_protection"});
  EXPECT_TRUE(seed_rule_hits(rules, "rb", t, Risk::Low, ten).empty());
  EXPECT_TRUE(seed_rule_hits(rules, "rb", t, Risk::High, at("2026-03-10T17:00:00Z")).empty());  // end is exclusive
  EXPECT_FALSE(seed_rule_hits(rules, "rb", t, Risk::High, at("2026-03-10T09:00:00Z")).empty());
  // In a configured time zone: 08:30 UTC is 09:30 in Paris (UTC+1 in March).
  rules.business_hours.time_zone = "Europe/Paris";
  EXPECT_FALSE(seed_rule_hits(rules, "rb", t, Risk::High, at("2026-03-10T08:30:00Z")).empty());
  EXPECT_TRUE(seed_rule_hits(rules, "rb", t, Risk::High, at("2026-03-10T16:30:00Z")).empty());
}

TEST(SeedRules, AutoScalingLoadBalancerDatabaseAndRecentActivity) {
  const auto rules = all_on();
  auto only = [&](ResolvedTarget t) { return names(seed_rule_hits(rules, "rb", t, Risk::Low, kNight)); };
  EXPECT_EQ(only({.name = "x", .metadata = {{"auto_scaling_group", "web-asg"}}}),
            std::vector<std::string>{"auto_scaling_group_protection"});
  EXPECT_EQ(only({.name = "x", .labels = {{"aws:autoscaling:groupName", "g"}}}),
            std::vector<std::string>{"auto_scaling_group_protection"});
  EXPECT_EQ(only({.name = "x", .metadata = {{"load_balancer_targets", "[tg-1]"}}}),
            std::vector<std::string>{"load_balancer_target_protection"});
  EXPECT_TRUE(only({.name = "x", .metadata = {{"load_balancer_targets", "[]"}}}).empty());
  EXPECT_EQ(only({.name = "x", .metadata = {{"database_connections", "orders-db"}}}),
            std::vector<std::string>{"database_dependency_protection"});
  EXPECT_EQ(only({.name = "x", .metadata = {{"security_groups", "sg-1 tcp:5432"}}}),
            std::vector<std::string>{"database_dependency_protection"});
  EXPECT_TRUE(only({.name = "x", .metadata = {{"open_ports", "22,443"}}}).empty());
  EXPECT_EQ(only({.name = "x", .metadata = {{"last_activity", "2026-03-10T12:00:00Z"}}}),
            std::vector<std::string>{"recent_activity_protection"});
  EXPECT_TRUE(only({.name = "x", .metadata = {{"last_activity", "2026-03-08T12:00:00Z"}}}).empty());
  EXPECT_EQ(only({.name = "x", .metadata = {{"cpu_utilization_24h", "12.5"}}}),
            std::vector<std::string>{"recent_activity_protection"});
  EXPECT_TRUE(only({.name = "x", .metadata = {{"cpu_utilization_24h", "2"}}}).empty());
}

TEST(SeedRules, SwitchedOffOrScopedRulesDoNotApply) {
  auto rules = all_on();
  ResolvedTarget prod{.name = "x", .labels = {{"Environment", "prod"}}};
  rules.production_tags.enabled = false;
  EXPECT_TRUE(seed_rule_hits(rules, "rb", prod, Risk::Low, kNight).empty());
  rules.production_tags.enabled = true;
  rules.production_tags.runbooks = {"finops-*"};
  EXPECT_TRUE(seed_rule_hits(rules, "other", prod, Risk::Low, kNight).empty());
  EXPECT_FALSE(seed_rule_hits(rules, "finops-idle", prod, Risk::Low, kNight).empty());
}

TEST(Matching, GlobsRegexClassesAndLabels) {
  EXPECT_TRUE(detail::glob_match("db-*", "db-orders"));
  EXPECT_TRUE(detail::glob_match("*-prod-?", "eu-prod-1"));
  EXPECT_FALSE(detail::glob_match("db-*", "web-1"));
  EXPECT_TRUE(detail::glob_match("?*", "x"));
  EXPECT_FALSE(detail::glob_match("?*", ""));
  TargetMatch m;
  m.name_regex = "db-[0-9]+";
  m.classes = {"database"};
  m.labels = {{"env", {"prod*"}}};
  EXPECT_TRUE(detail::target_matches(m, {.name = "db-12", .target_class = "database", .labels = {{"ENV", "Production"}}}));
  EXPECT_FALSE(detail::target_matches(m, {.name = "db-x", .target_class = "database", .labels = {{"env", "prod"}}}));
  EXPECT_FALSE(detail::target_matches(m, {.name = "db-1", .target_class = "vm", .labels = {{"env", "prod"}}}));
  EXPECT_FALSE(detail::target_matches(m, {.name = "db-1", .target_class = "database"}));
}

TEST(ChangeWindows, HoursDaysTimeZonesAndMidnight) {
  ChangeWindow w;
  w.time_zone = "America/New_York";
  w.days = {1, 2, 3, 4, 5};  // weekdays
  w.start_minute = 9 * 60;
  w.end_minute = 17 * 60;
  // Tuesday 2026-03-10 14:00 UTC = 10:00 in New York (EDT since 2026-03-08).
  EXPECT_TRUE(detail::inside_window(w, at("2026-03-10T14:00:00Z")));
  EXPECT_FALSE(detail::inside_window(w, at("2026-03-10T12:30:00Z")));  // 08:30 there
  EXPECT_FALSE(detail::inside_window(w, at("2026-03-14T15:00:00Z")));  // Saturday
  ChangeWindow night;
  night.start_minute = 22 * 60;
  night.end_minute = 2 * 60;
  night.days = {5};  // Friday night, into Saturday morning
  EXPECT_TRUE(detail::inside_window(night, at("2026-03-13T23:00:00Z")));
  EXPECT_TRUE(detail::inside_window(night, at("2026-03-14T01:00:00Z")));
  EXPECT_FALSE(detail::inside_window(night, at("2026-03-14T23:00:00Z")));
}

TEST(Risk, DeclaredWinsElseActionThenDerivedRules) {
  auto l = load_policy_text("preset: cloud-safety\n", "p.yaml");
  ASSERT_TRUE(l.ok());
  const auto& rp = l.policy->risk;
  EXPECT_EQ(detail::evaluate_risk(rp, "low", ResolvedTarget{.name = "x", .labels = {{"Environment", "prod"}}}), Risk::Low);
  EXPECT_EQ(detail::evaluate_risk(rp, "", std::nullopt), Risk::Medium);
  EXPECT_EQ(detail::evaluate_risk(rp, "", ResolvedTarget{.name = "x", .metadata = {{"action", "release_elastic_ip"}}}), Risk::Low);
  EXPECT_EQ(detail::evaluate_risk(rp, "", ResolvedTarget{.name = "x", .labels = {{"Environment", "Prod"}},
                                                         .metadata = {{"action", "UPGRADE_STORAGE"}}}),
            Risk::High);
  EXPECT_EQ(detail::evaluate_risk(rp, "", ResolvedTarget{.name = "x", .metadata = {{"action", "UPGRADE_STORAGE"},
                                                                                   {"auto_scaling_group", "g"}}}),
            Risk::Medium);
}

}  // namespace
}  // namespace opsrun::safety
