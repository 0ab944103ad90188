#include <date/tz.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <regex>

#include "opsrun/safety/evaluate_internal.h"

namespace opsrun::safety::detail {

namespace {

char fold(char c, bool ignore_case) {
  return ignore_case ? static_cast<char>(std::tolower(static_cast<unsigned char>(c))) : c;
}

bool iequal(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return fold(x, true) == fold(y, true); });
}

// The value of `key` in `map`, keys compared case-insensitively.
const std::string* find_ci(const std::map<std::string, std::string>& map, std::string_view key) {
  for (const auto& [k, v] : map)
    if (iequal(k, key)) return &v;
  return nullptr;
}

bool any_value(const std::map<std::string, std::vector<std::string>>& wanted,
               const std::map<std::string, std::string>& have) {
  for (const auto& [key, values] : wanted) {
    const std::string* v = find_ci(have, key);
    const std::string actual = v != nullptr ? *v : std::string();
    const bool ok = std::any_of(values.begin(), values.end(),
                                [&](const std::string& p) { return glob_match(p, actual, true); });
    if (!ok) return false;
  }
  return true;
}

// Empty, or an empty JSON-ish list/object spelled as text, counts as absent.
bool present(const std::map<std::string, std::string>& metadata, std::string_view key) {
  const std::string* v = find_ci(metadata, key);
  if (v == nullptr) return false;
  std::string s = *v;
  s.erase(std::remove_if(s.begin(), s.end(), [](unsigned char c) { return std::isspace(c); }), s.end());
  return !(s.empty() || s == "[]" || s == "{}" || s == "null" || s == "none" || s == "false");
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool applies(const SeedRules::Base& rule, std::string_view runbook_id) {
  return rule.enabled && any_glob(rule.runbooks, runbook_id);
}

}  // namespace

