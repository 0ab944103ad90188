// YAML -> model::Runbook. Every problem becomes a Diagnostic with the place it was written;
// parsing goes on after an error so that one run reports everything. yaml-cpp throws, so its
// exceptions are caught here and never leave this file.
#include "opsrun/model/runbook_yaml.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>

#include "opsrun/common/duration.h"
#include "opsrun/model/suggest_internal.h"

namespace opsrun::model {

namespace {

const std::vector<std::string> kRunbookKeys{"id",      "name",    "description", "version", "tags",
                                            "timeout", "context", "start",       "steps"};
const std::vector<std::string> kStepKeys{
    "id",         "name",        "description", "type",    "exec",        "env",     "cwd",
    "stdin",      "http",        "lua",         "builtin", "with",        "timeout", "retry",
    "on_success", "on_failure",  "branches",    "save_as", "idempotent",  "target",  "risk",
    "channels",   "message",     "duration",    "steps",   "min_success", "items",   "items_from",
    "step",       "concurrency", "fail_fast", "severity",    "key",     "event"};
const std::vector<std::string> kHttpKeys{"method", "url", "headers", "body", "expect"};
const std::vector<std::string> kExpectKeys{"status", "body_contains", "json"};
const std::vector<std::string> kRetryKeys{"attempts", "backoff", "delay", "max_delay", "jitter"};
const std::vector<std::string> kTargetKeys{"name", "class", "labels", "metadata"};

// Which step types a type-specific key belongs to; keys not listed apply to every type.
bool key_applies(std::string_view key, StepType t) {
  const bool executes = t == StepType::Check || t == StepType::Action || t == StepType::Decision;
  if (key == "exec" || key == "env" || key == "cwd" || key == "stdin" || key == "http" ||
      key == "lua" || key == "builtin" || key == "with")
    return executes;
  if (key == "retry") return executes || t == StepType::Notify;
  if (key == "branches") return t == StepType::Decision;
  if (key == "channels" || key == "message")
    return t == StepType::Notify || t == StepType::Approval;
  if (key == "severity" || key == "key" || key == "event") return t == StepType::Notify;
  if (key == "duration") return t == StepType::Wait;
  if (key == "steps" || key == "min_success") return t == StepType::Parallel;
  if (key == "items" || key == "items_from" || key == "step" || key == "concurrency" ||
      key == "fail_fast")
    return t == StepType::Loop;
  return true;
}

bool is_plain(const YAML::Node& n) { return n.Tag() != "!"; }

// YAML 1.2 core-schema typing of a scalar into JSON; quoted scalars stay strings.
Json scalar_to_json(const YAML::Node& n) {
  const std::string& s = n.Scalar();
  if (!is_plain(n)) return Json(s);
  if (s == "~" || s == "null" || s == "Null" || s == "NULL" || s.empty()) return Json(nullptr);
  if (s == "true" || s == "True" || s == "TRUE") return Json(true);
  if (s == "false" || s == "False" || s == "FALSE") return Json(false);
  std::int64_t i = 0;
  const char* end = s.data() + s.size();
  const char* begin = s.data() + (s[0] == '+' ? 1 : 0);
  if (auto [p, ec] = std::from_chars(begin, end, i); ec == std::errc{} && p == end) return Json(i);
  // from_chars also reads "nan" and "inf"; in YAML those are plain words (e.g. a host name).
  const char lead = begin < end && *begin == '-' ? begin[1] : *begin;
  double d = 0;
  if (auto [p, ec] = std::from_chars(begin, end, d);
      ec == std::errc{} && p == end && ((lead >= '0' && lead <= '9') || lead == '.'))
    return Json(d);
  return Json(s);
}

Json yaml_to_json(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Scalar:
      return scalar_to_json(n);
    case YAML::NodeType::Sequence: {
      JsonArray a;
      for (const auto& e : n) a.push_back(yaml_to_json(e));
      return a;
    }
    case YAML::NodeType::Map: {
      JsonObject o;
      for (const auto& kv : n) o[kv.first.Scalar()] = yaml_to_json(kv.second);
      return o;
    }
    default:
      return Json(nullptr);
  }
}

std::string_view kind_name(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Scalar:
      return "a scalar";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    default:
      return "nothing";
  }
}

