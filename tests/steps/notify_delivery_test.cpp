// A notify step whose service keeps answering 503 with a long Retry-After never holds its
// worker past the step's timeout, and a cancel ends the wait between retries at once.
#include <future>
#include <thread>

#include "opsrun/config/config.h"
#include "opsrun/notify/configured.h"
#include "opsrun/steps/step_runner.h"
#include "steps/steps_fixture.h"
#include "support/loopback_http_server.h"

namespace opsrun::testing {
namespace {

using std::chrono::steady_clock;

struct NotifyDelivery : ::testing::Test {
  LoopbackHttpServer service;
  SystemClock clock;
  notify::ChannelRegistry channels;
  steps::StepRunner runner{steps::StepRunnerOptions{}, channels};
  steps::CancelToken token{clock};
  model::Step step;

  void SetUp() override {
    service.set_handler([](const HttpRequest&) {
      HttpResponse r{.status = 503, .body = "busy"};
      r.headers.emplace_back("Retry-After", "20");
      return r;
    });
    auto cfg =
        config::load_text("channels:\n  hook:\n    type: webhook\n    url: " + service.url("/h") +
                          "\n    max_attempts: 10\n    max_time: 10m\n");
    ASSERT_TRUE(cfg) << cfg.error().describe();
    notify::add_configured_channels(channels, cfg->channels, notify::ChannelDeps{clock, {}});
    step.id = "tell";
    step.type = model::StepType::Notify;
    step.channels = {"hook"};
    step.message = "disk full";
  }

  // Runs the step, cancels it once the service has its request, and returns the outcome,
  // failing the test unless it ended within 5 s of the start.
  steps::StepOutcome run_and_cancel() {
    const auto start = steady_clock::now();
    auto running =
        std::async(std::launch::async, [&] { return runner.run(request_for(step), token); });
    for (int i = 0; i < 200 && service.request_count() == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_EQ(service.request_count(), 1u);
    token.request(steps::CancelReason::Cancelled);
    auto o = running.get();
    EXPECT_LT(steady_clock::now() - start, std::chrono::seconds(5));
    return o;
  }
};

TEST_F(NotifyDelivery, TheStepTimeoutBoundsTheRetries) {
  const auto start = steady_clock::now();
  auto o = runner.run(request_for(step, JsonObject{}, Millis(2000)), token);
  EXPECT_LT(steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.error.find("time limit"), std::string::npos) << o.error;
  EXPECT_EQ(service.request_count(), 1u);  // a 20 s wait would pass the 2 s timeout: not started
}

TEST_F(NotifyDelivery, ACancelEndsTheWaitAtOnce) {
  const auto o = run_and_cancel();
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.error.find("cancelled"), std::string::npos) << o.error;
  EXPECT_EQ(service.request_count(), 1u);
}

TEST_F(NotifyDelivery, ACancelAbortsARequestInFlight) {
  service.set_handler([](const HttpRequest&) {
    return HttpResponse{.status = 200, .delay = std::chrono::seconds(20)};
  });
  const auto o = run_and_cancel();
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.error.find("cancelled"), std::string::npos) << o.error;
}

TEST_F(NotifyDelivery, ASlowServiceIsCutAtTheStepTimeout) {
  service.set_handler([](const HttpRequest&) {
    return HttpResponse{.status = 200, .delay = std::chrono::seconds(20)};
  });
  const auto start = steady_clock::now();
  auto o = runner.run(request_for(step, JsonObject{}, Millis(1500)), token);
  EXPECT_LT(steady_clock::now() - start, std::chrono::seconds(4));
  EXPECT_FALSE(o.ok);
}

}  // namespace
}  // namespace opsrun::testing
