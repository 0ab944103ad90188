// The only file that includes Boost.Beast/Asio: one coroutine per connection, on a strand.
#include "opsrun/server/http_server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <atomic>
#include <optional>
#include <thread>

#include "opsrun/common/log.h"
#include "opsrun/metrics/registry.h"

namespace opsrun::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

struct HttpServer::Impl {
  Impl(ServerOptions o, Router& r, const TokenStore& t, metrics::Registry& reg)
      : opt(std::move(o)),
        router(r),
        tokens(t),
        registry(reg),
        requests(&reg.counter("http_requests_total", "HTTP requests answered.",
                              {"method", "route", "status"})),
        durations(&reg.histogram(
            "http_request_duration_seconds",
            "Time from a complete request to its answer being ready to send, by route.",
            {"route"})) {}

  ServerOptions opt;
  Router& router;
  const TokenStore& tokens;
  metrics::Registry& registry;
  metrics::CounterFamily* requests;
  metrics::HistogramFamily* durations;
  // Declared before io: pending coroutine frames, destroyed with io, still touch these.
  std::atomic<bool> stopping{false};
  std::atomic<int> connections{0};
  std::atomic<int> in_flight{0};
  std::uint16_t port = 0;
  bool stopped = false;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::optional<asio::ssl::context> ssl;  // set when TLS is configured
  std::vector<std::thread> threads;

  asio::awaitable<void> accept_loop();
  asio::awaitable<void> session(tcp::socket sock);
  template <class Stream>
  asio::awaitable<void> serve(Stream& stream);
  Response dispatch(Request& req);
  void add_builtin_routes();
};

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

bool is_parse_error(const boost::system::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_method).category();
}

http::response<http::string_body> to_beast(const Response& r, unsigned version, bool keep_alive) {
  http::response<http::string_body> res{static_cast<http::status>(r.status), version};
  res.set(http::field::server, "opsrun");
  res.set(http::field::content_type, r.content_type);
  for (const auto& [k, v] : r.headers) res.set(k, v);
  res.body() = r.body;
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

}  // namespace

void HttpServer::Impl::add_builtin_routes() {
  const Access health = opt.open_health ? Access::anyone() : Access::at_least(Role::Viewer);
  if (!router.has("GET", "/health")) {
    router.get("/health", health, [](Request&) {
      return Response::json(200, JsonObject{{"status", "ok"}});
    });
  }
  if (!router.has("GET", "/health/ready")) {
    router.get("/health/ready", health, [this](Request&) {
      if (stopping.load()) {
        return Response::json(503,
                              JsonObject{{"status", "unavailable"}, {"message", "shutting down"}});
      }
      HealthStatus h = opt.ready_check ? opt.ready_check() : HealthStatus{};
      return Response::json(h.ok ? 200 : 503, JsonObject{{"status", h.ok ? "ok" : "unavailable"},
                                                         {"message", h.message}});
    });
  }
  if (!router.has("GET", "/health/db")) {
    router.get("/health/db", health, [this](Request&) {
      if (!opt.db_check) {
        return Response::json(
            503, JsonObject{{"status", "unavailable"}, {"message", "no store check configured"}});
      }
      HealthStatus h = opt.db_check();
      JsonObject o{{"status", h.ok ? "ok" : "unavailable"}, {"message", h.message}};
      if (h.latency_seconds >= 0) o["latency_seconds"] = h.latency_seconds;
      return Response::json(h.ok ? 200 : 503, o);
    });
  }
  if (!router.has("GET", "/metrics")) {
    const Access m = opt.open_metrics ? Access::anyone() : Access::at_least(Role::Viewer);
    router.get("/metrics", m, [this](Request&) {
      return Response::text(200, registry.render(), "text/plain; version=0.0.4; charset=utf-8");
    });
  }
}

namespace {

// A handler (or a deferred continuation) that throws answers 500 instead of ending the server.
Response guarded(const std::string& route, const std::function<Response()>& handler) {
  try {
    return handler();
  } catch (const std::exception& e) {
    log::error("handler failed", {{"route", route}, {"error", e.what()}});
    return Response::error(500, "internal", "the handler failed; see the server log");
  }
}

}  // namespace

