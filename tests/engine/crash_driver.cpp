// A process for the crash test: starts (or resumes) a fixed set of executions of a
// ledger-writing runbook against a store, and waits for them. The test kills it with
// SIGKILL at random moments and runs it again.
//
//   crash_driver --data-dir DIR | --store URL --ledger FILE --count N
#include <cstdio>
#include <cstring>
#include <string>

#include "opsrun/common/clock.h"
#include "opsrun/engine/engine.h"
#include "opsrun/model/runbook_yaml.h"
#include "opsrun/notify/channel.h"
#include "opsrun/steps/step_runner.h"
#include "opsrun/store/store.h"

namespace {

// Odd steps are idempotent, even ones are not; every step appends its idempotency key.
constexpr const char* kRunbook = R"(
id: ledger
start: s1
steps:
  - id: s1
    type: action
    exec: ["sh", "-c", "echo \"$OPSRUN_IDEMPOTENCY_KEY\" >> \"$0\"", "{{ ctx.ledger }}"]
    idempotent: true
    on_success: s2
  - id: s2
    type: action
    exec: ["sh", "-c", "echo \"$OPSRUN_IDEMPOTENCY_KEY\" >> \"$0\"; sleep 0.05", "{{ ctx.ledger }}"]
    on_success: s3
  - id: s3
    type: action
    exec: ["sh", "-c", "sleep 0.02; echo \"$OPSRUN_IDEMPOTENCY_KEY\" >> \"$0\"", "{{ ctx.ledger }}"]
    idempotent: true
    on_success: s4
  - id: s4
    type: action
    exec: ["sh", "-c", "echo \"$OPSRUN_IDEMPOTENCY_KEY\" >> \"$0\"", "{{ ctx.ledger }}"]
    on_success: s5
  - id: s5
    type: wait
    duration: 30ms
    on_success: s6
  - id: s6
    type: action
    exec: ["sh", "-c", "echo \"$OPSRUN_IDEMPOTENCY_KEY\" >> \"$0\"", "{{ ctx.ledger }}"]
    idempotent: true
)";

}  // namespace

int main(int argc, char** argv) {
  opsrun::store::OpenOptions open;
  std::string ledger;
  int count = 200;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--data-dir")) open.data_dir = argv[i + 1];
    else if (!std::strcmp(argv[i], "--store")) open.url = argv[i + 1];
    else if (!std::strcmp(argv[i], "--ledger")) ledger = argv[i + 1];
    else if (!std::strcmp(argv[i], "--count")) count = std::atoi(argv[i + 1]);
  }
  auto store = opsrun::store::open_store(open);
  if (!store) {
    std::fprintf(stderr, "crash_driver: %s\n", store.error().describe().c_str());
    return 2;
  }
  auto rb = opsrun::model::load_runbook_text(kRunbook, "ledger.yaml");
  if (!rb.ok()) return 2;
  opsrun::SystemClock clock;
  opsrun::notify::ChannelRegistry channels;
  opsrun::steps::StepRunner runner({}, channels);
  auto engine = opsrun::engine::Engine::create(clock, runner, store->get());
  auto report = engine->recover();
  if (!report) {
    std::fprintf(stderr, "crash_driver: recover: %s\n", report.error().describe().c_str());
    return 2;
  }
  // Start whichever of the fixed executions never got recorded.
  for (int i = 0; i < count; ++i) {
    char id[32];
    std::snprintf(id, sizeof id, "exec-crash-%04d", i);
    auto row = (*store)->execution(id);
    if (row && *row) continue;
    opsrun::engine::StartOptions o;
    o.execution_id = id;
    auto started = engine->start(rb.runbook, opsrun::JsonObject{{"ledger", ledger}}, o);
    if (!started && started.error().code != opsrun::ErrorCode::AlreadyExists) {
      std::fprintf(stderr, "crash_driver: start: %s\n", started.error().describe().c_str());
      return 2;
    }
  }
  for (const auto& e : engine->list(false)) engine->wait(e.execution_id);
  engine->stop();
  std::printf("crash_driver: all settled\n");
  return 0;
}
