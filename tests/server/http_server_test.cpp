// Over real loopback HTTP with a raw socket client, so malformed input can be sent too.
#include "opsrun/server/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "opsrun/common/log.h"
#include "opsrun/metrics/registry.h"

namespace opsrun::server {
namespace {

struct Reply {
  int status = 0;
  std::string head;
  std::string body;
  bool closed = false;
};

class Client {
 public:
  explicit Client(std::uint16_t port, int timeout_ms = 5000) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok_ = connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~Client() { close(fd_); }
  bool ok() const { return ok_; }
  void send(const std::string& s) { (void)::send(fd_, s.data(), s.size(), MSG_NOSIGNAL); }
  // Reads one response (Content-Length delimited, or to close).
  Reply read() {
    Reply r;
    while (buf_.find("\r\n\r\n") == std::string::npos) {
      if (!fill()) {
        r.closed = true;
        return r;
      }
    }
    auto end = buf_.find("\r\n\r\n");
    r.head = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    std::sscanf(r.head.c_str(), "HTTP/1.1 %d", &r.status);
    auto cl = r.head.find("Content-Length: ");
    if (cl == std::string::npos) {
      while (fill()) {
      }
      r.body = buf_;
      buf_.clear();
      r.closed = true;
      return r;
    }
    std::size_t len = std::stoul(r.head.substr(cl + 16));
    while (buf_.size() < len && fill()) {
    }
    r.body = buf_.substr(0, len);
    buf_.erase(0, len);
    return r;
  }
  // Reads until `needle` appears in the unread bytes; returns them.
  std::string read_until(const std::string& needle) {
    while (buf_.find(needle) == std::string::npos && fill()) {
    }
    return buf_;
  }
  bool closed_by_peer() {
    char c;
    return recv(fd_, &c, 1, 0) == 0;
  }

 private:
  bool fill() {
    char tmp[4096];
    auto n = recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<std::size_t>(n));
    return true;
  }
  int fd_ = -1;
  bool ok_ = false;
  std::string buf_;
};

std::string get(const std::string& path, const std::string& token = {}) {
  std::string s = "GET " + path + " HTTP/1.1\r\nHost: x\r\n";
  if (!token.empty()) s += "Authorization: Bearer " + token + "\r\n";
  return s + "\r\n";
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = TokenStore::create({{"v", Role::Viewer, hash_token("tok-viewer")},
                                 {"o", Role::Operator, hash_token("tok-operator")},
                                 {"a", Role::Admin, hash_token("tok-admin")}});
    ASSERT_TRUE(t);
    tokens_ = std::move(*t);
    router_.get("/api/executions/{id}", Access::at_least(Role::Viewer), [](Request& r) {
      return Response::json(
          200, JsonObject{{"id", r.params.at("id")}, {"q", r.query_value("x").value_or("")}});
    });
    router_.post("/api/executions/{id}/approve", Access::at_least(Role::Operator), [](Request& r) {
      return Response::json(200,
                            JsonObject{{"approved", r.params.at("id")}, {"by", r.principal->name}});
    });
    router_.post("/api/admin/thing", Access::at_least(Role::Admin), [](Request&) {
      return Response::json(200, JsonObject{{"ok", true}});
    });
    router_.post("/echo", Access::anyone(), [](Request& r) {
      auto j = r.json();
      if (!j) return Response::error(400, "invalid_json", j.error().message);
      return Response::json(200, *j);
    });
    router_.get("/throw", Access::anyone(),
                [](Request&) -> Response { throw std::runtime_error("boom"); });
    router_.get("/events", Access::anyone(), [this](Request&) {
      auto s = std::make_shared<SseStream>();
      producer_ = std::thread([s] {
        for (int i = 0; i < 50; ++i) s->push("step", "{\"n\":" + std::to_string(i) + "}");
        s->push("multi", "a\nb");
        s->close();
      });
      return Response::sse(s);
    });
  }
  void start(ServerOptions o = {}) {
    o.port = 0;
    auto s = HttpServer::start(o, router_, tokens_, registry_);
    ASSERT_TRUE(s) << s.error().describe();
    server_ = std::move(*s);
  }
  void TearDown() override {
    if (server_) server_->stop(std::chrono::milliseconds(1000));
    if (producer_.joinable()) producer_.join();
  }
  Reply ask(const std::string& raw) {
    Client c(server_->port());
    c.send(raw);
    return c.read();
  }

  Router router_;
  TokenStore tokens_ = *TokenStore::create({});
  metrics::Registry registry_;
  std::unique_ptr<HttpServer> server_;
  std::thread producer_;
};

TEST_F(ServerTest, RoutesParamsAndQuery) {
  start();
  EXPECT_NE(server_->port(), 0);
  auto r = ask(get("/api/executions/abc?x=1%202", "tok-viewer"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"id":"abc","q":"1 2"})");
}