bool glob_match(std::string_view p, std::string_view t, bool ignore_case) {
  // Iterative matcher with one backtrack point for the last `*`.
  std::size_t pi = 0, ti = 0, star = std::string_view::npos, mark = 0;
  while (ti < t.size()) {
    if (pi < p.size() && (p[pi] == '?' || fold(p[pi], ignore_case) == fold(t[ti], ignore_case))) {
      ++pi;
      ++ti;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = ti;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

bool any_glob(const std::vector<std::string>& patterns, std::string_view text) {
  return patterns.empty() || std::any_of(patterns.begin(), patterns.end(),
                                         [&](const std::string& p) { return glob_match(p, text); });
}

bool target_matches(const TargetMatch& m, const ResolvedTarget& t) {
  if (!m.name.empty() && !glob_match(m.name, t.name)) return false;
  if (!m.name_regex.empty()) {
    try {
      if (!std::regex_match(t.name, std::regex(m.name_regex))) return false;
    } catch (const std::regex_error&) {
      return false;  // the loader refuses bad expressions; never here
    }
  }
  if (!m.classes.empty() && !any_glob(m.classes, t.target_class)) return false;
  return any_value(m.labels, t.labels) && any_value(m.metadata, t.metadata);
}

Risk evaluate_risk(const RiskPolicy& policy, std::string_view declared,
                   const std::optional<ResolvedTarget>& target) {
  if (auto r = risk_from_string(declared)) return *r;
  int level = static_cast<int>(policy.fallback);
  if (!target) return policy.fallback;
  if (const std::string* action = find_ci(target->metadata, "action")) {
    std::string upper = *action;
    std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
    if (auto it = policy.by_action.find(upper); it != policy.by_action.end())
      level = static_cast<int>(it->second);
  }
  for (const auto& rule : policy.derive) {
    if (!target_matches(rule.match, *target)) continue;
    if (rule.at_least) level = std::max(level, static_cast<int>(*rule.at_least));
    level += rule.raise;
  }
  return static_cast<Risk>(std::clamp(level, 0, 2));
}

std::vector<Hit> seed_rule_hits(const SeedRules& rules, std::string_view runbook_id,
                                const ResolvedTarget& t, Risk risk, SystemTime now) {
  std::vector<Hit> hits;
  if (const auto& r = rules.production_tags; applies(r, runbook_id)) {
    for (const auto& [tag, values] : r.tags) {
      const std::string* v = find_ci(t.labels, tag);
      if (v == nullptr) continue;
      const bool hit = std::any_of(values.begin(), values.end(),
                                   [&](const std::string& x) { return lower(x) == lower(*v); });
      if (hit) {
        hits.push_back({"production_tag_protection", r.effect,
                        "production resource: tag " + tag + "=" + *v});
        break;
      }
    }
  }
  if (const auto& r = rules.business_hours; applies(r, runbook_id) &&
                                            std::find(r.risks.begin(), r.risks.end(), risk) != r.risks.end()) {
    try {
      const auto local = date::make_zoned(r.time_zone, std::chrono::floor<std::chrono::seconds>(now)).get_local_time();
      const auto day = date::floor<date::days>(local);
      const int hour = static_cast<int>(date::make_time(local - day).hours().count());
      if (hour >= r.start_hour && hour < r.end_hour)
        hits.push_back({"business_hours_protection", r.effect,
                        std::string(to_string(risk)) + " risk action inside business hours (" +
                            std::to_string(r.start_hour) + ":00-" + std::to_string(r.end_hour) +
                            ":00 " + r.time_zone + ")"});
    } catch (const std::exception&) {
      hits.push_back({"business_hours_protection", Effect::Deny, "unknown time zone " + r.time_zone});
    }
  }
  if (const auto& r = rules.auto_scaling_group; applies(r, runbook_id)) {
    bool hit = present(t.metadata, "auto_scaling_group");
    for (const auto& [k, v] : t.labels) {
      const std::string key = lower(k);
      if (key.find("autoscaling") != std::string::npos || key.find("asg") != std::string::npos) hit = true;
    }
    if (hit) hits.push_back({"auto_scaling_group_protection", r.effect, "member of an auto-scaling group"});
  }
  if (const auto& r = rules.load_balancer_target; applies(r, runbook_id) &&
                                                  present(t.metadata, "load_balancer_targets"))
    hits.push_back({"load_balancer_target_protection", r.effect, "registered as a load-balancer target"});
  if (const auto& r = rules.database_dependency; applies(r, runbook_id)) {
    bool hit = present(t.metadata, "database_connections");
    std::string port_hit;
    for (const char* key : {"open_ports", "security_groups"}) {
      const std::string* v = find_ci(t.metadata, key);
      if (v == nullptr) continue;
      for (const auto& port : r.ports)
        if (v->find(port) != std::string::npos) port_hit = port;
    }
    if (hit || !port_hit.empty())
      hits.push_back({"database_dependency_protection", r.effect,
                      hit ? "has database connections" : "database port " + port_hit + " is open"});
  }
  if (const auto& r = rules.recent_activity; applies(r, runbook_id)) {
    std::string why;
    SystemTime last;
    if (const std::string* v = find_ci(t.metadata, "last_activity"); v != nullptr && parse_time(*v, last) &&
                                                                     now - last < r.within)
      why = "active within the last " + std::to_string(r.within.count() / 3'600'000) + "h";
    if (const std::string* v = find_ci(t.metadata, "cpu_utilization_24h"); v != nullptr && why.empty()) {
      double cpu = 0;
      auto res = std::from_chars(v->data(), v->data() + v->size(), cpu);
      if (res.ec == std::errc{} && cpu > r.cpu_percent)
        why = "CPU " + *v + "% over the last 24h (above " + std::to_string(static_cast<int>(r.cpu_percent)) + "%)";
    }
    if (!why.empty()) hits.push_back({"recent_activity_protection", r.effect, "recently active: " + why});
  }
  return hits;
}

bool inside_window(const ChangeWindow& w, SystemTime now) {
  const auto local = date::make_zoned(w.time_zone, std::chrono::floor<std::chrono::seconds>(now)).get_local_time();
  const auto day = date::floor<date::days>(local);
  const int minute = static_cast<int>(std::chrono::duration_cast<std::chrono::minutes>(local - day).count());
  const int weekday = static_cast<int>(date::weekday(day).c_encoding());
  auto day_ok = [&](int d) { return w.days.empty() || std::find(w.days.begin(), w.days.end(), d) != w.days.end(); };
  if (w.start_minute < w.end_minute) return day_ok(weekday) && minute >= w.start_minute && minute < w.end_minute;
  // Crosses midnight: the evening part belongs to today, the morning part to yesterday.
  if (minute >= w.start_minute) return day_ok(weekday);
  if (minute < w.end_minute) return day_ok((weekday + 6) % 7);
  return false;
}

}  // namespace opsrun::safety::detail
