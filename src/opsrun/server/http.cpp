#include "opsrun/server/http.h"

#include <strings.h>

namespace opsrun::server {

std::string_view Request::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() && strncasecmp(k.data(), name.data(), k.size()) == 0) return v;
  }
  return {};
}

std::optional<std::string> Request::query_value(const std::string& key) const {
  auto it = query.find(key);
  if (it == query.end()) return std::nullopt;
  return it->second;
}

Result<Json> Request::json() const {
  if (body.empty())
    return fail(ErrorCode::InvalidArgument, "the request body is empty; expected JSON");
  return parse_json(body);
}

namespace {
// Each line of a multi-line value becomes its own data: line, as the SSE format requires.
void append_field(std::string& out, std::string_view field, std::string_view value) {
  std::size_t i = 0;
  while (true) {
    auto j = value.find('\n', i);
    auto line = value.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    out += field;
    out += ": ";
    out += line;
    out += '\n';
    if (j == std::string_view::npos) break;
    i = j + 1;
  }
}
}  // namespace

void SseStream::push(std::string_view event, std::string_view data, std::string_view id) {
  std::string frame;
  if (!id.empty()) append_field(frame, "id", id);
  if (!event.empty()) append_field(frame, "event", event);
  append_field(frame, "data", data);
  frame += '\n';
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    pending_ += frame;
  }
  notify();
}

void SseStream::comment(std::string_view text) {
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    pending_ += ": ";
    pending_ += text;
    pending_ += "\n\n";
  }
  notify();
}

void SseStream::close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  notify();
}

void SseStream::client_gone() {
  close();
  std::lock_guard lock(mu_);
  pending_.clear();
}

bool SseStream::closed() const {
  std::lock_guard lock(mu_);
  return closed_;
}

bool SseStream::take(std::string& out) {
  std::lock_guard lock(mu_);
  out.swap(pending_);
  pending_.clear();
  return !(closed_ && out.empty());
}

void SseStream::set_notify(std::function<void()> f) {
  std::lock_guard lock(mu_);
  notify_ = std::move(f);
}

void SseStream::notify() {
  std::function<void()> f;
  {
    std::lock_guard lock(mu_);
    f = notify_;
  }
  if (f) f();
}

void Deferred::resume(std::function<Response()> make) {
  // The notify runs under the lock, so once set_notify(nullptr) returns (the connection is
  // gone) no resuming thread still touches the connection's executor.
  std::lock_guard lock(mu_);
  if (resumed_) return;
  resumed_ = true;
  make_ = std::move(make);
  if (notify_) notify_();
}

std::function<Response()> Deferred::take() {
  std::lock_guard lock(mu_);
  return std::exchange(make_, nullptr);
}

void Deferred::set_notify(std::function<void()> f) {
  std::lock_guard lock(mu_);
  notify_ = std::move(f);
}

Response Deferred::timeout_response() const {
  if (on_timeout_) return on_timeout_();
  return Response::error(504, "timeout", "the request did not complete in time");
}

Response Response::json(int status, const Json& value) {
  Response r;
  r.status = status;
  r.body = to_json_text(value);
  return r;
}

Response Response::text(int status, std::string body, std::string content_type) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  r.content_type = std::move(content_type);
  return r;
}

Response Response::error(int status, std::string_view code, std::string_view message) {
  Response r;
  r.status = status;
  r.body = json_error_body(code, message);
  return r;
}

Response Response::sse(std::shared_ptr<SseStream> stream) {
  Response r;
  r.content_type = "text/event-stream";
  r.stream = std::move(stream);
  return r;
}

Response Response::from_error(const Error& e) {
  switch (e.code) {
    case ErrorCode::NotFound: return error(404, "not_found", e.describe());
    case ErrorCode::InvalidArgument: return error(400, "invalid_argument", e.describe());
    case ErrorCode::Conflict:
    case ErrorCode::AlreadyExists: return error(409, "conflict", e.describe());
    case ErrorCode::Unavailable: return error(503, "unavailable", e.describe());
    default: return error(500, "internal", e.describe());
  }
}

std::string Request::actor() const { return principal ? "token:" + principal->name : "anonymous"; }

Response Response::deferred(std::shared_ptr<Deferred> later) {
  Response r;
  r.later = std::move(later);
  return r;
}

}  // namespace opsrun::server
