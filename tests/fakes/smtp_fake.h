// A minimal ESMTP server on 127.0.0.1 (a free port), enough for libcurl: greeting, EHLO/HELO,
// STARTTLS or implicit TLS (SMTPS) when asked for, with a self-signed certificate for
// 127.0.0.1 made at start (ca_file() is its PEM), AUTH PLAIN (with or without an initial
// response), MAIL FROM, RCPT TO, DATA (dot-unstuffed), RSET, NOOP, QUIT. One connection at a
// time, bounded reads; stopped by the destructor. Faults: the next MAIL FROM answers a code.
#pragma once

#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

struct ssl_ctx_st;  // OpenSSL's SSL_CTX

namespace opsrun::testing {

class SmtpFake {
 public:
  struct Mail {
    std::string from;  // the MAIL FROM address, without <>
    std::vector<std::string> to;
    std::string data;  // the message, CRLF line ends, dot-unstuffed
    std::string user;  // who authenticated, "" when nobody
    bool tls = false;  // sent over TLS
  };
  enum class Tls { None, StartTls, Implicit };

  // username empty: AUTH is not offered.
  explicit SmtpFake(std::string username = "", std::string password = "", Tls tls = Tls::None);
  ~SmtpFake();
  SmtpFake(const SmtpFake&) = delete;
  SmtpFake& operator=(const SmtpFake&) = delete;

  [[nodiscard]] std::string url() const {
    return (tls_ == Tls::Implicit ? "smtps://127.0.0.1:" : "smtp://127.0.0.1:") +
           std::to_string(port_);
  }
  // The server certificate (PEM), to trust as a CA; "" without TLS.
  [[nodiscard]] std::string ca_file() const { return ca_file_; }
  // The next MAIL FROM is answered with this line ("451 4.3.0 try later", "550 5.7.1 no").
  void fail_next(std::string reply);
  [[nodiscard]] std::vector<Mail> mails() const;
  [[nodiscard]] int connections() const;

 private:
  void serve();
  void session(int fd);

  void start_tls();

  std::string username_;
  std::string password_;
  Tls tls_;
  std::string ca_file_;
  ::ssl_ctx_st* ctx_ = nullptr;  // SSL_CTX
  int listen_fd_ = -1;
  int wake_r_ = -1;
  int wake_w_ = -1;
  int port_ = 0;
  mutable std::mutex mu_;
  std::deque<std::string> faults_;
  std::vector<Mail> mails_;
  int connections_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace opsrun::testing
