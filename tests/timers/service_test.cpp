#include "opsrun/timers/service.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "opsrun/common/ids.h"
#include "opsrun/metrics/registry.h"
#include "opsrun/timers/callback.h"
#include "support/loopback_http_server.h"

namespace opsrun::timers {
namespace {

using namespace std::chrono_literals;
using opsrun::testing::HttpResponse;
using opsrun::testing::LoopbackHttpServer;

// Records each call with the simulated time it arrived; answers 200 unless told otherwise.
class RecordingSender final : public CallbackSender {
 public:
  explicit RecordingSender(Clock& clock) : clock_(clock) {}
  CallbackResponse send(const CallbackRequest& r) override {
    std::function<void(const CallbackRequest&)> hook;
    {
      std::lock_guard g(mu_);
      std::string id;
      for (const auto& [k, v] : r.headers)
        if (k == "Idempotency-Key") id = v;
      calls_.emplace_back(id, clock_.now());
      hook = hook_;
    }
    if (hook) hook(r);
    return {200, "", {}, ""};
  }
  std::vector<std::pair<std::string, SystemTime>> calls() const {
    std::lock_guard g(mu_);
    return calls_;
  }
  void on_send(std::function<void(const CallbackRequest&)> h) {
    std::lock_guard g(mu_);
    hook_ = std::move(h);
  }

