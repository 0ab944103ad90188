// The `lua` executor: a fresh, sandboxed Lua 5.4 state per attempt.
//
// Available: base functions (without dofile/loadfile; `load` takes text only), string, table,
// math, utf8, and os.time/os.clock/os.date. Not available: io, os.execute and the rest of
// os, package/require, debug. Globals: ctx (a copy; top-level assignments come back as
// ctx_updates), results, item, index, execution, env.
//
// A count hook stops runaway scripts (instruction budget, cancellation, the attempt's
// timeout); a counting allocator caps memory. The returned value becomes StepOutcome::value:
// a table with keys 1..n becomes an array, any other table an object.
#pragma once

#include <cstdint>

#include "opsrun/steps/executor.h"

namespace opsrun::steps {

struct LuaOptions {
  std::size_t memory_limit = 64u << 20;         // bytes the state may hold
  std::uint64_t instruction_limit = 200'000'000;  // VM instructions per attempt
};

class LuaExecutor final : public Executor {
 public:
  explicit LuaExecutor(LuaOptions options = {}) : options_(options) {}
  StepOutcome run(const AttemptRequest& request, CancelToken& cancel) override;

 private:
  LuaOptions options_;
};

}  // namespace opsrun::steps
