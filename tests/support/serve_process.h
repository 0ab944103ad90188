// The real `opsrun serve` as a child process for tests and benchmarks: started with extra
// arguments and environment, its port read from its first line of output ("listen
// 127.0.0.1:0" picks a free one), stopped with SIGTERM. Header-only; POSIX.
//
//   opsrun::testing::ServeProcess serve(dir, {"--data-dir", data}, {"OPSRUN_BOOTSTRAP_TOKEN=t"});
//   if (!serve.ok()) ...;  serve.url("/api/timers");  serve.stop();
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace opsrun::testing {

class ServeProcess {
 public:
  // Output goes to <dir>/serve.out and serve.err. `binary` defaults to the build's opsrun.
  ServeProcess(const std::filesystem::path& dir, std::vector<std::string> args, std::vector<std::string> env = {},
               std::string binary = {})
      : dir_(dir) {
    std::filesystem::create_directories(dir);
    args.insert(args.begin(), {binary.empty() ? default_binary() : binary, "serve", "--listen", "127.0.0.1:0"});
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (char** e = environ; *e; ++e) env.insert(env.begin(), *e);
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    const std::filesystem::path out = dir / "serve.out";
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, (dir / "serve.err").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), envp.data()) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
    const std::regex port_re("127\\.0\\.0\\.1:([0-9]+)");
    for (int i = 0; i < 400 && port_.empty() && pid_ > 0; ++i) {
      std::ifstream in(out);
      const std::string text((std::istreambuf_iterator<char>(in)), {});
      std::smatch m;
      if (std::regex_search(text, m, port_re)) port_ = m[1];
      else std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
  }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;
  ~ServeProcess() { stop(); }

  [[nodiscard]] bool ok() const { return !port_.empty(); }
  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] std::string base() const { return "http://127.0.0.1:" + port_; }
  [[nodiscard]] std::string url(const std::string& path) const { return base() + path; }
  // SIGTERM and wait; the exit code, or -1. Idempotent.
  int stop() {
    if (pid_ <= 0) return -1;
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    port_.clear();
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  static std::string default_binary() {
#ifdef OPSRUN_BINARY
    return OPSRUN_BINARY;
#else
    return "build/opsrun";
#endif
  }
  std::filesystem::path dir_;
  pid_t pid_ = -1;
  std::string port_;
};

}  // namespace opsrun::testing