 private:
  Clock& clock_;
  mutable std::mutex mu_;
  std::vector<std::pair<std::string, SystemTime>> calls_;
  std::function<void(const CallbackRequest&)> hook_;
};

class TimerServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("opsrun-timers-" + random_hex(6));
    auto s = store::open_store({.data_dir = dir_.string()});
    ASSERT_TRUE(s) << s.error().describe();
    store_ = std::move(*s);
  }
  void TearDown() override {
    svc_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  // A fresh service over the same store, as after a restart.
  TimerService& restart(CallbackSender* sender = nullptr, RunbookStarter starter = {}) {
    svc_.reset();
    registry_ = std::make_unique<metrics::Registry>();
    ServiceOptions o;
    o.horizon = 60s;
    o.runbook_exists = [](std::string_view id) { return id != "nope"; };
    svc_ = std::make_unique<TimerService>(clock_, *store_, sender ? *sender : recorder_, std::move(starter), *registry_, o);
    EXPECT_TRUE(svc_->load());
    return *svc_;
  }
  TimerSpec spec(std::string id, Millis in, std::string url = "http://127.0.0.1:9/cb") {
    auto s = parse_timer(parse_json(R"({"id":")" + id + R"(","delay_ms":)" + std::to_string(in.count()) +
                                    R"(,"callback":{"url":")" + url + R"("},"retry":{"initial_interval_ms":100}})")
                             .value(),
                         clock_.now(), "");
    EXPECT_TRUE(s) << s.error().describe();
    return *s;
  }
  void create(std::vector<TimerSpec> specs) {
    auto r = svc_->create(std::move(specs), "timers");
    ASSERT_TRUE(r) << r.error().describe();
  }
  store::TimerRow row(const std::string& id) { return store_->get_timer(id)->value(); }
  // Advances the simulated clock in `step`s up to `until`, firing after each step.
  void run_until(SystemTime until, Millis step = 10ms) {
    while (clock_.now() < until) {
      clock_.advance(step);
      svc_->run_due();
    }
  }
  std::string metrics() { return registry_->render(); }

  std::filesystem::path dir_;
  FakeClock clock_;
  std::unique_ptr<store::Store> store_;
  RecordingSender recorder_{clock_};
  std::unique_ptr<metrics::Registry> registry_;
  std::unique_ptr<TimerService> svc_;
};

TEST_F(TimerServiceTest, FiresInDueOrderAtTheirTimes) {
  restart();
  const SystemTime t0 = clock_.now();
  create({spec("c", 3000ms), spec("a", 1000ms), spec("e", 5000ms), spec("b", 2000ms), spec("d", 4000ms)});
  EXPECT_EQ(svc_->run_due(), 0);
  run_until(t0 + 6s);
  const auto calls = recorder_.calls();
  ASSERT_EQ(calls.size(), 5u);
  const std::vector<std::string> order = {"a", "b", "c", "d", "e"};
  for (std::size_t i = 0; i < calls.size(); ++i) {
    EXPECT_EQ(calls[i].first, order[i]);
    EXPECT_EQ(calls[i].second, t0 + Millis(1000 * (i + 1)));  // on the first 10 ms step at or after its time
  }
  EXPECT_EQ(row("c").status, "fired");
  EXPECT_EQ(*row("c").executed_at_ms, to_unix_ms(t0 + 3s));
  EXPECT_NE(metrics().find("timer_executions_success_total 5"), std::string::npos);
  EXPECT_NE(metrics().find("timer_creations_total 5"), std::string::npos);
}

TEST_F(TimerServiceTest, FarFutureTimersStayInTheStoreUntilTheirWindow) {
  restart();
  const SystemTime t0 = clock_.now();
  std::vector<TimerSpec> far;
  for (int i = 0; i < 500; ++i) far.push_back(spec("far-" + std::to_string(i), 24h + Millis(i)));
  create(std::move(far));
  create({spec("near", 5s)});
  EXPECT_EQ(svc_->in_memory(), 1u);  // only the near future is held
  run_until(t0 + 10s, 1s);
  EXPECT_EQ(recorder_.calls().size(), 1u);
  clock_.advance_to(t0 + 24h - 10s);
  svc_->run_due();                                 // the window now reaches them
  EXPECT_EQ(svc_->in_memory(), 500u);
  run_until(t0 + 24h + 3s, 500ms);
  EXPECT_EQ(recorder_.calls().size(), 501u);
  EXPECT_EQ(svc_->in_memory(), 0u);
}

TEST_F(TimerServiceTest, RestartFiresOverdueTimersAtOnceAndRecordsLateness) {
  restart();
  const SystemTime t0 = clock_.now();
  create({spec("early", 10s), spec("missed", 20s), spec("later", 2h)});
  run_until(t0 + 15s, 1s);
  ASSERT_EQ(recorder_.calls().size(), 1u);
  svc_.reset();                                    // down from t0+15s ...
  clock_.advance_to(t0 + 1h);                      // ... to t0+1h
  restart();
  EXPECT_EQ(svc_->run_due(), 1);                   // the first pass after start-up
  const auto missed = row("missed");
  EXPECT_EQ(missed.status, "fired");
  EXPECT_EQ(*missed.executed_at_ms - missed.due_at_ms, to_unix_ms(t0 + 1h) - to_unix_ms(t0 + 20s));
  EXPECT_EQ(timer_to_json(missed).at("lateness_ms").as_int64(), 3'580'000);
  EXPECT_NE(metrics().find("timer_lateness_seconds_count 1"), std::string::npos) << metrics();
  EXPECT_EQ(row("later").status, "pending");
  EXPECT_NE(metrics().find("active_timers_total{group_id=\"default\"} 1"), std::string::npos) << metrics();
  run_until(t0 + 2h + 1s, 1s);
  EXPECT_EQ(row("later").status, "fired");
  EXPECT_EQ(recorder_.calls().size(), 3u);
}

TEST_F(TimerServiceTest, CallbackRetriesThroughFailureAndRetryAfterThenSucceeds) {
  LoopbackHttpServer server;
  server.push_response({.status = 500, .body = "boom"});
  server.push_response({.status = 429, .body = "slow", .headers = {{"Retry-After", "2"}}});
  server.push_response({.status = 200, .body = R"({"ok":true})"});
  CurlCallbackSender curl;
  restart(&curl);
  const SystemTime t0 = clock_.now();
  create({spec("r", 1s, server.url("/cb"))});
  clock_.advance_to(t0 + 1s);
  EXPECT_EQ(svc_->run_due(), 1);
  auto r = row("r");
  EXPECT_EQ(r.status, "pending");
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(r.due_at_ms, to_unix_ms(t0 + 1100ms));  // initial_interval 100 ms
  EXPECT_NE(r.last_error.find("HTTP 500: boom"), std::string::npos) << r.last_error;
  clock_.advance_to(t0 + 1100ms);
  EXPECT_EQ(svc_->run_due(), 1);
  r = row("r");
  EXPECT_EQ(r.due_at_ms, to_unix_ms(t0 + 3100ms));  // Retry-After: 2 beats the 200 ms backoff
  EXPECT_NE(r.last_error.find("HTTP 429"), std::string::npos);
  clock_.advance_to(t0 + 3099ms);
  EXPECT_EQ(svc_->run_due(), 0);
  clock_.advance_to(t0 + 3100ms);
  EXPECT_EQ(svc_->run_due(), 1);
  r = row("r");
  EXPECT_EQ(r.status, "fired");
  EXPECT_EQ(r.attempts, 3);
  EXPECT_EQ(r.last_error, "");
  EXPECT_EQ(*r.executed_at_ms, to_unix_ms(t0 + 1s));  // lateness is of the first firing
  const auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(reqs[i].header("Idempotency-Key"), "r");
    EXPECT_EQ(reqs[i].header("X-Opsrun-Attempt"), std::to_string(i + 1));
  }
  EXPECT_NE(metrics().find("callback_attempts_total 3"), std::string::npos);
  EXPECT_NE(metrics().find("callback_failures_total 2"), std::string::npos);
}

