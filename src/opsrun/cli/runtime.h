// The composition root for commands that run the engine in this process (`opsrun run`,
// `opsrun executions ...`): the only place that picks concrete backends.
#pragma once

#include <memory>
#include <string>

#include "opsrun/audit/chained_log.h"
#include "opsrun/common/clock.h"
#include "opsrun/common/error.h"
#include "opsrun/engine/engine.h"
#include "opsrun/notify/channel.h"
#include "opsrun/safety/guard.h"
#include "opsrun/steps/step_runner.h"
#include "opsrun/store/store.h"

namespace opsrun::cli {

struct StoreFlags {
  std::string data_dir = "./opsrun-data";
  std::string url;                              // --store postgres://...
  bool ephemeral = false;                       // --ephemeral: no store at all
  std::string policy;                           // --policy: a safety policy file
  std::string config;                           // --config: opsrun.yaml (channels); default ./opsrun.yaml if present
};

struct LocalRuntime {
  SystemClock clock;
  notify::ChannelRegistry channels;
  std::unique_ptr<steps::StepRunner> runner;
  std::unique_ptr<store::Store> store;          // null when ephemeral
  std::unique_ptr<audit::ChainedLog> audit_log; // over the store; null when ephemeral
  // Every action passes it: the store's emergency stop binds local runs too.
  std::unique_ptr<safety::Guard> guard;
  std::unique_ptr<engine::Engine> engine;

  // An invalid --policy is an InvalidArgument error listing every problem.
  static Result<std::unique_ptr<LocalRuntime>> open(const StoreFlags& flags);
};

Result<std::unique_ptr<store::Store>> open_store_from(const StoreFlags& flags);

}  // namespace opsrun::cli
