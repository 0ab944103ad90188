// Semantic checks shared by YAML runbooks and runbooks built in C++. Only the model is
// looked at; marks (when the runbook came from YAML) just make messages point somewhere.
#include <deque>
#include <set>

#include "opsrun/model/runbook_yaml.h"
#include "opsrun/model/suggest_internal.h"
#include "opsrun/model/template.h"

namespace opsrun::model {

namespace {

bool valid_runbook_id(std::string_view id) {
  if (id.empty()) return false;
  auto lower_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!lower_digit(id[0])) return false;
  for (char c : id)
    if (!lower_digit(c) && c != '-') return false;
  return true;
}

// Step ids appear in template paths (results.<id>.field), which split on '.', so no dots.
bool valid_step_id(std::string_view id) {
  if (id.empty()) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

bool is_leaf(StepType t) {
  return t == StepType::Check || t == StepType::Action || t == StepType::Notify ||
         t == StepType::Wait;
}

class Validator {
 public:
  explicit Validator(const Runbook& rb) : rb_(rb) {
    for (const auto& s : rb.steps)
      if (!s.id.empty()) ids_.push_back(s.id);
  }

  std::vector<Diagnostic> run() {
    runbook_level();
    std::map<std::string, std::size_t> first_index;
    for (std::size_t i = 0; i < rb_.steps.size(); ++i) {
      const Step& s = rb_.steps[i];
      const std::string p = "steps[" + std::to_string(i) + "]";
      if (s.id.empty()) {
        error(p + ".id", "a step needs an id");
      } else if (!valid_step_id(s.id)) {
        error(p + ".id", "step id '" + s.id + "' may only use letters, digits, '-' and '_'");
      } else if (auto [it, fresh] = first_index.emplace(s.id, i); !fresh) {
        const SourceMark first = mark_for("steps[" + std::to_string(it->second) + "]");
        error(p + ".id",
              "duplicate step id '" + s.id + "'" +
                  (first.line > 0
                       ? " (first defined on line " + std::to_string(first.line) + ")"
                       : std::string(" (also steps[") + std::to_string(it->second) + "])"));
      }
      step_level(s, p);
    }
    bodies();
    reachability();
    return std::move(out_);
  }

 private:
  // The mark of `field`, else of the closest enclosing field that has one.
  SourceMark mark_for(std::string field) const {
    while (true) {
      if (auto it = rb_.marks.find(field); it != rb_.marks.end()) return it->second;
      if (field.empty()) return {};
      const auto cut = field.find_last_of(".[");
      field = cut == std::string::npos ? std::string() : field.substr(0, cut);
    }
  }

  void add(Diagnostic::Severity sev, const std::string& field, std::string message) {
    const SourceMark m = mark_for(field);
    // Without a line to look at (C++ runbooks), "steps[3]" alone is hard to find: name it.
    if (m.line == 0 && field.starts_with("steps[")) {
      const std::size_t i = std::stoul(field.substr(6));
      if (i < rb_.steps.size() && !rb_.steps[i].id.empty())
        message += " (step '" + rb_.steps[i].id + "')";
    }
    out_.push_back({sev, rb_.source_file, m.line, m.column, field, std::move(message)});
  }
  void error(const std::string& field, std::string message) {
    add(Diagnostic::Severity::Error, field, std::move(message));
  }
  void warning(const std::string& field, std::string message) {
    add(Diagnostic::Severity::Warning, field, std::move(message));
  }

  // The field path already says which reference it is; `what` only words the empty case.
  void reference(const std::string& field, const std::string& target, std::string_view what) {
    if (target.empty()) {
      error(field, std::string(what) + " names no step");
      return;
    }
    if (rb_.find(target) == nullptr)
      error(field, "unknown step '" + target + "'" + did_you_mean(target, ids_));
  }

  void tmpl(const std::string& field, const std::string& text) {
    if (auto ok = check_template(text); !ok) error(field, "template: " + ok.error().message);
  }

  void runbook_level() {
    if (rb_.id.empty())
      error("id", "a runbook needs an id");
    else if (!valid_runbook_id(rb_.id))
      error("id", "runbook id '" + rb_.id + "' must match [a-z0-9][a-z0-9-]*");
    if (rb_.timeout && rb_.timeout->count() <= 0) error("timeout", "timeout must be positive");
    if (!rb_.context.is_object()) error("context", "context must be a mapping");
    if (rb_.steps.empty()) error("steps", "a runbook needs at least one step");
    if (rb_.start.empty())
      error("start", "missing 'start' (the first step)");
    else if (rb_.find(rb_.start) == nullptr)
      error("start", "unknown step '" + rb_.start + "'" + did_you_mean(rb_.start, ids_));
  }

  void step_level(const Step& s, const std::string& p) {
    const bool executes =
        s.type == StepType::Check || s.type == StepType::Action || s.type == StepType::Decision;
    if (executes && s.executor == ExecutorKind::None)
      error(p, s.type == StepType::Decision
                   ? "a decision needs lua (or a C++ callable) and branches"
                   : "a " + std::string(to_string(s.type)) +
                         " step needs an executor: exec, http, lua or builtin");
    if (!executes && s.executor != ExecutorKind::None)
      error(p, "a " + std::string(to_string(s.type)) + " step takes no executor");
    if (s.executor == ExecutorKind::Native && !s.native) error(p, "native step without a callable");
    if (s.executor == ExecutorKind::Builtin && s.builtin.name.empty())
      error(p + ".builtin", "builtin needs a name");
    if (s.executor == ExecutorKind::Lua && s.lua.empty()) error(p + ".lua", "empty lua script");
    if (s.executor == ExecutorKind::Exec && s.exec.argv.empty())
      error(p + ".exec", "exec needs at least the program name");
    if (s.timeout && s.timeout->count() <= 0) error(p + ".timeout", "timeout must be positive");
    if (s.retry.attempts < 1) error(p + ".retry.attempts", "attempts must be at least 1");
    if (s.retry.delay.count() < 0) error(p + ".retry.delay", "delay must not be negative");
    if (s.retry.max_delay && *s.retry.max_delay < s.retry.delay)
      error(p + ".retry.max_delay", "max_delay is shorter than delay");
    if (!s.risk.empty() && s.risk != "low" && s.risk != "medium" && s.risk != "high")
      error(p + ".risk", "risk is low, medium or high");

    // save_as names a context key that templates read as {{ ctx.<name> }}: one path segment.
    if (!s.save_as.empty() && !valid_step_id(s.save_as))
      error(p + ".save_as",
            "save_as '" + s.save_as + "' may only use letters, digits, '-' and '_'");
    if (!s.on_success.empty()) reference(p + ".on_success", s.on_success, "on_success");
    if (!s.on_failure.empty()) reference(p + ".on_failure", s.on_failure, "on_failure");

    switch (s.type) {
      case StepType::Decision:
        if (s.branches.empty()) error(p + ".branches", "a decision needs branches");
        for (const auto& [value, target] : s.branches)
          reference(p + ".branches." + value, target, "branch '" + value + "'");
        break;
      case StepType::Notify:
        if (s.message.empty()) error(p + ".message", "a notify step needs a message");
        if (s.channels.empty()) error(p + ".channels", "a notify step needs channels");
        break;
      case StepType::Wait:
        if (s.duration.count() < 0) error(p + ".duration", "duration must not be negative");
        break;
      case StepType::Parallel: {
        if (s.steps.empty()) error(p + ".steps", "a parallel step needs steps");
        for (std::size_t j = 0; j < s.steps.size(); ++j)
          reference(p + ".steps[" + std::to_string(j) + "]", s.steps[j], "parallel branch");
        const int n = static_cast<int>(s.steps.size());
        if (s.min_success && (*s.min_success < 1 || *s.min_success > n))
          error(p + ".min_success", "min_success must be between 1 and " + std::to_string(n));
        break;
      }
      case StepType::Loop:
        if (s.body.empty())
          error(p + ".step", "a loop needs a step to run per item");
        else
          reference(p + ".step", s.body, "loop step");
        if (!s.items && s.items_from.empty())
          error(p, "a loop needs items (a list) or items_from (like ctx.queues)");
        if (s.items && !s.items->is_array())
          error(p + ".items", "items must be a list (use items_from for a context value)");
        if (!s.items_from.empty()) {
          // A context path; the "ctx." prefix is optional.
          const std::string path =
              s.items_from.starts_with("ctx.") ? s.items_from : "ctx." + s.items_from;
          tmpl(p + ".items_from", "{{ " + path + " }}");
        }
        if (s.concurrency < 1) error(p + ".concurrency", "concurrency must be at least 1");
        break;
      default:
        break;
    }

    // Templates are rendered at run time; their syntax is checked now.
    for (std::size_t j = 0; j < s.exec.argv.size(); ++j)
      tmpl(p + ".exec[" + std::to_string(j) + "]", s.exec.argv[j]);
    for (const auto& [k, v] : s.exec.env) tmpl(p + ".env." + k, v);
    tmpl(p + ".cwd", s.exec.cwd);
    if (s.exec.stdin_text) tmpl(p + ".stdin", *s.exec.stdin_text);
    tmpl(p + ".http.url", s.http.url);
    for (const auto& [k, v] : s.http.headers) tmpl(p + ".http.headers." + k, v);
    if (s.http.body) tmpl(p + ".http.body", *s.http.body);
    tmpl(p + ".message", s.message);
    tmpl(p + ".key", s.notify_key);
    if (s.target) {
      tmpl(p + ".target.name", s.target->name);
      tmpl(p + ".target.class", s.target->target_class);
      for (const auto& [k, v] : s.target->labels) tmpl(p + ".target.labels." + k, v);
      for (const auto& [k, v] : s.target->metadata) tmpl(p + ".target.metadata." + k, v);
    }
  }

  // Steps named by parallel/loop run as that step's branches: leaf types only, and their own
  // transitions are never followed.
  void bodies() {
    for (std::size_t i = 0; i < rb_.steps.size(); ++i) {
      const Step& s = rb_.steps[i];
      std::vector<std::pair<std::string, std::string>> named;  // field, body id
      const std::string p = "steps[" + std::to_string(i) + "]";
      if (s.type == StepType::Parallel)
        for (std::size_t j = 0; j < s.steps.size(); ++j)
          named.emplace_back(p + ".steps[" + std::to_string(j) + "]", s.steps[j]);
      if (s.type == StepType::Loop && !s.body.empty()) named.emplace_back(p + ".step", s.body);
      std::set<std::string> seen;
      for (const auto& [field, id] : named) {
        const Step* b = rb_.find(id);
        if (b == nullptr) continue;
        if (id == s.id) {
          error(field, "step '" + s.id + "' cannot run itself as a branch");
          continue;
        }
        if (!seen.insert(id).second) error(field, "step '" + id + "' is listed twice");
        if (!is_leaf(b->type))
          error(field, "'" + id + "' is a " + std::string(to_string(b->type)) +
                           " step; branch bodies must be check, action, notify or wait");
        if (!b->on_success.empty() || !b->on_failure.empty())
          warning(field, "'" + id + "' runs as a branch of '" + s.id +
                             "'; its on_success/on_failure are not followed");
      }
    }
  }

  void reachability() {
    if (rb_.find(rb_.start) == nullptr) return;  // already an error
    std::set<std::string> reached;
    std::deque<std::string> todo{rb_.start};
    while (!todo.empty()) {
      const std::string id = todo.front();
      todo.pop_front();
      const Step* s = rb_.find(id);
      if (s == nullptr || !reached.insert(id).second) continue;
      auto push = [&](const std::string& next) {
        if (!next.empty()) todo.push_back(next);
      };
      push(s->on_success);
      push(s->on_failure);
      for (const auto& [value, target] : s->branches) push(target);
      for (const auto& b : s->steps) push(b);
      push(s->body);
    }
    std::set<std::string> reported;
    for (std::size_t i = 0; i < rb_.steps.size(); ++i) {
      const Step& s = rb_.steps[i];
      if (s.id.empty() || reached.contains(s.id) || !reported.insert(s.id).second) continue;
      warning("steps[" + std::to_string(i) + "]",
              "step '" + s.id + "' is unreachable from start '" + rb_.start + "'");
    }
  }

  const Runbook& rb_;
  std::vector<std::string> ids_;
  std::vector<Diagnostic> out_;
};

}  // namespace

std::vector<Diagnostic> validate_runbook(const Runbook& rb) { return Validator(rb).run(); }

}  // namespace opsrun::model
