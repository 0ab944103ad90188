// An engine wired to the real step runner, on a real or simulated clock, with or without a
// SQLite store in a temporary directory.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

#include "opsrun/common/clock.h"
#include "opsrun/common/ids.h"
#include "opsrun/engine/engine.h"
#include "opsrun/model/runbook_yaml.h"
#include "opsrun/notify/channel.h"
#include "opsrun/steps/step_runner.h"
#include "opsrun/store/store.h"

namespace opsrun::testing {

inline model::RunbookPtr parse_runbook(const std::string& yaml) {
  auto r = model::load_runbook_text(yaml, "test.yaml");
  std::string problems;
  for (const auto& d : r.diagnostics) problems += d.describe() + "\n";
  EXPECT_TRUE(r.ok()) << problems;
  return r.runbook;
}

class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() / ("opsrun-test-" + random_hex(6));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  [[nodiscard]] std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Starts an execution and waits (up to a minute) until it settles.
inline model::Execution run_to_settle(engine::Engine& engine, const model::RunbookPtr& rb, Json ctx,
                                      engine::StartOptions options) {
  auto id = engine.start(rb, std::move(ctx), std::move(options));
  EXPECT_TRUE(id) << (id ? "" : id.error().describe());
  if (!id) return {};
  auto e = engine.wait(*id, Millis(60'000));
  EXPECT_TRUE(e.has_value()) << "execution did not settle";
  return e.value_or(model::Execution{});
}

struct EngineHarness {
  std::unique_ptr<Clock> clock;
  notify::ChannelRegistry channels;
  steps::StepRunner runner{steps::StepRunnerOptions{}, channels};
  std::unique_ptr<store::Store> store;
  std::unique_ptr<engine::Engine> engine;

  explicit EngineHarness(bool simulated, std::string data_dir = {},
                         engine::EngineOptions options = {}) {
    if (simulated) clock = std::make_unique<FakeClock>();
    else clock = std::make_unique<SystemClock>();
    if (!data_dir.empty()) {
      store::OpenOptions o;
      o.data_dir = std::move(data_dir);
      auto s = store::open_store(o);
      EXPECT_TRUE(s) << (s ? "" : s.error().describe());
      if (s) store = std::move(*s);
    }
    engine = engine::Engine::create(*clock, runner, store.get(), options);
  }
  ~EngineHarness() { engine->stop(); }

  model::Execution run(const model::RunbookPtr& rb, Json ctx = JsonObject{},
                       engine::StartOptions options = {}) {
    return run_to_settle(*engine, rb, std::move(ctx), std::move(options));
  }
};

}  // namespace opsrun::testing
