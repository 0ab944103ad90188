// Loading policies: every error with file:line, presets, and per-policy overrides.
#include <gtest/gtest.h>

#include <fstream>

#include "engine/engine_fixture.h"
#include "opsrun/safety/policy.h"

namespace opsrun::testing {
namespace {

std::string all(const safety::PolicyLoad& l) {
  std::string out;
  for (const auto& d : l.diagnostics) out += d.describe() + "\n";
  return out;
}

TEST(PolicyLoad, ReportsEveryErrorWithFileLineAndField) {
  auto l = safety::load_policy_text(R"(protected_targets:
  - name: prod
    match: {labels: {env: production}}
    effect: destroy
rate_limits:
  - name: deletes
    per: planet
    window: 5x
change_windows:
  - name: office
    time_zone: Mars/Olympus
    hours: "9-17"
    days: [mon, funday]
rules:
  business_hours_protection: {start: 18, end: 9}
  teleport_protection: {enabled: true}
unknown_section: 1
)", "p.yaml");
  EXPECT_FALSE(l.ok());
  const std::string text = all(l);
  for (const char* expected :
       {"p.yaml:4:13: error: protected_targets[0].effect: expected deny or require_approval, got 'destroy'",
        "p.yaml:7:10: error: rate_limits[0].per: expected target_class or runbook, got 'planet'",
        "p.yaml:8:13: error: rate_limits[0].window:",
        "p.yaml:6:5: error: rate_limits[0].max: a rate limit needs max",
        "p.yaml:11:16: error: change_windows[0].time_zone: unknown time zone 'Mars/Olympus'",
        "p.yaml:12:12: error: change_windows[0].hours: expected HH:MM-HH:MM",
        "change_windows[0].days: expected day names (mon, tue, ...), got 'funday'",
        "rules.business_hours_protection: start (18) must be before end (9)",
        "p.yaml:16:3: error: rules.teleport_protection: unknown key 'teleport_protection'",
        "p.yaml:17:1: error: unknown_section: unknown key"})
    EXPECT_NE(text.find(expected), std::string::npos) << "missing: " << expected << "\n" << text;
}

TEST(PolicyLoad, YamlSyntaxErrorsHaveALine) {
  auto l = safety::load_policy_text("rate_limits: [\n  {name: x\n", "bad.yaml");
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.diagnostics.at(0).file, "bad.yaml");
  EXPECT_GT(l.diagnostics.at(0).line, 0);
}

TEST(PolicyLoad, TheShippedPresetLoadsAndEnablesTheSixSeedRules) {
  auto l = safety::load_policy_text("preset: cloud-safety\n", "p.yaml");
  ASSERT_TRUE(l.ok()) << all(l);
  const auto& r = l.policy->rules;
  EXPECT_TRUE(r.production_tags.enabled);
  EXPECT_EQ(r.production_tags.tags.at("Environment"), (std::vector<std::string>{"production", "prod", "live"}));
  EXPECT_TRUE(r.business_hours.enabled);
  EXPECT_EQ(r.business_hours.start_hour, 9);
  EXPECT_EQ(r.business_hours.end_hour, 17);
  EXPECT_TRUE(r.auto_scaling_group.enabled);
  EXPECT_TRUE(r.load_balancer_target.enabled);
  EXPECT_EQ(r.database_dependency.ports, (std::vector<std::string>{"3306", "5432", "1433", "27017"}));
  EXPECT_EQ(r.recent_activity.within, std::chrono::hours(24));
  EXPECT_EQ(l.policy->risk.by_action.at("TERMINATE_INSTANCE"), safety::Risk::High);
}

TEST(PolicyLoad, TheShippedPresetFileIsItselfAValidPolicy) {
  auto l = safety::load_policy_file(std::string(OPSRUN_SOURCE_DIR) + "/policies/cloud-safety.yaml");
  EXPECT_TRUE(l.ok()) << all(l);
}

TEST(PolicyLoad, OverridingARuleChangesThisPolicyOnlyNotThePreset) {
  auto mine = safety::load_policy_text(R"(
preset: cloud-safety
rules:
  recent_activity_protection: {enabled: false}
  business_hours_protection: {start: 8, end: 18, time_zone: Europe/Paris}
)", "mine.yaml");
  ASSERT_TRUE(mine.ok()) << all(mine);
  EXPECT_FALSE(mine.policy->rules.recent_activity.enabled);
  EXPECT_EQ(mine.policy->rules.business_hours.start_hour, 8);
  EXPECT_EQ(mine.policy->rules.business_hours.time_zone, "Europe/Paris");
  EXPECT_TRUE(mine.policy->rules.production_tags.enabled);  // untouched rules keep the preset
  // Loaded again for someone else, the preset is as shipped (the seed's shallow-copy bug).
  auto theirs = safety::load_policy_text("preset: cloud-safety\n", "theirs.yaml");
  ASSERT_TRUE(theirs.ok());
  EXPECT_TRUE(theirs.policy->rules.recent_activity.enabled);
  EXPECT_EQ(theirs.policy->rules.business_hours.start_hour, 9);
}

TEST(PolicyLoad, TheOpsrunYamlPoliciesSectionIsThePolicy) {
  TempDir dir;
  {
    std::ofstream f(dir.file("opsrun.yaml"));
    f << "listen: 127.0.0.1:0\npolicies:\n  forced_dry_run: [cleanup-*]\n  failure_trip: {failures: x}\n";
  }
  auto l = safety::load_policy_file(dir.file("opsrun.yaml"));
  ASSERT_FALSE(l.ok());
  EXPECT_NE(all(l).find("opsrun.yaml:4:28: error: policies.failure_trip.failures:"), std::string::npos) << all(l);
  {
    std::ofstream f(dir.file("own.yaml"));
    f << "forced_dry_run: [cleanup-*]\n";
    std::ofstream g(dir.file("opsrun.yaml"));
    g << "policies: own.yaml\n";
  }
  auto ok = safety::load_policy_file(dir.file("opsrun.yaml"));
  ASSERT_TRUE(ok.ok()) << all(ok);
  EXPECT_EQ(ok.policy->forced_dry_run, (std::vector<std::string>{"cleanup-*"}));
}

}  // namespace
}  // namespace opsrun::testing
