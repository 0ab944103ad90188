// The opt-in watcher inside the real `opsrun serve` (azure.scheduled_events in opsrun.yaml):
// it drains, acknowledges and files the record, once across several polls, and stops with
// the daemon.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "engine/engine_fixture.h"
#include "fakes/imds_fake.h"
#include "fakes/servicenow_fake.h"
#include "opsrun/azure/events.h"

extern char** environ;

namespace opsrun::testing {
namespace {

const std::string kSource = OPSRUN_SOURCE_DIR;

// Starts `opsrun serve` on dir/opsrun.yaml, stdout and stderr into dir/serve.out|err.
pid_t spawn_serve(const TempDir& dir) {
  std::vector<std::string> args = {
      OPSRUN_BINARY, "serve",       "--config",   dir.file("opsrun.yaml"),
      "--listen",    "127.0.0.1:0", "--data-dir", dir.file("data")};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, dir.file("serve.out").c_str(), O_WRONLY | O_CREAT,
                                   0644);
  posix_spawn_file_actions_addopen(&actions, 2, dir.file("serve.err").c_str(), O_WRONLY | O_CREAT,
                                   0644);
  pid_t pid = 0;
  EXPECT_EQ(posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

// GET http://127.0.0.1:<port from serve.out><path> over a plain socket; the whole answer.
std::string get_from_serve(const TempDir& dir, const std::string& path) {
  std::ifstream out_file(dir.file("serve.out"));
  const std::string out((std::istreambuf_iterator<char>(out_file)), {});
  const auto at = out.find("http://127.0.0.1:");
  if (at == std::string::npos) return "";
  const int port = std::atoi(out.c_str() + at + 17);
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string answer;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string req =
        "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    (void)!::write(fd, req.data(), req.size());
    char buf[4096];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
      answer.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return answer;
}

// Waits for it to exit; its exit status and stderr.
std::pair<int, std::string> reap(pid_t pid, const TempDir& dir) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  std::ifstream err_file(dir.file("serve.err"));
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1,
          std::string((std::istreambuf_iterator<char>(err_file)), {})};
}

TEST(AzureServe, WatcherRunsInsideServeWhenEnabled) {
  TempDir dir;
  ImdsFake imds;
  ServiceNowFake servicenow;
  imds.set_events(JsonArray{ImdsFake::event(
      "SERVE-1", "Freeze", {"vm-test-0"},
      azure::format_rfc1123(std::chrono::system_clock::now() + std::chrono::minutes(15)))});
  std::ofstream(dir.file("azure.json")) << to_json_text(JsonObject{
      {"imds_url", imds.url()},
      {"automation", JsonObject{{"runbook_dir", kSource + "/runbooks"},
                                {"drain", JsonObject{{"state_dir", dir.file("state")}}}}},
      {"servicenow", JsonObject{{"instance_url", servicenow.url()},
                                {"username", "automation-user"},
                                {"password", "sn-pass-0001"},
                                {"caller_id", "automation.user"}}}});
  std::ofstream(dir.file("opsrun.yaml"))
      << "azure:\n  scheduled_events:\n    enabled: true\n    config: " << dir.file("azure.json")
      << "\n    poll_interval: 1\n";
  const pid_t pid = spawn_serve(dir);
  ASSERT_GT(pid, 0);

  for (int i = 0; i < 300 && servicenow.incidents().empty(); ++i)  // bounded: 15 s
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const int gets_then = imds.event_gets();
  for (int i = 0; i < 100 && imds.event_gets() < gets_then + 2; ++i)  // two more polls, at most 5 s
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const std::string metrics = get_from_serve(dir, "/metrics");
  ::kill(pid, SIGTERM);
  const auto [code, err] = reap(pid, dir);
  EXPECT_NE(metrics.find("azure_scheduled_events_total{type=\"Freeze\"} 1"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("azure_events_acknowledged_total 1"), std::string::npos) << metrics;
  EXPECT_EQ(code, 0) << err;
  EXPECT_EQ(imds.acknowledged(), std::vector<std::string>{"SERVE-1"}) << err;
  EXPECT_EQ(servicenow.incidents().size(), 1u) << err;
  EXPECT_GE(imds.event_gets(), gets_then + 2) << "the watcher kept polling";
  EXPECT_TRUE(std::filesystem::exists(dir.file("state/SERVE-1.json")));
  EXPECT_EQ(err.find("sn-pass-0001"), std::string::npos);
}

TEST(AzureServe, InvalidWatcherConfigStopsTheStart) {
  TempDir dir;
  std::ofstream(dir.file("azure.json")) << R"({"poll_interval": "often"})";
  std::ofstream(dir.file("opsrun.yaml"))
      << "azure:\n  scheduled_events:\n    enabled: true\n    config: " << dir.file("azure.json")
      << "\n";
  const pid_t pid = spawn_serve(dir);
  ASSERT_GT(pid, 0);
  const auto [code, err] = reap(pid, dir);
  EXPECT_EQ(code, 2) << err;
  EXPECT_NE(err.find("azure.json: poll_interval: must be a whole number"), std::string::npos)
      << err;
}

}  // namespace
}  // namespace opsrun::testing
