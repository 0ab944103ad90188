// StepRunner: routing, check/decision semantics, built-ins, native steps, notify, describe.
#include <cstdlib>
#include <future>

#include "opsrun/notify/channel.h"
#include "steps/steps_fixture.h"

namespace opsrun::testing {
namespace {

using steps::CancelReason;
using steps::CancelToken;
using steps::StepRunner;
using steps::StepRunnerOptions;

struct RecordingChannel final : notify::Channel {
  std::string name_;
  bool fail_ = false;
  std::vector<notify::Notification> sent;
  RecordingChannel(std::string n, bool f) : name_(std::move(n)), fail_(f) {}
  [[nodiscard]] std::string name() const override { return name_; }
  Result<void> send(const notify::Notification& n) override {
    if (fail_) return opsrun::fail(ErrorCode::Unavailable, "webhook returned 503");
    sent.push_back(n);
    return {};
  }
};

struct RunnerTest : ::testing::Test {
  notify::ChannelRegistry channels;
  StepRunner runner{StepRunnerOptions{}, channels};
  SystemClock clock;
  CancelToken token{clock};

  steps::StepOutcome run(const model::Step& s, Json ctx = JsonObject{},
                         std::optional<Millis> timeout = std::nullopt) {
    return runner.run(request_for(s, std::move(ctx), timeout), token);
  }
};

TEST_F(RunnerTest, DefaultBuiltinsAreRegistered) {
  for (auto name : {"noop", "sleep", "fail", "log"}) EXPECT_TRUE(runner.has_builtin(name)) << name;
  EXPECT_FALSE(runner.has_builtin("azure.ack"));
}

TEST_F(RunnerTest, NoopSucceedsAndFailFailsWithItsMessage) {
  EXPECT_TRUE(run(builtin_step("noop")).ok);
  auto o = run(builtin_step("fail", JsonObject{{"message", "broken {{ ctx.unit }}"}}),
               JsonObject{{"unit", "api"}});
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.error, "broken api");
  EXPECT_EQ(str(o.result, "status"), "failure");
}

TEST_F(RunnerTest, LogBuiltinRendersItsMessage) {
  auto o = run(builtin_step("log", JsonObject{{"message", "restarting {{ ctx.unit }}"}}),
               JsonObject{{"unit", "api"}});
  EXPECT_TRUE(o.ok) << o.error;
  EXPECT_EQ(str(o.result, "message"), "restarting api");
}

TEST_F(RunnerTest, UnknownBuiltinFails) {
  auto o = run(builtin_step("azure.ack"));
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.error.find("unknown builtin 'azure.ack'"), std::string::npos) << o.error;
}

TEST_F(RunnerTest, RegisteredBuiltinsRunAndCanReplaceDefaults) {
  runner.register_builtin("noop", [](const steps::AttemptRequest&, CancelToken&) {
    steps::StepOutcome o;
    o.ok = true;
    o.value = "custom";
    return o;
  });
  auto o = run(builtin_step("noop"));
  EXPECT_TRUE(o.ok);
  EXPECT_EQ(o.value.as_string(), "custom");
}

