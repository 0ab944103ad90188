// Email through SMTP (STARTTLS required unless tls: none) or SMTPS with libcurl: an RFC 5322
// message (Date, Message-ID, From, To, Subject in RFC 2047 when not ASCII, MIME text/plain
// UTF-8). Transient failures (no connection, 4xx replies) are retried; 5xx replies and
// refused logins are not.
#include <curl/curl.h>

#include <cstring>
#include <ctime>
#include <memory>
#include <mutex>
#include <random>

#include "opsrun/common/log.h"
#include "opsrun/notify/channels_internal.h"

namespace opsrun::notify::detail {

namespace {

struct Upload {
  std::string_view data;
  std::size_t pos = 0;
};

std::size_t on_read(char* buf, std::size_t size, std::size_t nmemb, void* user) noexcept {
  auto* u = static_cast<Upload*>(user);
  const std::size_t n = std::min(size * nmemb, u->data.size() - u->pos);
  std::memcpy(buf, u->data.data() + u->pos, n);
  u->pos += n;
  return n;
}

std::string base64(std::string_view in) {
  static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned n = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    out += {a[(n >> 18) & 63], a[(n >> 12) & 63], a[(n >> 6) & 63], a[n & 63]};
  }
  if (i < in.size()) {
    unsigned n = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += {a[(n >> 18) & 63], a[(n >> 12) & 63]};
    out += i + 1 < in.size() ? a[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// RFC 2047 encoded words of at most 45 input bytes each (cut between UTF-8 characters),
// folded onto continuation lines.
std::string encode_header_text(std::string_view text) {
  bool ascii = true;
  for (unsigned char c : text) ascii = ascii && c >= 0x20 && c < 0x7F;
  if (ascii) return std::string(text);
  std::string out;
  while (!text.empty()) {
    std::size_t cut = std::min<std::size_t>(45, text.size());
    while (cut < text.size() && cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80)
      --cut;
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + base64(text.substr(0, cut)) + "?=";
    text.remove_prefix(cut);
  }
  return out;
}

std::string rfc5322_date(SystemTime t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

std::string message_id(const std::string& from, SystemTime t) {
  static std::mutex mu;
  static std::mt19937_64 rng(std::random_device{}());
  std::uint64_t r;
  {
    std::lock_guard g(mu);
    r = rng();
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(r));
  return "<" + std::to_string(to_unix_ms(t)) + "." + hex + "@" + from.substr(from.find('@') + 1) +
         ">";
}

// CRLF line ends, and no line longer than SMTP allows (998 bytes; cut at 900).
std::string smtp_body(std::string_view text) {
  std::string out;
  std::size_t line = 0;
  for (char c : text) {
    if (c == '\r') continue;
    if (c == '\n') {
      out += "\r\n";
      line = 0;
      continue;
    }
    if (line == 900) {
      out += "\r\n";
      line = 0;
    }
    out += c;
    ++line;
  }
  return out + "\r\n";
}

bool retryable(CURLcode rc, long smtp_code) {
  if (smtp_code >= 500) return false;
  if (smtp_code >= 400) return true;
  switch (rc) {
    case CURLE_LOGIN_DENIED:
    case CURLE_ABORTED_BY_CALLBACK:  // the caller cancelled
    case CURLE_USE_SSL_FAILED:
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
      return false;
    default:
      return true;
  }
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

class EmailChannel final : public Channel {
 public:
  EmailChannel(const config::ChannelConfig& c, const ChannelDeps& deps)
      : name_(c.name), cfg_(c.email), delivery_(deps.clock, c.delivery) {}

  [[nodiscard]] std::string name() const override { return name_; }
  Result<void> send(const Notification& n) override { return as_void(deliver(n)); }

  Result<Json> deliver(const Notification& n) override {
    const SystemTime now = delivery_.clock.now();
    const std::string id = message_id(cfg_.from, now);
    const std::string message = compose(n, now, id);
    CURLcode rc = CURLE_OK;
    long code = 0;
    std::string detail;
    const Pacing pacing = delivery_.pacing(n);
    const RetryReport report = run_with_retry(delivery_.retry, pacing, [&](int) {
      detail.clear();
      rc = send_once(message, pacing, code, detail);
      AttemptVerdict v;
      v.retryable = rc != CURLE_OK && retryable(rc, code);
      v.why = name_ + ": " +
              (code > 0 ? "SMTP " + std::to_string(code) : std::string(curl_easy_strerror(rc)));
      return v;
    });
    if (rc == CURLE_OK) return Json(JsonObject{{"message_id", id}, {"recipients", cfg_.to.size()}});
    std::string msg = name_ + ": " + url_origin(cfg_.url) + ": " +
                      (detail.empty() ? curl_easy_strerror(rc) : detail);
    if (code > 0) msg += " (SMTP " + std::to_string(code) + ")";
    if (!report.gave_up.empty()) msg += "; " + report.gave_up;
    const ErrorCode ec = rc == CURLE_LOGIN_DENIED          ? ErrorCode::PermissionDenied
                         : rc == CURLE_ABORTED_BY_CALLBACK ? ErrorCode::Cancelled
                         : retryable(rc, code)             ? ErrorCode::Unavailable
                                                           : ErrorCode::InvalidArgument;
    return fail(ec, log::redact(msg));
  }

 private:
  std::string name_;
  config::EmailConfig cfg_;
  Delivery delivery_;

  std::string compose(const Notification& n, SystemTime now, const std::string& id) const {
    std::string to;
    for (const auto& a : cfg_.to) to += (to.empty() ? "" : ", ") + a;
    std::string subject = cfg_.subject_prefix.empty() ? "" : cfg_.subject_prefix + " ";
    subject += "[" + std::string(to_string(n.severity)) + "] ";
    if (n.action == Action::Resolve) subject += "RESOLVED: ";
    subject += headline(n, 150);
    std::string m;
    m += "Date: " + rfc5322_date(now) + "\r\n";
    m += "Message-ID: " + id + "\r\n";
    m += "From: " + cfg_.from + "\r\n";
    m += "To: " + to + "\r\n";
    m += "Subject: " + encode_header_text(subject) + "\r\n";
    m += "MIME-Version: 1.0\r\n";
    m += "Content-Type: text/plain; charset=UTF-8\r\n";
    m += "Content-Transfer-Encoding: 8bit\r\n";
    m += "Auto-Submitted: auto-generated\r\n";
    m += "\r\n";
    m += smtp_body(plain_text(n));
    return m;
  }

  CURLcode send_once(const std::string& message, const Pacing& pacing, long& smtp_code,
                     std::string& detail) const {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
    if (!curl) return CURLE_FAILED_INIT;
    CURL* c = curl.get();
    char errbuf[CURL_ERROR_SIZE] = {0};
    Upload upload{message, 0};
    curl_easy_setopt(c, CURLOPT_URL, cfg_.url.c_str());
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    const Millis timeout = attempt_timeout(delivery_.retry, pacing);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(std::min<long long>(timeout.count(), 10'000)));
    abort_when_cancelled(c, pacing.cancelled);
    if (cfg_.url.starts_with("smtp://"))
      curl_easy_setopt(c, CURLOPT_USE_SSL,
                       cfg_.tls == "none" ? static_cast<long>(CURLUSESSL_NONE)
                                          : static_cast<long>(CURLUSESSL_ALL));
    if (!cfg_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, cfg_.ca_file.c_str());
    if (!cfg_.username.empty()) {
      curl_easy_setopt(c, CURLOPT_USERNAME, cfg_.username.c_str());
      curl_easy_setopt(c, CURLOPT_PASSWORD, cfg_.password.c_str());
    }
    const std::string from = "<" + cfg_.from + ">";
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, from.c_str());
    curl_slist* list = nullptr;
    for (const auto& a : cfg_.to) list = curl_slist_append(list, ("<" + a + ">").c_str());
    std::unique_ptr<curl_slist, SlistDeleter> rcpt(list);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, list);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(c, CURLOPT_READDATA, &upload);
    const CURLcode rc = curl_easy_perform(c);
    smtp_code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &smtp_code);
    if (rc == CURLE_OK) smtp_code = 0;
    detail = errbuf;
    return rc;
  }
};

}  // namespace

std::shared_ptr<Channel> make_email(const config::ChannelConfig& c, const ChannelDeps& deps) {
  return std::make_shared<EmailChannel>(c, deps);
}

}  // namespace opsrun::notify::detail
