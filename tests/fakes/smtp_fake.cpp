#include "fakes/smtp_fake.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cctype>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include "fakes/fake_util.h"

namespace opsrun::testing {

namespace {

// One client connection, in plain text until STARTTLS (or from the start with SMTPS).
struct Conn {
  int fd;
  int wake;
  SSL* ssl = nullptr;
  std::string buf;
  ~Conn() {
    if (ssl != nullptr) {
      SSL_shutdown(ssl);
      SSL_free(ssl);
    }
  }
};

// Reads one CRLF-terminated line into `line` (without CRLF). False on EOF, error, a 5 s
// silence, the wake pipe, or a line over 64 KiB.
bool read_line(Conn& c, std::string& line) {
  while (true) {
    if (auto eol = c.buf.find("\r\n"); eol != std::string::npos) {
      line = c.buf.substr(0, eol);
      c.buf.erase(0, eol + 2);
      return true;
    }
    if (c.buf.size() > 65536) return false;
    if (c.ssl == nullptr || SSL_pending(c.ssl) == 0) {
      pollfd fds[2] = {{c.fd, POLLIN, 0}, {c.wake, POLLIN, 0}};
      if (::poll(fds, 2, 5000) <= 0 || (fds[1].revents & POLLIN) != 0) return false;
    }
    char chunk[4096];
    const int n = c.ssl != nullptr ? SSL_read(c.ssl, chunk, sizeof chunk)
                                   : static_cast<int>(::read(c.fd, chunk, sizeof chunk));
    if (n <= 0) return false;
    c.buf.append(chunk, static_cast<std::size_t>(n));
  }
}

void say(Conn& c, const std::string& text) {
  if (c.ssl != nullptr) {
    SSL_write(c.ssl, text.data(), static_cast<int>(text.size()));
    return;
  }
  std::string_view rest = text;
  while (!rest.empty()) {
    const ssize_t n = ::send(c.fd, rest.data(), rest.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
}

bool handshake(Conn& c, SSL_CTX* ctx) {
  c.ssl = SSL_new(ctx);
  SSL_set_fd(c.ssl, c.fd);
  return SSL_accept(c.ssl) == 1;
}

// A P-256 key and a self-signed certificate for IP 127.0.0.1, valid for a day.
void make_certificate(SSL_CTX* ctx, const std::string& pem_path) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, x, x, nullptr, nullptr, 0);
  X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name, "IP:127.0.0.1");
  X509_add_ext(x, san, -1);
  X509_EXTENSION_free(san);
  X509_sign(x, key, EVP_sha256());
  SSL_CTX_use_certificate(ctx, x);
  SSL_CTX_use_PrivateKey(ctx, key);
  if (FILE* f = std::fopen(pem_path.c_str(), "w")) {
    PEM_write_X509(f, x);
    std::fclose(f);
  }
  X509_free(x);
  EVP_PKEY_free(key);
}

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// "MAIL FROM:<a@b> SIZE=12" -> "a@b"
std::string angle_address(const std::string& line) {
  const auto open = line.find('<');
  const auto close = line.find('>', open);
  if (open == std::string::npos || close == std::string::npos) return "";
  return line.substr(open + 1, close - open - 1);
}

}  // namespace

SmtpFake::SmtpFake(std::string username, std::string password, Tls tls)
    : username_(std::move(username)), password_(std::move(password)), tls_(tls) {
  if (tls_ != Tls::None) {
    // OpenSSL writes with write(2): a client that hangs up mid-handshake must not kill the test.
    std::signal(SIGPIPE, SIG_IGN);
    ctx_ = SSL_CTX_new(TLS_server_method());
    ca_file_ = (std::filesystem::temp_directory_path() /
                ("opsrun-smtp-fake-" + std::to_string(::getpid()) + "-" +
                 std::to_string(reinterpret_cast<std::uintptr_t>(this)) + ".pem"))
                   .string();
    make_certificate(ctx_, ca_file_);
  }
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 8) != 0)
    throw std::runtime_error("bind/listen on 127.0.0.1 failed");
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  wake_r_ = pipe_fds[0];
  wake_w_ = pipe_fds[1];
  thread_ = std::thread([this] { serve(); });
}

SmtpFake::~SmtpFake() {
  {
    std::lock_guard g(mu_);
    stopping_ = true;
  }
  [[maybe_unused]] auto n = ::write(wake_w_, "x", 1);
  thread_.join();
  ::close(listen_fd_);
  ::close(wake_r_);
  ::close(wake_w_);
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
  if (!ca_file_.empty()) std::filesystem::remove(ca_file_);
}

void SmtpFake::fail_next(std::string reply) {
  std::lock_guard g(mu_);
  faults_.push_back(std::move(reply));
}

