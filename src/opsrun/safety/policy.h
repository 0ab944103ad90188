// The safety policy as values: what docs/safety.md describes. A Policy is read-only once
// loaded; the Guard copies it, so overriding a preset's rule in one policy never changes
// the preset for anyone else (the seed's shallow-copy bug).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "opsrun/common/clock.h"
#include "opsrun/model/runbook_yaml.h"
#include "opsrun/notify/channel.h"

namespace opsrun::safety {

enum class Effect { Deny, RequireApproval };
enum class Risk { Low = 0, Medium = 1, High = 2 };
std::string_view to_string(Effect e);
std::string_view to_string(Risk r);
std::optional<Risk> risk_from_string(std::string_view s);

// Which targets a rule is about. Empty parts match anything; all given parts must match.
// Label keys and values compare case-insensitively; values are globs (`prod*`).
struct TargetMatch {
  std::string name;                             // glob
  std::string name_regex;                       // ECMAScript regex, whole name
  std::vector<std::string> classes;             // globs
  std::map<std::string, std::vector<std::string>> labels;  // key -> any of these values
  std::map<std::string, std::vector<std::string>> metadata;  // the same over metadata
  [[nodiscard]] bool empty() const {
    return name.empty() && name_regex.empty() && classes.empty() && labels.empty() &&
           metadata.empty();
  }
};

struct ProtectedTarget {
  std::string name;
  TargetMatch match;
  Effect effect = Effect::Deny;
  std::string reason;
  std::vector<std::string> runbooks;            // globs; empty: every runbook
};

struct RateLimit {
  enum class Per { TargetClass, Runbook };
  std::string name;
  Per per = Per::Runbook;
  int max = 0;
  Millis window{3'600'000};
  std::vector<std::string> runbooks;            // which actions count; empty: all
  std::vector<std::string> target_classes;
};

struct ConcurrencyLimit {
  std::vector<std::string> runbooks;            // globs
  int max = 1;
  bool queue = true;                            // excess: queue (true) or reject
};

struct ChangeWindow {
  std::string name;
  std::vector<std::string> runbooks;            // globs; empty: every runbook
  std::vector<std::string> target_classes;      // globs; empty: every class
  std::string time_zone = "UTC";
  std::vector<int> days;                        // 0 = Sunday .. 6; empty: every day
  int start_minute = 0;                         // minutes after midnight, local time
  int end_minute = 24 * 60;                     // exclusive; < start: crosses midnight
  Effect outside = Effect::Deny;
};

struct FailureTrip {
  bool enabled = true;
  int failures = 5;
  Millis window{15 * 60'000};
};

// Risk: declared on the step, else derived: `by_action` on the target's metadata.action
// (the seed's action types), then every matching `derive` rule raises it.
struct RiskRule {
  TargetMatch match;
  std::optional<Risk> at_least;
  int raise = 0;
};
struct RiskPolicy {
  Risk fallback = Risk::Low;
  std::map<std::string, Risk> by_action;        // metadata.action (upper case) -> risk
  std::vector<RiskRule> derive;
  std::vector<Risk> require_approval{Risk::High};
  std::vector<Risk> deny;
};

// The seed's six rules (safety_checker.py), each switchable and re-parametrisable.
struct SeedRules {
  struct Base {
    bool enabled = false;
    Effect effect = Effect::Deny;
    std::vector<std::string> runbooks;          // empty: every runbook
  };
  struct ProductionTags : Base {
    std::map<std::string, std::vector<std::string>> tags;  // tag -> values (any case)
  } production_tags;
  struct BusinessHours : Base {
    int start_hour = 9;
    int end_hour = 17;
    std::string time_zone = "UTC";
    std::vector<Risk> risks{Risk::Medium, Risk::High};
  } business_hours;
  struct AutoScalingGroup : Base {
  } auto_scaling_group;
  struct LoadBalancerTarget : Base {
  } load_balancer_target;
  struct DatabaseDependency : Base {
    std::vector<std::string> ports{"3306", "5432", "1433", "27017"};
  } database_dependency;
  struct RecentActivity : Base {
    Millis within{24 * 3'600'000};
    double cpu_percent = 5.0;
  } recent_activity;
};

struct Policy {
  std::string source;                           // file it came from, for messages
  std::vector<ProtectedTarget> protected_targets;
  std::vector<RateLimit> rate_limits;
  std::vector<ConcurrencyLimit> concurrency;
  std::vector<ChangeWindow> change_windows;
  std::vector<std::string> forced_dry_run;      // runbook globs
  FailureTrip failure_trip;
  RiskPolicy risk;
  SeedRules rules;
  // Where safety events go, by severity; every severity defaults to the `log` channel.
  std::map<notify::Severity, std::vector<std::string>> channels;
  Millis stop_poll_interval{1000};              // how often other processes' stops are seen
};

struct PolicyLoad {
  std::optional<Policy> policy;                 // empty when any error was found
  std::vector<model::Diagnostic> diagnostics;
  [[nodiscard]] bool ok() const { return policy.has_value(); }
};

// A policy file, or an opsrun.yaml whose `policies:` section is the policy. `preset: NAME`
// inside it merges a preset first (the shipped cloud-safety, or a file relative to it).
PolicyLoad load_policy_file(const std::string& path);
PolicyLoad load_policy_text(std::string_view yaml, const std::string& file_name);

// The shipped presets by name ("cloud-safety"): the text of policies/<name>.yaml.
std::optional<std::string_view> preset_text(std::string_view name);

}  // namespace opsrun::safety
