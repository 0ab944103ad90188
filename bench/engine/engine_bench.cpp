// bench/engine: executions of a 10-step no-op runbook, in memory (no store).
//   make bench && ./build-bench/bench/engine/engine_bench
#include <benchmark/benchmark.h>

#include "opsrun/common/clock.h"
#include "opsrun/engine/engine.h"
#include "opsrun/model/runbook_yaml.h"
#include "opsrun/notify/channel.h"
#include "opsrun/steps/step_runner.h"

namespace {

opsrun::model::RunbookPtr ten_noops() {
  std::string yaml = "id: ten-noops\nstart: s0\nsteps:\n";
  for (int i = 0; i < 10; ++i) {
    yaml += "  - id: s" + std::to_string(i) + "\n    type: action\n    builtin: noop\n";
    if (i < 9) yaml += "    on_success: s" + std::to_string(i + 1) + "\n";
  }
  return opsrun::model::load_runbook_text(yaml, "bench.yaml").runbook;
}

// One execution at a time: the latency of a whole 10-step run.
void BM_SequentialExecutions(benchmark::State& state) {
  opsrun::SystemClock clock;
  opsrun::notify::ChannelRegistry channels;
  opsrun::steps::StepRunner runner({}, channels);
  auto engine = opsrun::engine::Engine::create(clock, runner, nullptr);
  auto rb = ten_noops();
  for (auto _ : state) {
    auto id = engine->start(rb, opsrun::JsonObject{});
    benchmark::DoNotOptimize(engine->wait(*id));
  }
  state.counters["steps/s"] = benchmark::Counter(static_cast<double>(state.iterations()) * 10,
                                                 benchmark::Counter::kIsRate);
  state.counters["us/step"] = benchmark::Counter(static_cast<double>(state.iterations()) * 10,
                                                 benchmark::Counter::kIsRate |
                                                     benchmark::Counter::kInvert);
  engine->stop();
}
BENCHMARK(BM_SequentialExecutions)->Unit(benchmark::kMicrosecond)->UseRealTime();

// Many executions in flight: throughput when the loop batches inputs.
void BM_ConcurrentExecutions(benchmark::State& state) {
  opsrun::SystemClock clock;
  opsrun::notify::ChannelRegistry channels;
  opsrun::steps::StepRunner runner({}, channels);
  opsrun::engine::EngineOptions options;
  options.keep_finished = 100'000;
  auto engine = opsrun::engine::Engine::create(clock, runner, nullptr, options);
  auto rb = ten_noops();
  const int batch = static_cast<int>(state.range(0));
  for (auto _ : state) {
    std::vector<std::string> ids;
    ids.reserve(static_cast<std::size_t>(batch));
    for (int i = 0; i < batch; ++i) ids.push_back(*engine->start(rb, opsrun::JsonObject{}));
    for (const auto& id : ids) benchmark::DoNotOptimize(engine->wait(id));
  }
  const double steps = static_cast<double>(state.iterations()) * batch * 10;
  state.counters["steps/s"] = benchmark::Counter(steps, benchmark::Counter::kIsRate);
  state.counters["us/step"] =
      benchmark::Counter(steps, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  engine->stop();
}
BENCHMARK(BM_ConcurrentExecutions)->Arg(100)->Arg(1000)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
