// The API over real loopback HTTP against the real `opsrun serve` binary.
#include <curl/curl.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "opsrun/common/ids.h"
#include "opsrun/common/json.h"
#include "fakes/webhook_receiver.h"
#include "opsrun/server/auth.h"
#include "support/serve_process.h"
#include "support/notify_runbook.h"

namespace opsrun::testing {
namespace {

namespace fs = std::filesystem;

constexpr const char* kAdmin = "opsr_admin_token_for_tests";
constexpr const char* kOperator = "opsr_operator_token_for_tests";
constexpr const char* kViewer = "opsr_viewer_token_for_tests";

struct HttpResult {
  long status = 0;
  std::string body;
};

std::size_t collect(char* p, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(p, size * n);
  return size * n;
}

HttpResult http(const std::string& method, const std::string& url, const std::string& token = {},
                const std::string& body = {}, long timeout_ms = 30'000) {
  HttpResult r;
  CURL* c = curl_easy_init();
  curl_slist* headers = nullptr;
  if (!token.empty()) headers = curl_slist_append(headers, ("Authorization: Bearer " + token).c_str());
  headers = curl_slist_append(headers, "Content-Type: application/json");
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
  if (!body.empty() || method == "POST") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
  if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(c);
  return r;
}

// Starts `opsrun serve` on a free port with viewer/operator tokens in a config file.
class Server {
 public:
  explicit Server(const fs::path& dir) : dir_(dir) {
    fs::create_directories(dir / "runbooks");
    std::ofstream(dir / "opsrun.yaml") << "tokens:\n"
                                       << "  - {name: viewer, role: viewer, hash: \"" << server::hash_token(kViewer) << "\"}\n"
                                       << "  - {name: oncall, role: operator, hash: \"" << server::hash_token(kOperator) << "\"}\n";
  }
  ~Server() { stop(); }

  void start() {
    serve_ = std::make_unique<ServeProcess>(
        dir_,
        std::vector<std::string>{"--config", (dir_ / "opsrun.yaml").string(), "--data-dir", (dir_ / "data").string(),
                                 "--runbooks", (dir_ / "runbooks").string(), "--grace", "1"},
        std::vector<std::string>{std::string("OPSRUN_BOOTSTRAP_TOKEN=") + kAdmin});
    ASSERT_TRUE(serve_->ok()) << "the server did not report its port";
  }

  // The exit code of a clean stop; 0 when it was not running.
  int stop() { return serve_ && serve_->ok() ? serve_->stop() : 0; }

  std::string url(const std::string& path) const { return serve_->url(path); }
  void add_config(const std::string& yaml) { std::ofstream(dir_ / "opsrun.yaml", std::ios::app) << yaml; }
  void add_runbook(const std::string& name, const std::string& yaml) {
    std::ofstream(dir_ / "runbooks" / name) << yaml;
  }
  std::string log() const {
    std::ifstream in(dir_ / "serve.err");
    return std::string((std::istreambuf_iterator<char>(in)), {});
  }

 private:
  fs::path dir_;
  std::unique_ptr<ServeProcess> serve_;
};

class Api : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("opsrun-api-" + random_hex(6));
    server_ = std::make_unique<Server>(dir_);
    server_->add_runbook("quick.yaml", R"(id: quick
name: Quick
tags: [test]
start: a
steps:
  - id: a
    type: action
    exec: ["echo", "{{ ctx.word }}"]
    on_success: b
  - id: b
    type: action
    builtin: noop
)");
    server_->add_runbook("slow.yaml", R"(id: slow
start: nap
steps:
  - id: nap
    type: action
    exec: ["sleep", "30"]
    idempotent: true
)");
    server_->add_runbook("gated.yaml", R"(id: gated
start: ask
steps:
  - id: ask
    type: approval
    message: "Promote?"
    on_success: promote
    on_failure: rollback
  - id: promote
    type: action
    builtin: noop
  - id: rollback
    type: action
    builtin: noop
)");
    server_->add_runbook("flaky.yaml", R"(id: flaky
start: prepare
steps:
  - id: prepare
    type: action
    builtin: noop
    on_success: poke
  - id: poke
    type: action
    exec: ["test", "-f", "{{ ctx.marker }}"]
)");
    server_->add_runbook("broken.yaml", "id: broken\nstart: nowhere\nsteps: []\n");
    server_->start();
  }
  void TearDown() override {
    server_.reset();
    fs::remove_all(dir_);
  }
  Json json(const HttpResult& r) {
    auto j = parse_json(r.body);
    EXPECT_TRUE(j) << r.body;
    return j ? *j : Json();
  }