TEST_F(TimerServiceTest, FourHundredFailsAtOnceAndExhaustedRetriesLeaveFailed) {
  LoopbackHttpServer server;
  server.set_handler([](const opsrun::testing::HttpRequest& r) {
    return r.target == "/gone" ? HttpResponse{.status = 404, .body = "no such order"} : HttpResponse{.status = 503, .body = "down"};
  });
  CurlCallbackSender curl;
  restart(&curl);
  const SystemTime t0 = clock_.now();
  auto flaky = spec("flaky", 1s, server.url("/flaky"));
  flaky.retry.max_attempts = 2;
  create({spec("gone", 1s, server.url("/gone")), flaky});
  run_until(t0 + 5s, 50ms);
  EXPECT_EQ(row("gone").status, "failed");
  EXPECT_EQ(row("gone").attempts, 1);
  EXPECT_NE(row("gone").last_error.find("HTTP 404: no such order"), std::string::npos);
  EXPECT_EQ(row("flaky").status, "failed");
  EXPECT_EQ(row("flaky").attempts, 2);
  EXPECT_NE(row("flaky").last_error.find("gave up after 2 attempts: HTTP 503"), std::string::npos) << row("flaky").last_error;
  EXPECT_EQ(server.request_count(), 3u);
}

TEST_F(TimerServiceTest, OkFalseReschedulesTheTimer) {
  LoopbackHttpServer server;
  const SystemTime t0 = clock_.now();
  server.push_response({.status = 200, .body = R"({"ok":false,"nextExecuteAt":")" + format_time(t0 + 30s) + R"("})"});
  CurlCallbackSender curl;
  restart(&curl);
  create({spec("again", 1s, server.url("/cb"))});
  run_until(t0 + 2s, 100ms);
  EXPECT_EQ(row("again").status, "pending");
  EXPECT_EQ(row("again").due_at_ms, to_unix_ms(t0 + 30s));
  EXPECT_EQ(timer_to_json(row("again")).at("execute_at").as_string(), format_time(t0 + 30s));
  run_until(t0 + 31s, 500ms);
  EXPECT_EQ(row("again").status, "fired");
  EXPECT_EQ(server.request_count(), 2u);
}

TEST_F(TimerServiceTest, CancelRacesAFiringAndExactlyOneWins) {
  restart();
  const SystemTime t0 = clock_.now();
  // Cancelled before its time: never fires.
  create({spec("early-cancel", 1s)});
  ASSERT_TRUE(svc_->cancel("early-cancel"));
  // Cancelled while its callback is in flight: refused, and it fires.
  create({spec("mid", 1s)});
  Result<store::TimerRow> mid_cancel = fail(ErrorCode::Internal, "not called");
  recorder_.on_send([&](const CallbackRequest&) { mid_cancel = svc_->cancel("mid"); });
  run_until(t0 + 2s, 100ms);
  recorder_.on_send({});
  ASSERT_FALSE(mid_cancel);
  EXPECT_EQ(mid_cancel.error().code, ErrorCode::Conflict);
  EXPECT_NE(mid_cancel.error().message.find("being fired"), std::string::npos);
  auto after = svc_->cancel("mid");
  ASSERT_FALSE(after);
  EXPECT_NE(after.error().message.find("fired"), std::string::npos);
  EXPECT_EQ(row("early-cancel").status, "cancelled");
  ASSERT_EQ(recorder_.calls().size(), 1u);

  // Many at once from two threads: each timer is either cancelled and never called, or
  // called and not cancelled.
  std::vector<TimerSpec> many;
  for (int i = 0; i < 300; ++i) many.push_back(spec("m" + std::to_string(i), 1s));
  create(std::move(many));
  clock_.advance(1s);
  std::vector<bool> cancelled(300, false);
  std::thread canceller([&] {
    for (int i = 299; i >= 0; --i) cancelled[static_cast<std::size_t>(i)] = svc_->cancel("m" + std::to_string(i)).has_value();
  });
  svc_->run_due();
  canceller.join();
  std::set<std::string> called;
  for (const auto& c : recorder_.calls()) called.insert(c.first);
  int n_cancelled = 0;
  for (int i = 0; i < 300; ++i) {
    const std::string id = "m" + std::to_string(i);
    EXPECT_NE(cancelled[static_cast<std::size_t>(i)], called.contains(id)) << id;
    EXPECT_EQ(row(id).status, cancelled[static_cast<std::size_t>(i)] ? "cancelled" : "fired") << id;
    n_cancelled += cancelled[static_cast<std::size_t>(i)] ? 1 : 0;
  }
  EXPECT_EQ(called.size() - 1 + static_cast<std::size_t>(n_cancelled), 300u);
}

