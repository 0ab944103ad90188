// The value types handlers see: no Boost.Beast here, so handlers compile fast.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "opsrun/common/json.h"
#include "opsrun/server/auth.h"

namespace opsrun::server {

struct Request {
  std::string method;                         // "GET", "POST", ...
  std::string target;                         // as sent: path and query
  std::string path;                           // percent-decoded path
  std::map<std::string, std::string> query;   // decoded; the last of repeated keys wins
  std::map<std::string, std::string> params;  // from the route pattern's {name} segments
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::optional<Principal> principal;  // set when the route required a token
  std::string route;                   // the matched pattern

  // First header of that name (case-insensitive), empty when absent.
  [[nodiscard]] std::string_view header(std::string_view name) const;
  // The query value or nullopt.
  [[nodiscard]] std::optional<std::string> query_value(const std::string& key) const;
  // The body as JSON; an error (InvalidArgument) names the problem.
  [[nodiscard]] Result<Json> json() const;
  // Who is asking, for histories and the audit log: "token:NAME", or "anonymous".
  [[nodiscard]] std::string actor() const;
};

// A Server-Sent Events stream. The handler returns it in a Response and keeps a shared_ptr;
// any thread may push frames until close(). Frames go out in push order. When the client
// goes away, closed() turns true so the producer can stop.
class SseStream {
 public:
  void push(std::string_view event, std::string_view data, std::string_view id = {});
  void comment(std::string_view text);  // ": text", e.g. a keep-alive
  void close();
  [[nodiscard]] bool closed() const;

  // For the server: takes the queued frames (never blocks); false once closed and drained.
  bool take(std::string& out);
  // For the server: called (on the pushing thread) after each push/close.
  void set_notify(std::function<void()> f);
  void client_gone();

 private:
  void notify();
  mutable std::mutex mu_;
  std::function<void()> notify_;
  std::string pending_;
  bool closed_ = false;
};

struct Response;

// A response the handler cannot give yet, for work that completes on another thread (an
// engine commit). The handler returns it in a Response and hands a shared_ptr to whoever
// finishes the work; that thread calls resume() with a continuation, which then runs on the
// connection's io thread and makes the real response. The io thread is free meanwhile: with
// 2 io threads, a blocking wait in a handler would stall every other client.
class Deferred {
 public:
  // `deadline`: after it the server answers `on_timeout` instead (a resume then is ignored).
  Deferred(std::chrono::steady_clock::time_point deadline, std::function<Response()> on_timeout)
      : deadline_(deadline), on_timeout_(std::move(on_timeout)) {}

  void resume(std::function<Response()> make);  // any thread; the first call wins

  // For the server: the continuation once resumed, else empty (never blocks).
  std::function<Response()> take();
  // Called on the resuming thread, under the Deferred's lock: it must only post.
  void set_notify(std::function<void()> f);
  [[nodiscard]] std::chrono::steady_clock::time_point deadline() const { return deadline_; }
  [[nodiscard]] Response timeout_response() const;

 private:
  mutable std::mutex mu_;
  std::function<void()> notify_;
  std::function<Response()> make_;
  bool resumed_ = false;
  std::chrono::steady_clock::time_point deadline_;
  std::function<Response()> on_timeout_;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::shared_ptr<SseStream> stream;  // set: an event stream replaces the body
  std::shared_ptr<Deferred> later;    // set: the real response comes from the continuation

  static Response json(int status, const Json& value);
  static Response text(int status, std::string body,
                       std::string content_type = "text/plain; charset=utf-8");
  // {"error": code, "message": message}
  static Response error(int status, std::string_view code, std::string_view message);
  // An error value as its HTTP answer: NotFound 404, InvalidArgument 400, Conflict and
  // AlreadyExists 409, Unavailable 503, anything else 500.
  static Response from_error(const Error& e);
  static Response sse(std::shared_ptr<SseStream> stream);
  static Response deferred(std::shared_ptr<Deferred> later);
};

using Handler = std::function<Response(Request&)>;

}  // namespace opsrun::server