Response HttpServer::Impl::dispatch(Request& req) {
  auto target = parse_target(req.target);
  if (!target) {
    req.route = "(malformed)";
    return Response::error(400, "bad_request", "malformed request target");
  }
  req.path = std::move(target->first);
  req.query = std::move(target->second);
  auto m = router.match(req.method, req.path);
  if (m.route == nullptr) {
    req.route = "(unmatched)";
    if (m.path_known) {
      auto r = Response::error(405, "method_not_allowed",
                               req.method + " is not allowed here; allowed: " + m.allow);
      r.headers.emplace_back("Allow", m.allow);
      return r;
    }
    return Response::error(404, "not_found", "no route for " + req.path);
  }
  req.route = m.route->pattern;
  req.params = std::move(m.params);
  if (!m.route->access.open) {
    auto p = tokens.authorize(req.header("authorization"), m.route->access.role);
    if (!p) {
      Response r;
      r.status = p.error().status;
      r.body = p.error().body;
      if (r.status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer");
      return r;
    }
    req.principal = *p;
  }
  return guarded(req.route, [&] { return m.route->handler(req); });
}

asio::awaitable<void> HttpServer::Impl::accept_loop() {
  for (;;) {
    auto [ec, sock] = co_await acceptor.async_accept(asio::make_strand(io), kTuple);
    if (ec) {
      if (stopping.load() || ec == asio::error::operation_aborted) co_return;
      continue;  // e.g. EMFILE: keep serving the connections we have
    }
    if (connections.load() >= static_cast<int>(opt.max_connections)) {
      boost::system::error_code ignored;
      sock.close(ignored);
      continue;
    }
    ++connections;
    auto ex = sock.get_executor();
    asio::co_spawn(ex, session(std::move(sock)), asio::detached);
  }
}

asio::awaitable<void> HttpServer::Impl::session(tcp::socket sock) {
  struct Count {
    std::atomic<int>& n;
    ~Count() { --n; }
  } count{connections};
  boost::system::error_code ignored;
  if (ssl) {
    beast::ssl_stream<beast::tcp_stream> stream(std::move(sock), *ssl);
    beast::get_lowest_layer(stream).expires_after(opt.request_timeout);
    auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, kTuple);
    if (!ec) {
      co_await serve(stream);
      beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(1));
      co_await stream.async_shutdown(kTuple);
    }
    beast::get_lowest_layer(stream).socket().close(ignored);
  } else {
    beast::tcp_stream stream(std::move(sock));
    co_await serve(stream);
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream.socket().close(ignored);
  }
}

template <class Stream>
asio::awaitable<void> HttpServer::Impl::serve(Stream& stream) {
  auto& lowest = beast::get_lowest_layer(stream);
  beast::flat_buffer buf;

  auto send_error_and_close = [&](int status, std::string_view code,
                                  std::string_view message) -> asio::awaitable<void> {
    auto res = to_beast(Response::error(status, code, message), 11, false);
    lowest.expires_after(opt.request_timeout);
    co_await http::async_write(stream, res, kTuple);
    requests->with({"", "(malformed)", std::to_string(status)}).inc();
  };

  while (!stopping.load()) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(opt.max_body_bytes);
    parser.header_limit(opt.max_header_bytes);
    // A waiting keep-alive connection gets the idle timeout; a started request the request one.
    lowest.expires_after(buf.size() > 0 ? opt.request_timeout : opt.idle_timeout);
    auto [ec, n] = co_await http::async_read_header(stream, buf, parser, kTuple);
    if (!ec && !parser.is_done()) {
      lowest.expires_after(opt.request_timeout);
      std::tie(ec, n) = co_await http::async_read(stream, buf, parser, kTuple);
    }
    if (ec == http::error::header_limit) {
      co_await send_error_and_close(431, "header_too_large", "request headers are too large");
      break;
    }
    if (ec == http::error::body_limit) {
      co_await send_error_and_close(
          413, "body_too_large",
          "request body exceeds " + std::to_string(opt.max_body_bytes) + " bytes");
      break;
    }
    if (ec && is_parse_error(ec) && ec != http::error::end_of_stream &&
        ec != http::error::partial_message) {
      co_await send_error_and_close(400, "bad_request", "malformed HTTP request");
      break;
    }
    if (ec) break;  // closed, reset or timed out

    ++in_flight;
    struct Flight {
      std::atomic<int>& n;
      ~Flight() { --n; }
    } flight{in_flight};
    const auto started = Clock::now();
    auto& msg = parser.get();
    Request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    for (const auto& f : msg)
      req.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    req.body = std::move(msg.body());
    Response res = dispatch(req);
    if (res.later) {
      // Wait without holding the io thread; the resuming thread wakes us through the strand,
      // so a wake-up cannot slip in between take() and the wait.
      auto later = res.later;
      auto timer = std::make_shared<asio::steady_timer>(stream.get_executor());
      auto ex = stream.get_executor();
      later->set_notify([timer, ex] { asio::post(ex, [timer] { timer->cancel(); }); });
      // Also when the server drops this coroutine mid-wait: no later resume may post here.
      struct Unhook {
        Deferred& d;
        ~Unhook() { d.set_notify(nullptr); }
      } unhook{*later};
      lowest.expires_never();
      std::function<Response()> make;
      while (!(make = later->take()) && Clock::now() < later->deadline()) {
        timer->expires_at(std::min(later->deadline(), Clock::now() + std::chrono::seconds(1)));
        co_await timer->async_wait(kTuple);
      }
      res = make ? guarded(req.route, make) : later->timeout_response();
    }
    const bool keep = msg.keep_alive() && !stopping.load() && !res.stream;
    requests->with({req.method, req.route, std::to_string(res.status)}).inc();

    if (res.stream) {
      http::response<http::empty_body> head{http::status::ok, msg.version()};
      head.set(http::field::server, "opsrun");
      head.set(http::field::content_type, "text/event-stream");
      head.set(http::field::cache_control, "no-cache");
      head.keep_alive(false);  // the body ends when the connection closes
      http::response_serializer<http::empty_body> sr{head};
      lowest.expires_after(opt.request_timeout);
      durations->with({req.route})
          .observe(std::chrono::duration<double>(Clock::now() - started).count());
      auto [wec, wn] = co_await http::async_write_header(stream, sr, kTuple);
      auto sse = res.stream;
      auto timer = std::make_shared<asio::steady_timer>(stream.get_executor());
      auto ex = stream.get_executor();
      // Wakes the loop below from any producer thread: the cancel runs on this strand.
      sse->set_notify([timer, ex] { asio::post(ex, [timer] { timer->cancel(); }); });
      auto last_write = Clock::now();
      while (!wec && !stopping.load()) {
        std::string out;
        const bool more = sse->take(out);
        if (out.empty() && Clock::now() - last_write > std::chrono::seconds(15)) {
          out = ": keep-alive\n\n";  // also finds clients that went away
        }
        if (!out.empty()) {
          lowest.expires_after(opt.request_timeout);
          std::tie(wec, wn) = co_await asio::async_write(stream, asio::buffer(out), kTuple);
          last_write = Clock::now();
          continue;  // take again before sleeping: pushes during the write are queued
        }
        if (!more) break;
        lowest.expires_never();
        timer->expires_after(std::chrono::seconds(1));
        co_await timer->async_wait(kTuple);
      }
      sse->set_notify(nullptr);
      sse->client_gone();
      break;
    }

    auto out = to_beast(res, msg.version(), keep);
    if (req.method == "HEAD") out.body().clear();
    durations->with({req.route})
        .observe(std::chrono::duration<double>(Clock::now() - started).count());
    lowest.expires_after(opt.request_timeout);
    auto [wec, wn] = co_await http::async_write(stream, out, kTuple);
    if (wec || !keep) break;
  }
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { stop(std::chrono::milliseconds(0)); }

