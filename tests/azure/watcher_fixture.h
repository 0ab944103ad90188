// The watcher wired to a real engine and SQLite store, the IMDS and ServiceNow fakes, a load
// balancer endpoint and a real "service" process, for the end-to-end tests.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <thread>

#include "engine/engine_fixture.h"
#include "fakes/imds_fake.h"
#include "fakes/servicenow_fake.h"
#include "opsrun/azure/watcher.h"
#include "opsrun/metrics/registry.h"
#include "opsrun/notify/servicenow_client.h"

extern char** environ;

namespace opsrun::testing {

// A process standing for a service; reaped by a thread so "stopped" is observable.
class ServiceProcess {
 public:
  explicit ServiceProcess(bool ignore_sigterm = false) {
    const char* script =
        ignore_sigterm ? "trap '' TERM; while :; do sleep 0.2; done" : "exec sleep 60";
    const char* argv[] = {"sh", "-c", script, nullptr};
    EXPECT_EQ(::posix_spawnp(&pid_, "sh", nullptr, nullptr, const_cast<char**>(argv), environ), 0);
    reaper_ = std::thread([this] {
      int status = 0;
      ::waitpid(pid_, &status, 0);
      status_ = status;
      exited_ = true;
    });
    std::this_thread::sleep_for(Millis(100));  // let sh install its trap
  }
  ~ServiceProcess() {
    if (!exited_) ::kill(pid_, SIGKILL);
    reaper_.join();
  }
  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] bool exited() const { return exited_; }
  [[nodiscard]] int term_signal() const {
    return WIFSIGNALED(status_.load()) ? WTERMSIG(status_.load()) : 0;
  }

 private:
  pid_t pid_ = 0;
  std::atomic<bool> exited_{false};
  std::atomic<int> status_{0};
  std::thread reaper_;
};

inline std::string rfc1123_in(Millis from_now) {
  return azure::format_rfc1123(std::chrono::system_clock::now() + from_now);
}

class AzureWatcherTest : public ::testing::Test {
 protected:
  TempDir dir;
  ImdsFake imds;
  ServiceNowFake servicenow;
  LoopbackHttpServer lb;
  metrics::Registry registry;
  std::unique_ptr<EngineHarness> harness;
  std::unique_ptr<azure::ImdsClient> imds_client;
  std::unique_ptr<notify::ServiceNowClient> sn_client;
  std::unique_ptr<azure::Watcher> watcher;
  azure::WatcherOptions options;
  std::mutex mu;
  std::vector<std::string> lines;

  void SetUp() override {
    options.drain_context = JsonObject{
        {"drain_script", std::string(OPSRUN_SOURCE_DIR) + "/runbooks/scripts/azure-drain.sh"},
        {"state_dir", dir.file("state")},
        {"lb_remove_url", lb.url("/pool/members/drain")},
        {"services_pidfile", dir.file("pids")},
        {"stop_grace_seconds", 5}};
    options.incident = {"Infrastructure Team", "automation.user", "prod-vm-7"};
    options.deadline_margin = Millis(1000);
    write_pids({});
  }
  void TearDown() override { stop(); }

  void write_pids(const std::vector<pid_t>& pids) {
    std::ofstream out(dir.file("pids"));
    for (auto p : pids) out << p << "\n";
  }

  // (Re)starts the process side: store, engine, clients, watcher.
  void start(bool with_servicenow = true) {
    stop();
    harness = std::make_unique<EngineHarness>(false, dir.file("data"));
    azure::ImdsOptions io;
    io.base_url = imds.url();
    io.first_call_timeout = Millis(3000);
    io.timeout = Millis(300);
    imds_client = std::make_unique<azure::ImdsClient>(io);
    if (with_servicenow) {
      notify::ServiceNowSettings s;
      s.instance_url = servicenow.url();
      s.username = "automation-user";
      s.password = "sn-pass-0001";
      s.timeout_seconds = 5;
      sn_client = std::make_unique<notify::ServiceNowClient>(s);
    }
    auto books = azure::load_drain_runbooks(std::string(OPSRUN_SOURCE_DIR) + "/runbooks");
    ASSERT_TRUE(books) << books.error().describe();
    azure::WatcherParts parts{.clock = *harness->clock,
                              .engine = *harness->engine,
                              .store = harness->store.get(),
                              .imds = *imds_client,
                              .servicenow = sn_client.get(),
                              .metrics = &registry,
                              .runbooks = *books,
                              .print = [this](const std::string& l) {
                                std::lock_guard lock(mu);
                                lines.push_back(l);
                              }};
    watcher = std::make_unique<azure::Watcher>(std::move(parts), options);
  }
  void stop() {
    watcher.reset();
    sn_client.reset();
    imds_client.reset();
    harness.reset();
  }

  std::string output() {
    std::lock_guard lock(mu);
    std::string all;
    for (const auto& l : lines) all += l + "\n";
    return all;
  }
  int count_lines(const std::string& needle) {
    std::lock_guard lock(mu);
    int n = 0;
    for (const auto& l : lines) n += l.find(needle) != std::string::npos ? 1 : 0;
    return n;
  }
  std::vector<JsonObject> incidents() {
    std::vector<JsonObject> out;
    for (auto& [id, fields] : servicenow.incidents()) out.push_back(fields);
    return out;
  }
};

}  // namespace opsrun::testing
