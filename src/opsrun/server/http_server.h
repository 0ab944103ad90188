// The HTTP server: Boost.Beast on Asio behind a pimpl, so this header stays light.
//
// Threading: handlers run on the io threads (`threads`, default 2 = the machine's cores).
// A handler must not block for long; the engine's work happens on its own worker pool and
// handlers only enqueue and read. SSE producers push from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "opsrun/common/error.h"
#include "opsrun/server/router.h"

namespace opsrun::metrics {
class Registry;
}

namespace opsrun::server {

struct HealthStatus {
  bool ok = true;
  std::string message;          // shown in the JSON answer
  double latency_seconds = -1;  // /health/db reports it when >= 0
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  // 0: a free port; HttpServer::port() tells which
  int threads = 2;
  std::uint64_t max_body_bytes = 1024 * 1024;
  std::uint32_t max_header_bytes = 16 * 1024;
  std::chrono::milliseconds request_timeout{30'000};  // to read one request once begun
  std::chrono::milliseconds idle_timeout{60'000};     // keep-alive wait for the next request
  std::uint32_t max_connections = 256;
  bool open_health = true;
  bool open_metrics = true;
  std::string tls_cert;  // PEM paths; TLS when both set
  std::string tls_key;
  std::function<HealthStatus()> ready_check;  // /health/ready; absent: ready
  std::function<HealthStatus()> db_check;     // /health/db; absent: 503
};

class HttpServer {
 public:
  // Binds and starts serving. The router, tokens and registry must outlive the server.
  // Adds /health, /health/ready, /health/db and /metrics unless the router has them.
  [[nodiscard]] static Result<std::unique_ptr<HttpServer>> start(ServerOptions options,
                                                                 Router& router,
                                                                 const TokenStore& tokens,
                                                                 metrics::Registry& registry);
  ~HttpServer();  // stop(0s) if still running

  [[nodiscard]] std::uint16_t port() const;
  // Stops accepting, lets in-flight requests finish within `grace`, closes the rest.
  // /health/ready answers 503 from this moment. Idempotent.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace opsrun::server