class Parser {
 public:
  explicit Parser(std::string file) : file_(std::move(file)) {}

  std::vector<Diagnostic> diags;
  Runbook rb;
  std::set<std::size_t> broken_steps;  // steps whose type could not be read

  void parse_document(const YAML::Node& root) {
    here_ = SourceMark{1, 1};
    if (!root.IsMap()) {
      error(root, "",
            std::string("a runbook is a YAML mapping, found ") + std::string(kind_name(root)));
      return;
    }
    rb.marks[""] = mark_of(root);
    for_each_key(root, "", kRunbookKeys, [&](const std::string& key, const YAML::Node& v) {
      if (key == "id")
        get_string(v, "id", rb.id);
      else if (key == "name")
        get_string(v, "name", rb.name);
      else if (key == "description")
        get_string(v, "description", rb.description);
      else if (key == "version")
        get_string(v, "version", rb.version);
      else if (key == "tags")
        get_string_list(v, "tags", rb.tags);
      else if (key == "timeout")
        rb.timeout = get_duration(v, "timeout");
      else if (key == "start")
        get_string(v, "start", rb.start);
      else if (key == "context") {
        if (v.IsMap())
          rb.context = yaml_to_json(v);
        else if (!v.IsNull())
          wrong_type(v, "context", "a mapping");
      } else if (key == "steps") {
        if (!v.IsSequence()) {
          wrong_type(v, "steps", "a list of steps");
          return;
        }
        std::size_t i = 0;
        for (const auto& s : v) parse_step(s, i++);
      }
    });
    if (rb.name.empty()) rb.name = rb.id;
  }

  void error(const YAML::Node& n, std::string field, std::string message) {
    const SourceMark m = mark_of(n);
    diags.push_back({Diagnostic::Severity::Error, file_, m.line, m.column, std::move(field),
                     std::move(message)});
  }

 private:
  // yaml-cpp gives 0-based marks, and none (-1) for absent values: fall back to the key's.
  SourceMark mark_of(const YAML::Node& n) const {
    if (!n.IsDefined()) return here_;
    const YAML::Mark m = n.Mark();
    if (m.line < 0 || m.column < 0) return here_;
    return SourceMark{m.line + 1, m.column + 1};
  }

  void remember(const YAML::Node& n, const std::string& field) { rb.marks[field] = mark_of(n); }

  void wrong_type(const YAML::Node& n, const std::string& field, std::string_view expected) {
    error(n, field, "expected " + std::string(expected) + ", found " + std::string(kind_name(n)));
  }

  static std::string join(const std::string& prefix, const std::string& key) {
    return prefix.empty() ? key : prefix + "." + key;
  }

