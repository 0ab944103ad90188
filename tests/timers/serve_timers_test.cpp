// The real `opsrun serve` and the `opsrun timers` CLI: a callback arrives over loopback HTTP,
// a timer that came due while the server was down fires right after start-up with its
// lateness recorded, cancel and bad input answer clearly.
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "cli/run_binary.h"
#include "opsrun/common/ids.h"
#include "opsrun/common/json.h"
#include "support/loopback_http_server.h"
#include "support/serve_process.h"

namespace opsrun::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kToken = "opsr_timers_e2e_admin_token";

class ServeTimers : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("opsrun-serve-timers-" + random_hex(6));
    fs::create_directories(dir_ / "runbooks");
  }
  void TearDown() override {
    stop();
    fs::remove_all(dir_);
  }
  void start() {
    serve_ = std::make_unique<ServeProcess>(
        dir_, std::vector<std::string>{"--data-dir", (dir_ / "data").string(), "--runbooks", (dir_ / "runbooks").string(),
                                       "--grace", "1"},
        std::vector<std::string>{std::string("OPSRUN_BOOTSTRAP_TOKEN=") + kToken});
    ASSERT_TRUE(serve_->ok()) << "serve did not report its port";
  }
  void stop() { serve_.reset(); }
  ProcessResult timers(std::vector<std::string> args) {
    args.insert(args.begin(), "timers");
    for (const char* a : {"--server", "", "--token", kToken}) args.emplace_back(a);
    args[args.size() - 3] = serve_->base();
    return run_opsrun(args);
  }
  static bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    for (auto t = 0ms; t < limit; t += 20ms) {
      if (done()) return true;
      std::this_thread::sleep_for(20ms);
    }
    return done();
  }

  fs::path dir_;
  std::unique_ptr<ServeProcess> serve_;
};

TEST_F(ServeTimers, CallbackRestartCancelAndBadInputThroughTheCli) {
  LoopbackHttpServer hook;
  start();
  auto a = timers({"create", "--in", "300ms", "--callback", hook.url("/hook"), "--id", "e2e-1", "--group", "g1",
                   "--payload", R"({"order":42})"});
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  EXPECT_NE(a.out.find("e2e-1"), std::string::npos);
  ASSERT_EQ(timers({"create", "--in", "2s", "--callback", hook.url("/late"), "--id", "e2e-overdue"}).exit_code, 0);
  ASSERT_EQ(timers({"create", "--in", "1h", "--callback", hook.url("/never"), "--id", "e2e-later"}).exit_code, 0);

  ASSERT_TRUE(wait_for([&] { return hook.request_count() >= 1; }, 10s));
  auto first = hook.requests()[0];
  EXPECT_EQ(first.target, "/hook");
  EXPECT_EQ(first.header("Idempotency-Key"), "e2e-1");
  EXPECT_EQ(first.header("X-Opsrun-Attempt"), "1");
  EXPECT_NE(first.body.find(R"("payload":{"order":42})"), std::string::npos) << first.body;
  ASSERT_TRUE(wait_for([&] { return timers({"show", "e2e-1"}).out.find("fired") != std::string::npos; }, 5s));

  stop();  // e2e-overdue comes due while the server is down
  std::this_thread::sleep_for(2500ms);
  EXPECT_EQ(hook.request_count(), 1u);
  start();
  ASSERT_TRUE(wait_for([&] { return hook.request_count() >= 2; }, 10s));
  EXPECT_EQ(hook.requests()[1].target, "/late");
  ProcessResult shown;
  ASSERT_TRUE(wait_for(
      [&] {
        shown = timers({"show", "e2e-overdue", "--output", "json"});
        return shown.out.find("\"fired\"") != std::string::npos;
      },
      5s));
  auto j = parse_json(shown.out);
  ASSERT_TRUE(j) << shown.out;
  EXPECT_GT(j->at("lateness_ms").as_int64(), 200) << shown.out;  // down for ~0.5 s past its time at least

  EXPECT_EQ(timers({"cancel", "e2e-later"}).exit_code, 0);
  auto again = timers({"cancel", "e2e-later"});
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_NE(again.err.find("cancelled"), std::string::npos) << again.err;
  auto fired = timers({"cancel", "e2e-1"});
  EXPECT_EQ(fired.exit_code, 2);
  EXPECT_NE(fired.err.find("fired"), std::string::npos) << fired.err;
  auto bad = timers({"create", "--in", "1s", "--callback", "ftp://example/x"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("callback.url"), std::string::npos) << bad.err;
  auto list = timers({"list", "--status", "fired"});
  EXPECT_EQ(list.exit_code, 0);
  EXPECT_NE(list.out.find("e2e-1"), std::string::npos);
  EXPECT_NE(list.out.find("e2e-overdue"), std::string::npos);
  EXPECT_EQ(list.out.find("e2e-later"), std::string::npos);
}

}  // namespace
}  // namespace opsrun::testing
