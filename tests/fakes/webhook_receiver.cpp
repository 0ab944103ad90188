#include "fakes/webhook_receiver.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace opsrun::testing {

namespace {

std::string expected_signature(const std::string& secret, const std::string& body) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), md, &len);
  std::string out = "sha256=";
  char buf[3];
  for (unsigned i = 0; i < len; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", md[i]);
    out += buf;
  }
  return out;
}

}  // namespace

WebhookReceiver::WebhookReceiver(std::string secret, std::string header)
    : secret_(std::move(secret)), header_(std::move(header)) {
  server_.set_handler([this](const HttpRequest& r) { return handle(r); });
}

void WebhookReceiver::fail_next(int status, std::string retry_after) {
  HttpResponse r{.status = status, .body = "injected"};
  if (!retry_after.empty()) r.headers.emplace_back("Retry-After", retry_after);
  server_.push_response(std::move(r));
}

std::vector<std::string> WebhookReceiver::accepted() const {
  std::lock_guard g(mu_);
  return accepted_;
}

HttpResponse WebhookReceiver::handle(const HttpRequest& r) {
  if (r.method != "POST") return HttpResponse{.status = 405, .body = "POST only"};
  if (!r.header("Content-Type").starts_with("application/json"))
    return HttpResponse{.status = 415, .body = "JSON only"};
  if (!secret_.empty()) {
    const std::string want = expected_signature(secret_, r.body);
    const std::string got = r.header(header_);
    if (got.size() != want.size() || CRYPTO_memcmp(got.data(), want.data(), want.size()) != 0)
      return HttpResponse{.status = 401, .body = "bad signature"};
  }
  std::lock_guard g(mu_);
  accepted_.push_back(r.body);
  return HttpResponse{.status = 204, .body = ""};
}

}  // namespace opsrun::testing
