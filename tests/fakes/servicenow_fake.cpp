#include "fakes/servicenow_fake.h"

#include <random>

#include "fakes/fake_util.h"

namespace opsrun::testing {

namespace {

HttpResponse json_reply(int status, const Json& body) {
  HttpResponse r;
  r.status = status;
  r.body = to_json_text(body);
  r.content_type = "application/json";
  return r;
}

HttpResponse failure(int status, std::string message, Json detail) {
  return json_reply(status,
                    JsonObject{{"error", JsonObject{{"message", message}, {"detail", detail}}},
                               {"status", "failure"}});
}

std::string random_sys_id() {
  static std::mt19937_64 rng(std::random_device{}());
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 32; ++i) s += hex[rng() % 16];
  return s;
}

std::string as_text(const Json& v) {
  return v.is_string() ? std::string(v.as_string()) : to_json_text(v);
}

// The documented priority lookup: impact x urgency.
std::string priority(const std::string& impact, const std::string& urgency) {
  const int i = impact.empty() ? 3 : std::atoi(impact.c_str());
  const int u = urgency.empty() ? 3 : std::atoi(urgency.c_str());
  static const int matrix[3][3] = {{1, 2, 3}, {2, 3, 4}, {3, 4, 4}};
  if (i < 1 || i > 3 || u < 1 || u > 3) return "5";
  return std::to_string(matrix[i - 1][u - 1]);
}

JsonObject select_fields(const JsonObject& record, std::string_view query) {
  const auto form = parse_form(query);
  auto it = form.find("sysparm_fields");
  if (it == form.end()) return record;
  JsonObject out;
  std::string_view fields = it->second;
  while (!fields.empty()) {
    const auto comma = fields.find(',');
    const std::string f(fields.substr(0, comma));
    if (const auto* v = record.if_contains(f)) out[f] = *v;
    if (comma == std::string_view::npos) break;
    fields.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace

ServiceNowFake::ServiceNowFake(Options options) : options_(std::move(options)) {
  server_.set_handler([this](const HttpRequest& r) { return handle(r); });
}

void ServiceNowFake::fail_next(int status, std::string retry_after) {
  std::lock_guard g(mu_);
  faults_.emplace_back(status, std::move(retry_after));
}

void ServiceNowFake::revoke_tokens() {
  std::lock_guard g(mu_);
  tokens_.clear();
}

std::map<std::string, JsonObject> ServiceNowFake::incidents() const {
  std::lock_guard g(mu_);
  return incidents_;
}

std::vector<SystemTime> ServiceNowFake::table_request_times() const {
  std::lock_guard g(mu_);
  return times_;
}

int ServiceNowFake::token_requests() const {
  std::lock_guard g(mu_);
  return token_requests_;
}

bool ServiceNowFake::authorized(const HttpRequest& r) const {
  const std::string auth = r.header("Authorization");
  if (auth == "Basic " + base64_encode(options_.username + ":" + options_.password)) return true;
  if (auth.starts_with("Bearer ")) {
    const std::string t = auth.substr(7);
    for (const auto& issued : tokens_)
      if (issued == t) return true;
  }
  return false;
}

HttpResponse ServiceNowFake::handle(const HttpRequest& r) {
  if (target_path(r.target) == "/oauth_token.do") return token(r);
  return table(r);
}

HttpResponse ServiceNowFake::token(const HttpRequest& r) {
  std::lock_guard g(mu_);
  ++token_requests_;
  if (r.method != "POST") return failure(405, "Method not allowed", nullptr);
  if (r.header("Content-Type").find("application/x-www-form-urlencoded") == std::string::npos)
    return failure(400, "Invalid request", "the body must be application/x-www-form-urlencoded");
  auto form = parse_form(r.body);
  const bool client_ok =
      form["client_id"] == options_.client_id && form["client_secret"] == options_.client_secret;
  bool ok = false;
  if (form["grant_type"] == "client_credentials") ok = client_ok;
  if (form["grant_type"] == "password")
    ok =
        client_ok && form["username"] == options_.username && form["password"] == options_.password;
  if (!ok)
    return json_reply(
        401, JsonObject{{"error_description", "access_denied"}, {"error", "server_error"}});
  const std::string t = "tok-" + random_sys_id();
  tokens_.push_back(t);
  return json_reply(200, JsonObject{{"access_token", t},
                                    {"refresh_token", "ref-" + random_sys_id()},
                                    {"scope", "useraccount"},
                                    {"token_type", "Bearer"},
                                    {"expires_in", 1799}});
}

HttpResponse ServiceNowFake::table(const HttpRequest& r) {
  std::lock_guard g(mu_);
  if (options_.clock != nullptr) times_.push_back(options_.clock->now());
  if (!faults_.empty()) {
    auto [status, retry_after] = faults_.front();
    faults_.pop_front();
    if (status == 429) {
      HttpResponse resp = failure(429, "Rate limit exceeded",
                                  "Rate limit of 10 requests per hour for Table API exceeded");
      resp.headers = {{"X-RateLimit-Limit", "10"},
                      {"X-RateLimit-Reset", "1893456000"},
                      {"X-RateLimit-Rule", "4f8b3f0c1b123010a8a1b5d4e54bcb2d"}};
      if (!retry_after.empty()) resp.headers.emplace_back("Retry-After", retry_after);
      return resp;
    }
    if (status == 401)
      return failure(401, "User Not Authenticated", "Required to provide Auth information");
    return failure(status, "Internal server error", nullptr);
  }
  if (!authorized(r))
    return failure(401, "User Not Authenticated", "Required to provide Auth information");
  const std::string path(target_path(r.target));
  const std::string base = "/api/now/table/incident";
  if (r.header("Accept").find("application/json") == std::string::npos)
    return failure(406, "Not acceptable", nullptr);
  if (!path.starts_with(base))
    return failure(400, "Requested URI does not represent any resource", nullptr);
  if ((r.method == "POST" || r.method == "PATCH") &&
      r.header("Content-Type").find("application/json") == std::string::npos)
    return failure(415, "Unsupported media type", nullptr);
  auto body = r.method == "GET" ? Result<Json>(Json(JsonObject{})) : parse_json(r.body);
  if (!body || !body->is_object())
    return failure(400, "Exception while reading request", "Invalid JSON");

  if (r.method == "POST" && path == base) {
    JsonObject rec;
    for (const auto& kv : body->as_object())
      if (!kv.key().starts_with("sys_")) rec[kv.key()] = as_text(kv.value());
    const std::string state = rec.contains("state") ? std::string(rec["state"].as_string()) : "1";
    if ((state == "6" || state == "7") &&
        (!rec.contains("close_code") || !rec.contains("close_notes")))
      return failure(403, "Operation Failed",
                     "Data Policy Exception: close_code and close_notes are mandatory");
    const std::string id = random_sys_id();
    rec["sys_id"] = id;
    rec["number"] = "INC00" + std::to_string(next_number_++);
    rec["state"] = state;
    rec["priority"] =
        priority(rec.contains("impact") ? std::string(rec["impact"].as_string()) : "",
                 rec.contains("urgency") ? std::string(rec["urgency"].as_string()) : "");
    incidents_[id] = rec;
    HttpResponse resp =
        json_reply(201, JsonObject{{"result", select_fields(rec, target_query(r.target))}});
    resp.headers.emplace_back("Location", url() + base + "/" + id);
    return resp;
  }
  const std::string id = path.size() > base.size() + 1 ? path.substr(base.size() + 1) : "";
  auto it = incidents_.find(id);
  if (id.empty() || it == incidents_.end())
    return failure(404, "No Record found",
                   "Record doesn't exist or ACL restricts the record retrieval");
  if (r.method == "GET") return json_reply(200, JsonObject{{"result", it->second}});
  if (r.method == "PATCH" || r.method == "PUT") {
    JsonObject next = it->second;
    for (const auto& kv : body->as_object())
      if (!kv.key().starts_with("sys_")) next[kv.key()] = as_text(kv.value());
    const std::string state(next["state"].as_string());
    if ((state == "6" || state == "7") &&
        (!next.contains("close_code") || !next.contains("close_notes")))
      return failure(403, "Operation Failed",
                     "Data Policy Exception: close_code and close_notes are mandatory");
    next["priority"] =
        priority(next.contains("impact") ? std::string(next["impact"].as_string()) : "",
                 next.contains("urgency") ? std::string(next["urgency"].as_string()) : "");
    it->second = next;
    return json_reply(200, JsonObject{{"result", select_fields(next, target_query(r.target))}});
  }
  return failure(405, "Method not allowed", nullptr);
}

void ServiceNowFake::remove_incident(const std::string& sys_id) {
  std::lock_guard g(mu_);
  incidents_.erase(sys_id);
}

}  // namespace opsrun::testing
