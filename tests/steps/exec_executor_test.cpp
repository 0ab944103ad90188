// The exec executor against real processes.
#include <future>

#include "opsrun/steps/exec_executor.h"
#include "steps/steps_fixture.h"

namespace opsrun::testing {
namespace {

using steps::CancelReason;
using steps::CancelToken;
using steps::ExecExecutor;
using steps::ExecOptions;

struct ExecTest : ::testing::Test {
  SystemClock clock;
  CancelToken token{clock};
  ExecExecutor exec{ExecOptions{1 << 20, Millis(2000)}};

  steps::StepOutcome run(const model::Step& s, Json ctx = JsonObject{},
                         std::optional<Millis> timeout = std::nullopt) {
    return exec.run(request_for(s, std::move(ctx), timeout), token);
  }
};

TEST_F(ExecTest, ExitZeroIsSuccessAndStdoutIsTheTrimmedValue) {
  auto o = run(exec_step({"echo", "hello"}));
  EXPECT_TRUE(o.ok) << o.error;
  EXPECT_EQ(str(o.result, "status"), "success");
  EXPECT_EQ(o.result.at("exit_code").as_int64(), 0);
  EXPECT_EQ(str(o.result, "stdout"), "hello\n");
  EXPECT_EQ(o.value.as_string(), "hello");
  EXPECT_TRUE(o.result.as_object().contains("duration_ms"));
}

TEST_F(ExecTest, NonZeroExitIsFailureWithTheCode) {
  auto o = run(exec_step({"sh", "-c", "echo oops >&2; exit 3"}));
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(str(o.result, "status"), "failure");
  EXPECT_EQ(o.result.at("exit_code").as_int64(), 3);
  EXPECT_EQ(str(o.result, "stderr"), "oops\n");
  EXPECT_NE(o.error.find("exit code 3: oops"), std::string::npos) << o.error;
}

TEST_F(ExecTest, KilledBySignalReportsTheSignal) {
  auto o = run(exec_step({"sh", "-c", "kill -TERM $$"}));
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(str(o.result, "signal"), "SIGTERM");
}

TEST_F(ExecTest, BigOutputOnBothStreamsDoesNotDeadlockAndIsCapped) {
  ExecExecutor small{ExecOptions{1000, Millis(2000)}};
  // 2 MB to each stream, far more than a pipe buffer; the child must never block on us.
  auto s = exec_step({"sh", "-c", "head -c 2000000 /dev/zero | tr '\\0' a; head -c 2000000 /dev/zero | tr '\\0' b >&2"});
  auto o = small.run(request_for(s), token);
  EXPECT_TRUE(o.ok) << o.error;
  EXPECT_EQ(str(o.result, "stdout"), std::string(1000, 'a'));
  EXPECT_EQ(str(o.result, "stderr"), std::string(1000, 'b'));
  EXPECT_TRUE(o.result.at("stdout_truncated").as_bool());
  EXPECT_TRUE(o.result.at("stderr_truncated").as_bool());
}

TEST_F(ExecTest, UncappedOutputArrivesWhole) {
  auto o = run(exec_step({"sh", "-c", "head -c 300000 /dev/zero | tr '\\0' x"}));
  EXPECT_TRUE(o.ok) << o.error;
  EXPECT_EQ(str(o.result, "stdout").size(), 300000u);
  EXPECT_FALSE(o.result.as_object().contains("stdout_truncated"));
}

TEST_F(ExecTest, StdinTextIsFedToTheChild) {
  auto s = exec_step({"cat"});
  s.exec.stdin_text = "line for {{ ctx.who }}\n";
  auto o = run(s, JsonObject{{"who", "cat"}});
  EXPECT_TRUE(o.ok) << o.error;
  EXPECT_EQ(str(o.result, "stdout"), "line for cat\n");
}

TEST_F(ExecTest, LargeStdinToAChildThatStopsReadingDoesNotKillUs) {
  auto s = exec_step({"head", "-c", "10"});
  s.exec.stdin_text = std::string(1 << 20, 'z');
  auto o = run(s);
  EXPECT_TRUE(o.ok) << o.error;
  EXPECT_EQ(str(o.result, "stdout"), std::string(10, 'z'));
}

TEST_F(ExecTest, NoStdinMeansDevNull) {
  auto o = run(exec_step({"cat"}), JsonObject{}, Millis(5000));
  EXPECT_TRUE(o.ok) << o.error;
  EXPECT_EQ(str(o.result, "stdout"), "");
}

TEST_F(ExecTest, EnvIsRenderedAndAddedToTheInheritedEnvironment) {
  auto s = exec_step({"sh", "-c", "echo \"$MODE|$OPSRUN_IDEMPOTENCY_KEY|${PATH:+has-path}\""});
  s.exec.env = {{"MODE", "{{ ctx.mode }}"}};
  auto o = run(s, JsonObject{{"mode", "safe"}});
  EXPECT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.value.as_string(), "safe|exec-test-1/run/1|has-path");
}

TEST_F(ExecTest, CwdIsRendered) {
  TempDir dir;
  auto s = exec_step({"pwd"});
  s.exec.cwd = "{{ ctx.dir }}";
  auto o = run(s, JsonObject{{"dir", dir.path()}});
  EXPECT_TRUE(o.ok) << o.error;
  EXPECT_EQ(std::filesystem::canonical(std::string(o.value.as_string())), std::filesystem::canonical(dir.path()));
}

TEST_F(ExecTest, MissingCwdIsAClearFailure) {
  auto s = exec_step({"pwd"});
  s.exec.cwd = "/nonexistent/opsrun-dir";
  auto o = run(s);
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.error, "exec: no such directory: /nonexistent/opsrun-dir");
}