std::uint16_t HttpServer::port() const { return impl_->port; }

Result<std::unique_ptr<HttpServer>> HttpServer::start(ServerOptions options, Router& router,
                                                      const TokenStore& tokens,
                                                      metrics::Registry& registry) {
  auto impl = std::make_unique<Impl>(std::move(options), router, tokens, registry);
  auto& s = *impl;
  if (!s.opt.tls_cert.empty() || !s.opt.tls_key.empty()) {
    if (s.opt.tls_cert.empty() || s.opt.tls_key.empty()) {
      return fail(ErrorCode::InvalidArgument, "TLS needs both a certificate and a key");
    }
    s.ssl.emplace(asio::ssl::context::tls_server);
    s.ssl->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                       asio::ssl::context::no_tlsv1_1);
    boost::system::error_code tec;
    s.ssl->use_certificate_chain_file(s.opt.tls_cert, tec);
    if (tec) {
      return fail(ErrorCode::InvalidArgument, "TLS certificate: " + tec.message(), s.opt.tls_cert);
    }
    s.ssl->use_private_key_file(s.opt.tls_key, asio::ssl::context::pem, tec);
    if (tec) return fail(ErrorCode::InvalidArgument, "TLS key: " + tec.message(), s.opt.tls_key);
  }
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(s.opt.host, ec);
  if (ec) return fail(ErrorCode::InvalidArgument, "bad listen address '" + s.opt.host + "'");
  tcp::endpoint ep{addr, s.opt.port};
  s.acceptor.open(ep.protocol(), ec);
  if (!ec) s.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(ep, ec);
  if (!ec) s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return fail(ErrorCode::Unavailable, "cannot listen on " + s.opt.host + ":" +
                                            std::to_string(s.opt.port) + ": " + ec.message());
  }
  s.port = s.acceptor.local_endpoint().port();
  s.add_builtin_routes();
  asio::co_spawn(s.io, s.accept_loop(), asio::detached);
  for (int i = 0; i < std::max(1, s.opt.threads); ++i) {
    s.threads.emplace_back([&s] { s.io.run(); });
  }
  log::info("listening", {{"address", s.opt.host + ":" + std::to_string(s.port)}});
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

void HttpServer::stop(std::chrono::milliseconds grace) {
  auto& s = *impl_;
  if (s.stopped) return;
  s.stopped = true;
  s.stopping = true;
  asio::post(s.io, [&s] {
    boost::system::error_code ignored;
    s.acceptor.close(ignored);
  });
  const auto deadline = Clock::now() + grace;
  while (s.in_flight.load() > 0 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  s.io.stop();
  for (auto& t : s.threads) t.join();
  s.threads.clear();
}

}  // namespace opsrun::server