std::vector<SmtpFake::Mail> SmtpFake::mails() const {
  std::lock_guard g(mu_);
  return mails_;
}

int SmtpFake::connections() const {
  std::lock_guard g(mu_);
  return connections_;
}

void SmtpFake::serve() {
  while (true) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_r_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 || (fds[1].revents & POLLIN) != 0) return;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    {
      std::lock_guard g(mu_);
      ++connections_;
    }
    session(fd);
    ::close(fd);
  }
}

void SmtpFake::session(int fd) {
  const timeval limit{5, 0};  // a stalled TLS read or write ends the session
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
  Conn conn{fd, wake_r_};
  if (tls_ == Tls::Implicit && !handshake(conn, ctx_)) return;
  std::string line;
  Mail mail;
  std::string user;
  say(conn, "220 fake.smtp.test ESMTP ready\r\n");
  while (read_line(conn, line)) {
    const std::string verb = upper(line.substr(0, line.find(' ')));
    if (verb == "EHLO") {
      const bool offer_tls = tls_ == Tls::StartTls && conn.ssl == nullptr;
      say(conn, "250-fake.smtp.test\r\n250-8BITMIME\r\n" +
                    std::string(offer_tls ? "250-STARTTLS\r\n" : "") +
                    std::string(username_.empty() ? "" : "250-AUTH PLAIN\r\n") +
                    "250 SIZE 1048576\r\n");
    } else if (verb == "STARTTLS") {
      if (tls_ != Tls::StartTls || conn.ssl != nullptr) {
        say(conn, "502 5.5.1 not offered\r\n");
        continue;
      }
      say(conn, "220 2.0.0 ready to start TLS\r\n");
      conn.buf.clear();
      if (!handshake(conn, ctx_)) return;
      user.clear();  // RFC 3207: forget everything said before
    } else if (verb == "HELO") {
      say(conn, "250 fake.smtp.test\r\n");
    } else if (verb == "AUTH") {
      std::string arg = line.size() > 11 ? line.substr(11) : "";  // after "AUTH PLAIN "
      if (upper(line.substr(0, 10)) != "AUTH PLAIN" || username_.empty()) {
        say(conn, "504 5.5.4 mechanism not supported\r\n");
        continue;
      }
      if (arg.empty()) {
        say(conn, "334 \r\n");
        if (!read_line(conn, arg)) return;
      }
      const std::string decoded = base64_decode(arg);  // authzid \0 authcid \0 password
      const auto a = decoded.find('\0');
      const auto b = a == std::string::npos ? a : decoded.find('\0', a + 1);
      if (b != std::string::npos && decoded.substr(a + 1, b - a - 1) == username_ &&
          decoded.substr(b + 1) == password_) {
        user = username_;
        say(conn, "235 2.7.0 authenticated\r\n");
      } else {
        say(conn, "535 5.7.8 authentication credentials invalid\r\n");
      }
    } else if (verb == "MAIL") {
      std::string fault;
      {
        std::lock_guard g(mu_);
        if (!faults_.empty()) {
          fault = faults_.front();
          faults_.pop_front();
        }
      }
      if (!fault.empty()) {
        say(conn, fault + "\r\n");
        continue;
      }
      if (!username_.empty() && user.empty()) {
        say(conn, "530 5.7.0 authentication required\r\n");
        continue;
      }
      mail = Mail{angle_address(line), {}, "", user, conn.ssl != nullptr};
      say(conn, "250 2.1.0 ok\r\n");
    } else if (verb == "RCPT") {
      mail.to.push_back(angle_address(line));
      say(conn, "250 2.1.5 ok\r\n");
    } else if (verb == "DATA") {
      if (mail.from.empty() || mail.to.empty()) {
        say(conn, "503 5.5.1 need MAIL and RCPT first\r\n");
        continue;
      }
      say(conn, "354 end with <CRLF>.<CRLF>\r\n");
      std::string data;
      while (true) {
        if (!read_line(conn, line)) return;
        if (line == ".") break;
        data += (line.starts_with(".") ? line.substr(1) : line) + "\r\n";
      }
      mail.data = std::move(data);
      {
        std::lock_guard g(mu_);
        mails_.push_back(mail);
      }
      mail = Mail{};
      say(conn, "250 2.0.0 queued\r\n");
    } else if (verb == "RSET") {
      mail = Mail{};
      say(conn, "250 2.0.0 ok\r\n");
    } else if (verb == "NOOP") {
      say(conn, "250 2.0.0 ok\r\n");
    } else if (verb == "QUIT") {
      say(conn, "221 2.0.0 bye\r\n");
      return;
    } else {
      say(conn, "502 5.5.2 command not recognized\r\n");
    }
  }
}

}  // namespace opsrun::testing