TEST_F(TimerServiceTest, CreateIsIdempotentConflictsOnDifferentContentAndBatchesAreAllOrNothing) {
  restart();
  auto first = svc_->create({spec("same", 10s)});
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->created[0]);
  clock_.advance(2s);  // a repeated delay-based request still names the same timer
  auto again = svc_->create({spec("same", 10s)});
  ASSERT_TRUE(again) << again.error().describe();
  EXPECT_FALSE(again->created[0]);
  auto other = svc_->create({spec("same", 99s)});
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, ErrorCode::Conflict);

  auto dup = svc_->create({spec("x1", 5s), spec("x1", 5s)}, "timers");
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, ErrorCode::InvalidArgument);
  EXPECT_EQ(dup.error().where, "timers[1].id");
  auto rb = parse_timer(parse_json(R"({"id":"rb","delay_ms":5,"runbook":{"id":"nope"}})").value(), clock_.now(), "");
  auto unknown = svc_->create({spec("y1", 5s), *rb}, "timers");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().where, "timers[1].runbook.id");
  auto conflict = svc_->create({spec("z1", 5s), spec("same", 50s)}, "timers");
  ASSERT_FALSE(conflict);
  EXPECT_EQ(conflict.error().where, "timers[1].id");
  for (const char* id : {"x1", "y1", "z1", "rb"}) EXPECT_FALSE(store_->get_timer(id)->has_value()) << id;
  EXPECT_NE(metrics().find("timer_creation_failures_total 7"), std::string::npos) << metrics();
}

TEST_F(TimerServiceTest, RunbookTimersStartTheRunbookAndRetryWhenUnavailable) {
  std::vector<std::string> started;
  int refusals = 1;
  RunbookStarter starter = [&](const TimerSpec& s, SystemTime) -> Result<std::string> {
    if (refusals-- > 0) return fail(ErrorCode::Unavailable, "engine busy");
    started.push_back(s.runbook->id + ":" + to_json_text(s.runbook->context));
    return std::string("exec-1");
  };
  restart(nullptr, starter);
  const SystemTime t0 = clock_.now();
  auto s = parse_timer(parse_json(R"({"id":"rb","delay_ms":1000,"runbook":{"id":"restart","context":{"host":"a"}},
                                     "retry":{"initial_interval_ms":500}})")
                           .value(),
                       t0, "");
  create({*s});
  run_until(t0 + 1s, 100ms);
  EXPECT_TRUE(started.empty());
  EXPECT_EQ(row("rb").attempts, 1);
  run_until(t0 + 2s, 100ms);
  ASSERT_EQ(started.size(), 1u);
  EXPECT_EQ(started[0], R"(restart:{"host":"a"})");
  EXPECT_EQ(row("rb").status, "fired");
}

TEST_F(TimerServiceTest, PatchMovesAPendingTimer) {
  restart();
  const SystemTime t0 = clock_.now();
  create({spec("p", 5s)});
  auto moved = svc_->patch("p", parse_json(R"({"delay_ms":20000})").value());
  ASSERT_TRUE(moved) << moved.error().describe();
  run_until(t0 + 10s, 1s);
  EXPECT_TRUE(recorder_.calls().empty());
  run_until(t0 + 21s, 1s);
  ASSERT_EQ(recorder_.calls().size(), 1u);
  EXPECT_EQ(recorder_.calls()[0].second, t0 + 20s);
  auto late = svc_->patch("p", parse_json(R"({"delay_ms":1})").value());
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, ErrorCode::Conflict);
}

TEST_F(TimerServiceTest, ThreadsFireOnTheClock) {
  restart();
  ASSERT_TRUE(svc_->start());
  const SystemTime t0 = clock_.now();
  create({spec("th", 3s)});
  clock_.advance_to(t0 + 3s);
  for (int i = 0; i < 500 && row("th").status != "fired"; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(row("th").status, "fired");
  svc_->stop();
}

}  // namespace
}  // namespace opsrun::timers
