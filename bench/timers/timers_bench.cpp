// bench/timers, workload T1 of issue 5: 100,000 timers created through the batch API of a
// real `opsrun serve` (release build, SQLite), each due at a uniformly random time 5–15 s
// after the start and calling back a local HTTP endpoint that records its arrival. Reports
// the creation rate, lateness (arrival − due) p50/p99/max, fired, duplicates, missing and
// the server's peak RSS; then, on a fresh store, the RSS with 1,000,000 timers pending a
// day ahead.
//
//   make build && ./build-bench/bench/timers/timers_bench build/opsrun [count] [pending]
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "opsrun/common/clock.h"
#include "opsrun/common/ids.h"
#include "opsrun/common/json.h"
#include "support/serve_process.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::system_clock;
constexpr const char* kToken = "opsr_bench_timers_token";

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count();
}

// The server under test, with a body limit that fits full batches.
class Serve {
 public:
  Serve(const std::string& binary, const fs::path& dir) {
    fs::create_directories(dir / "runbooks");
    std::ofstream(dir / "opsrun.yaml") << "limits:\n  max_body_bytes: 16777216\n";
    process_ = std::make_unique<opsrun::testing::ServeProcess>(
        dir,
        std::vector<std::string>{"--config", (dir / "opsrun.yaml").string(), "--data-dir", (dir / "data").string(),
                                 "--runbooks", (dir / "runbooks").string()},
        std::vector<std::string>{std::string("OPSRUN_BOOTSTRAP_TOKEN=") + kToken}, binary);
  }
  [[nodiscard]] bool ok() const { return process_->ok(); }
  [[nodiscard]] std::string url(const std::string& path) const { return process_->url(path); }
  // "VmHWM" (peak) or "VmRSS" (now) of the server, in MiB.
  [[nodiscard]] double mem_mib(const char* field) const {
    std::ifstream in("/proc/" + std::to_string(process_->pid()) + "/status");
    std::string line;
    while (std::getline(in, line))
      if (line.rfind(field, 0) == 0) return std::stod(line.substr(line.find(':') + 1)) / 1024.0;
    return -1;
  }

 private:
  std::unique_ptr<opsrun::testing::ServeProcess> process_;
};

// The callback endpoint: HTTP/1.1 with keep-alive (the way a real service would answer),
// a thread per connection, recording each request body with its arrival time. 127.0.0.1 only.
class Receiver {
 public:
  Receiver() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 128);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    accept_ = std::thread([this] {
      for (;;) {
        const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) return;  // closed
        std::lock_guard g(mu_);
        conns_.emplace_back([this, c] { serve(c); });
      }
    });
  }
  ~Receiver() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    accept_.join();
    std::lock_guard g(mu_);
    for (auto& t : conns_) t.join();  // each ends when its client closes
  }
  [[nodiscard]] std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::vector<std::pair<std::string, std::int64_t>> take() {
    std::lock_guard g(mu_);
    return arrivals_;
  }
  std::size_t count() {
    std::lock_guard g(mu_);
    return arrivals_.size();
  }

 private:
  void serve(int c) {
    std::string buf;
    char chunk[65536];
    for (;;) {
      const auto head_end = buf.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        std::size_t length = 0;
        const auto cl = buf.find("Content-Length:");
        if (cl != std::string::npos && cl < head_end) length = std::stoul(buf.substr(cl + 15));
        if (buf.size() >= head_end + 4 + length) {
          const std::int64_t at = now_ms();
          {
            std::lock_guard g(mu_);
            arrivals_.emplace_back(buf.substr(head_end + 4, length), at);
          }
          buf.erase(0, head_end + 4 + length);
          static constexpr char kOk[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
          if (::write(c, kOk, sizeof kOk - 1) < 0) break;
          continue;
        }
      }
      const ssize_t n = ::read(c, chunk, sizeof chunk);
      if (n <= 0) break;
      buf.append(chunk, static_cast<std::size_t>(n));
    }
    ::close(c);
  }

  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread accept_;
  std::mutex mu_;
  std::vector<std::thread> conns_;
  std::vector<std::pair<std::string, std::int64_t>> arrivals_;
};

std::size_t keep(char* p, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(p, size * n);
  return size * n;
}

long post(const std::string& url, const std::string& body, std::string& answer) {
  CURL* c = curl_easy_init();
  curl_slist* h = curl_slist_append(nullptr, "Content-Type: application/json");
  h = curl_slist_append(h, (std::string("Authorization: Bearer ") + kToken).c_str());
  h = curl_slist_append(h, "Expect:");  // no 1 s wait for "100 Continue" on bodies over 1 MiB
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &answer);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
  long status = 0;
  if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  return status;
}

