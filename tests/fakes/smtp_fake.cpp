#include "fakes/smtp_fake.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <stdexcept>

#include "fakes/fake_util.h"

namespace opsrun::testing {

namespace {

// Reads one CRLF-terminated line into `line` (without CRLF), buffering in `buf`. False on
// EOF, error, a 5 s silence, the wake pipe, or a line over 64 KiB.
bool read_line(int fd, int wake, std::string& buf, std::string& line) {
  while (true) {
    if (auto eol = buf.find("\r\n"); eol != std::string::npos) {
      line = buf.substr(0, eol);
      buf.erase(0, eol + 2);
      return true;
    }
    if (buf.size() > 65536) return false;
    pollfd fds[2] = {{fd, POLLIN, 0}, {wake, POLLIN, 0}};
    if (::poll(fds, 2, 5000) <= 0 || (fds[1].revents & POLLIN) != 0) return false;
    char chunk[4096];
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n <= 0) return false;
    buf.append(chunk, static_cast<std::size_t>(n));
  }
}

void say(int fd, const std::string& text) {
  std::string_view rest = text;
  while (!rest.empty()) {
    const ssize_t n = ::send(fd, rest.data(), rest.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
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

SmtpFake::SmtpFake(std::string username, std::string password)
    : username_(std::move(username)), password_(std::move(password)) {
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
  std::string buf, line;
  Mail mail;
  std::string user;
  say(fd, "220 fake.smtp.test ESMTP ready\r\n");
  while (read_line(fd, wake_r_, buf, line)) {
    const std::string verb = upper(line.substr(0, line.find(' ')));
    if (verb == "EHLO") {
      say(fd, "250-fake.smtp.test\r\n250-8BITMIME\r\n" +
                  std::string(username_.empty() ? "" : "250-AUTH PLAIN\r\n") +
                  "250 SIZE 1048576\r\n");
    } else if (verb == "HELO") {
      say(fd, "250 fake.smtp.test\r\n");
    } else if (verb == "AUTH") {
      std::string arg = line.size() > 11 ? line.substr(11) : "";  // after "AUTH PLAIN "
      if (upper(line.substr(0, 10)) != "AUTH PLAIN" || username_.empty()) {
        say(fd, "504 5.5.4 mechanism not supported\r\n");
        continue;
      }
      if (arg.empty()) {
        say(fd, "334 \r\n");
        if (!read_line(fd, wake_r_, buf, arg)) return;
      }
      const std::string decoded = base64_decode(arg);  // authzid \0 authcid \0 password
      const auto a = decoded.find('\0');
      const auto b = a == std::string::npos ? a : decoded.find('\0', a + 1);
      if (b != std::string::npos && decoded.substr(a + 1, b - a - 1) == username_ &&
          decoded.substr(b + 1) == password_) {
        user = username_;
        say(fd, "235 2.7.0 authenticated\r\n");
      } else {
        say(fd, "535 5.7.8 authentication credentials invalid\r\n");
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
        say(fd, fault + "\r\n");
        continue;
      }
      if (!username_.empty() && user.empty()) {
        say(fd, "530 5.7.0 authentication required\r\n");
        continue;
      }
      mail = Mail{angle_address(line), {}, "", user};
      say(fd, "250 2.1.0 ok\r\n");
    } else if (verb == "RCPT") {
      mail.to.push_back(angle_address(line));
      say(fd, "250 2.1.5 ok\r\n");
    } else if (verb == "DATA") {
      if (mail.from.empty() || mail.to.empty()) {
        say(fd, "503 5.5.1 need MAIL and RCPT first\r\n");
        continue;
      }
      say(fd, "354 end with <CRLF>.<CRLF>\r\n");
      std::string data;
      while (true) {
        if (!read_line(fd, wake_r_, buf, line)) return;
        if (line == ".") break;
        data += (line.starts_with(".") ? line.substr(1) : line) + "\r\n";
      }
      mail.data = std::move(data);
      {
        std::lock_guard g(mu_);
        mails_.push_back(mail);
      }
      mail = Mail{};
      say(fd, "250 2.0.0 queued\r\n");
    } else if (verb == "RSET") {
      mail = Mail{};
      say(fd, "250 2.0.0 ok\r\n");
    } else if (verb == "NOOP") {
      say(fd, "250 2.0.0 ok\r\n");
    } else if (verb == "QUIT") {
      say(fd, "221 2.0.0 bye\r\n");
      return;
    } else {
      say(fd, "502 5.5.2 command not recognized\r\n");
    }
  }
}

}  // namespace opsrun::testing
