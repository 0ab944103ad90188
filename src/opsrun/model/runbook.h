// The runbook model: what ../shared/specs/runbook-format.md describes, as C++ values.
// A Runbook is immutable once registered; executions pin the version they started with.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "opsrun/common/clock.h"
#include "opsrun/common/error.h"
#include "opsrun/common/json.h"

namespace opsrun::model {

enum class StepType { Check, Action, Decision, Notify, Wait, Parallel, Loop, Approval };
std::string_view to_string(StepType t);
std::optional<StepType> step_type_from_string(std::string_view s);

enum class ExecutorKind { None, Exec, Http, Lua, Builtin, Native };
std::string_view to_string(ExecutorKind k);

// Where a value was written, for error messages. line/column are 1-based; 0 = unknown.
struct SourceMark {
  int line = 0;
  int column = 0;
};

struct ExecSpec {
  std::vector<std::string> argv;                // templates allowed in every element
  std::map<std::string, std::string> env;       // values may be templates
  std::string cwd;
  std::optional<std::string> stdin_text;
};

struct HttpExpect {
  int status = 0;                               // 0: any 2xx
  std::string body_contains;
  std::vector<std::pair<std::string, Json>> json;  // JSONPath ("$.a.b") -> expected value
};

struct HttpSpec {
  std::string method = "GET";
  std::string url;
  std::map<std::string, std::string> headers;
  std::optional<std::string> body;              // a template; a YAML mapping is sent as JSON
  HttpExpect expect;
};

struct BuiltinSpec {
  std::string name;
  Json with = JsonObject{};
};

// What a C++ callable step (the fluent builder's) sees and may change.
struct NativeScope {
  Json& ctx;                                    // may be modified
  const Json& results;
  const Json& item;                             // null outside a loop
  int index = -1;
};
// Returns the step's value (a check's boolean, a decision's branch name) or an error.
using NativeFn = std::function<Result<Json>(NativeScope&)>;

enum class Backoff { Fixed, Exponential };

struct RetryPolicy {
  int attempts = 1;                             // all tries; 3 = one try and two retries
  Backoff backoff = Backoff::Fixed;
  Millis delay{1000};
  std::optional<Millis> max_delay;
  double jitter = 0.1;                          // +/- fraction applied to exponential delays
};

// What an action acts on, for the safety layer (docs/safety.md). Every value is a template.
struct Target {
  std::string name;
  std::string target_class;                     // YAML `class`: vm, volume, database, ...
  std::map<std::string, std::string> labels;    // tags: Environment, Stage, Critical, ...
  std::map<std::string, std::string> metadata;  // facts: auto_scaling_group, open_ports, ...
};

struct Step {
  std::string id;
  std::string name;
  std::string description;
  StepType type = StepType::Action;
  SourceMark mark;

  // Executor (check, action, decision; exactly one).
  ExecutorKind executor = ExecutorKind::None;
  ExecSpec exec;
  HttpSpec http;
  std::string lua;
  BuiltinSpec builtin;
  NativeFn native;

  // Options.
  std::optional<Millis> timeout;
  RetryPolicy retry;
  std::string on_success;                       // empty: end (succeeded)
  std::string on_failure;                       // empty: end (failed)
  std::map<std::string, std::string> branches;  // decision; key "default" is the fallback
  std::string save_as;
  std::optional<bool> idempotent;               // unset: checks/notify/wait idempotent, actions not
  std::optional<Target> target;
  std::string risk;                             // low | medium | high | "" (derive)

  // notify, approval
  std::vector<std::string> channels;
  std::string message;
  // notify only (docs/channels.md): P0 | P1 | P2 | info ("": info); the alert key, a
  // template (a Slack thread, a PagerDuty dedup_key, a ServiceNow incident); and what the
  // notification does to that alert: trigger | acknowledge | resolve ("": trigger).
  std::string severity;
  std::string notify_key;                       // YAML `key`
  std::string event;

  // wait
  Millis duration{0};

  // parallel
  std::vector<std::string> steps;
  std::optional<int> min_success;

  // loop
  std::optional<Json> items;                    // a literal list
  std::string items_from;                       // or a context expression: "ctx.queues"
  std::string body;                             // the step run per item (YAML key `step`)
  int concurrency = 1;
  bool fail_fast = true;

  [[nodiscard]] bool is_idempotent() const;
};

struct Runbook {
  std::string id;
  std::string name;
  std::string description;
  std::string version = "1.0.0";
  std::vector<std::string> tags;
  std::optional<Millis> timeout;
  Json context = JsonObject{};                  // defaults; the caller's context overrides
  std::string start;
  std::vector<Step> steps;
  std::string source_file;                      // empty for built-in/C++ runbooks
  std::string source_text;                      // the YAML as loaded; executions pin it
  // Where each field was written ("start", "steps[2].on_success" -> line:column), so that
  // validation can point at the exact place. Empty for runbooks built in C++.
  std::map<std::string, SourceMark, std::less<>> marks;

  [[nodiscard]] const Step* find(std::string_view step_id) const;
};

using RunbookPtr = std::shared_ptr<const Runbook>;

// The definition as JSON (callables stripped), for the API and `opsrun run --output json`.
Json runbook_to_json(const Runbook& rb);

}  // namespace opsrun::model