TEST_F(ServerTest, NotFoundAndMethodNotAllowed) {
  start();
  auto r = ask(get("/nope"));
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("\"error\":\"not_found\""), std::string::npos);
  auto m = ask("DELETE /api/executions/1 HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(m.status, 405);
  EXPECT_NE(m.head.find("Allow: GET"), std::string::npos);
}

TEST_F(ServerTest, AuthMatrix) {
  start();
  struct Case {
    std::string request_path;
    std::string method;
    int need;  // 1 viewer, 2 operator, 3 admin
  };
  const Case cases[] = {{"/api/executions/1", "GET", 1},
                        {"/api/executions/1/approve", "POST", 2},
                        {"/api/admin/thing", "POST", 3}};
  const std::pair<std::string, int> who[] = {
      {"", 0}, {"tok-viewer", 1}, {"tok-operator", 2}, {"tok-admin", 3}, {"wrong", 0}};
  for (const auto& c : cases) {
    for (const auto& [tok, level] : who) {
      std::string raw = c.method + " " + c.request_path + " HTTP/1.1\r\nHost: x\r\n";
      if (!tok.empty()) raw += "Authorization: Bearer " + tok + "\r\n";
      raw += "Content-Length: 0\r\n\r\n";
      auto r = ask(raw);
      int want = level == 0 ? 401 : (level < c.need ? 403 : 200);
      EXPECT_EQ(r.status, want) << c.request_path << " as '" << tok << "'";
      if (want != 200) {
        EXPECT_NE(r.body.find("\"message\""), std::string::npos);
      }
    }
  }
}

TEST_F(ServerTest, KeepAliveServesSeveralRequests) {
  start();
  Client c(server_->port());
  for (int i = 0; i < 3; ++i) {
    c.send(get("/health"));
    auto r = c.read();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, R"({"status":"ok"})");
  }
}

TEST_F(ServerTest, BodyLimit413) {
  ServerOptions o;
  o.max_body_bytes = 100;
  start(o);
  std::string body(200, 'x');
  auto r = ask("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 200\r\n\r\n" + body);
  EXPECT_EQ(r.status, 413);
  EXPECT_NE(r.body.find("body_too_large"), std::string::npos);
  auto ok = ask("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\n\r\n{\"a\":1}");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, R"({"a":1})");
}

TEST_F(ServerTest, HeaderLimit431) {
  ServerOptions o;
  o.max_header_bytes = 1024;
  start(o);
  auto r = ask("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n");
  EXPECT_EQ(r.status, 431);
}

TEST_F(ServerTest, MalformedRequestsGet400AndServerSurvives) {
  start();
  for (const std::string& junk :
       std::vector<std::string>{"GARBAGE\r\n\r\n", "GET / HTTP/9.9\r\n\r\n", "GET\r\n\r\n",
                                std::string("\0\x01\x02\r\n\r\n", 7),
                                "POST /echo HTTP/1.1\r\nContent-Length: -5\r\n\r\n"}) {
    Client c(server_->port());
    c.send(junk);
    auto r = c.read();
    EXPECT_EQ(r.status, 400) << junk;
    EXPECT_TRUE(c.closed_by_peer());
  }
  EXPECT_EQ(ask("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n{x}").status, 400);
  EXPECT_EQ(ask(get("/throw")).status, 500);
  EXPECT_EQ(ask(get("/health")).status, 200);
}