// Creates `count` timers in batches of 10,000; `due_ms(i)` gives each one's due time.
// Returns the seconds taken, or a negative number on a refused batch.
double create(const Serve& s, int count, const std::string& prefix, const std::string& callback,
              const std::function<std::int64_t(int)>& due_ms) {
  const auto start = std::chrono::steady_clock::now();
  for (int base = 0; base < count; base += 10'000) {
    std::string body = R"({"timers":[)";
    for (int i = base; i < std::min(count, base + 10'000); ++i) {
      if (i > base) body += ',';
      body += R"({"id":")" + prefix + std::to_string(i) + R"(","execute_at":")" +
              opsrun::format_time(opsrun::from_unix_ms(due_ms(i))) + R"(","callback":{"url":")" + callback + R"("}})";
    }
    body += "]}";
    std::string answer;
    const long status = post(s.url("/api/timers/batch"), body, answer);
    if (status != 201) {
      std::fprintf(stderr, "batch at %d: HTTP %ld: %.300s\n", base, status, answer.c_str());
      return -1;
    }
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s path/to/opsrun [count=100000] [pending=1000000]\n", argv[0]);
    return 2;
  }
  const std::string binary = argv[1];
  const int count = argc > 2 ? std::stoi(argv[2]) : 100'000;
  const int pending = argc > 3 ? std::stoi(argv[3]) : 1'000'000;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const fs::path work = fs::temp_directory_path() / ("opsrun-bench-timers-" + opsrun::random_hex(4));

  Receiver receiver;

  {
    Serve serve(binary, work / "t1");
    if (!serve.ok()) {
      std::fprintf(stderr, "opsrun serve did not start (see %s)\n", (work / "t1").c_str());
      return 1;
    }
    std::mt19937_64 rng(42);
    std::uniform_int_distribution<std::int64_t> spread(5'000, 15'000);
    const std::int64_t t0 = now_ms();
    std::vector<std::int64_t> due(static_cast<std::size_t>(count));
    for (auto& d : due) d = t0 + spread(rng);
    const double secs = create(serve, count, "t1-", receiver.url("/hook"), [&](int i) { return due[static_cast<std::size_t>(i)]; });
    if (secs < 0) return 1;
    std::printf("T1: created %d timers in %.3f s: %.0f timers/s\n", count, secs, count / secs);
    const std::int64_t give_up = t0 + 15'000 + 30'000;
    while (now_ms() < give_up && static_cast<int>(receiver.count()) < count)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // late duplicates, if any
    std::map<std::string, int> seen;
    std::vector<double> late;
    for (const auto& [body, arrived] : receiver.take()) {
      auto j = opsrun::parse_json(body);
      if (!j) continue;
      const std::string id(j->at("timerId").as_string());
      if (seen[id]++ > 0) continue;
      opsrun::SystemTime at;
      opsrun::parse_time(j->at("executeAt").as_string(), at);
      late.push_back(static_cast<double>(arrived - opsrun::to_unix_ms(at)));
    }
    std::sort(late.begin(), late.end());
    int dups = 0;
    for (const auto& [id, n] : seen) dups += n - 1;
    auto pct = [&](double p) { return late.empty() ? 0.0 : late[std::min(late.size() - 1, static_cast<std::size_t>(p * static_cast<double>(late.size())))]; };
    std::printf("T1: fired %zu, duplicates %d, missing %d\n", seen.size(), dups, count - static_cast<int>(seen.size()));
    std::printf("T1: lateness ms p50 %.0f, p99 %.0f, max %.0f (min %.0f)\n", pct(0.50), pct(0.99),
                late.empty() ? 0.0 : late.back(), late.empty() ? 0.0 : late.front());
    std::printf("T1: opsrun serve peak RSS %.1f MiB\n", serve.mem_mib("VmHWM"));
  }
  if (pending > 0) {
    Serve serve(binary, work / "pending");
    if (!serve.ok()) return 1;
    const std::int64_t day = now_ms() + 24LL * 3600 * 1000;
    const double secs = create(serve, pending, "p-", receiver.url("/never"), [&](int i) { return day + i; });
    if (secs < 0) return 1;
    std::this_thread::sleep_for(std::chrono::seconds(1));
    std::printf("pending: created %d timers a day ahead in %.2f s (%.0f timers/s); RSS now %.1f MiB, peak %.1f MiB\n",
                pending, secs, pending / secs, serve.mem_mib("VmRSS"), serve.mem_mib("VmHWM"));
  }
  std::error_code ec;
  fs::remove_all(work, ec);
  return 0;
}
