// Helpers for the steps tests: steps built in C++ (no YAML), requests with a real scope,
// temporary directories, and "is this process gone" for kill tests.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "opsrun/common/clock.h"
#include "opsrun/common/ids.h"
#include "opsrun/model/runbook.h"
#include "opsrun/steps/executor.h"
#include "opsrun/steps/step_runner.h"

namespace opsrun::testing {

inline model::Step exec_step(std::vector<std::string> argv, model::StepType type = model::StepType::Action) {
  model::Step s;
  s.id = "run";
  s.type = type;
  s.executor = model::ExecutorKind::Exec;
  s.exec.argv = std::move(argv);
  return s;
}

inline model::Step lua_step(std::string script, model::StepType type = model::StepType::Action) {
  model::Step s;
  s.id = "script";
  s.type = type;
  s.executor = model::ExecutorKind::Lua;
  s.lua = std::move(script);
  return s;
}

inline model::Step http_step(std::string url, model::StepType type = model::StepType::Check) {
  model::Step s;
  s.id = "probe";
  s.type = type;
  s.executor = model::ExecutorKind::Http;
  s.http.url = std::move(url);
  return s;
}

inline model::Step builtin_step(std::string name, Json with = JsonObject{}) {
  model::Step s;
  s.id = "builtin";
  s.type = model::StepType::Action;
  s.executor = model::ExecutorKind::Builtin;
  s.builtin.name = std::move(name);
  s.builtin.with = std::move(with);
  return s;
}

inline steps::AttemptRequest request_for(const model::Step& step, Json ctx = JsonObject{},
                                         std::optional<Millis> timeout = std::nullopt) {
  steps::AttemptRequest r;
  r.step = &step;
  r.execution_id = "exec-test-1";
  r.attempt = 1;
  r.idempotency_key = "exec-test-1/" + step.id + "/1";
  r.scope = steps::make_scope(ctx, JsonObject{}, nullptr, -1, r.execution_id, {});
  r.timeout = timeout;
  return r;
}

class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() / ("opsrun-steps-" + random_hex(6));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  [[nodiscard]] std::string path() const { return path_.string(); }
  [[nodiscard]] std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// A process counts as gone once it no longer exists or is a zombie nobody reaped yet
// (orphans belong to PID 1, which in containers does not always reap).
inline bool process_gone(pid_t pid) {
  if (::kill(pid, 0) != 0) return true;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const auto close = content.rfind(')');
  return close != std::string::npos && close + 2 < content.size() && content[close + 2] == 'Z';
}

inline bool wait_gone(pid_t pid, std::chrono::milliseconds within) {
  const auto until = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < until) {
    if (process_gone(pid)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return process_gone(pid);
}

inline pid_t read_pid_file(const std::string& path, std::chrono::milliseconds within = std::chrono::seconds(5)) {
  const auto until = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < until) {
    std::ifstream in(path);
    pid_t pid = 0;
    if (in >> pid && pid > 0) return pid;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return 0;
}

inline std::string str(const Json& v, std::string_view key) {
  const auto& o = v.as_object();
  auto it = o.find(key);
  return it != o.end() && it->value().is_string() ? std::string(it->value().get_string()) : std::string();
}

}  // namespace opsrun::testing