  // Calls `fn` for each key of mapping `n`; unknown and duplicate keys are errors.
  template <class Fn>
  void for_each_key(const YAML::Node& n, const std::string& prefix,
                    const std::vector<std::string>& known, Fn&& fn) {
    std::set<std::string> seen;
    for (const auto& kv : n) {
      const YAML::Node& k = kv.first;
      if (!k.IsScalar()) {
        error(k, prefix, "keys must be plain words");
        continue;
      }
      const std::string key = k.Scalar();
      const std::string field = join(prefix, key);
      here_ = mark_of(k);
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        error(k, field, "unknown key '" + key + "'" + did_you_mean(key, known));
        continue;
      }
      if (!seen.insert(key).second) {
        error(k, field, "duplicate key '" + key + "'");
        continue;
      }
      remember(kv.second, field);
      fn(key, kv.second);
    }
  }

  bool get_string(const YAML::Node& n, const std::string& field, std::string& out) {
    remember(n, field);
    if (!n.IsScalar()) {
      wrong_type(n, field, "a string");
      return false;
    }
    out = n.Scalar();
    return true;
  }

  std::optional<int> get_int(const YAML::Node& n, const std::string& field) {
    remember(n, field);
    if (n.IsScalar()) {
      const std::string& s = n.Scalar();
      int v = 0;
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (ec == std::errc{} && p == s.data() + s.size() && !s.empty()) return v;
    }
    error(n, field,
          "expected an integer, found " +
              (n.IsScalar() ? "'" + n.Scalar() + "'" : std::string(kind_name(n))));
    return std::nullopt;
  }

  std::optional<bool> get_bool(const YAML::Node& n, const std::string& field) {
    remember(n, field);
    if (n.IsScalar() && is_plain(n)) {
      const Json j = scalar_to_json(n);
      if (j.is_bool()) return j.get_bool();
    }
    error(n, field,
          "expected true or false, found " +
              (n.IsScalar() ? "'" + n.Scalar() + "'" : std::string(kind_name(n))));
    return std::nullopt;
  }

  std::optional<Millis> get_duration(const YAML::Node& n, const std::string& field) {
    remember(n, field);
    if (!n.IsScalar()) {
      wrong_type(n, field, "a duration like 30s");
      return std::nullopt;
    }
    auto d = parse_duration(n.Scalar());
    if (!d) {
      error(n, field, d.error().message);
      return std::nullopt;
    }
    return *d;
  }

  void get_string_list(const YAML::Node& n, const std::string& field,
                       std::vector<std::string>& out) {
    if (!n.IsSequence()) {
      wrong_type(n, field, "a list");
      return;
    }
    std::size_t i = 0;
    for (const auto& e : n) {
      std::string s;
      if (get_string(e, field + "[" + std::to_string(i++) + "]", s)) out.push_back(std::move(s));
    }
  }

  void get_string_map(const YAML::Node& n, const std::string& field,
                      std::map<std::string, std::string>& out) {
    if (!n.IsMap()) {
      wrong_type(n, field, "a mapping");
      return;
    }
    for (const auto& kv : n) {
      if (!kv.first.IsScalar()) {
        error(kv.first, field, "keys must be plain words");
        continue;
      }
      const std::string key = kv.first.Scalar();
      here_ = mark_of(kv.first);
      if (out.contains(key)) {
        error(kv.first, field + "." + key, "duplicate key '" + key + "'");
        continue;
      }
      std::string v;
      if (get_string(kv.second, field + "." + key, v)) out[key] = std::move(v);
    }
  }

  void parse_step(const YAML::Node& n, std::size_t index) {
    const std::string p = "steps[" + std::to_string(index) + "]";
    Step s;
    s.mark = mark_of(n);
    remember(n, p);
    if (!n.IsMap()) {
      wrong_type(n, p, "a step mapping");
      broken_steps.insert(index);
      rb.steps.push_back(std::move(s));
      return;
    }
    // The type decides which other keys are allowed, wherever it is written.
    bool type_ok = false;
    if (const YAML::Node t = n["type"]; t.IsDefined()) {
      std::string name;
      if (get_string(t, p + ".type", name)) {
        if (auto st = step_type_from_string(name)) {
          s.type = *st;
          type_ok = true;
        } else {
          std::vector<std::string> names;
          for (auto k : {StepType::Check, StepType::Action, StepType::Decision, StepType::Notify,
                         StepType::Wait, StepType::Parallel, StepType::Loop, StepType::Approval})
            names.emplace_back(to_string(k));
          error(t, p + ".type", "unknown step type '" + name + "'" + did_you_mean(name, names));
        }
      }
    } else {
      error(n, p,
            "missing 'type' (check, action, decision, notify, wait, parallel, loop, approval)");
    }
    if (!type_ok) broken_steps.insert(index);

    std::vector<std::string> executors;
    for_each_key(n, p, kStepKeys, [&](const std::string& key, const YAML::Node& v) {
      const std::string f = p + "." + key;
      if (type_ok && !key_applies(key, s.type)) {
        std::string owners;
        for (auto t : {StepType::Check, StepType::Action, StepType::Decision, StepType::Notify,
                       StepType::Wait, StepType::Parallel, StepType::Loop, StepType::Approval})
          if (key_applies(key, t))
            owners += (owners.empty() ? "" : ", ") + std::string(to_string(t));
        error(v, f,
              "'" + key + "' does not apply to a " + std::string(to_string(s.type)) +
                  " step (only to: " + owners + ")");
        return;
      }
      if (key == "type") return;
      if (key == "id")
        get_string(v, f, s.id);
      else if (key == "name")
        get_string(v, f, s.name);
      else if (key == "description")
        get_string(v, f, s.description);
      else if (key == "exec") {
        executors.push_back(key);
        s.executor = ExecutorKind::Exec;
        get_string_list(v, f, s.exec.argv);
        if (v.IsSequence() && v.size() == 0) error(v, f, "exec needs at least the program name");
      } else if (key == "env")
        get_string_map(v, f, s.exec.env);
      else if (key == "cwd")
        get_string(v, f, s.exec.cwd);
      else if (key == "stdin") {
        std::string text;
        if (get_string(v, f, text)) s.exec.stdin_text = std::move(text);
      } else if (key == "http") {
        executors.push_back(key);
        s.executor = ExecutorKind::Http;
        parse_http(v, f, s.http);
      } else if (key == "lua") {
        executors.push_back(key);
        s.executor = ExecutorKind::Lua;
        get_string(v, f, s.lua);
      } else if (key == "builtin") {
        executors.push_back(key);
        s.executor = ExecutorKind::Builtin;
        get_string(v, f, s.builtin.name);
      } else if (key == "with") {
        if (v.IsMap())
          s.builtin.with = yaml_to_json(v);
        else
          wrong_type(v, f, "a mapping");
      } else if (key == "timeout")
        s.timeout = get_duration(v, f);
      else if (key == "retry")
        parse_retry(v, f, s.retry);
      else if (key == "on_success")
        get_string(v, f, s.on_success);
      else if (key == "on_failure")
        get_string(v, f, s.on_failure);
      else if (key == "branches")
        get_string_map(v, f, s.branches);
      else if (key == "save_as")
        get_string(v, f, s.save_as);
      else if (key == "idempotent")
        s.idempotent = get_bool(v, f);
      else if (key == "target")
        parse_target(v, f, s);
      else if (key == "risk") {
        if (get_string(v, f, s.risk) && s.risk != "low" && s.risk != "medium" && s.risk != "high")
          error(v, f, "risk is low, medium or high, not '" + s.risk + "'");
      } else if (key == "channels")
        get_string_list(v, f, s.channels);
      else if (key == "message")
        get_string(v, f, s.message);
      else if (key == "severity") {
        if (get_string(v, f, s.severity) && s.severity != "P0" && s.severity != "P1" &&
            s.severity != "P2" && s.severity != "info")
          error(v, f, "severity is P0, P1, P2 or info, not '" + s.severity + "'");
      } else if (key == "key")
        get_string(v, f, s.notify_key);
      else if (key == "event") {
        if (get_string(v, f, s.event) && s.event != "trigger" && s.event != "acknowledge" &&
            s.event != "resolve")
          error(v, f, "event is trigger, acknowledge or resolve, not '" + s.event + "'");
      }
      else if (key == "duration") {
        if (auto d = get_duration(v, f)) s.duration = *d;
      } else if (key == "steps")
        get_string_list(v, f, s.steps);
      else if (key == "min_success")
        s.min_success = get_int(v, f);
      else if (key == "items") {
        s.items = yaml_to_json(v);
        if (v.IsSequence()) {
          std::size_t i = 0;
          for (const auto& e : v) remember(e, f + "[" + std::to_string(i++) + "]");
        }
      } else if (key == "items_from")
        get_string(v, f, s.items_from);
      else if (key == "step")
        get_string(v, f, s.body);
      else if (key == "concurrency") {
        if (auto c = get_int(v, f)) s.concurrency = *c;
      } else if (key == "fail_fast") {
        if (auto b = get_bool(v, f)) s.fail_fast = *b;
      }
    });

    if (executors.size() > 1) {
      std::string list;
      for (const auto& e : executors) list += (list.empty() ? "" : ", ") + e;
      error(n, p, "a step has exactly one executor, found " + list);
    }
    if (type_ok && s.type == StepType::Decision && s.executor != ExecutorKind::Lua &&
        s.executor != ExecutorKind::None)
      error(n, p, "a decision uses lua (found " + std::string(to_string(s.executor)) + ")");
    if (!s.exec.env.empty() || !s.exec.cwd.empty() || s.exec.stdin_text) {
      if (s.executor != ExecutorKind::Exec) error(n, p, "env, cwd and stdin need an exec step");
    }
    if (n["with"].IsDefined() && s.executor != ExecutorKind::Builtin)
      error(n["with"], p + ".with", "'with' needs 'builtin'");
    if (n["items"].IsDefined() && !s.items_from.empty())
      error(n, p, "a loop takes either items or items_from, not both");
    if (type_ok && s.type == StepType::Notify && s.channels.empty()) s.channels = {"log"};
    if (type_ok && s.type == StepType::Wait && !n["duration"].IsDefined())
      error(n, p, "a wait step needs a duration");
    rb.steps.push_back(std::move(s));
  }

  void parse_http(const YAML::Node& n, const std::string& p, HttpSpec& h) {
    if (n.IsScalar()) {  // shorthand: `http: https://host/health` is a GET
      get_string(n, p + ".url", h.url);
      return;
    }
    if (!n.IsMap()) {
      wrong_type(n, p, "a mapping with a url");
      return;
    }
    for_each_key(n, p, kHttpKeys, [&](const std::string& key, const YAML::Node& v) {
      const std::string f = p + "." + key;
      if (key == "method") {
        if (get_string(v, f, h.method)) {
          std::transform(h.method.begin(), h.method.end(), h.method.begin(),
                         [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
          static const std::vector<std::string> kMethods{"GET",    "POST", "PUT",    "PATCH",
                                                         "DELETE", "HEAD", "OPTIONS"};
          if (std::find(kMethods.begin(), kMethods.end(), h.method) == kMethods.end())
            error(v, f, "unknown HTTP method '" + h.method + "'");
        }
      } else if (key == "url")
        get_string(v, f, h.url);
      else if (key == "headers")
        get_string_map(v, f, h.headers);
      else if (key == "body") {
        // A mapping or list is sent as JSON; its strings may hold templates.
        if (v.IsScalar())
          h.body = v.Scalar();
        else if (v.IsMap() || v.IsSequence())
          h.body = to_json_text(yaml_to_json(v));
        else
          wrong_type(v, f, "a string or a mapping");
      } else if (key == "expect") {
        if (!v.IsMap()) {
          wrong_type(v, f, "a mapping");
          return;
        }
        for_each_key(v, f, kExpectKeys, [&](const std::string& ek, const YAML::Node& ev) {
          const std::string ef = f + "." + ek;
          if (ek == "status") {
            if (auto st = get_int(ev, ef)) {
              h.expect.status = *st;
              if (*st < 100 || *st > 599) error(ev, ef, "an HTTP status is 100..599");
            }
          } else if (ek == "body_contains")
            get_string(ev, ef, h.expect.body_contains);
          else if (ek == "json") {
            if (!ev.IsMap()) {
              wrong_type(ev, ef, "a mapping of \"$.path\": value");
              return;
            }
            for (const auto& kv : ev) {
              const std::string path = kv.first.Scalar();
              remember(kv.second, ef + "." + path);
              if (!path.starts_with("$"))
                error(kv.first, ef, "JSON paths start with $: '" + path + "'");
              h.expect.json.emplace_back(path, yaml_to_json(kv.second));
            }
          }
        });
      }
    });
    if (h.url.empty()) error(n, p + ".url", "an http step needs a url");
  }

  void parse_retry(const YAML::Node& n, const std::string& p, RetryPolicy& r) {
    // Both `retry: true` and a mapping start from the same policy: 3 tries, exponential, 1s.
    RetryPolicy base;
    base.attempts = 3;
    base.backoff = Backoff::Exponential;
    base.delay = Millis(1000);
    if (n.IsScalar()) {
      if (auto b = get_bool(n, p)) r = *b ? base : RetryPolicy{};
      return;
    }
    if (!n.IsMap()) {
      wrong_type(n, p, "true or a mapping");
      return;
    }
    r = base;
    for_each_key(n, p, kRetryKeys, [&](const std::string& key, const YAML::Node& v) {
      const std::string f = p + "." + key;
      if (key == "attempts") {
        if (auto a = get_int(v, f)) r.attempts = *a;
      } else if (key == "backoff") {
        std::string b;
        if (!get_string(v, f, b)) return;
        if (b == "fixed")
          r.backoff = Backoff::Fixed;
        else if (b == "exponential")
          r.backoff = Backoff::Exponential;
        else
          error(v, f, "backoff is fixed or exponential, not '" + b + "'");
      } else if (key == "delay") {
        if (auto d = get_duration(v, f)) r.delay = *d;
      } else if (key == "max_delay") {
        r.max_delay = get_duration(v, f);
      } else if (key == "jitter") {
        remember(v, f);
        const Json j = v.IsScalar() ? scalar_to_json(v) : Json();
        if (!j.is_number() || j.to_number<double>() < 0 || j.to_number<double>() > 1)
          error(v, f, "jitter is a fraction between 0 and 1");
        else
          r.jitter = j.to_number<double>();
      }
    });
  }

  void parse_target(const YAML::Node& n, const std::string& p, Step& s) {
    Target t;
    if (n.IsScalar()) {  // shorthand: `target: web-1`
      get_string(n, p + ".name", t.name);
      s.target = std::move(t);
      return;
    }
    if (!n.IsMap()) {
      wrong_type(n, p, "a mapping {name, labels}");
      return;
    }
    for_each_key(n, p, kTargetKeys, [&](const std::string& key, const YAML::Node& v) {
      if (key == "name")
        get_string(v, p + ".name", t.name);
      else if (key == "class")
        get_string(v, p + ".class", t.target_class);
      else if (key == "labels")
        get_string_map(v, p + ".labels", t.labels);
      else
        get_string_map(v, p + ".metadata", t.metadata);
    });
    if (t.name.empty()) error(n, p + ".name", "a target needs a name");
    s.target = std::move(t);
  }

  std::string file_;
  SourceMark here_;  // the key being read, for absent values
};

bool is_inside(const std::string& field, std::size_t step_index) {
  const std::string p = "steps[" + std::to_string(step_index) + "]";
  return field == p || field.starts_with(p + ".");
}

}  // namespace