TEST_F(RunnerTest, SleepRunsOnTheFakeClock) {
  FakeClock fake;
  CancelToken t(fake);
  auto s = builtin_step("sleep", JsonObject{{"duration", "2h"}});
  auto req = request_for(s);
  auto fut = std::async(std::launch::async, [&] { return runner.run(req, t); });
  while (fake.sleepers() == 0) std::this_thread::sleep_for(Millis(1));
  EXPECT_EQ(fake.earliest_sleeper_deadline() - fake.now(), std::chrono::hours(2));
  EXPECT_EQ(fut.wait_for(Millis(50)), std::future_status::timeout);
  fake.advance(std::chrono::hours(2));
  ASSERT_EQ(fut.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_TRUE(fut.get().ok);
}

TEST_F(RunnerTest, SleepIsCutByTimeoutAndCancel) {
  FakeClock fake;
  CancelToken t(fake);
  auto s = builtin_step("sleep", JsonObject{{"duration", "10m"}});
  auto req = request_for(s, JsonObject{}, Millis(60'000));
  auto fut = std::async(std::launch::async, [&] { return runner.run(req, t); });
  while (fake.sleepers() == 0) std::this_thread::sleep_for(Millis(1));
  EXPECT_EQ(fake.earliest_sleeper_deadline() - fake.now(), Millis(60'000));
  fake.advance(Millis(60'000));
  auto o = fut.get();
  EXPECT_FALSE(o.ok);
  EXPECT_TRUE(o.timed_out);

  CancelToken t2(fake);
  auto req2 = request_for(s);
  auto fut2 = std::async(std::launch::async, [&] { return runner.run(req2, t2); });
  while (fake.sleepers() == 0) std::this_thread::sleep_for(Millis(1));
  t2.request(CancelReason::Cancelled);
  auto o2 = fut2.get();
  EXPECT_FALSE(o2.ok);
  EXPECT_TRUE(o2.cancelled);
}

TEST_F(RunnerTest, SleepNeedsAValidDuration) {
  EXPECT_FALSE(run(builtin_step("sleep")).ok);
  EXPECT_FALSE(run(builtin_step("sleep", JsonObject{{"duration", "soon"}})).ok);
}

TEST_F(RunnerTest, ExecCheckSucceedsOnExitZero) {
  EXPECT_TRUE(run(exec_step({"true"}, model::StepType::Check)).ok);
  EXPECT_FALSE(run(exec_step({"false"}, model::StepType::Check)).ok);
}

TEST_F(RunnerTest, LuaCheckNeedsATruthyValue) {
  EXPECT_TRUE(run(lua_step("return ctx.load < 0.9", model::StepType::Check), JsonObject{{"load", 0.5}}).ok);
  auto o = run(lua_step("return ctx.load < 0.9", model::StepType::Check), JsonObject{{"load", 0.95}});
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.error.find("check returned false"), std::string::npos) << o.error;
  EXPECT_FALSE(run(lua_step("return nil", model::StepType::Check)).ok);
  EXPECT_TRUE(run(lua_step("return nil", model::StepType::Action)).ok);
}

TEST_F(RunnerTest, DecisionReturnsABranchName) {
  auto o = run(lua_step("if ctx.load > 0.9 then return 'critical' end return 'normal'",
                        model::StepType::Decision),
               JsonObject{{"load", 0.95}});
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.value.as_string(), "critical");
  EXPECT_EQ(str(o.result, "value"), "critical");
  o = run(lua_step("return 42", model::StepType::Decision));
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.error.find("branch name"), std::string::npos) << o.error;
}

TEST_F(RunnerTest, NativeStepsSeeScopeAndChangeCtx) {
  model::Step s;
  s.id = "native";
  s.type = model::StepType::Check;
  s.executor = model::ExecutorKind::Native;
  s.native = [](model::NativeScope& scope) -> Result<Json> {
    scope.ctx.as_object()["touched"] = scope.ctx.at("n").as_int64() * 2;
    return Json(true);
  };
  auto o = run(s, JsonObject{{"n", 21}});
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.ctx_updates.at("touched").as_int64(), 42);
  EXPECT_FALSE(o.ctx_updates.contains("n"));

  s.native = [](model::NativeScope&) -> Result<Json> { return Json(false); };
  EXPECT_FALSE(run(s).ok);
  s.native = [](model::NativeScope&) -> Result<Json> { return opsrun::fail(ErrorCode::Unavailable, "api down"); };
  auto e = run(s);
  EXPECT_FALSE(e.ok);
  EXPECT_NE(e.error.find("api down"), std::string::npos) << e.error;
  s.native = [](model::NativeScope&) -> Result<Json> { throw std::runtime_error("kaboom"); };
  auto t = run(s);
  EXPECT_FALSE(t.ok);
  EXPECT_NE(t.error.find("kaboom"), std::string::npos) << t.error;
}

model::Step notify_step(std::vector<std::string> channels, std::string message) {
  model::Step s;
  s.id = "tell";
  s.type = model::StepType::Notify;
  s.channels = std::move(channels);
  s.message = std::move(message);
  return s;
}

TEST_F(RunnerTest, NotifyThroughTheLogChannel) {
  auto o = run(notify_step({"log"}, "{{ ctx.svc }} is healthy"), JsonObject{{"svc", "api"}});
  EXPECT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.result.at("channels").at("log").as_string(), "sent");
  EXPECT_EQ(str(o.result, "message"), "api is healthy");
}

TEST_F(RunnerTest, NotifyDeliversToEveryChannelWithTheRenderedMessage) {
  auto rec = std::make_shared<RecordingChannel>("pager", false);
  channels.add(rec);
  auto s = notify_step({"log", "pager"}, "disk {{ ctx.pct }}%");
  model::Runbook rb;
  rb.id = "disk-check";
  auto req = request_for(s, JsonObject{{"pct", 97}});
  req.runbook = &rb;
  auto o = runner.run(req, token);
  EXPECT_TRUE(o.ok) << o.error;
  ASSERT_EQ(rec->sent.size(), 1u);
  EXPECT_EQ(rec->sent[0].message, "disk 97%");
  EXPECT_EQ(rec->sent[0].runbook_id, "disk-check");
  EXPECT_EQ(rec->sent[0].execution_id, "exec-test-1");
  EXPECT_EQ(rec->sent[0].step_id, "tell");
}

TEST_F(RunnerTest, UnknownOrFailingChannelFailsTheStepButOthersStillDeliver) {
  auto o = run(notify_step({"log", "slack"}, "hi"));
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.error.find("unknown channel 'slack'"), std::string::npos) << o.error;
  EXPECT_EQ(o.result.at("channels").at("log").as_string(), "sent");
  EXPECT_EQ(o.result.at("channels").at("slack").as_string(), "failed: unknown channel");

  channels.add(std::make_shared<RecordingChannel>("webhook", true));
  o = run(notify_step({"webhook"}, "hi"));
  EXPECT_FALSE(o.ok);
  EXPECT_NE(std::string(o.result.at("channels").at("webhook").as_string()).find("503"), std::string::npos);
}

TEST_F(RunnerTest, DescribeRendersExecWithoutRunningIt) {
  TempDir dir;
  auto s = exec_step({"touch", "{{ ctx.marker }}"});
  s.exec.env = {{"MODE", "{{ ctx.mode }}"}, {"API_TOKEN", "{{ ctx.token }}"}};
  s.exec.cwd = "/tmp";
  const std::string marker = dir.file("m");
  auto d = runner.describe(request_for(s, JsonObject{{"marker", marker}, {"mode", "fast"}, {"token", "s3cr3t"}}));
  EXPECT_EQ(to_json_text(d.at("exec")), to_json_text(JsonArray{"touch", marker.c_str()}));
  EXPECT_EQ(d.at("env").at("MODE").as_string(), "fast");
  EXPECT_EQ(d.at("env").at("API_TOKEN").as_string(), "***");
  EXPECT_EQ(d.at("cwd").as_string(), "/tmp");
  EXPECT_FALSE(std::filesystem::exists(marker));
}

TEST_F(RunnerTest, DescribeRedactsAuthorizationAndSecretHeaders) {
  auto s = http_step("https://bot:pw@api.example.com/v1/{{ ctx.unit }}", model::StepType::Action);
  s.http.method = "POST";
  s.http.headers = {{"Authorization", "Bearer {{ ctx.token }}"},
                    {"X-Api-Key", "k-123"},
                    {"Accept", "application/json"}};
  auto d = runner.describe(request_for(s, JsonObject{{"unit", "api"}, {"token", "t0ps3cret"}}));
  const std::string text = to_json_text(d);
  EXPECT_EQ(text.find("t0ps3cret"), std::string::npos) << text;
  EXPECT_EQ(text.find("k-123"), std::string::npos) << text;
  EXPECT_EQ(text.find(":pw@"), std::string::npos) << text;
  EXPECT_EQ(d.at("http").at("headers").at("Authorization").as_string(), "***");
  EXPECT_EQ(d.at("http").at("headers").at("Accept").as_string(), "application/json");
  EXPECT_EQ(d.at("http").at("method").as_string(), "POST");
  EXPECT_EQ(d.at("http").at("url").as_string(), "https://***@api.example.com/v1/api");
}

TEST_F(RunnerTest, DescribeOtherExecutors) {
  EXPECT_EQ(runner.describe(request_for(lua_step("return 1"))).at("lua").as_string(), "return 1");
  auto b = runner.describe(request_for(builtin_step("sleep", JsonObject{{"duration", "{{ ctx.d }}"}}),
                                       JsonObject{{"d", "5s"}}));
  EXPECT_EQ(b.at("builtin").as_string(), "sleep");
  EXPECT_EQ(b.at("with").at("duration").as_string(), "5s");
  auto n = runner.describe(request_for(notify_step({"log"}, "hi {{ ctx.x }}"), JsonObject{{"x", 1}}));
  EXPECT_EQ(n.at("notify").at("message").as_string(), "hi 1");
}

TEST_F(RunnerTest, DryRunDescribesInsteadOfRunning) {
  TempDir dir;
  const std::string marker = dir.file("m");
  auto s = exec_step({"touch", marker});
  auto req = request_for(s);
  req.dry_run = true;
  auto o = runner.run(req, token);
  EXPECT_TRUE(o.ok);
  EXPECT_TRUE(o.result.at("dryRun").as_bool());
  EXPECT_FALSE(std::filesystem::exists(marker));
}

TEST_F(RunnerTest, EngineOnlyStepTypesAreRefused) {
  model::Step s;
  s.id = "pause";
  s.type = model::StepType::Wait;
  auto o = run(s);
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.error.find("engine"), std::string::npos) << o.error;
}