  fs::path dir_;
  std::unique_ptr<Server> server_;
};

TEST_F(Api, ExecuteSyncAndAsyncThenReadBack) {
  auto sync = http("POST", server_->url("/api/runbooks/execute"), kOperator,
                   R"({"runbookId":"quick","context":{"word":"hi"},"async":false})");
  ASSERT_EQ(sync.status, 200) << sync.body;
  EXPECT_EQ(json(sync).at("status").as_string(), "completed");
  auto async = http("POST", server_->url("/api/runbooks"), kOperator, R"({"runbookId":"quick","context":{"word":"x"}})");
  ASSERT_EQ(async.status, 202) << async.body;
  const std::string id(json(async).at("executionId").as_string());
  EXPECT_EQ(json(async).at("runbookId").as_string(), "quick");
  Json got;
  for (int i = 0; i < 100; ++i) {
    got = json(http("GET", server_->url("/api/executions/" + id), kViewer));
    if (got.at("status").as_string() == "completed") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(got.at("status").as_string(), "completed");
  auto seed = json(http("GET", server_->url("/api/runbooks?executionId=" + id), kViewer));
  EXPECT_EQ(seed.at("executionId").as_string(), id);
  EXPECT_TRUE(seed.as_object().contains("history"));
  auto listing = json(http("GET", server_->url("/api/runbooks"), kViewer));
  EXPECT_EQ(listing.at("summary").at("completed").as_int64(), 2);
  EXPECT_EQ(listing.at("runbooks").as_array().size(), 4u);  // broken.yaml was skipped
  EXPECT_NE(server_->log().find("broken.yaml"), std::string::npos);
  auto def = http("GET", server_->url("/api/runbooks/quick"), kViewer);
  EXPECT_EQ(def.status, 200);
  EXPECT_EQ(json(def).at("steps").as_array().size(), 2u);
  auto stats = json(http("GET", server_->url("/api/stats"), kViewer));
  EXPECT_EQ(stats.at("runbooks").at("quick").at("successful").as_int64(), 2);
  // The server's log says what each execution did, tagged for filtering.
  std::string ended;
  for (int i = 0; i < 50 && ended.empty(); ++i) {
    std::istringstream lines(server_->log());
    for (std::string line; std::getline(lines, line);)
      if (line.find("\"execution_id\":\"" + id + "\"") != std::string::npos &&
          line.find("\"event\":\"execution:completed\"") != std::string::npos)
        ended = line;
    if (ended.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_FALSE(ended.empty()) << server_->log();
  EXPECT_NE(ended.find("\"runbook\":\"quick\""), std::string::npos) << ended;
  EXPECT_NE(ended.find("\"level\":\"info\""), std::string::npos) << ended;
}

TEST_F(Api, BadInputGetsClearErrors) {
  EXPECT_EQ(http("POST", server_->url("/api/runbooks/execute"), kOperator, "{not json").status, 400);
  auto wrong = http("POST", server_->url("/api/runbooks/execute"), kOperator, R"({"runbookId":"quick","context":[1]})");
  EXPECT_EQ(wrong.status, 422);
  EXPECT_NE(wrong.body.find("context"), std::string::npos);
  auto unknown = http("POST", server_->url("/api/runbooks/execute"), kOperator, R"({"runbookId":"nope"})");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(http("GET", server_->url("/api/executions/exec-none"), kViewer).status, 404);
  EXPECT_EQ(http("GET", server_->url("/api/runbooks/nope"), kViewer).status, 404);
  std::string huge(2 * 1024 * 1024, 'x');
  EXPECT_EQ(http("POST", server_->url("/api/runbooks/execute"), kOperator, "{\"runbookId\":\"" + huge + "\"}").status, 413);
  EXPECT_EQ(http("GET", server_->url("/health")).status, 200);  // still alive
}

TEST_F(Api, RoleMatrixOnMutatingEndpoints) {
  const std::string body = R"({"runbookId":"quick","context":{"word":"r"}})";
  struct Case {
    std::string token;
    long expected;
  };
  for (const auto& c : std::vector<Case>{{"", 401}, {"opsr_wrong", 401}, {kViewer, 403}, {kOperator, 202}, {kAdmin, 202}}) {
    EXPECT_EQ(http("POST", server_->url("/api/runbooks/execute"), c.token, body).status, c.expected) << c.token;
    EXPECT_EQ(http("POST", server_->url("/api/runbooks"), c.token, body).status, c.expected) << c.token;
    // On an unknown execution an authorised caller gets 404; the others never get that far.
    for (const char* verb : {"approve", "reject", "retry", "skip", "abort"}) {
      const long status = http("POST", server_->url(std::string("/api/executions/exec-x/") + verb), c.token).status;
      EXPECT_EQ(status, c.expected == 202 ? 404 : c.expected) << c.token << " " << verb;
    }
    const long cancel = http("DELETE", server_->url("/api/runbooks?executionId=exec-x"), c.token).status;
    EXPECT_EQ(cancel, c.expected == 202 ? 404 : c.expected) << c.token;
  }
  EXPECT_EQ(http("GET", server_->url("/api/runbooks"), "").status, 401);
  EXPECT_EQ(http("GET", server_->url("/api/runbooks"), kViewer).status, 200);
  // No token appears in the server's log.
  for (const char* t : {kAdmin, kOperator, kViewer}) EXPECT_EQ(server_->log().find(t), std::string::npos);
}

TEST_F(Api, ApprovalWaitsForAnOperator) {
  for (const char* decision : {"approve", "reject"}) {
    auto started = http("POST", server_->url("/api/runbooks/execute"), kOperator, R"({"runbookId":"gated"})");
    const std::string id(json(started).at("executionId").as_string());
    Json e;
    for (int i = 0; i < 100; ++i) {
      e = json(http("GET", server_->url("/api/executions/" + id), kViewer));
      if (e.at("status").as_string() == "waiting") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_EQ(e.at("status").as_string(), "waiting");
    EXPECT_EQ(http("POST", server_->url("/api/executions/" + id + "/" + decision), kViewer).status, 403);
    EXPECT_EQ(http("POST", server_->url("/api/executions/" + id + "/" + decision), kOperator, R"({"comment":"ok"})").status, 202);
    for (int i = 0; i < 100; ++i) {
      e = json(http("GET", server_->url("/api/executions/" + id), kViewer));
      if (e.at("status").as_string() == "completed") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_EQ(e.at("status").as_string(), "completed");
    EXPECT_EQ(e.at("history").as_array().back().at("stepId").as_string(),
              std::string(decision) == "approve" ? "promote" : "rollback");
    EXPECT_EQ(e.at("results").at("ask").at("by").as_string(), "token:oncall");
    // Deciding twice is a conflict, not a second decision.
    EXPECT_EQ(http("POST", server_->url("/api/executions/" + id + "/approve"), kOperator).status, 409);
  }
}

TEST_F(Api, WaitingSynchronousCallsDoNotHoldTheServer) {
  // Three synchronous calls on a server with 2 io threads: had a waiting call held its
  // thread, the reads below would time out until the sleeps ended.
  std::vector<HttpResult> results(3);
  std::vector<std::thread> callers;
  for (auto& r : results)
    callers.emplace_back([&] {
      r = http("POST", server_->url("/api/runbooks/execute"), kOperator,
               R"({"runbookId":"slow","async":false})", 60'000);
    });
  Json active;
  for (int i = 0; i < 100; ++i) {
    auto got = http("GET", server_->url("/api/runbooks?status=active"), kViewer, {}, 5'000);
    ASSERT_EQ(got.status, 200) << "a read waited behind the synchronous calls";
    active = json(got);
    if (active.at("count").as_int64() == 3) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(active.at("count").as_int64(), 3);
  for (const auto& e : active.at("executions").as_array())
    EXPECT_EQ(http("DELETE", server_->url("/api/runbooks?executionId=" + std::string(e.at("executionId").as_string())),
                   kOperator, {}, 5'000).status, 200);
  for (auto& t : callers) t.join();
  for (const auto& r : results) {
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(json(r).at("status").as_string(), "cancelled");
  }
}

TEST_F(Api, CancelStopsARunningSleepAtOnce) {
  auto started = http("POST", server_->url("/api/runbooks/execute"), kOperator, R"({"runbookId":"slow"})");
  ASSERT_EQ(started.status, 202);
  const std::string id(json(started).at("executionId").as_string());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto t0 = std::chrono::steady_clock::now();
  auto cancelled = http("DELETE", server_->url("/api/runbooks?executionId=" + id), kOperator);
  EXPECT_EQ(cancelled.status, 200) << cancelled.body;
  Json e;
  for (int i = 0; i < 100; ++i) {
    e = json(http("GET", server_->url("/api/executions/" + id), kViewer));
    if (e.at("status").as_string() == "cancelled") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(e.at("status").as_string(), "cancelled");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
}

TEST_F(Api, SseDeliversTheHistoryThenLiveEventsInOrder) {
  auto started = http("POST", server_->url("/api/runbooks/execute"), kOperator,
                      R"({"runbookId":"quick","context":{"word":"sse"},"async":false})");
  const std::string id(json(started).at("executionId").as_string());
  auto events = http("GET", server_->url("/api/executions/" + id + "/events"), kViewer, {}, 10'000);
  EXPECT_EQ(events.status, 200);
  const auto first = events.body.find("event: history");
  const auto a = events.body.find("\"stepId\":\"a\"");
  const auto b = events.body.find("\"stepId\":\"b\"");
  const auto done = events.body.find("event: execution:completed");
  ASSERT_NE(first, std::string::npos) << events.body;
  ASSERT_NE(done, std::string::npos) << events.body;
  EXPECT_LT(a, b);
  EXPECT_LT(b, done);
}

TEST_F(Api, SigtermThenRestartResumesTheRunningExecution) {
  auto started = http("POST", server_->url("/api/runbooks/execute"), kOperator, R"({"runbookId":"slow"})");
  ASSERT_EQ(started.status, 202);
  const std::string id(json(started).at("executionId").as_string());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(server_->stop(), 0);  // a clean exit after the grace period
  server_->start();
  auto e = json(http("GET", server_->url("/api/executions/" + id), kViewer));
  EXPECT_EQ(e.at("status").as_string(), "running");  // the idempotent sleep was started again
  EXPECT_EQ(http("POST", server_->url("/api/executions/" + id + "/abort"), kOperator).status, 202);
}

TEST_F(Api, OpenApiDocumentDescribesEveryRoute) {
  auto doc = http("GET", server_->url("/api/openapi.yaml"));
  ASSERT_EQ(doc.status, 200);
  for (const char* path : {"/api/runbooks/execute:", "/api/runbooks:", "/api/runbooks/{id}:", "/api/executions/{id}:",
                           "/api/executions/{id}/events:", "/api/executions/{id}/approve:", "/api/executions/{id}/reject:",
                           "/api/executions/{id}/retry:", "/api/executions/{id}/skip:", "/api/executions/{id}/abort:",
                           "/api/stats:", "/api/safety/status:", "/api/safety/emergency-stop:", "/api/audit:", "/api/audit/verify:", "/health:", "/health/ready:", "/health/db:", "/metrics:"})
    EXPECT_NE(doc.body.find(std::string("  ") + path), std::string::npos) << path;
}

TEST_F(Api, MetricsPassPromtool) {
  http("POST", server_->url("/api/runbooks/execute"), kOperator, R"({"runbookId":"quick","async":false})");
  auto m = http("GET", server_->url("/metrics"));
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.body.find("opsrun_executions_total{runbook=\"quick\",status=\"completed\"} 1"), std::string::npos) << m.body;
  EXPECT_NE(m.body.find("http_requests_total"), std::string::npos);
  if (access("/usr/bin/promtool", X_OK) != 0) {
    if (std::getenv("CI")) FAIL() << "promtool missing (Debian package prometheus)";
    GTEST_SKIP() << "promtool not installed";
  }
  const fs::path file = dir_ / "metrics.txt";
  std::ofstream(file) << m.body;
  const std::string cmd = "promtool check metrics < " + file.string() + " > " + (dir_ / "promtool.out").string() + " 2>&1";
  const int rc = std::system(cmd.c_str());
  std::ifstream in(dir_ / "promtool.out");
  std::string out((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(rc, 0) << out;
}

// Runs the CLI as a client of the test server and returns {exit code, stdout}.
std::pair<int, std::string> client(const std::string& server, const std::vector<std::string>& args,
                                   const std::string& token) {
  std::string cmd = std::string("OPSRUN_SERVER=") + server + " OPSRUN_TOKEN=" + token + " " + OPSRUN_BINARY;
  for (const auto& a : args) cmd += " '" + a + "'";
  cmd += " 2>&1";
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST_F(Api, AFailedActionIsListedAndRetriedFromItsStepThroughTheGate) {
  const std::string marker = (dir_ / "marker").string();
  auto sync = http("POST", server_->url("/api/runbooks/execute"), kOperator,
                   R"({"runbookId":"flaky","async":false,"context":{"marker":")" + marker + R"("}})");
  ASSERT_EQ(sync.status, 200) << sync.body;
  EXPECT_EQ(json(sync).at("status").as_string(), "failed");
  const std::string original(json(sync).at("executionId").as_string());

  const std::string base = server_->url("");
  auto [rc, out] = client(base, {"actions", "failed", "--hours", "1", "--output", "json"}, kViewer);
  ASSERT_EQ(rc, 0) << out;
  auto listed = parse_json(out);
  ASSERT_TRUE(listed) << out;
  ASSERT_EQ(listed->at("count").as_int64(), 1) << out;  // the noop that succeeded is not listed
  const Json& failed = listed->at("actions").as_array()[0];
  EXPECT_EQ(failed.at("executionId").as_string(), original);
  EXPECT_EQ(failed.at("stepId").as_string(), "poke");
  EXPECT_EQ(failed.at("actor").as_string(), "token:oncall");
  EXPECT_TRUE(failed.at("retriedBy").is_null());
  const std::string action(failed.at("actionId").as_string());

  std::tie(rc, out) = client(base, {"actions", "retry", action}, kViewer);
  EXPECT_EQ(rc, 2) << out;  // a viewer may not retry
  EXPECT_EQ(http("POST", server_->url("/api/actions/retry"), kOperator, R"({"actionId":"exec-none/x/1"})").status, 404);
  EXPECT_EQ(http("POST", server_->url("/api/actions/retry"), kOperator, R"({"action":"x"})").status, 422);

  std::ofstream(marker) << "now it exists\n";
  std::tie(rc, out) = client(base, {"actions", "retry", action, "--output", "json"}, kOperator);
  ASSERT_EQ(rc, 0) << out;
  auto retried = parse_json(out);
  ASSERT_TRUE(retried) << out;
  const std::string again(retried->at("executionId").as_string());
  Json e;
  for (int i = 0; i < 100; ++i) {
    e = json(http("GET", server_->url("/api/executions/" + again), kViewer));
    if (e.at("status").as_string() == "completed") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(e.at("status").as_string(), "completed") << to_json_text(e);
  // It began at the failed step: the step before it did not run again.
  EXPECT_TRUE(e.at("results").as_object().contains("poke"));
  EXPECT_FALSE(e.at("results").as_object().contains("prepare"));
  // Through the same gate: its decision and its outcome are in the audit log, with the retry.
  auto audit = json(http("GET", server_->url("/api/audit?execution=" + again), kViewer));
  std::set<std::string> kinds;
  for (const auto& r : audit.at("records").as_array()) kinds.insert(std::string(r.at("kind").as_string()));
  EXPECT_EQ(kinds, (std::set<std::string>{"action_retry", "safety_decision", "action"}));
  // Listed as retried now, and not retried twice.
  listed = json(http("GET", server_->url("/api/actions/failed?hours=1"), kViewer));
  EXPECT_EQ(listed->at("actions").as_array()[0].at("retriedBy").as_string(), again);
  EXPECT_EQ(http("POST", server_->url("/api/actions/retry"), kOperator, R"({"actionId":")" + action + R"("})").status, 409);
  EXPECT_EQ(http("GET", server_->url("/api/actions/failed?hours=x"), kViewer).status, 400);
}

TEST_F(Api, CliClientVerbsUseTheApi) {
  const std::string base = server_->url("");
  auto [rc, out] = client(base, {"exec", "quick", "--ctx", "word=cli", "--output", "json"}, kOperator);
  ASSERT_EQ(rc, 0) << out;
  auto e = parse_json(out);
  ASSERT_TRUE(e) << out;
  const std::string id(e->at("executionId").as_string());
  EXPECT_EQ(e->at("status").as_string(), "completed");
  std::tie(rc, out) = client(base, {"status", id}, kViewer);
  EXPECT_EQ(rc, 0);
  EXPECT_NE(out.find("completed"), std::string::npos) << out;
  std::tie(rc, out) = client(base, {"status", id, "--follow"}, kViewer);
  EXPECT_EQ(rc, 0);
  EXPECT_NE(out.find("execution:completed"), std::string::npos) << out;
  std::tie(rc, out) = client(base, {"list"}, kViewer);
  EXPECT_NE(out.find(id), std::string::npos) << out;
  std::tie(rc, out) = client(base, {"exec", "quick"}, kViewer);
  EXPECT_EQ(rc, 2) << out;  // the viewer may not execute: 403
  EXPECT_NE(out.find("403"), std::string::npos) << out;
  std::tie(rc, out) = client(base, {"cancel", id}, kOperator);
  EXPECT_EQ(rc, 2) << out;  // already finished
  std::tie(rc, out) = client("http://127.0.0.1:1", {"list"}, kViewer);
  EXPECT_EQ(rc, 1) << out;  // nobody there: a clear error, not a crash
  EXPECT_NE(out.find("cannot reach"), std::string::npos) << out;
}

}  // namespace
}  // namespace opsrun::testing

namespace opsrun::testing {
namespace {

// Polls an execution until its status is `want` (bounded).
std::string status_until(Server& s, const std::string& id, const std::string& want) {
  std::string status;
  for (int i = 0; i < 200 && status != want; ++i) {
    auto e = parse_json(http("GET", s.url("/api/executions/" + id), kViewer).body);
    if (!e || !e->is_object()) break;
    status = std::string(e->at("status").as_string());
    if (status != want) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return status;
}

TEST_F(Api, EmergencyStopHoldsActionsUntilResumedAndIsAdminOnly) {
  const std::string stop = R"({"reason":"mass deletion seen"})";
  EXPECT_EQ(http("POST", server_->url("/api/safety/emergency-stop"), kOperator, stop).status, 403);
  EXPECT_EQ(http("POST", server_->url("/api/safety/emergency-stop"), "", stop).status, 401);
  EXPECT_EQ(http("POST", server_->url("/api/safety/emergency-stop"), kAdmin, "{}").status, 422);
  EXPECT_EQ(http("DELETE", server_->url("/api/safety/emergency-stop"), kAdmin).status, 409);
  auto engaged = http("POST", server_->url("/api/safety/emergency-stop"), kAdmin, stop);
  ASSERT_EQ(engaged.status, 200) << engaged.body;
  EXPECT_TRUE(json(engaged).at("on").as_bool());
  EXPECT_EQ(json(engaged).at("by").as_string(), "token:bootstrap");

  auto started = http("POST", server_->url("/api/runbooks/execute"), kOperator,
                      R"({"runbookId":"quick","context":{"word":"hi"}})");
  ASSERT_EQ(started.status, 202);
  const std::string id(json(started).at("executionId").as_string());
  EXPECT_EQ(status_until(*server_, id, "waiting"), "waiting");
  auto st = json(http("GET", server_->url("/api/safety/status"), kViewer));
  EXPECT_TRUE(st.at("emergencyStop").at("on").as_bool());
  EXPECT_EQ(st.at("emergencyStop").at("reason").as_string(), "mass deletion seen");

  EXPECT_EQ(http("DELETE", server_->url("/api/safety/emergency-stop"), kOperator).status, 403);
  auto resumed = http("DELETE", server_->url("/api/safety/emergency-stop"), kAdmin);
  ASSERT_EQ(resumed.status, 200) << resumed.body;
  EXPECT_FALSE(json(resumed).at("on").as_bool());
  EXPECT_EQ(status_until(*server_, id, "completed"), "completed");
  // Both were notified as P0 (the log channel).
  const std::string log = server_->log();
  EXPECT_NE(log.find("EMERGENCY STOP engaged by token:bootstrap"), std::string::npos) << log;
  EXPECT_NE(log.find("emergency stop lifted by token:bootstrap"), std::string::npos);
}

TEST_F(Api, TheStopAndTheResumeAreInTheVerifiedAuditChain) {
  ASSERT_EQ(http("POST", server_->url("/api/safety/emergency-stop"), kAdmin, R"({"reason":"drill"})").status, 200);
  ASSERT_EQ(http("DELETE", server_->url("/api/safety/emergency-stop"), kAdmin).status, 200);
  EXPECT_EQ(http("GET", server_->url("/api/audit")).status, 401);
  EXPECT_EQ(http("GET", server_->url("/api/audit?limit=0"), kViewer).status, 400);
  EXPECT_EQ(http("GET", server_->url("/api/audit?cursor=x"), kViewer).status, 400);

  auto page = json(http("GET", server_->url("/api/audit?limit=1"), kViewer));
  ASSERT_EQ(page.at("records").as_array().size(), 1u);
  const auto& newest = page.at("records").as_array()[0];
  EXPECT_EQ(newest.at("kind").as_string(), "resume");
  ASSERT_GT(page.at("next_cursor").as_int64(), 0) << to_json_text(page);
  auto older = json(http("GET", server_->url("/api/audit?limit=1&cursor=" +
                                             std::to_string(page.at("next_cursor").as_int64())), kViewer));
  ASSERT_EQ(older.at("records").as_array().size(), 1u);
  EXPECT_EQ(older.at("records").as_array()[0].at("kind").as_string(), "emergency_stop");
  EXPECT_EQ(older.at("records").as_array()[0].at("reason").as_string(), "drill");
  EXPECT_EQ(older.at("next_cursor").as_int64(), 0);
  // The newer record's chain link is the older record's hash.
  EXPECT_EQ(newest.at("prev_hash"), older.at("records").as_array()[0].at("hash"));

  auto verified = json(http("GET", server_->url("/api/audit/verify"), kViewer));
  EXPECT_TRUE(verified.at("ok").as_bool()) << to_json_text(verified);
  EXPECT_EQ(verified.at("records").as_int64(), 2);
  EXPECT_EQ(verified.at("head").at("hash"), newest.at("hash"));
}

TEST_F(Api, AServerWithAnInvalidPolicyRefusesToStart) {
  const fs::path dir = fs::temp_directory_path() / ("opsrun-badpolicy-" + random_hex(6));
  fs::create_directories(dir);
  std::ofstream(dir / "opsrun.yaml") << "policies:\n  rate_limits:\n    - {name: x, per: moon, max: 1}\n";
  const std::string cmd = std::string(OPSRUN_BINARY) + " serve --config " + (dir / "opsrun.yaml").string() +
                          " --listen 127.0.0.1:0 --data-dir " + (dir / "data").string() + " 2> " +
                          (dir / "err").string();
  const int rc = std::system(cmd.c_str());
  EXPECT_EQ(WEXITSTATUS(rc), 2);
  std::ifstream in(dir / "err");
  const std::string err((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(err.find("opsrun.yaml:3:22: error: policies.rate_limits[0].per"), std::string::npos) << err;
  fs::remove_all(dir);
}

TEST_F(Api, TheAdminTokenAppearsInNoSafetyOutputLogOrStoredState) {
  // The bootstrap token is a configured secret: a careless operator pastes it in a reason.
  const std::string body = std::string(R"({"reason":"leaked )") + kAdmin + R"( in a ticket"})";
  auto engaged = http("POST", server_->url("/api/safety/emergency-stop"), kAdmin, body);
  ASSERT_EQ(engaged.status, 200);
  auto status = http("GET", server_->url("/api/safety/status"), kViewer);
  auto resumed = http("DELETE", server_->url("/api/safety/emergency-stop"), kAdmin);
  const std::string outputs = engaged.body + status.body + resumed.body + server_->log();
  EXPECT_EQ(outputs.find(kAdmin), std::string::npos) << outputs;
  EXPECT_NE(engaged.body.find("leaked *** in a ticket"), std::string::npos) << engaged.body;
  EXPECT_EQ(server_->stop(), 0);
  for (const auto& f : fs::recursive_directory_iterator(dir_)) {
    if (!f.is_regular_file()) continue;
    std::ifstream in(f.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), {});
    EXPECT_EQ(bytes.find(kAdmin), std::string::npos) << f.path();
  }
}

// serve builds its channels from opsrun.yaml: a notify step delivers through them, a failed
// channel is recorded on the execution, /metrics counts both, and no secret is shown.
TEST(ApiChannels, NotifyStepsUseConfiguredChannelsAndAreCounted) {
  WebhookReceiver hook("serve-hmac-secret-0001");
  const std::string dead_url = WebhookReceiver::unserved_url("token=serve-dead-secret-0001");
  const fs::path dir = fs::temp_directory_path() / ("opsrun-api-channels-" + random_hex(6));
  {
    Server server(dir);
    server.add_config("channels:\n  defaults: {max_attempts: 1}\n"
                      "  hook:\n    type: webhook\n    url: " + hook.url() +
                      "\n    secret: serve-hmac-secret-0001\n"
                      "  dead:\n    type: webhook\n    url: " + dead_url + "\n");
    server.add_runbook("tell.yaml", kTellRunbook);
    server.add_runbook("lost.yaml", "id: lost\nstart: a\nsteps:\n  - {id: a, type: notify, channels: [nowhere], message: m}\n");
    server.start();
    auto run = http("POST", server.url("/api/runbooks/execute"), kOperator,
                    R"({"runbookId":"tell","context":{"host":"web01"},"async":false})");
    EXPECT_NE(run.body.find("channel 'dead' failed"), std::string::npos) << run.body;
    EXPECT_NE(run.body.find("\"hook\":\"sent\""), std::string::npos) << run.body;
    ASSERT_EQ(hook.accepted().size(), 1u);
    EXPECT_NE(hook.accepted()[0].find("disk full on web01"), std::string::npos);
    auto metrics = http("GET", server.url("/metrics"));
    EXPECT_NE(metrics.body.find(R"(opsrun_notifications_total{channel="hook",outcome="sent"} 1)"), std::string::npos)
        << metrics.body;
    EXPECT_NE(metrics.body.find(R"(opsrun_notifications_total{channel="dead",outcome="failed"} 1)"), std::string::npos)
        << metrics.body;
    server.stop();
    EXPECT_NE(server.log().find("notify step names a channel that is not configured"), std::string::npos);
    EXPECT_NE(server.log().find("nowhere"), std::string::npos);
    for (const std::string& text : {run.body, server.log()}) {
      EXPECT_EQ(text.find("serve-hmac-secret-0001"), std::string::npos) << text;
      EXPECT_EQ(text.find("serve-dead-secret-0001"), std::string::npos) << text;
    }
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace opsrun::testing
