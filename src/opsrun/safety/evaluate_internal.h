// The pure half of the safety layer: does a rule apply to a target at a given time. No
// state, no clock reads (time is a parameter), so each rule is tested on its own.
// Private to the safety module.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "opsrun/safety/gate.h"
#include "opsrun/safety/policy.h"

namespace opsrun::safety::detail {

// `*` any run of characters, `?` one character; the whole text must match.
bool glob_match(std::string_view pattern, std::string_view text, bool ignore_case = false);
// True when `patterns` is empty (no restriction) or one of them matches.
bool any_glob(const std::vector<std::string>& patterns, std::string_view text);
bool target_matches(const TargetMatch& m, const ResolvedTarget& t);

Risk evaluate_risk(const RiskPolicy& policy, std::string_view declared,
                   const std::optional<ResolvedTarget>& target);

struct Hit {
  std::string rule;                             // "production_tag_protection", "protected:<name>"
  Effect effect = Effect::Deny;
  std::string reason;
};

// The seed's six rules that block this action (empty: none).
std::vector<Hit> seed_rule_hits(const SeedRules& rules, std::string_view runbook_id,
                                const ResolvedTarget& target, Risk risk, SystemTime now);

// Whether `now` falls inside the window's hours, in its time zone.
bool inside_window(const ChangeWindow& w, SystemTime now);

}  // namespace opsrun::safety::detail
