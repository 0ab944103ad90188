// YAML -> safety::Policy. Every problem becomes a Diagnostic with file:line:column, and
// reading goes on after an error, so `opsrun policy validate` reports everything at once.
// yaml-cpp and date throw; their exceptions are caught here and never leave this file.
#include <yaml-cpp/yaml.h>

#include <date/tz.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <sstream>

#include "opsrun/common/duration.h"
#include "opsrun/safety/policy.h"

namespace opsrun::safety {

namespace {

using model::Diagnostic;
using Keys = std::vector<std::string>;

const Keys kPolicyKeys{"preset",       "rules",          "protected_targets", "rate_limits",
                       "concurrency",  "change_windows", "forced_dry_run",    "failure_trip",
                       "risk",         "notify",         "emergency_stop"};
const Keys kRuleNames{"production_tag_protection",       "business_hours_protection",
                      "auto_scaling_group_protection",   "load_balancer_target_protection",
                      "database_dependency_protection",  "recent_activity_protection"};
const Keys kBaseRuleKeys{"enabled", "effect", "runbooks"};
const Keys kMatchKeys{"name", "name_regex", "class", "labels", "metadata"};
const char* const kDays[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

std::string joined(const Keys& keys) {
  std::string out;
  for (const auto& k : keys) out += (out.empty() ? "" : ", ") + k;
  return out;
}

class Loader {
 public:
  Loader(std::string file, std::vector<Diagnostic>& diags, int depth)
      : file_(std::move(file)), diags_(diags), depth_(depth) {}

  void error(const YAML::Node& n, const std::string& field, std::string message) {
    Diagnostic d;
    d.file = file_;
    const auto m = n.Mark();
    if (!m.is_null()) {
      d.line = m.line + 1;
      d.column = m.column + 1;
    }
    d.field = field;
    d.message = std::move(message);
    diags_.push_back(std::move(d));
  }

  // Calls f(key, value) for each entry of a mapping, refusing keys outside `known`.
  bool each(const YAML::Node& n, const std::string& field, const Keys& known,
            const std::function<void(const std::string&, const YAML::Node&, const std::string&)>& f) {
    if (!n.IsMap()) {
      error(n, field, "expected a mapping");
      return false;
    }
    for (const auto& kv : n) {
      const std::string key = kv.first.Scalar();
      const std::string path = field.empty() ? key : field + "." + key;
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        error(kv.first, path, "unknown key '" + key + "' (known: " + joined(known) + ")");
        continue;
      }
      f(key, kv.second, path);
    }
    return true;
  }

  bool str(const YAML::Node& n, const std::string& field, std::string& out) {
    if (!n.IsScalar()) {
      error(n, field, "expected a string");
      return false;
    }
    out = n.Scalar();
    return true;
  }
  void boolean(const YAML::Node& n, const std::string& field, bool& out) {
    std::string s;
    if (!str(n, field, s)) return;
    if (s == "true" || s == "yes" || s == "on") out = true;
    else if (s == "false" || s == "no" || s == "off") out = false;
    else error(n, field, "expected true or false, got '" + s + "'");
  }
  bool number(const YAML::Node& n, const std::string& field, double& out, double lo, double hi) {
    std::string s;
    if (!str(n, field, s)) return false;
    double v = 0;
    auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (r.ec != std::errc{} || r.ptr != s.data() + s.size() || v < lo || v > hi) {
      auto text = [](double x) {
        std::ostringstream o;
        o.precision(15);
        o << x;
        return o.str();
      };
      error(n, field, "expected a number from " + text(lo) + " to " + text(hi) + ", got '" + s + "'");
      return false;
    }
    out = v;
    return true;
  }
  void integer(const YAML::Node& n, const std::string& field, int& out, int lo, int hi) {
    double v = 0;
    if (!number(n, field, v, lo, hi)) return;
    if (v != static_cast<double>(static_cast<int>(v))) {
      error(n, field, "expected a whole number, got '" + n.Scalar() + "'");
      return;
    }
    out = static_cast<int>(v);
  }
  void duration(const YAML::Node& n, const std::string& field, Millis& out) {
    std::string s;
    if (!str(n, field, s)) return;
    auto d = parse_duration(s);
    if (!d) error(n, field, d.error().message);
    else if (d->count() <= 0) error(n, field, "must be longer than zero");
    else out = *d;
  }
  // A list of strings; a single scalar counts as a list of one.
  void list(const YAML::Node& n, const std::string& field, std::vector<std::string>& out) {
    out.clear();
    if (n.IsScalar()) {
      out.push_back(n.Scalar());
      return;
    }
    if (!n.IsSequence()) {
      error(n, field, "expected a list of strings");
      return;
    }
    std::size_t i = 0;
    for (const auto& e : n) {
      std::string s;
      if (str(e, field + "[" + std::to_string(i++) + "]", s)) out.push_back(s);
    }
  }
  void effect(const YAML::Node& n, const std::string& field, Effect& out) {
    std::string s;
    if (!str(n, field, s)) return;
    if (s == "deny") out = Effect::Deny;
    else if (s == "require_approval") out = Effect::RequireApproval;
    else error(n, field, "expected deny or require_approval, got '" + s + "'");
  }
  void risk(const YAML::Node& n, const std::string& field, Risk& out) {
    std::string s;
    if (!str(n, field, s)) return;
    if (auto r = risk_from_string(s)) out = *r;
    else error(n, field, "expected low, medium or high, got '" + s + "'");
  }
  void risks(const YAML::Node& n, const std::string& field, std::vector<Risk>& out) {
    std::vector<std::string> names;
    list(n, field, names);
    out.clear();
    for (const auto& s : names) {
      if (auto r = risk_from_string(s)) out.push_back(*r);
      else error(n, field, "expected low, medium or high, got '" + s + "'");
    }
  }
  void time_zone(const YAML::Node& n, const std::string& field, std::string& out) {
    std::string s;
    if (!str(n, field, s)) return;
    try {
      (void)date::locate_zone(s);
      out = s;
    } catch (const std::exception&) {
      error(n, field, "unknown time zone '" + s + "' (an IANA name such as Europe/Paris or UTC)");
    }
  }
  void regex(const YAML::Node& n, const std::string& field, std::string& out) {
    if (!str(n, field, out)) return;
    try {
      std::regex re(out);
    } catch (const std::regex_error& e) {
      error(n, field, "not a valid regular expression: " + std::string(e.what()));
    }
  }

  void match(const YAML::Node& n, const std::string& field, TargetMatch& m) {
    each(n, field, kMatchKeys, [&](const std::string& k, const YAML::Node& v, const std::string& p) {
      if (k == "name") str(v, p, m.name);
      else if (k == "name_regex") regex(v, p, m.name_regex);
      else if (k == "class") list(v, p, m.classes);
      else {
        if (!v.IsMap()) {
          error(v, p, "expected a mapping of key -> value or list of values");
          return;
        }
        auto& into = k == "labels" ? m.labels : m.metadata;
        for (const auto& kv : v) list(kv.second, p + "." + kv.first.Scalar(), into[kv.first.Scalar()]);
      }
    });
    if (m.empty()) error(n, field, "a match needs at least one of " + joined(kMatchKeys));
  }

  // Reads the keys every seed rule has; true when `k` was one of them.
  bool base_rule(const std::string& k, const YAML::Node& v, const std::string& p, SeedRules::Base& b) {
    if (k == "enabled") boolean(v, p, b.enabled);
    else if (k == "effect") effect(v, p, b.effect);
    else if (k == "runbooks") list(v, p, b.runbooks);
    else return false;
    return true;
  }

  void rules(const YAML::Node& n, const std::string& field, SeedRules& r) {
    each(n, field, kRuleNames, [&](const std::string& name, const YAML::Node& v, const std::string& p) {
      auto keys = [](Keys extra) {
        Keys all = kBaseRuleKeys;
        all.insert(all.end(), extra.begin(), extra.end());
        return all;
      };
      if (name == "production_tag_protection") {
        auto& rule = r.production_tags;
        each(v, p, keys({"tags"}), [&](const std::string& k, const YAML::Node& x, const std::string& kp) {
          if (base_rule(k, x, kp, rule)) return;
          if (!x.IsMap()) {
            error(x, kp, "expected a mapping of tag -> values");
            return;
          }
          rule.tags.clear();
          for (const auto& kv : x) list(kv.second, kp + "." + kv.first.Scalar(), rule.tags[kv.first.Scalar()]);
        });
      } else if (name == "business_hours_protection") {
        auto& rule = r.business_hours;
        each(v, p, keys({"start", "end", "time_zone", "risks"}),
             [&](const std::string& k, const YAML::Node& x, const std::string& kp) {
               if (base_rule(k, x, kp, rule)) return;
               if (k == "start") integer(x, kp, rule.start_hour, 0, 23);
               else if (k == "end") integer(x, kp, rule.end_hour, 1, 24);
               else if (k == "time_zone") time_zone(x, kp, rule.time_zone);
               else risks(x, kp, rule.risks);
             });
        if (rule.start_hour >= rule.end_hour)
          error(v, p, "start (" + std::to_string(rule.start_hour) + ") must be before end (" +
                          std::to_string(rule.end_hour) + ")");
      } else if (name == "auto_scaling_group_protection") {
        each(v, p, kBaseRuleKeys, [&](const std::string& k, const YAML::Node& x, const std::string& kp) {
          base_rule(k, x, kp, r.auto_scaling_group);
        });
      } else if (name == "load_balancer_target_protection") {
        each(v, p, kBaseRuleKeys, [&](const std::string& k, const YAML::Node& x, const std::string& kp) {
          base_rule(k, x, kp, r.load_balancer_target);
        });
      } else if (name == "database_dependency_protection") {
        auto& rule = r.database_dependency;
        each(v, p, keys({"ports"}), [&](const std::string& k, const YAML::Node& x, const std::string& kp) {
          if (!base_rule(k, x, kp, rule)) list(x, kp, rule.ports);
        });
      } else if (name == "recent_activity_protection") {
        auto& rule = r.recent_activity;
        each(v, p, keys({"within", "cpu_percent"}),
             [&](const std::string& k, const YAML::Node& x, const std::string& kp) {
               if (base_rule(k, x, kp, rule)) return;
               if (k == "within") duration(x, kp, rule.within);
               else number(x, kp, rule.cpu_percent, 0, 100);
             });
      }
    });
  }

  // Calls f(item, path) for each element of a list of mappings.
  void items(const YAML::Node& n, const std::string& field,
             const std::function<void(const YAML::Node&, const std::string&)>& f) {
    if (!n.IsSequence()) {
      error(n, field, "expected a list");
      return;
    }
    std::size_t i = 0;
    for (const auto& e : n) f(e, field + "[" + std::to_string(i++) + "]");
  }

  void protected_targets(const YAML::Node& n, const std::string& field, Policy& pol) {
    items(n, field, [&](const YAML::Node& e, const std::string& p) {
      ProtectedTarget t;
      bool has_match = false;
      each(e, p, {"name", "match", "effect", "reason", "runbooks"},
           [&](const std::string& k, const YAML::Node& v, const std::string& kp) {
             if (k == "name") str(v, kp, t.name);
             else if (k == "match") {
               match(v, kp, t.match);
               has_match = true;
             } else if (k == "effect") effect(v, kp, t.effect);
             else if (k == "reason") str(v, kp, t.reason);
             else list(v, kp, t.runbooks);
           });
      if (e.IsMap() && !has_match) error(e, p + ".match", "a protected target needs a match");
      if (t.name.empty()) t.name = p;
      pol.protected_targets.push_back(std::move(t));
    });
  }

  void rate_limits(const YAML::Node& n, const std::string& field, Policy& pol) {
    items(n, field, [&](const YAML::Node& e, const std::string& p) {
      RateLimit r;
      r.max = -1;
      each(e, p, {"name", "per", "max", "window", "runbooks", "target_classes"},
           [&](const std::string& k, const YAML::Node& v, const std::string& kp) {
             if (k == "name") str(v, kp, r.name);
             else if (k == "per") {
               std::string s;
               if (!str(v, kp, s)) return;
               if (s == "target_class") r.per = RateLimit::Per::TargetClass;
               else if (s == "runbook") r.per = RateLimit::Per::Runbook;
               else error(v, kp, "expected target_class or runbook, got '" + s + "'");
             } else if (k == "max") integer(v, kp, r.max, 0, 1'000'000);
             else if (k == "window") duration(v, kp, r.window);
             else if (k == "runbooks") list(v, kp, r.runbooks);
             else list(v, kp, r.target_classes);
           });
      if (e.IsMap() && r.max < 0) error(e, p + ".max", "a rate limit needs max (actions per window)");
      if (r.name.empty()) r.name = p;
      pol.rate_limits.push_back(std::move(r));
    });
  }

  void concurrency(const YAML::Node& n, const std::string& field, Policy& pol) {
    items(n, field, [&](const YAML::Node& e, const std::string& p) {
      ConcurrencyLimit c;
      c.max = -1;
      each(e, p, {"runbooks", "max", "excess"},
           [&](const std::string& k, const YAML::Node& v, const std::string& kp) {
             if (k == "runbooks") list(v, kp, c.runbooks);
             else if (k == "max") integer(v, kp, c.max, 1, 1'000'000);
             else {
               std::string s;
               if (!str(v, kp, s)) return;
               if (s == "queue") c.queue = true;
               else if (s == "reject") c.queue = false;
               else error(v, kp, "expected queue or reject, got '" + s + "'");
             }
           });
      if (e.IsMap() && c.max < 0) error(e, p + ".max", "a concurrency limit needs max");
      pol.concurrency.push_back(std::move(c));
    });
  }

  // "09:00-17:30" -> minutes after midnight.
  void hours(const YAML::Node& n, const std::string& field, ChangeWindow& w) {
    std::string s;
    if (!str(n, field, s)) return;
    auto clock_minutes = [](std::string_view t) -> int {
      if (t.size() != 5 || t[2] != ':') return -1;
      int h = 0, m = 0;
      if (std::from_chars(t.data(), t.data() + 2, h).ec != std::errc{} ||
          std::from_chars(t.data() + 3, t.data() + 5, m).ec != std::errc{})
        return -1;
      if (h > 24 || m > 59 || (h == 24 && m != 0)) return -1;
      return h * 60 + m;
    };
    const auto dash = s.find('-');
    const int a = dash == std::string::npos ? -1 : clock_minutes(std::string_view(s).substr(0, dash));
    const int b = dash == std::string::npos ? -1 : clock_minutes(std::string_view(s).substr(dash + 1));
    if (a < 0 || b < 0 || a == b) {
      error(n, field, "expected HH:MM-HH:MM (e.g. 09:00-17:00), got '" + s + "'");
      return;
    }
    w.start_minute = a;
    w.end_minute = b;
  }

  void change_windows(const YAML::Node& n, const std::string& field, Policy& pol) {
    items(n, field, [&](const YAML::Node& e, const std::string& p) {
      ChangeWindow w;
      each(e, p, {"name", "runbooks", "target_classes", "time_zone", "days", "hours", "outside"},
           [&](const std::string& k, const YAML::Node& v, const std::string& kp) {
             if (k == "name") str(v, kp, w.name);
             else if (k == "runbooks") list(v, kp, w.runbooks);
             else if (k == "target_classes") list(v, kp, w.target_classes);
             else if (k == "time_zone") time_zone(v, kp, w.time_zone);
             else if (k == "hours") hours(v, kp, w);
             else if (k == "outside") effect(v, kp, w.outside);
             else {
               std::vector<std::string> names;
               list(v, kp, names);
               for (auto d : names) {
                 std::transform(d.begin(), d.end(), d.begin(), [](unsigned char c) { return std::tolower(c); });
                 auto it = std::find_if(std::begin(kDays), std::end(kDays),
                                        [&](const char* x) { return d.substr(0, 3) == x; });
                 if (it == std::end(kDays) || d.size() < 3)
                   error(v, kp, "expected day names (mon, tue, ...), got '" + d + "'");
                 else
                   w.days.push_back(static_cast<int>(it - std::begin(kDays)));
               }
             }
           });
      if (w.name.empty()) w.name = p;
      pol.change_windows.push_back(std::move(w));
    });
  }

  void risk_policy(const YAML::Node& n, const std::string& field, RiskPolicy& r) {
    each(n, field, {"default", "by_action", "derive", "require_approval", "deny"},
         [&](const std::string& k, const YAML::Node& v, const std::string& p) {
           if (k == "default") risk(v, p, r.fallback);
           else if (k == "require_approval") risks(v, p, r.require_approval);
           else if (k == "deny") risks(v, p, r.deny);
           else if (k == "by_action") {
             if (!v.IsMap()) {
               error(v, p, "expected a mapping of action -> low|medium|high");
               return;
             }
             for (const auto& kv : v) {
               std::string action = kv.first.Scalar();
               std::transform(action.begin(), action.end(), action.begin(),
                              [](unsigned char c) { return std::toupper(c); });
               Risk level = Risk::Low;
               risk(kv.second, p + "." + kv.first.Scalar(), level);
               r.by_action[action] = level;
             }
           } else {
             items(v, p, [&](const YAML::Node& e, const std::string& ep) {
               RiskRule rule;
               each(e, ep, {"match", "at_least", "raise"},
                    [&](const std::string& rk, const YAML::Node& rv, const std::string& rp) {
                      if (rk == "match") match(rv, rp, rule.match);
                      else if (rk == "at_least") {
                        Risk level = Risk::Low;
                        risk(rv, rp, level);
                        rule.at_least = level;
                      } else integer(rv, rp, rule.raise, 0, 2);
                    });
               if (e.IsMap() && !rule.at_least && rule.raise == 0)
                 error(e, ep, "a derive rule needs at_least or raise");
               r.derive.push_back(std::move(rule));
             });
           }
         });
  }

  void notify_routes(const YAML::Node& n, const std::string& field, Policy& pol) {
    each(n, field, {"P0", "P1", "P2"}, [&](const std::string& k, const YAML::Node& v, const std::string& p) {
      const auto sev = k == "P0" ? notify::Severity::P0 : k == "P1" ? notify::Severity::P1 : notify::Severity::P2;
      list(v, p, pol.channels[sev]);
    });
  }

  void preset(const YAML::Node& n, const std::string& field, Policy& pol) {
    std::string name;
    if (!str(n, field, name)) return;
    if (depth_ >= 4) {
      error(n, field, "presets nest too deeply (a preset including itself?)");
      return;
    }
    if (auto text = preset_text(name)) {
      load_into(std::string(*text), "policies/" + name + ".yaml", pol);
      return;
    }
    namespace fs = std::filesystem;
    fs::path path = fs::path(file_).parent_path() / name;
    std::ifstream in(path);
    if (!in) {
      error(n, field, "unknown preset '" + name + "' (shipped: cloud-safety; or a file relative to " + file_ + ")");
      return;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    load_into(ss.str(), path.string(), pol);
  }

  void load_into(const std::string& text, const std::string& file, Policy& pol) {
    Loader inner(file, diags_, depth_ + 1);
    inner.document_text(text, pol);
  }

  void document_text(const std::string& text, Policy& pol) {
    try {
      YAML::Node root = YAML::Load(text);
      if (root.IsMap() && root["policies"]) {
        // An opsrun.yaml: the `policies:` section is the policy.
        const YAML::Node section = root["policies"];
        if (section.IsScalar()) {
          preset(section, "policies", pol);
          return;
        }
        document(section, "policies", pol);
        return;
      }
      document(root, "", pol);
    } catch (const YAML::Exception& e) {
      Diagnostic d;
      d.file = file_;
      d.line = e.mark.line + 1;
      d.column = e.mark.column + 1;
      d.message = e.msg;
      diags_.push_back(std::move(d));
    }
  }

  void document(const YAML::Node& root, const std::string& field, Policy& pol) {
    if (root.IsNull()) return;
    // The preset comes first, whatever the key order, so this document overrides it.
    if (root.IsMap() && root["preset"]) preset(root["preset"], field.empty() ? "preset" : field + ".preset", pol);
    each(root, field, kPolicyKeys, [&](const std::string& k, const YAML::Node& v, const std::string& p) {
      if (k == "preset") return;
      if (k == "rules") rules(v, p, pol.rules);
      else if (k == "protected_targets") protected_targets(v, p, pol);
      else if (k == "rate_limits") rate_limits(v, p, pol);
      else if (k == "concurrency") concurrency(v, p, pol);
      else if (k == "change_windows") change_windows(v, p, pol);
      else if (k == "forced_dry_run") {
        std::vector<std::string> more;
        list(v, p, more);
        pol.forced_dry_run.insert(pol.forced_dry_run.end(), more.begin(), more.end());
      } else if (k == "failure_trip") {
        each(v, p, {"enabled", "failures", "window"}, [&](const std::string& fk, const YAML::Node& fv, const std::string& fp) {
          if (fk == "enabled") boolean(fv, fp, pol.failure_trip.enabled);
          else if (fk == "failures") integer(fv, fp, pol.failure_trip.failures, 1, 1'000'000);
          else duration(fv, fp, pol.failure_trip.window);
        });
      } else if (k == "risk") risk_policy(v, p, pol.risk);
      else if (k == "notify") notify_routes(v, p, pol);
      else {
        each(v, p, {"poll_interval"}, [&](const std::string&, const YAML::Node& ev, const std::string& ep) {
          duration(ev, ep, pol.stop_poll_interval);
        });
      }
    });
  }

 private:
  std::string file_;
  std::vector<Diagnostic>& diags_;
  int depth_ = 0;
};

}  // namespace

std::string_view to_string(Effect e) { return e == Effect::Deny ? "deny" : "require_approval"; }

std::string_view to_string(Risk r) {
  switch (r) {
    case Risk::Low: return "low";
    case Risk::Medium: return "medium";
    case Risk::High: return "high";
  }
  return "low";
}

std::optional<Risk> risk_from_string(std::string_view s) {
  if (s == "low") return Risk::Low;
  if (s == "medium") return Risk::Medium;
  if (s == "high") return Risk::High;
  return std::nullopt;
}

PolicyLoad load_policy_text(std::string_view yaml, const std::string& file_name) {
  PolicyLoad out;
  Policy pol;
  pol.source = file_name;
  Loader loader(file_name, out.diagnostics, 0);
  loader.document_text(std::string(yaml), pol);
  const bool failed = std::any_of(out.diagnostics.begin(), out.diagnostics.end(), [](const Diagnostic& d) {
    return d.severity == Diagnostic::Severity::Error;
  });
  if (!failed) out.policy = std::move(pol);
  return out;
}

PolicyLoad load_policy_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    PolicyLoad out;
    Diagnostic d;
    d.file = path;
    d.message = "cannot read the policy file";
    out.diagnostics.push_back(std::move(d));
    return out;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return load_policy_text(ss.str(), path);
}

}  // namespace opsrun::safety
