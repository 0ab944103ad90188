#include "opsrun/azure/imds_client.h"

#include <curl/curl.h>

#include "opsrun/common/json.h"

namespace opsrun::azure {

namespace {

constexpr const char* kEventsPath = "/metadata/scheduledevents?api-version=2020-07-01";
constexpr const char* kNamePath =
    "/metadata/instance/compute/name?api-version=2021-02-01&format=text";
constexpr std::size_t kMaxBody = 1 << 20;

struct Reply {
  long status = 0;
  std::string body;
};

std::size_t collect(char* data, std::size_t size, std::size_t n, void* user) {
  auto* body = static_cast<std::string*>(user);
  const std::size_t len = size * n;
  if (body->size() + len > kMaxBody) return 0;  // aborts the transfer
  body->append(data, len);
  return len;
}

int progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* stopping = static_cast<const std::function<bool()>*>(user);
  return *stopping && (*stopping)() ? 1 : 0;  // non-zero aborts the transfer
}

// One request: Metadata: true, no proxy whatever the environment says, explicit timeouts.
Result<Reply> request(const std::string& url, const std::string* post_body, Millis timeout,
                      Millis connect, const std::function<bool()>& stopping) {
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return fail(ErrorCode::Internal, "IMDS: curl_easy_init failed");
  curl_slist* headers = curl_slist_append(nullptr, "Metadata: true");
  if (post_body != nullptr) headers = curl_slist_append(headers, "Content-Type: application/json");
  Reply reply;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(curl, CURLOPT_PROXY, "");
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect.count()));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  if (post_body != nullptr) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, post_body->c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(post_body->size()));
  }
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, progress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &stopping);
  const CURLcode rc = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (rc == CURLE_ABORTED_BY_CALLBACK)
    return fail(ErrorCode::Cancelled, "IMDS request aborted: stopping");
  if (rc != CURLE_OK)
    return fail(ErrorCode::Unavailable, std::string("IMDS unreachable: ") + curl_easy_strerror(rc));
  return reply;
}

Error http_error(std::string_view what, const Reply& r) {
  std::string body = r.body.substr(0, 200);
  return Error{ErrorCode::Unavailable, std::string(what) + ": HTTP " + std::to_string(r.status) +
                                           (body.empty() ? "" : ": " + body)};
}

}  // namespace

ImdsClient::ImdsClient(ImdsOptions options) : options_(std::move(options)) {
  while (!options_.base_url.empty() && options_.base_url.back() == '/')
    options_.base_url.pop_back();
}

Result<EventsDocument> ImdsClient::scheduled_events() {
  const Millis timeout = first_call_done_ ? options_.timeout : options_.first_call_timeout;
  auto r = request(options_.base_url + kEventsPath, nullptr, timeout, options_.connect_timeout,
                   stopping_);
  if (!r) return std::unexpected(r.error());
  first_call_done_ = true;
  if (r->status != 200) return std::unexpected(http_error("IMDS scheduled events", *r));
  return parse_events_document(r->body);
}

Result<void> ImdsClient::acknowledge(const std::vector<std::string>& event_ids) {
  JsonArray starts;
  for (const auto& id : event_ids) starts.push_back(JsonObject{{"EventId", id}});
  const std::string body = to_json_text(JsonObject{{"StartRequests", std::move(starts)}});
  auto r = request(options_.base_url + kEventsPath, &body, options_.timeout,
                   options_.connect_timeout, stopping_);
  if (!r) return std::unexpected(r.error());
  if (r->status != 200) return std::unexpected(http_error("IMDS acknowledgement", *r));
  return {};
}

Result<std::string> ImdsClient::vm_name() {
  auto r = request(options_.base_url + kNamePath, nullptr, options_.timeout,
                   options_.connect_timeout, stopping_);
  if (!r) return std::unexpected(r.error());
  if (r->status != 200) return std::unexpected(http_error("IMDS instance name", *r));
  std::string name = r->body;
  while (!name.empty() && (name.back() == '\n' || name.back() == '\r' || name.back() == ' '))
    name.pop_back();
  if (name.empty()) return fail(ErrorCode::Unavailable, "IMDS instance name: empty answer");
  return name;
}

}  // namespace opsrun::azure
