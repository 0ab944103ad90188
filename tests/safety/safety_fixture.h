// A Guard in front of a real engine on a SQLite store in a temporary directory, with an
// in-memory audit Recorder and a channel that keeps what it was sent.
#pragma once

#include <mutex>
#include <vector>

#include "engine/engine_fixture.h"
#include "opsrun/audit/recorder.h"
#include "opsrun/safety/guard.h"

namespace opsrun::testing {

class MemoryRecorder final : public audit::Recorder {
 public:
  Result<std::int64_t> record(const audit::AuditEntry& e) override {
    std::lock_guard g(mu_);
    if (failing_) return fail(ErrorCode::Unavailable, "audit log down");
    entries_.push_back(e);
    return static_cast<std::int64_t>(entries_.size());
  }
  // As the chained log does: one write for the whole batch, all or nothing.
  Result<std::int64_t> record_all(const std::vector<audit::AuditEntry>& entries) override {
    std::lock_guard g(mu_);
    if (failing_) return fail(ErrorCode::Unavailable, "audit log down");
    batches_.push_back(entries.size());
    entries_.insert(entries_.end(), entries.begin(), entries.end());
    return static_cast<std::int64_t>(entries_.size());
  }
  std::vector<std::size_t> batches() const {
    std::lock_guard g(mu_);
    return batches_;
  }
  std::vector<audit::AuditEntry> entries() const {
    std::lock_guard g(mu_);
    return entries_;
  }
  std::vector<audit::AuditEntry> of_kind(const std::string& kind) const {
    std::vector<audit::AuditEntry> out;
    for (const auto& e : entries())
      if (e.kind == kind) out.push_back(e);
    return out;
  }
  void set_failing(bool f) {
    std::lock_guard g(mu_);
    failing_ = f;
  }

 private:
  mutable std::mutex mu_;
  std::vector<audit::AuditEntry> entries_;
  std::vector<std::size_t> batches_;  // sizes of record_all calls
  bool failing_ = false;
};

class CaptureChannel final : public notify::Channel {
 public:
  [[nodiscard]] std::string name() const override { return "capture"; }
  Result<void> send(const notify::Notification& n) override {
    std::lock_guard g(mu_);
    sent_.push_back(n);
    cv_.notify_all();
    return {};
  }
  // Waits (real time, bounded) until a notification of this severity arrived.
  std::optional<notify::Notification> wait_for(notify::Severity s, int ms = 5000) {
    std::unique_lock lock(mu_);
    std::optional<notify::Notification> found;
    cv_.wait_for(lock, std::chrono::milliseconds(ms), [&] {
      for (const auto& n : sent_)
        if (n.severity == s) found = n;
      return found.has_value();
    });
    return found;
  }
  std::vector<notify::Notification> sent() {
    std::lock_guard g(mu_);
    return sent_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<notify::Notification> sent_;
};

inline safety::Policy policy_from(const std::string& yaml) {
  auto loaded = safety::load_policy_text(yaml, "policy.yaml");
  std::string problems;
  for (const auto& d : loaded.diagnostics) problems += d.describe() + "\n";
  EXPECT_TRUE(loaded.ok()) << problems;
  return loaded.policy.value_or(safety::Policy{});
}


struct SafetyHarness {
  TempDir dir;
  std::unique_ptr<Clock> clock;
  notify::ChannelRegistry channels;
  std::shared_ptr<CaptureChannel> capture = std::make_shared<CaptureChannel>();
  steps::StepRunner runner{steps::StepRunnerOptions{}, channels};
  std::unique_ptr<store::Store> store;
  MemoryRecorder recorder;
  std::unique_ptr<safety::Guard> guard;
  std::unique_ptr<engine::Engine> engine;

  explicit SafetyHarness(const std::string& policy_yaml, bool simulated = true,
                         SystemTime start = SystemTime{}) {
    channels.add(capture);
    if (simulated) clock = std::make_unique<FakeClock>(start == SystemTime{} ? FakeClock().now() : start);
    else clock = std::make_unique<SystemClock>();
    store::OpenOptions o;
    o.data_dir = dir.file("data");
    auto s = store::open_store(o);
    EXPECT_TRUE(s) << (s ? "" : s.error().describe());
    store = std::move(*s);
    auto policy = policy_from(policy_yaml);
    // Every safety event also goes to the capture channel.
    for (auto sev : {notify::Severity::P0, notify::Severity::P1, notify::Severity::P2})
      policy.channels[sev] = {"log", "capture"};
    guard = safety::Guard::create(std::move(policy), *clock, store.get(), &recorder, &channels);
    start_engine();
  }
  ~SafetyHarness() {
    if (engine) engine->stop();
  }

  void start_engine(bool auto_advance = false) {
    engine::EngineOptions options;
    options.gate = guard.get();
    options.auto_advance_simulated_clock = auto_advance;
    engine = engine::Engine::create(*clock, runner, store.get(), options);
  }

  model::Execution run(const model::RunbookPtr& rb, Json ctx = JsonObject{},
                       engine::StartOptions options = {}) {
    return run_to_settle(*engine, rb, std::move(ctx), std::move(options));
  }
};

}  // namespace opsrun::testing