TEST(MakeScope, HasTheRootsAndOnlyAllowedEnv) {
  ::setenv("OPSRUN_TEST_ALLOWED", "yes", 1);
  ::setenv("OPSRUN_TEST_HIDDEN", "no", 1);
  auto scope = steps::make_scope(JsonObject{{"a", 1}}, JsonObject{{"s", JsonObject{}}}, Json("q1"), 2,
                                 "exec-1", {"OPSRUN_TEST_ALLOWED", "OPSRUN_TEST_UNSET"});
  EXPECT_EQ(scope.at("ctx").at("a").as_int64(), 1);
  EXPECT_TRUE(scope.at("results").at("s").is_object());
  EXPECT_EQ(scope.at("item").as_string(), "q1");
  EXPECT_EQ(scope.at("index").as_int64(), 2);
  EXPECT_EQ(scope.at("execution").at("id").as_string(), "exec-1");
  EXPECT_EQ(scope.at("env").at("OPSRUN_TEST_ALLOWED").as_string(), "yes");
  EXPECT_FALSE(scope.at("env").as_object().contains("OPSRUN_TEST_HIDDEN"));
  EXPECT_FALSE(scope.at("env").as_object().contains("OPSRUN_TEST_UNSET"));
}

TEST_F(RunnerTest, EnvTemplatesSeeOnlyAllowedVariables) {
  ::setenv("OPSRUN_TEST_REGION", "eu-west", 1);
  auto s = exec_step({"echo", "{{ env.OPSRUN_TEST_REGION }}"});
  auto req = request_for(s);
  req.scope = steps::make_scope(JsonObject{}, JsonObject{}, nullptr, -1, "e", {"OPSRUN_TEST_REGION"});
  auto o = runner.run(req, token);
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.value.as_string(), "eu-west");
}

}  // namespace
}  // namespace opsrun::testing