TEST_F(ServerTest, IdleAndSlowConnectionsTimeOut) {
  ServerOptions o;
  o.idle_timeout = std::chrono::milliseconds(200);
  o.request_timeout = std::chrono::milliseconds(200);
  start(o);
  Client idle(server_->port());
  EXPECT_TRUE(idle.closed_by_peer());  // nothing sent: closed after the idle timeout
  Client slow(server_->port());
  slow.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{");
  EXPECT_TRUE(slow.closed_by_peer());  // body never completes
}

TEST_F(ServerTest, MaxConnections) {
  ServerOptions o;
  o.max_connections = 1;
  start(o);
  Client first(server_->port());
  first.send(get("/health"));
  EXPECT_EQ(first.read().status, 200);
  Client second(server_->port());
  EXPECT_TRUE(second.closed_by_peer());
}

TEST_F(ServerTest, SseFramesInOrder) {
  start();
  Client c(server_->port());
  c.send(get("/events"));
  auto all = c.read_until("event: multi\ndata: a\ndata: b\n\n");
  EXPECT_NE(all.find("Content-Type: text/event-stream"), std::string::npos);
  std::size_t pos = 0;
  for (int i = 0; i < 50; ++i) {
    auto f = "event: step\ndata: {\"n\":" + std::to_string(i) + "}\n\n";
    auto at = all.find(f, pos);
    ASSERT_NE(at, std::string::npos) << i;
    pos = at + f.size();
  }
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(ServerTest, MetricsLabelsUseThePatternAndPassPromtool) {
  start();
  ask(get("/api/executions/one", "tok-viewer"));
  ask(get("/api/executions/two", "tok-viewer"));
  ask(get("/nope"));
  auto m = ask(get("/metrics"));
  EXPECT_EQ(m.status, 200);
  EXPECT_NE(m.head.find("text/plain; version=0.0.4"), std::string::npos);
  EXPECT_NE(
      m.body.find(
          "http_requests_total{method=\"GET\",route=\"/api/executions/{id}\",status=\"200\"} 2"),
      std::string::npos)
      << m.body;
  EXPECT_NE(m.body.find("http_request_duration_seconds_count{route=\"/api/executions/{id}\"} 2"),
            std::string::npos);
  EXPECT_EQ(m.body.find("/api/executions/one"), std::string::npos);
  if (!std::filesystem::exists("/usr/bin/promtool")) {
    if (std::getenv("CI")) FAIL() << "promtool missing";
    return;
  }
  auto path = std::filesystem::temp_directory_path() / ("opsrun_srv_" + std::to_string(getpid()));
  std::ofstream(path) << m.body;
  FILE* p = popen(("/usr/bin/promtool check metrics < " + path.string() + " 2>&1").c_str(), "r");
  std::string out;
  char b[512];
  while (std::fgets(b, sizeof b, p)) out += b;
  EXPECT_EQ(pclose(p), 0) << out;
  std::filesystem::remove(path);
}

TEST_F(ServerTest, HealthHooksAndClosedMetrics) {
  ServerOptions o;
  o.open_metrics = false;
  o.ready_check = [] { return HealthStatus{false, "migrations pending"}; };
  o.db_check = [] { return HealthStatus{true, "", 0.002}; };
  start(o);
  auto ready = ask(get("/health/ready"));
  EXPECT_EQ(ready.status, 503);
  EXPECT_NE(ready.body.find("migrations pending"), std::string::npos);
  auto db = ask(get("/health/db"));
  EXPECT_EQ(db.status, 200);
  EXPECT_NE(db.body.find("latency_seconds"), std::string::npos);
  EXPECT_EQ(ask(get("/metrics")).status, 401);
  EXPECT_EQ(ask(get("/metrics", "tok-viewer")).status, 200);
}

TEST_F(ServerTest, TokensNeverLogged) {
  log::add_secret("tok-admin");
  EXPECT_EQ(log::redact("header Bearer tok-admin").find("tok-admin"), std::string::npos);
  start();
  testing::internal::CaptureStderr();
  ask(get("/api/executions/1", "tok-admin"));
  ask(get("/throw"));
  auto err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(err.find("tok-admin"), std::string::npos) << err;
}

TEST_F(ServerTest, GracefulStopFinishesInFlight) {
  router_.get("/slow", Access::anyone(), [](Request&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    return Response::json(200, JsonObject{{"done", true}});
  });
  start();
  Client c(server_->port());
  c.send(get("/slow"));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::thread stopper([&] { server_->stop(std::chrono::milliseconds(2000)); });
  auto r = c.read();
  stopper.join();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"done":true})");
  Client after(server_->port(), 500);
  EXPECT_FALSE(after.ok());
}

TEST_F(ServerTest, TlsWithSelfSignedCertificate) {
  if (!std::filesystem::exists("/usr/bin/openssl") || !std::filesystem::exists("/usr/bin/curl")) {
    GTEST_SKIP() << "needs the openssl and curl command-line tools";
  }
  auto dir = std::filesystem::temp_directory_path() / ("opsrun_tls_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const auto cert = (dir / "cert.pem").string();
  const auto key = (dir / "key.pem").string();
  ASSERT_EQ(std::system(("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
                         "-keyout " +
                         key + " -out " + cert + " >/dev/null 2>&1")
                            .c_str()),
            0);
  ServerOptions o;
  o.tls_cert = cert;
  o.tls_key = key;
  start(o);
  const std::string cmd =
      "curl -sS --cacert " + cert + " --resolve localhost:" + std::to_string(server_->port()) +
      ":127.0.0.1 https://localhost:" + std::to_string(server_->port()) + "/health 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char b[512];
  while (std::fgets(b, sizeof b, p)) out += b;
  pclose(p);
  EXPECT_EQ(out, R"({"status":"ok"})");
  // Plain HTTP to the TLS port gets no HTTP answer.
  EXPECT_NE(ask(get("/health")).status, 200);
  std::filesystem::remove_all(dir);
}

TEST(ServerStart, BadTlsFilesAreErrors) {
  Router r;
  auto t = *TokenStore::create({});
  metrics::Registry reg;
  ServerOptions o;
  o.port = 0;
  o.tls_cert = "/nonexistent/cert.pem";
  o.tls_key = "/nonexistent/key.pem";
  auto s = HttpServer::start(o, r, t, reg);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().describe().find("cert"), std::string::npos);
}

}  // namespace
}  // namespace opsrun::server
