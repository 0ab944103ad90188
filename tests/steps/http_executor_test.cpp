// The http executor against a real loopback server.
#include <cstdlib>
#include <future>

#include "opsrun/steps/http_executor.h"
#include "steps/steps_fixture.h"
#include "support/loopback_http_server.h"

namespace opsrun::testing {
namespace {

using steps::CancelReason;
using steps::CancelToken;
using steps::HttpExecutor;

struct HttpTest : ::testing::Test {
  static void SetUpTestSuite() {
    // A proxy from the developer's environment must not intercept loopback requests.
    ::setenv("no_proxy", "127.0.0.1,localhost", 1);
    ::setenv("NO_PROXY", "127.0.0.1,localhost", 1);
  }
  LoopbackHttpServer server;
  SystemClock clock;
  CancelToken token{clock};
  HttpExecutor http;

  steps::StepOutcome run(const model::Step& s, Json ctx = JsonObject{},
                         std::optional<Millis> timeout = std::nullopt) {
    return http.run(request_for(s, std::move(ctx), timeout), token);
  }
};

TEST_F(HttpTest, DefaultExpectationIsAny2xx) {
  server.push_response({.status = 204, .body = ""});
  auto o = run(http_step(server.url("/health")));
  EXPECT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.result.at("http_status").as_int64(), 204);
  EXPECT_EQ(str(o.result, "status"), "success");
  ASSERT_EQ(server.request_count(), 1u);
  EXPECT_EQ(server.requests()[0].method, "GET");
  EXPECT_EQ(server.requests()[0].target, "/health");
}

TEST_F(HttpTest, A500FailsAndTheErrorNamesUrlAndReason) {
  server.push_response({.status = 500, .body = "boom"});
  auto o = run(http_step(server.url("/x")));
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.result.at("http_status").as_int64(), 500);
  EXPECT_EQ(str(o.result, "body"), "boom");
  EXPECT_NE(o.error.find(server.url("/x")), std::string::npos) << o.error;
  EXPECT_NE(o.error.find("got 500"), std::string::npos) << o.error;
}

TEST_F(HttpTest, ExplicitStatusMustMatchExactly) {
  auto s = http_step(server.url("/"));
  s.http.expect.status = 201;
  server.push_response({.status = 200});
  EXPECT_FALSE(run(s).ok);
  server.push_response({.status = 201});
  EXPECT_TRUE(run(s).ok);
}

TEST_F(HttpTest, BodyContains) {
  auto s = http_step(server.url("/"));
  s.http.expect.body_contains = "healthy";
  server.push_response({.body = "all healthy"});
  EXPECT_TRUE(run(s).ok);
  server.push_response({.body = "degraded"});
  auto o = run(s);
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.error.find("does not contain 'healthy'"), std::string::npos) << o.error;
}

TEST_F(HttpTest, JsonExpectationsAndParsedBody) {
  auto s = http_step(server.url("/status"));
  s.http.expect.json = {{"$.status", Json("ok")}, {"$.db.replicas", Json(3)}, {"$.load", Json(0.5)}};
  const std::string good = R"({"status":"ok","db":{"replicas":3},"load":0.5})";
  server.push_response({.body = good, .content_type = "application/json"});
  auto o = run(s);
  EXPECT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.result.at("json").at("db").at("replicas").as_int64(), 3);

  server.push_response({.body = R"({"status":"ok","db":{"replicas":2},"load":0.5})",
                        .content_type = "application/json"});
  o = run(s);
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.error.find("$.db.replicas is 2, expected 3"), std::string::npos) << o.error;

  server.push_response({.body = R"({"status":"ok"})", .content_type = "application/json"});
  o = run(s);
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.error.find("missing"), std::string::npos) << o.error;

  server.push_response({.body = "not json"});
  EXPECT_FALSE(run(s).ok);
}

TEST_F(HttpTest, MethodHeadersBodyAndIdempotencyKeyAreRenderedAndSent) {
  auto s = http_step("{{ ctx.base }}/restart/{{ ctx.unit }}", model::StepType::Action);
  s.http.method = "post";
  s.http.headers = {{"Authorization", "Bearer {{ ctx.token }}"}, {"X-Unit", "{{ ctx.unit }}"}};
  s.http.body = R"({"unit": "{{ ctx.unit }}"})";
  auto o = run(s, JsonObject{{"base", server.url("")}, {"unit", "api"}, {"token", "t0ps3cret"}});
  EXPECT_TRUE(o.ok) << o.error;
  ASSERT_EQ(server.request_count(), 1u);
  const auto r = server.requests()[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/restart/api");
  EXPECT_EQ(r.header("Authorization"), "Bearer t0ps3cret");
  EXPECT_EQ(r.header("X-Unit"), "api");
  EXPECT_EQ(r.header("Idempotency-Key"), "exec-test-1/probe/1");
  EXPECT_EQ(r.header("Content-Type"), "application/json");
  EXPECT_EQ(r.body, R"({"unit": "api"})");
}

TEST_F(HttpTest, ResponseBodyIsCapped) {
  HttpExecutor small{steps::HttpOptions{100}};
  server.push_response({.body = std::string(10'000, 'q')});
  auto o = small.run(request_for(http_step(server.url("/"))), token);
  EXPECT_TRUE(o.ok) << o.error;
  EXPECT_EQ(str(o.result, "body").size(), 100u);
  EXPECT_TRUE(o.result.at("body_truncated").as_bool());
}

TEST_F(HttpTest, TimeoutFailsWithTimedOut) {
  server.push_response({.delay = Millis(3000)});
  const auto t0 = std::chrono::steady_clock::now();
  auto o = run(http_step(server.url("/slow")), JsonObject{}, Millis(200));
  EXPECT_FALSE(o.ok);
  EXPECT_TRUE(o.timed_out);
  EXPECT_NE(o.error.find("timed out"), std::string::npos) << o.error;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
}

TEST_F(HttpTest, CancelAbortsTheRequest) {
  server.push_response({.delay = Millis(10'000)});
  const auto step = http_step(server.url("/slow"));
  auto req = request_for(step);
  auto fut = std::async(std::launch::async, [&] { return http.run(req, token); });
  while (server.request_count() == 0) std::this_thread::sleep_for(Millis(5));
  const auto t0 = std::chrono::steady_clock::now();
  token.request(CancelReason::Cancelled);
  ASSERT_EQ(fut.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  auto o = fut.get();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(2500));
  EXPECT_FALSE(o.ok);
  EXPECT_TRUE(o.cancelled);
}

TEST_F(HttpTest, ConnectionRefusedNamesTheUrlWithoutCredentials) {
  const std::string url = "http://admin:hunter2@127.0.0.1:" + std::to_string(server.port()) + "/down";
  server.stop();
  auto o = run(http_step(url));
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.error.find("hunter2"), std::string::npos) << o.error;
  EXPECT_NE(o.error.find("http GET http://***@127.0.0.1:"), std::string::npos) << o.error;
}

TEST(JsonEqual, NumbersCompareByValue) {
  EXPECT_TRUE(steps::json_equal(Json(1), Json(1.0)));
  EXPECT_TRUE(steps::json_equal(Json(std::uint64_t{7}), Json(std::int64_t{7})));
  EXPECT_FALSE(steps::json_equal(Json(1), Json("1")));
  EXPECT_TRUE(steps::json_equal(JsonObject{{"a", JsonArray{1, 2}}}, JsonObject{{"a", JsonArray{1.0, 2}}}));
}

}  // namespace
}  // namespace opsrun::testing
