// C++ callable steps (the fluent builder's): the callable gets a NativeScope with a copy of
// ctx it may change; changed top-level fields come back as ctx_updates. Exceptions become
// failures.
#pragma once

#include "opsrun/steps/executor.h"

namespace opsrun::steps {

class NativeExecutor final : public Executor {
 public:
  StepOutcome run(const AttemptRequest& request, CancelToken& cancel) override;
};

}  // namespace opsrun::steps
