#include "opsrun/timers/callback.h"

#include <gtest/gtest.h>

#include "support/loopback_http_server.h"

namespace opsrun::timers {
namespace {

using opsrun::testing::HttpResponse;
using opsrun::testing::LoopbackHttpServer;

const SystemTime kT0 = from_unix_ms(1'800'000'000'000);

CallbackResponse answer(int status, std::string body = "", std::optional<Millis> retry_after = {}) {
  return {status, std::move(body), retry_after, status == 0 ? "connection refused" : ""};
}

RetryPolicy policy() {
  RetryPolicy p;
  p.max_attempts = 4;
  p.initial_interval = Millis(100);
  p.backoff_multiplier = 3;
  p.max_interval = Millis(500);
  return p;
}

TEST(Judge, TwoHundredCompletesAndOkFalseReschedules) {
  EXPECT_EQ(judge(answer(200, "fine"), policy(), 1, kT0, kT0).verdict, Verdict::Done);
  EXPECT_EQ(judge(answer(204), policy(), 1, kT0, kT0).verdict, Verdict::Done);
  EXPECT_EQ(judge(answer(200, R"({"ok":true})"), policy(), 1, kT0, kT0).verdict, Verdict::Done);
  const Decision d = judge(answer(200, R"({"ok":false,"nextExecuteAt":"2027-01-01T00:00:00.500Z"})"), policy(), 1, kT0, kT0);
  EXPECT_EQ(d.verdict, Verdict::Reschedule);
  EXPECT_EQ(format_time(d.next), "2027-01-01T00:00:00.500Z");
  // Only a 200 reschedules; a 201 with the same body completes.
  EXPECT_EQ(judge(answer(201, R"({"ok":false,"nextExecuteAt":"2027-01-01T00:00:00Z"})"), policy(), 1, kT0, kT0).verdict,
            Verdict::Done);
}

TEST(Judge, FourHundredsFailWithoutRetryExcept429) {
  for (int s : {400, 404, 410, 422}) {
    const Decision d = judge(answer(s, "nope"), policy(), 1, kT0, kT0);
    EXPECT_EQ(d.verdict, Verdict::Fail) << s;
    EXPECT_NE(d.error.find("HTTP " + std::to_string(s)), std::string::npos);
  }
  EXPECT_EQ(judge(answer(429), policy(), 1, kT0, kT0).verdict, Verdict::Retry);
}

TEST(Judge, BackoffGrowsIsCappedAndHonoursRetryAfter) {
  EXPECT_EQ(judge(answer(0), policy(), 1, kT0, kT0).next, kT0 + Millis(100));
  EXPECT_EQ(judge(answer(503), policy(), 2, kT0, kT0).next, kT0 + Millis(300));
  EXPECT_EQ(judge(answer(503), policy(), 3, kT0, kT0).next, kT0 + Millis(500));  // capped
  EXPECT_EQ(judge(answer(429, "", Millis(7000)), policy(), 1, kT0, kT0).next, kT0 + Millis(7000));
  const Decision last = judge(answer(500, "boom"), policy(), 4, kT0, kT0);
  EXPECT_EQ(last.verdict, Verdict::Fail);
  EXPECT_NE(last.error.find("gave up after 4 attempts: HTTP 500: boom"), std::string::npos) << last.error;
  RetryPolicy short_lived = policy();
  short_lived.max_duration = Millis(250);
  EXPECT_EQ(judge(answer(500), short_lived, 2, kT0, kT0).verdict, Verdict::Fail);  // 300 ms > 250 ms
}

TEST(CurlSender, SendsTheContractHeadersAndBodyAndReadsRetryAfter) {
  LoopbackHttpServer server;
  server.push_response({.status = 429, .body = "slow down", .headers = {{"Retry-After", "3"}}});
  TimerSpec spec;
  spec.id = "t-42";
  spec.group_id = "g";
  spec.execute_at = kT0;
  spec.callback = Callback{.url = server.url("/hook"), .method = "POST", .headers = {{"X-Extra", "1"}},
                           .body = parse_json(R"({"order":7})").value()};
  CurlCallbackSender sender;
  const CallbackResponse r = sender.send(callback_request(spec, 2));
  EXPECT_EQ(r.status, 429);
  ASSERT_TRUE(r.retry_after);
  EXPECT_EQ(*r.retry_after, Millis(3000));
  const auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  const auto& req = reqs[0];
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.target, "/hook");
  EXPECT_EQ(req.header("Idempotency-Key"), "t-42");
  EXPECT_EQ(req.header("X-Opsrun-Attempt"), "2");
  EXPECT_EQ(req.header("X-Extra"), "1");
  auto body = parse_json(req.body);
  ASSERT_TRUE(body) << req.body;
  EXPECT_EQ(body->at("timerId"), "t-42");
  EXPECT_EQ(body->at("groupId"), "g");
  EXPECT_EQ(body->at("attempt"), 2);
  EXPECT_EQ(body->at("executeAt").as_string(), format_time(kT0));
  EXPECT_EQ(body->at("payload").at("order"), 7);
}

TEST(CurlSender, NetworkErrorHasNoStatus) {
  std::string url;
  {
    LoopbackHttpServer server;
    url = server.url("/gone");
  }
  TimerSpec spec;
  spec.id = "t";
  spec.callback = Callback{.url = url, .method = "POST", .headers = {}, .body = nullptr};
  spec.retry.timeout = Millis(2000);
  const CallbackResponse r = CurlCallbackSender().send(callback_request(spec, 1));
  EXPECT_EQ(r.status, 0);
  EXPECT_FALSE(r.error.empty());
}

}  // namespace
}  // namespace opsrun::timers
