#include "opsrun/cli/api_client.h"

#include <curl/curl.h>

#include <cstdlib>

namespace opsrun::cli {

namespace {

std::size_t append(char* p, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(p, size * n);
  return size * n;
}

struct SseState {
  std::string buffer;
  const std::function<void(const std::string&, const std::string&)>* on_event;
};

// Splits the stream into frames ("event: x\ndata: y\n\n") as bytes arrive.
std::size_t sse_chunk(char* p, std::size_t size, std::size_t n, void* user) {
  auto* st = static_cast<SseState*>(user);
  st->buffer.append(p, size * n);
  std::size_t end;
  while ((end = st->buffer.find("\n\n")) != std::string::npos) {
    const std::string frame = st->buffer.substr(0, end);
    st->buffer.erase(0, end + 2);
    std::string event, data;
    std::size_t pos = 0;
    while (pos <= frame.size()) {
      const auto nl = frame.find('\n', pos);
      const std::string line = frame.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
      if (line.starts_with("event: ")) event = line.substr(7);
      else if (line.starts_with("data: ")) data += (data.empty() ? "" : "\n") + line.substr(6);
      if (nl == std::string::npos) break;
      pos = nl + 1;
    }
    if (!data.empty()) (*st->on_event)(event, data);
  }
  return size * n;
}

}  // namespace

ApiClient::ApiClient(ClientFlags flags) : flags_(std::move(flags)) {
  if (flags_.server.empty()) {
    const char* env = std::getenv("OPSRUN_SERVER");
    flags_.server = env != nullptr && *env ? env : "http://127.0.0.1:8080";
  }
  while (!flags_.server.empty() && flags_.server.back() == '/') flags_.server.pop_back();
  if (flags_.token.empty())
    if (const char* env = std::getenv("OPSRUN_TOKEN")) flags_.token = env;
}

Result<ApiResponse> ApiClient::call(const std::string& method, const std::string& path,
                                    const std::string& body) const {
  CURL* c = curl_easy_init();
  if (c == nullptr) return fail(ErrorCode::Internal, "cannot initialise libcurl");
  std::string received;
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  if (!flags_.token.empty()) headers = curl_slist_append(headers, ("Authorization: Bearer " + flags_.token).c_str());
  const std::string url = flags_.server + path;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 310'000L);
  if (method == "POST" || !body.empty()) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, append);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &received);
  const CURLcode rc = curl_easy_perform(c);
  ApiResponse out;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(c);
  if (rc != CURLE_OK)
    return fail(ErrorCode::Unavailable, std::string("cannot reach ") + flags_.server + ": " + curl_easy_strerror(rc));
  auto parsed = parse_json(received);
  out.body = parsed ? *parsed : Json(received);
  return out;
}

Result<void> ApiClient::stream(const std::string& path,
                               const std::function<void(const std::string&, const std::string&)>& on_event) const {
  CURL* c = curl_easy_init();
  if (c == nullptr) return fail(ErrorCode::Internal, "cannot initialise libcurl");
  curl_slist* headers = curl_slist_append(nullptr, "Accept: text/event-stream");
  if (!flags_.token.empty()) headers = curl_slist_append(headers, ("Authorization: Bearer " + flags_.token).c_str());
  const std::string url = flags_.server + path;
  SseState state{{}, &on_event};
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sse_chunk);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &state);
  const CURLcode rc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(c);
  if (rc != CURLE_OK)
    return fail(ErrorCode::Unavailable, std::string("stream from ") + flags_.server + " failed: " + curl_easy_strerror(rc));
  if (status != 200) return fail(ErrorCode::Unavailable, "the server answered " + std::to_string(status));
  return {};
}

}  // namespace opsrun::cli
