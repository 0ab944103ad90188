// A tiny HTTP/1.1 server on 127.0.0.1 (a free port chosen by the kernel) for tests that need
// a real HTTP peer: it records every request and answers with scripted responses.
//
//   opsrun::testing::LoopbackHttpServer server;
//   server.push_response({.status = 503, .body = "down"});           // next request only
//   server.set_handler([](const HttpRequest& r) { return HttpResponse{.body = r.body}; });
//   curl(server.url("/health"));
//   server.requests()[0].header("Idempotency-Key");
//
// One connection at a time, `Connection: close` on every response, Content-Length bodies
// only (no chunked requests). Header-only; plain POSIX sockets and one thread.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace opsrun::testing {

struct HttpRequest {
  std::string method;
  std::string target;                           // path and query, as sent
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // The first header of that name (case-insensitive), or "".
  [[nodiscard]] std::string header(std::string_view name) const {
    for (const auto& [k, v] : headers)
      if (k.size() == name.size() &&
          std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
          }))
        return v;
    return {};
  }
};

struct HttpResponse {
  int status = 200;
  std::string body = "ok";
  std::string content_type = "text/plain";
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds delay{0};           // wait before answering (timeouts, cancel)
};

class LoopbackHttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  LoopbackHttpServer() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) throw std::runtime_error("socket failed");
    const int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 16) != 0)
      throw std::runtime_error("bind/listen on 127.0.0.1 failed");
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    wake_r_ = p[0];
    wake_w_ = p[1];
    thread_ = std::thread([this] { serve(); });
  }

  LoopbackHttpServer(const LoopbackHttpServer&) = delete;
  LoopbackHttpServer& operator=(const LoopbackHttpServer&) = delete;
  ~LoopbackHttpServer() {
    stop();
    ::close(wake_r_);
    ::close(wake_w_);
  }

  // Stops serving and closes the port. Idempotent.
  void stop() {
    {
      std::lock_guard g(mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    cv_.notify_all();
    [[maybe_unused]] auto n = ::write(wake_w_, "x", 1);
    if (thread_.joinable()) thread_.join();
    // Closed, not just unserved: connecting now fails at once ("connection refused").
    ::close(listen_fd_);
    listen_fd_ = -1;
  }

  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] std::string url(std::string_view path = "/") const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }

  // Answers every request not served by a queued response. Default: 200 "ok".
  void set_handler(Handler h) {
    std::lock_guard g(mu_);
    handler_ = std::move(h);
  }
  // Queued responses are used first, one per request, in order.
  void push_response(HttpResponse r) {
    std::lock_guard g(mu_);
    queued_.push_back(std::move(r));
  }
  [[nodiscard]] std::vector<HttpRequest> requests() const {
    std::lock_guard g(mu_);
    return requests_;
  }
  [[nodiscard]] std::size_t request_count() const {
    std::lock_guard g(mu_);
    return requests_.size();
  }

 private:
  void serve() {
    while (true) {
      pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_r_, POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) continue;
      if (fds[1].revents != 0) return;
      if (fds[0].revents == 0) continue;
      const int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      timeval tv{5, 0};
      ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      handle(c);
      ::close(c);
    }
  }

  static bool read_request(int c, HttpRequest& req) {
    std::string data;
    char buf[8192];
    std::size_t head_end;
    while ((head_end = data.find("\r\n\r\n")) == std::string::npos) {
      const ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) return false;
      data.append(buf, static_cast<std::size_t>(n));
    }
    const std::string head = data.substr(0, head_end);
    std::size_t pos = head.find("\r\n");
    const std::string line = head.substr(0, pos);
    const auto sp1 = line.find(' ');
    const auto sp2 = line.find(' ', sp1 + 1);
    if (sp1 == std::string::npos || sp2 == std::string::npos) return false;
    req.method = line.substr(0, sp1);
    req.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    std::size_t content_length = 0;
    while (pos != std::string::npos && pos < head.size()) {
      const std::size_t start = pos + 2;
      const std::size_t end = head.find("\r\n", start);
      const std::string h = head.substr(start, end == std::string::npos ? std::string::npos : end - start);
      pos = end;
      const auto colon = h.find(':');
      if (colon == std::string::npos) continue;
      std::string value = h.substr(colon + 1);
      value.erase(0, value.find_first_not_of(" \t"));
      req.headers.emplace_back(h.substr(0, colon), value);
    }
    const std::string cl = req.header("Content-Length");
    if (!cl.empty()) content_length = std::stoul(cl);
    req.body = data.substr(head_end + 4);
    while (req.body.size() < content_length) {
      const ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) return false;
      req.body.append(buf, static_cast<std::size_t>(n));
    }
    return true;
  }

  void handle(int c) {
    HttpRequest req;
    if (!read_request(c, req)) return;
    HttpResponse resp;
    {
      std::unique_lock g(mu_);
      requests_.push_back(req);
      if (!queued_.empty()) {
        resp = std::move(queued_.front());
        queued_.pop_front();
      } else if (handler_) {
        Handler h = handler_;
        g.unlock();
        resp = h(req);
        g.lock();
      }
      if (resp.delay.count() > 0 && cv_.wait_for(g, resp.delay, [this] { return stopping_; })) return;
    }
    std::string out = "HTTP/1.1 " + std::to_string(resp.status) + " Scripted\r\n";
    out += "Content-Type: " + resp.content_type + "\r\n";
    out += "Content-Length: " + std::to_string(resp.body.size()) + "\r\nConnection: close\r\n";
    for (const auto& [k, v] : resp.headers) out += k + ": " + v + "\r\n";
    out += "\r\n";
    if (req.method != "HEAD") out += resp.body;
    std::size_t sent = 0;
    while (sent < out.size()) {
      const ssize_t n = ::send(c, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += static_cast<std::size_t>(n);
    }
  }

  int listen_fd_ = -1;
  int wake_r_ = -1;
  int wake_w_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  Handler handler_;
  std::deque<HttpResponse> queued_;
  std::vector<HttpRequest> requests_;
};

}  // namespace opsrun::testing
