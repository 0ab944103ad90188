// The `http` executor: one blocking libcurl request per attempt, rendered from the step's
// method/url/headers/body, with an Idempotency-Key header, the attempt's timeout, and
// cancellation checked from libcurl's progress callback. Proxies come from the environment
// (http_proxy, https_proxy, no_proxy) as libcurl reads them.
//
// result: {status, http_status, body, body_truncated?, json?, duration_ms}
// ok when the expectation holds: expect.status (0: any 2xx), body_contains, json paths.
#pragma once

#include "opsrun/steps/executor.h"

namespace opsrun::steps {

struct HttpOptions {
  std::size_t body_cap = 1 << 20;               // response bytes kept
  Millis connect_timeout{10'000};
};

class HttpExecutor final : public Executor {
 public:
  explicit HttpExecutor(HttpOptions options = {});
  StepOutcome run(const AttemptRequest& request, CancelToken& cancel) override;

 private:
  HttpOptions options_;
};

// Numbers compare by value (1 == 1.0); everything else as Boost.JSON compares.
bool json_equal(const Json& a, const Json& b);

}  // namespace opsrun::steps
