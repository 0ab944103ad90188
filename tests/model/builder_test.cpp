// The fluent C++ builder: the seed's API shape, native steps, and errors from build().
#include <gtest/gtest.h>

#include "opsrun/model/builder.h"

namespace opsrun::model {
namespace {

Result<Json> ok_true(NativeScope&) { return Json(true); }

class CollectingSink : public RunbookSink {
 public:
  Result<void> add_runbook(RunbookPtr runbook) override {
    added.push_back(std::move(runbook));
    return {};
  }
  std::vector<RunbookPtr> added;
};

TEST(Builder, HappyPathMirrorsTheSeed) {
  int restarted = 0;
  auto rb = runbook()
                .withMetadata({.id = "custom-recovery",
                               .name = "Custom Service Recovery",
                               .description = "Recover custom service",
                               .tags = {"critical"}})
                .withContext(JsonObject{{"load", 0.95}})
                .withTimeout(600'000)
                .check("health-check", "Check service health", ok_true)
                .withTimeout(5000)
                .onSuccess("notify-ok")
                .onFailure("restart-service")
                .action("restart-service", "Restart the service",
                        [&](NativeScope& s) -> Result<Json> {
                          ++restarted;
                          s.ctx.as_object()["restarted"] = true;
                          return Json(nullptr);
                        })
                .retryable()
                .withDescription("systemctl restart")
                .onSuccess("evaluate")
                .decision("evaluate", "Check load",
                          [](NativeScope& s) -> Result<Json> {
                            return Json(s.ctx.at("load").as_double() > 0.9 ? "critical" : "normal");
                          })
                .branch("critical", "restart-all")
                .branch("normal", "notify-ok")
                .parallel("restart-all", "Restart all", {"restart-api", "restart-workers"})
                .onSuccess("process-queues")
                .action("restart-api", "API", ok_true)
                .action("restart-workers", "Workers", ok_true)
                .loop("process-queues", "Process queues", JsonArray{"q1", "q2"}, "process-one")
                .onSuccess("cooldown")
                .action("process-one", "One queue", ok_true)
                .wait("cooldown", "Stabilize", 30'000)
                .onSuccess("notify-ok")
                .notify("notify-ok", "Service is healthy", {"log", "slack"})
                .startWith("health-check")
                .build();
  ASSERT_TRUE(rb) << rb.error().describe();
  const Runbook& r = **rb;
  EXPECT_EQ(r.id, "custom-recovery");
  EXPECT_EQ(r.version, "1.0.0");
  EXPECT_EQ(r.tags, std::vector<std::string>{"critical"});
  EXPECT_EQ(r.timeout, Millis(600'000));
  EXPECT_EQ(r.start, "health-check");
  EXPECT_TRUE(r.source_file.empty());
  ASSERT_EQ(r.steps.size(), 10u);

  const Step& check = *r.find("health-check");
  EXPECT_EQ(check.type, StepType::Check);
  EXPECT_EQ(check.executor, ExecutorKind::Native);
  EXPECT_TRUE(check.native);
  EXPECT_EQ(check.timeout, Millis(5000));
  EXPECT_EQ(check.on_success, "notify-ok");
  EXPECT_EQ(check.on_failure, "restart-service");

  const Step& action = *r.find("restart-service");
  EXPECT_EQ(action.retry.attempts, 3);
  EXPECT_EQ(action.retry.backoff, Backoff::Exponential);
  EXPECT_EQ(action.description, "systemctl restart");
  // The callable really is the one given.
  Json ctx = JsonObject{};
  const Json results = JsonObject{};
  const Json item;
  NativeScope scope{ctx, results, item, -1};
  ASSERT_TRUE(action.native(scope));
  EXPECT_EQ(restarted, 1);
  EXPECT_TRUE(ctx.at("restarted").as_bool());

  const Step& decision = *r.find("evaluate");
  EXPECT_EQ(decision.branches.at("critical"), "restart-all");
  EXPECT_EQ(r.find("restart-all")->steps,
            (std::vector<std::string>{"restart-api", "restart-workers"}));
  EXPECT_EQ(r.find("process-queues")->body, "process-one");
  EXPECT_TRUE(r.find("process-queues")->items->is_array());
  EXPECT_EQ(r.find("cooldown")->duration, Millis(30'000));
  EXPECT_EQ(r.find("notify-ok")->channels, (std::vector<std::string>{"log", "slack"}));
  EXPECT_EQ(r.find("notify-ok")->message, "Service is healthy");
}

TEST(Builder, ErrorsListEveryProblem) {
  auto rb = runbook()
                .withMetadata({.id = "broken", .name = "Broken"})
                .check("a", "A", ok_true)
                .onSuccess("nowhere")
                .action("a", "duplicate", ok_true)
                .startWith("missing")
                .build();
  ASSERT_FALSE(rb);
  EXPECT_EQ(rb.error().code, ErrorCode::InvalidArgument);
  const std::string& m = rb.error().message;
  EXPECT_NE(m.find("unknown step 'nowhere'"), std::string::npos) << m;
  EXPECT_NE(m.find("duplicate step id 'a'"), std::string::npos) << m;
  EXPECT_NE(m.find("start: unknown step 'missing'"), std::string::npos) << m;
  // No marks for C++ runbooks: no "0:0" in the text.
  EXPECT_EQ(m.find(":0"), std::string::npos) << m;
}

TEST(Builder, MisuseAndMissingMetadata) {
  auto rb = runbook().onSuccess("x").notify("n", "hi").branch("v", "n").startWith("n").build();
  ASSERT_FALSE(rb);
  const std::string& m = rb.error().message;
  EXPECT_NE(m.find("onSuccess() called before any step"), std::string::npos) << m;
  EXPECT_NE(m.find("branch() on step 'n', which is not a decision"), std::string::npos) << m;
  EXPECT_NE(m.find("id is required"), std::string::npos) << m;
}

TEST(Builder, RegisterWithHandsTheRunbookToTheSink) {
  CollectingSink sink;
  auto b =
      runbook().withMetadata({.id = "one", .name = "One"}).check("c", "C", ok_true).startWith("c");
  ASSERT_TRUE(b.registerWith(sink));
  ASSERT_EQ(sink.added.size(), 1u);
  EXPECT_EQ(sink.added[0]->id, "one");
  EXPECT_TRUE(sink.added[0]->find("c")->is_idempotent());
  // A builder error never reaches the sink.
  auto bad = runbook().withMetadata({.id = "two", .name = "Two"}).check("c", "C", ok_true);
  EXPECT_FALSE(bad.registerWith(sink));
  EXPECT_EQ(sink.added.size(), 1u);
}

TEST(Builder, RetryPolicyAndModifiers) {
  RetryPolicy p;
  p.attempts = 5;
  p.backoff = Backoff::Fixed;
  p.delay = Millis(250);
  auto rb = runbook()
                .withMetadata({.id = "mods", .name = "Mods"})
                .action("a", "A", ok_true)
                .retry(p)
                .idempotent()
                .saveAs("out")
                .withTarget({.name = "web-1", .labels = {{"env", "prod"}}})
                .startWith("a")
                .build();
  ASSERT_TRUE(rb) << rb.error().describe();
  const Step& a = (*rb)->steps[0];
  EXPECT_EQ(a.retry.attempts, 5);
  EXPECT_EQ(a.retry.delay, Millis(250));
  EXPECT_TRUE(a.is_idempotent());
  EXPECT_EQ(a.save_as, "out");
  EXPECT_EQ(a.target->labels.at("env"), "prod");
}

}  // namespace
}  // namespace opsrun::model
