// bench/store: durable step transitions per second through the whole engine: 2,000
// executions of a 10-step no-op runbook, every transition committed to the store before its
// step runs. Counts commits (one fsync each on SQLite WAL with synchronous=FULL, one WAL
// flush each on PostgreSQL) per transition.
//
//   make bench && ./build-bench/bench/store/store_bench [--data-dir DIR] [--store URL] [--executions N]
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "opsrun/common/clock.h"
#include "opsrun/common/ids.h"
#include "opsrun/engine/engine.h"
#include "opsrun/model/runbook_yaml.h"
#include "opsrun/notify/channel.h"
#include "opsrun/steps/step_runner.h"
#include "opsrun/store/store.h"

namespace {

// Passes everything through and counts commits and the events they carried.
class CountingStore final : public opsrun::store::Store {
 public:
  explicit CountingStore(opsrun::store::Store& inner) : inner_(inner) {}
  std::atomic<long> commits{0};
  std::atomic<long> event_count{0};

  std::string describe() const override { return inner_.describe(); }
  opsrun::Result<void> commit(const opsrun::store::Batch& b) override {
    ++commits;
    event_count += static_cast<long>(b.events.size());
    return inner_.commit(b);
  }
  opsrun::Result<std::vector<opsrun::store::EventRecord>> events(std::string_view id, std::int64_t after) override {
    return inner_.events(id, after);
  }
  opsrun::Result<std::optional<opsrun::store::ExecutionRow>> execution(std::string_view id) override { return inner_.execution(id); }
  opsrun::Result<std::vector<opsrun::store::ExecutionRow>> list_executions(const opsrun::store::ExecutionQuery& q) override {
    return inner_.list_executions(q);
  }
  opsrun::Result<std::optional<std::string>> get_setting(std::string_view k) override { return inner_.get_setting(k); }
  opsrun::Result<void> put_setting(std::string_view k, std::string_view v) override { return inner_.put_setting(k, v); }
  opsrun::Result<opsrun::store::CleanupStats> cleanup(opsrun::SystemTime c, int b,
                                                      const std::function<void(const opsrun::store::CleanupStats&)>& p) override {
    return inner_.cleanup(c, b, p);
  }
  opsrun::Result<void> analyze() override { return inner_.analyze(); }
  opsrun::Result<void> check_integrity() override { return inner_.check_integrity(); }
  opsrun::Result<opsrun::Millis> ping() override { return inner_.ping(); }
  opsrun::Result<void> backup_to(const std::string& f) override { return inner_.backup_to(f); }
  opsrun::Result<void> put_timers(const std::vector<opsrun::store::TimerRow>& t) override { return inner_.put_timers(t); }
  opsrun::Result<std::optional<opsrun::store::TimerRow>> get_timer(std::string_view id) override { return inner_.get_timer(id); }
  opsrun::Result<std::vector<opsrun::store::TimerRow>> list_timers(const opsrun::store::TimerQuery& q) override {
    return inner_.list_timers(q);
  }
  opsrun::Result<std::vector<opsrun::store::TimerRow>> due_timers(std::int64_t b, int l) override { return inner_.due_timers(b, l); }
  opsrun::Result<void> update_timer(const opsrun::store::TimerRow& t) override { return inner_.update_timer(t); }
  opsrun::Result<void> cancel_timer(std::string_view id) override { return inner_.cancel_timer(id); }
  opsrun::Result<void> append_audit(const std::vector<opsrun::store::AuditRow>& r) override { return inner_.append_audit(r); }
  opsrun::Result<std::vector<opsrun::store::AuditRow>> audit_range(std::int64_t a, int l) override { return inner_.audit_range(a, l); }
  opsrun::Result<std::optional<opsrun::store::AuditRow>> last_audit() override { return inner_.last_audit(); }

 private:
  opsrun::store::Store& inner_;
};

opsrun::model::RunbookPtr ten_noops() {
  std::string yaml = "id: ten-noops\nstart: s0\nsteps:\n";
  for (int i = 0; i < 10; ++i) {
    yaml += "  - id: s" + std::to_string(i) + "\n    type: action\n    builtin: noop\n";
    if (i < 9) yaml += "    on_success: s" + std::to_string(i + 1) + "\n";
  }
  return opsrun::model::load_runbook_text(yaml, "bench.yaml").runbook;
}

}  // namespace

int main(int argc, char** argv) {
  opsrun::store::OpenOptions open;
  open.data_dir = (std::filesystem::temp_directory_path() / ("opsrun-bench-" + opsrun::random_hex(4))).string();
  int executions = 2000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--data-dir")) open.data_dir = argv[i + 1];
    else if (!std::strcmp(argv[i], "--store")) open.url = argv[i + 1];
    else if (!std::strcmp(argv[i], "--executions")) executions = std::atoi(argv[i + 1]);
  }
  auto store = opsrun::store::open_store(open);
  if (!store) {
    std::fprintf(stderr, "store_bench: %s\n", store.error().describe().c_str());
    return 2;
  }
  CountingStore counting(**store);
  opsrun::SystemClock clock;
  opsrun::notify::ChannelRegistry channels;
  opsrun::steps::StepRunner runner({}, channels);
  opsrun::engine::EngineOptions options;
  options.keep_finished = static_cast<std::size_t>(executions) + 10;
  auto engine = opsrun::engine::Engine::create(clock, runner, &counting, options);
  auto rb = ten_noops();
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::string> ids;
  for (int i = 0; i < executions; ++i) ids.push_back(*engine->start(rb, opsrun::JsonObject{}));
  int completed = 0;
  for (const auto& id : ids) {
    auto e = engine->wait(id);
    if (e && e->status == opsrun::model::ExecutionStatus::Completed) ++completed;
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  engine->stop();
  // A transition: one step taken (executions x 10 steps).
  const double transitions = static_cast<double>(completed) * 10;
  std::printf("store: %s\n", counting.describe().c_str());
  std::printf("executions completed: %d of %d in %.3f s\n", completed, executions, secs);
  std::printf("durable step transitions/s: %.0f\n", transitions / secs);
  std::printf("events recorded: %ld (%.1f per transition)\n", counting.event_count.load(),
              static_cast<double>(counting.event_count.load()) / transitions);
  std::printf("commits (fsyncs): %ld, %.4f per transition\n", counting.commits.load(),
              static_cast<double>(counting.commits.load()) / transitions);
  if (open.url.empty()) std::filesystem::remove_all(open.data_dir);
  return completed == executions ? 0 : 1;
}