TEST_F(ExecTest, InjectionStringsStayOneLiteralArgumentAndReachNoShell) {
  TempDir dir;
  const std::string victim = dir.file("pwned");
  const std::string evil1 = "x; touch " + victim;
  const std::string evil2 = "$(touch " + victim + ")";
  const std::string evil3 = "`touch " + victim + "` | tee " + victim + " && id";
  auto s = exec_step({"printf", "[%s]\\n", "{{ ctx.a }}", "{{ ctx.b }}", "{{ ctx.c }}"});
  auto o = run(s, JsonObject{{"a", evil1}, {"b", evil2}, {"c", evil3}});
  EXPECT_TRUE(o.ok) << o.error;
  EXPECT_EQ(str(o.result, "stdout"), "[" + evil1 + "]\n[" + evil2 + "]\n[" + evil3 + "]\n");
  EXPECT_FALSE(std::filesystem::exists(victim));
}

TEST_F(ExecTest, MissingProgramIsAFailureNotACrash) {
  auto o = run(exec_step({"opsrun-no-such-program-xyz", "a"}));
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.error, "exec: no such file: opsrun-no-such-program-xyz");
  EXPECT_EQ(str(o.result, "status"), "failure");
}

TEST_F(ExecTest, EmptyArgvAndBadTemplatesAreFailures) {
  EXPECT_FALSE(run(exec_step({})).ok);
  auto o = run(exec_step({"echo", "{{ ctx.a"}));
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.error.find("argv[1]"), std::string::npos) << o.error;
}

TEST_F(ExecTest, TimeoutKillsTheChildAndItsGrandchildrenQuickly) {
  TempDir dir;
  const std::string pidfile = dir.file("grandchild.pid");
  auto s = exec_step({"sh", "-c", "sleep 30 & echo $! > \"$0\"; sleep 30", pidfile});
  const auto t0 = std::chrono::steady_clock::now();
  auto o = run(s, JsonObject{}, Millis(300));
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_FALSE(o.ok);
  EXPECT_TRUE(o.timed_out);
  EXPECT_NE(o.error.find("timed out"), std::string::npos) << o.error;
  EXPECT_LT(took, std::chrono::seconds(2)) << "SIGTERM should have sufficed";
  const pid_t grandchild = read_pid_file(pidfile);
  ASSERT_GT(grandchild, 0);
  EXPECT_TRUE(wait_gone(grandchild, Millis(2000))) << "grandchild " << grandchild << " survived";
}

TEST_F(ExecTest, AChildIgnoringSigtermIsKilledAfterTheGrace) {
  ExecExecutor quick{ExecOptions{1 << 20, Millis(300)}};
  auto s = exec_step({"sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.05; done"});
  const auto t0 = std::chrono::steady_clock::now();
  auto o = quick.run(request_for(s, JsonObject{}, Millis(200)), token);
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_TRUE(o.timed_out);
  EXPECT_EQ(str(o.result, "signal"), "SIGKILL");
  EXPECT_GE(took, Millis(450));
  EXPECT_LT(took, std::chrono::seconds(3));
}

TEST_F(ExecTest, CancelStopsTheProcessAtOnce) {
  TempDir dir;
  const std::string pidfile = dir.file("child.pid");
  auto s = exec_step({"sh", "-c", "echo $$ > \"$0\"; exec sleep 30", pidfile});
  auto req = request_for(s);
  auto fut = std::async(std::launch::async, [&] { return exec.run(req, token); });
  const pid_t child = read_pid_file(pidfile);
  ASSERT_GT(child, 0);
  const auto t0 = std::chrono::steady_clock::now();
  token.request(CancelReason::Cancelled);
  ASSERT_EQ(fut.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  auto o = fut.get();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
  EXPECT_FALSE(o.ok);
  EXPECT_TRUE(o.cancelled);
  EXPECT_FALSE(o.timed_out);
  EXPECT_TRUE(wait_gone(child, Millis(1000)));
}

TEST_F(ExecTest, ABackgroundChildHoldingStdoutDoesNotHoldTheStep) {
  TempDir dir;
  const std::string pidfile = dir.file("bg.pid");
  auto s = exec_step({"sh", "-c", "sleep 5 & echo $! > \"$0\"; echo done", pidfile});
  const auto t0 = std::chrono::steady_clock::now();
  auto o = run(s);
  EXPECT_TRUE(o.ok) << o.error;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  EXPECT_EQ(o.value.as_string(), "done");
  if (pid_t bg = read_pid_file(pidfile); bg > 0) ::kill(bg, SIGKILL);
}

TEST_F(ExecTest, OtherDescriptorsAreNotInherited) {
  // Only 0, 1 and 2 (and ls's own directory handle) may be open in the child.
  auto o = run(exec_step({"sh", "-c", "ls /proc/self/fd | wc -l"}));
  EXPECT_TRUE(o.ok) << o.error;
  EXPECT_LE(std::stoi(std::string(o.value.as_string())), 4);
}

}  // namespace
}  // namespace opsrun::testing