LoadResult load_runbook_text(std::string_view yaml, const std::string& file_name) {
  LoadResult out;
  Parser parser(file_name);
  try {
    const YAML::Node root = YAML::Load(std::string(yaml));
    parser.parse_document(root);
    // Not a runbook at all: semantic checks would only add noise.
    if (!root.IsMap()) {
      out.diagnostics = std::move(parser.diags);
      return out;
    }
  } catch (const YAML::Exception& e) {
    Diagnostic d;
    d.file = file_name;
    d.line = e.mark.line >= 0 ? e.mark.line + 1 : 0;
    d.column = e.mark.column >= 0 ? e.mark.column + 1 : 0;
    d.message = "YAML syntax: " + e.msg;
    out.diagnostics.push_back(std::move(d));
    return out;
  } catch (const std::exception& e) {
    // Anything else yaml-cpp may throw is still a problem with this file, not a crash.
    Diagnostic d;
    d.file = file_name;
    d.message = std::string("cannot read runbook: ") + e.what();
    out.diagnostics.push_back(std::move(d));
    return out;
  }
  out.diagnostics = std::move(parser.diags);
  Runbook& rb = parser.rb;
  rb.source_file = file_name;
  rb.source_text = std::string(yaml);
  // Semantic checks too, so one run lists everything; but not about steps whose type could
  // not even be read (those would only repeat the first error).
  std::set<std::string> reported;
  for (const auto& d : out.diagnostics) reported.insert(d.field);
  for (auto& d : validate_runbook(rb)) {
    // A field the parser already complained about (`steps: 5`) needs no second message.
    bool skip = reported.contains(d.field);
    for (std::size_t i : parser.broken_steps) skip = skip || is_inside(d.field, i);
    if (!skip) out.diagnostics.push_back(std::move(d));
  }
  std::stable_sort(out.diagnostics.begin(), out.diagnostics.end(),
                   [](const Diagnostic& a, const Diagnostic& b) {
                     return std::pair(a.line, a.column) < std::pair(b.line, b.column);
                   });
  const bool has_error =
      std::any_of(out.diagnostics.begin(), out.diagnostics.end(),
                  [](const Diagnostic& d) { return d.severity == Diagnostic::Severity::Error; });
  if (!has_error) out.runbook = std::make_shared<const Runbook>(std::move(rb));
  return out;
}

LoadResult load_runbook_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadResult out;
    Diagnostic d;
    d.file = path;
    d.message = "cannot read runbook file '" + path + "' (missing or unreadable)";
    out.diagnostics.push_back(std::move(d));
    return out;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return load_runbook_text(text.str(), path);
}

}  // namespace opsrun::model
