// The timer API and its v1 compatibility API over real loopback HTTP, in process, with the
// timer service on a simulated clock.
#include "opsrun/server/timer_routes.h"

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "opsrun/common/ids.h"
#include "opsrun/metrics/registry.h"
#include "opsrun/server/auth.h"
#include "opsrun/server/http_server.h"
#include "opsrun/timers/callback.h"

namespace opsrun::server {
namespace {

using namespace std::chrono_literals;

struct Answer {
  long status = 0;
  Json body;
  std::string text;
};

std::size_t append_to(char* p, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(p, size * n);
  return size * n;
}

class NoCalls final : public timers::CallbackSender {
 public:
  timers::CallbackResponse send(const timers::CallbackRequest&) override { return {200, "", {}, ""}; }
};

class TimerApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("opsrun-timer-api-" + random_hex(6));
    store_ = std::move(*store::open_store({.data_dir = dir_.string()}));
    timers::ServiceOptions o;
    o.runbook_exists = [](std::string_view id) { return id == "restart"; };
    service_ = std::make_unique<timers::TimerService>(clock_, *store_, sender_, nullptr, registry_, o);
    ASSERT_TRUE(service_->load());
    add_timer_routes(router_, *service_, clock_);
    tokens_ = std::move(*TokenStore::create({{"v", Role::Viewer, hash_token("tok-viewer")},
                                             {"o", Role::Operator, hash_token("tok-operator")}}));
    ServerOptions options;
    options.port = 0;
    options.max_body_bytes = 16u << 20;
    server_ = std::move(*HttpServer::start(options, router_, tokens_, registry_));
  }
  void TearDown() override {
    server_.reset();
    service_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  Answer call(const std::string& method, const std::string& path, const std::string& body = {},
              const std::string& token = "tok-operator") {
    Answer a;
    CURL* c = curl_easy_init();
    curl_slist* h = curl_slist_append(nullptr, "Content-Type: application/json");
    if (!token.empty()) h = curl_slist_append(h, ("Authorization: Bearer " + token).c_str());
    const std::string url = "http://127.0.0.1:" + std::to_string(server_->port()) + path;
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    if (!body.empty()) {
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, append_to);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &a.text);
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a.status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (auto j = parse_json(a.text)) a.body = *j;
    return a;
  }
  static std::string str(const Json& j, const char* key) {
    const Json* v = j.is_object() ? j.as_object().if_contains(key) : nullptr;
    return v && v->is_string() ? std::string(v->as_string()) : std::string("<none>");
  }
  std::string timer(const std::string& id, const std::string& extra = "") {
    return R"({"id":")" + id + R"(","delay_ms":60000,"callback":{"url":"http://127.0.0.1:9/cb"})" + extra + "}";
  }

  std::filesystem::path dir_;
  FakeClock clock_;
  std::unique_ptr<store::Store> store_;
  NoCalls sender_;
  metrics::Registry registry_;
  std::unique_ptr<timers::TimerService> service_;
  Router router_;
  TokenStore tokens_ = *TokenStore::create({});
  std::unique_ptr<HttpServer> server_;
};

TEST_F(TimerApiTest, CreateIsIdempotentAndConflictsOnDifferentContent) {
  auto a = call("POST", "/api/timers", timer("t1"));
  EXPECT_EQ(a.status, 201) << a.text;
  EXPECT_EQ(str(a.body, "status"), "pending");
  EXPECT_EQ(str(a.body, "execute_at"), format_time(clock_.now() + 60s));
  EXPECT_EQ(call("POST", "/api/timers", timer("t1")).status, 200);
  auto c = call("POST", "/api/timers", R"({"id":"t1","delay_ms":5,"callback":{"url":"http://127.0.0.1:9/other"}})");
  EXPECT_EQ(c.status, 409) << c.text;
  EXPECT_EQ(str(c.body, "error"), "conflict");
  auto past = call("POST", "/api/timers", R"({"execute_at":"2000-01-01T00:00:00Z","callback":{"url":"http://a.example/"}})");
  EXPECT_EQ(past.status, 201);
  EXPECT_NE(str(past.body, "note").find("past"), std::string::npos) << past.text;
  EXPECT_TRUE(str(past.body, "id").starts_with("tmr-"));
}

TEST_F(TimerApiTest, BadInputNamesTheItemAndABadBatchStoresNothing) {
  auto a = call("POST", "/api/timers", R"({"delay_ms":5,"callback":{"url":"ftp://x/"}})");
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(str(a.body, "field"), "callback.url");
  std::string batch = R"({"timers":[)" + timer("b0") + "," + timer("b1") + "," + timer("b2") + "," +
                      R"({"id":"b3","delay_ms":5,"callback":{"url":"gopher://x/"}}]})";
  auto b = call("POST", "/api/timers/batch", batch);
  EXPECT_EQ(b.status, 400) << b.text;
  EXPECT_EQ(str(b.body, "field"), "timers[3].callback.url");
  EXPECT_EQ(b.body.at("index").as_int64(), 3);
  auto dup = call("POST", "/api/timers/batch", R"({"timers":[)" + timer("d") + "," + timer("d") + "]}");
  EXPECT_EQ(dup.status, 400);
  EXPECT_EQ(str(dup.body, "field"), "timers[1].id");
  auto rb = call("POST", "/api/timers/batch",
                 R"({"timers":[)" + timer("r0") + R"(,{"id":"r1","delay_ms":5,"runbook":{"id":"unknown"}}]})");
  EXPECT_EQ(rb.status, 400);
  EXPECT_NE(str(rb.body, "message").find("unknown runbook"), std::string::npos) << rb.text;
  EXPECT_EQ(rb.body.at("index").as_int64(), 1);
  std::string big = R"({"timers":[)";
  for (int i = 0; i <= 10'000; ++i) big += (i ? "," : "") + timer("big" + std::to_string(i));
  auto over = call("POST", "/api/timers/batch", big + "]}");
  EXPECT_EQ(over.status, 400);
  EXPECT_NE(str(over.body, "message").find("at most 10000"), std::string::npos);
  auto all = call("GET", "/api/timers", "", "tok-viewer");
  EXPECT_EQ(all.body.at("timers").as_array().size(), 0u) << all.text;  // nothing half-created
}

TEST_F(TimerApiTest, BatchListWithCursorGetCancelAndPatch) {
  std::string batch = R"({"timers":[)";
  for (int i = 0; i < 5; ++i)
    batch += std::string(i ? "," : "") + R"({"id":"k)" + std::to_string(i) + R"(","group_id":")" +
             (i % 2 ? "odd" : "even") + R"(","delay_ms":)" + std::to_string(1000 * (i + 1)) +
             R"(,"callback":{"url":"http://127.0.0.1:9/cb"}})";
  auto made = call("POST", "/api/timers/batch", batch + "]}");
  ASSERT_EQ(made.status, 201) << made.text;
  EXPECT_EQ(made.body.at("created").as_int64(), 5);
  EXPECT_EQ(call("POST", "/api/timers/batch", batch + "]}").body.at("existing").as_int64(), 5);

  auto page1 = call("GET", "/api/timers?group_id=even&limit=2", "", "tok-viewer");
  ASSERT_EQ(page1.status, 200);
  ASSERT_EQ(page1.body.at("timers").as_array().size(), 2u);
  const std::string cursor = str(page1.body, "next_cursor");
  auto page2 = call("GET", "/api/timers?group_id=even&limit=2&cursor=" + cursor, "", "tok-viewer");
  ASSERT_EQ(page2.body.at("timers").as_array().size(), 1u);
  EXPECT_EQ(str(page2.body.at("timers").as_array()[0], "id"), "k4");
  EXPECT_TRUE(page2.body.at("next_cursor").is_null());
  EXPECT_EQ(call("GET", "/api/timers?status=bogus", "", "tok-viewer").status, 400);

  EXPECT_EQ(str(call("GET", "/api/timers/k1", "", "tok-viewer").body, "group_id"), "odd");
  EXPECT_EQ(call("GET", "/api/timers/nope", "", "tok-viewer").status, 404);

  auto patched = call("PATCH", "/api/timers/k1", R"({"delay_ms":30000})");
  EXPECT_EQ(patched.status, 200) << patched.text;
  EXPECT_EQ(str(patched.body, "execute_at"), format_time(clock_.now() + 30s));

  auto cancelled = call("DELETE", "/api/timers/k2");
  EXPECT_EQ(cancelled.status, 200);
  EXPECT_EQ(str(cancelled.body, "status"), "cancelled");
  EXPECT_EQ(call("DELETE", "/api/timers/k2").status, 409);
  clock_.advance(1s);
  EXPECT_EQ(service_->run_due(), 1);  // k0 fires
  auto fired = call("DELETE", "/api/timers/k0");
  EXPECT_EQ(fired.status, 409);
  EXPECT_NE(str(fired.body, "message").find("is fired and cannot be cancelled"), std::string::npos) << fired.text;
  EXPECT_EQ(call("PATCH", "/api/timers/k0", R"({"delay_ms":1})").status, 409);
  EXPECT_EQ(call("GET", "/api/timers?status=fired", "", "tok-viewer").body.at("timers").as_array().size(), 1u);
}

TEST_F(TimerApiTest, RolesOperatorWritesViewerReads) {
  EXPECT_EQ(call("POST", "/api/timers", timer("r"), "tok-viewer").status, 403);
  EXPECT_EQ(call("POST", "/api/timers", timer("r"), "").status, 401);
  EXPECT_EQ(call("POST", "/api/timers", timer("r")).status, 201);
  EXPECT_EQ(call("GET", "/api/timers/r", "", "tok-viewer").status, 200);
  EXPECT_EQ(call("DELETE", "/api/timers/r", "", "tok-viewer").status, 403);
  EXPECT_EQ(call("POST", "/api/v1/timers/get", R"({"namespace":"n","timerId":"x"})", "tok-viewer").status, 404);
  EXPECT_EQ(call("POST", "/api/v1/timers/create", "{}", "tok-viewer").status, 403);
}

TEST_F(TimerApiTest, V1CompatibilityShapes) {
  const std::string at = format_time(clock_.now() + 1h);
  auto made = call("POST", "/api/v1/timers/create",
                   R"({"namespace":"orders","id":"o-1","executeAt":")" + at +
                       R"(","callbackUrl":"http://127.0.0.1:9/cb","payload":{"order":1},
                       "retryPolicy":{"maxAttempts":3,"initialInterval":"30s","backoffMultiplier":2.0,
                       "maxInterval":"5m","maxAttemptsDuration":"1h"},"callbackTimeoutSeconds":5})");
  ASSERT_EQ(made.status, 200) << made.text;
  EXPECT_EQ(str(made.body, "id"), "o-1");
  EXPECT_EQ(str(made.body, "namespace"), "orders");
  EXPECT_EQ(str(made.body, "executeAt"), at);
  EXPECT_EQ(str(made.body, "callbackUrl"), "http://127.0.0.1:9/cb");
  EXPECT_EQ(made.body.at("payload").at("order").as_int64(), 1);
  EXPECT_EQ(str(made.body.at("retryPolicy"), "initialInterval"), "30s");
  EXPECT_EQ(str(made.body.at("retryPolicy"), "maxInterval"), "5m");
  EXPECT_EQ(made.body.at("callbackTimeoutSeconds").as_double(), 5.0);
  for (const char* k : {"createdAt", "updatedAt", "executedAt"}) EXPECT_TRUE(made.body.as_object().contains(k)) << k;
  // Idempotent on (namespace, id): 200 and the existing timer.
  auto again = call("POST", "/api/v1/timers/create",
                    R"({"namespace":"orders","id":"o-1","executeAt":")" + at + R"(","callbackUrl":"http://127.0.0.1:9/x"})");
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(str(again.body, "callbackUrl"), "http://127.0.0.1:9/cb");
  // The same id in another namespace is another timer.
  EXPECT_EQ(call("POST", "/api/v1/timers/create",
                 R"({"namespace":"billing","id":"o-1","executeAt":")" + at + R"(","callbackUrl":"http://127.0.0.1:9/b"})")
                .status,
            200);

  auto got = call("POST", "/api/v1/timers/get", R"({"namespace":"orders","timerId":"o-1"})", "tok-viewer");
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(str(got.body, "id"), "o-1");
  const std::string later = format_time(clock_.now() + 2h);
  auto upd = call("POST", "/api/v1/timers/update",
                  R"({"namespace":"orders","timerId":"o-1","executeAt":")" + later + R"(","callbackUrl":"http://127.0.0.1:9/new"})");
  EXPECT_EQ(upd.status, 200) << upd.text;
  EXPECT_EQ(str(upd.body, "executeAt"), later);
  EXPECT_EQ(str(upd.body, "callbackUrl"), "http://127.0.0.1:9/new");
  EXPECT_EQ(upd.body.at("payload").at("order").as_int64(), 1);

  auto missing = call("POST", "/api/v1/timers/get", R"({"namespace":"orders","timerId":"nope"})", "tok-viewer");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(str(missing.body, "error"), "TIMER_NOT_FOUND");
  EXPECT_TRUE(missing.body.as_object().contains("details"));
  EXPECT_TRUE(missing.body.as_object().contains("timestamp"));
  auto bad = call("POST", "/api/v1/timers/create", R"({"namespace":"orders","id":"o-2","executeAt":")" + at + R"("})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(str(bad.body, "error"), "INVALID_INPUT");
  EXPECT_EQ(str(bad.body.at("details"), "field"), "callbackUrl");
  auto badurl = call("POST", "/api/v1/timers/create",
                     R"({"namespace":"orders","id":"o-2","executeAt":")" + at + R"(","callbackUrl":"file:///etc/passwd"})");
  EXPECT_EQ(badurl.status, 400);
  EXPECT_EQ(str(badurl.body.at("details"), "field"), "callbackUrl");

  auto del = call("POST", "/api/v1/timers/delete", R"({"namespace":"orders","timerId":"o-1"})");
  EXPECT_EQ(del.status, 204);
  EXPECT_EQ(del.text, "");
  EXPECT_EQ(call("POST", "/api/v1/timers/delete", R"({"namespace":"orders","timerId":"o-1"})").status, 204);
  EXPECT_EQ(call("POST", "/api/v1/timers/delete", R"({"namespace":"orders","timerId":"zzz"})").status, 404);
  EXPECT_EQ(str(call("GET", "/api/timers/orders:o-1", "", "tok-viewer").body, "status"), "cancelled");
}

TEST_F(TimerApiTest, MetricsAreExposed) {
  call("POST", "/api/timers", timer("m1"));
  call("POST", "/api/timers", R"({"delay_ms":5,"callback":{"url":"ftp://x/"}})");
  const std::string m = registry_.render();
  for (const char* name : {"timer_creations_total 1", "timer_creation_attempts_total 2",
                           "timer_creation_failures_total 1", "timer_executions_total",
                           "timer_executions_success_total", "active_timers_total{group_id=\"default\"} 1",
                           "timer_execution_queue_size", "callback_attempts_total", "callback_failures_total",
                           "timer_lateness_seconds_bucket"})
    EXPECT_NE(m.find(name), std::string::npos) << name;
}

}  // namespace
}  // namespace opsrun::server
