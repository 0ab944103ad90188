#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

#include "opsrun/steps/process_internal.h"

namespace opsrun::steps::detail {

namespace {

using SteadyClock = std::chrono::steady_clock;

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }
  [[nodiscard]] int get() const { return fd_; }
  [[nodiscard]] bool open() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_ = -1;
};

bool make_pipe(Fd& read_end, Fd& write_end) {
  int p[2];
  // O_CLOEXEC so that a process spawned concurrently by another thread never inherits them.
  if (::pipe2(p, O_CLOEXEC) != 0) return false;
  read_end.reset(p[0]);
  write_end.reset(p[1]);
  return true;
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// Blocks SIGPIPE in this thread while we write to a child's stdin, so a child that exits
// without reading gives EPIPE instead of killing us; restores the mask afterwards.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, &old_);
  }
  ~SigpipeGuard() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    const timespec zero{0, 0};
    while (sigtimedwait(&set, nullptr, &zero) > 0) {
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

 private:
  sigset_t old_;
};

struct Capture {
  Fd fd;
  std::string* text = nullptr;
  bool* truncated = nullptr;
};

// Reads what is available; false at EOF or error.
bool drain(Capture& c, std::size_t cap) {
  std::array<char, 65536> buf;
  while (true) {
    const ssize_t n = ::read(c.fd.get(), buf.data(), buf.size());
    if (n > 0) {
      const auto got = static_cast<std::size_t>(n);
      const std::size_t room = c.text->size() < cap ? cap - c.text->size() : 0;
      c.text->append(buf.data(), std::min(room, got));
      // Past the cap the bytes are read and dropped so the child never blocks on a full pipe.
      if (got > room) *c.truncated = true;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    return false;
  }
}

int ms_until(SteadyClock::time_point now, SteadyClock::time_point t) {
  if (t <= now) return 0;
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t - now).count() + 1;
  return static_cast<int>(std::min<long long>(ms, 60'000));
}

std::string spawn_error(int err, const ProcessSpec& spec) {
  const std::string& prog = spec.argv[0];
  switch (err) {
    case ENOENT: return "no such file: " + prog;
    case EACCES: return "permission denied: " + prog;
    case ENOEXEC: return "not an executable: " + prog;
    default: return prog + ": " + std::strerror(err);
  }
}

}  // namespace

std::string signal_name(int sig) {
  if (const char* abbrev = sigabbrev_np(sig)) return std::string("SIG") + abbrev;
  return "signal " + std::to_string(sig);
}

ProcessResult run_process(const ProcessSpec& spec, const ProcessLimits& limits,
                          CancelToken& cancel) {
  ProcessResult res;
  const auto t0 = SteadyClock::now();
  auto finish = [&]() -> ProcessResult& {
    res.duration = std::chrono::duration_cast<Millis>(SteadyClock::now() - t0);
    return res;
  };
  if (spec.argv.empty() || spec.argv[0].empty()) {
    res.spawn_error = "empty argv";
    return finish();
  }
  if (!spec.cwd.empty()) {
    // posix_spawn reports a bad directory as ENOENT, indistinguishable from a missing program.
    struct stat st{};
    if (::stat(spec.cwd.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      res.spawn_error = "no such directory: " + spec.cwd;
      return finish();
    }
  }

  Fd out_r, out_w, err_r, err_w, in_r, in_w;
  if (!make_pipe(out_r, out_w) || !make_pipe(err_r, err_w) ||
      (spec.stdin_text && !make_pipe(in_r, in_w))) {
    res.spawn_error = std::string("pipe: ") + std::strerror(errno);
    return finish();
  }

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (spec.stdin_text) posix_spawn_file_actions_adddup2(&fa, in_r.get(), 0);
  else posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out_w.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, err_w.get(), 2);
  if (!spec.cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, spec.cwd.c_str());
  // Belt and braces for descriptors some library opened without O_CLOEXEC.
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Its own process group, so a timeout can signal the child and everything it started.
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t empty, defaults;
  sigemptyset(&empty);
  posix_spawnattr_setsigmask(&attr, &empty);
  sigemptyset(&defaults);
  for (int s : {SIGPIPE, SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM})
    sigaddset(&defaults, s);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> argv;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : spec.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, argv[0], &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  out_w.reset();
  err_w.reset();
  in_r.reset();
  if (rc != 0) {
    res.spawn_error = spawn_error(rc, spec);
    return finish();
  }
  res.started = true;

  SigpipeGuard sigpipe_guard;
  Capture out{Fd(out_r.release()), &res.out, &res.out_truncated};
  Capture err{Fd(err_r.release()), &res.err, &res.err_truncated};
  set_nonblocking(out.fd.get());
  set_nonblocking(err.fd.get());
  std::size_t stdin_pos = 0;
  if (in_w.open()) {
    set_nonblocking(in_w.get());
    if (spec.stdin_text->empty()) in_w.reset();
  }
  // A pidfd tells poll() when the child exits; without one (old kernels) we poll waitpid.
  Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));

  const auto deadline = limits.timeout ? std::optional(t0 + *limits.timeout) : std::nullopt;
  bool exited = false;
  int status = 0;
  std::optional<SteadyClock::time_point> kill_at;  // set once SIGTERM went out
  bool killed = false;
  std::optional<SteadyClock::time_point> drain_until;

  auto stop = [&](CancelReason why) {
    if (kill_at) return;
    res.stopped = why;
    ::kill(-pid, SIGTERM);
    kill_at = SteadyClock::now() + limits.kill_grace;
  };
  auto reap = [&] {
    if (exited) return;
    pid_t r;
    do r = ::waitpid(pid, &status, WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == pid) exited = true;
  };

  while (true) {
    auto now = SteadyClock::now();
    if (!exited && !pidfd.open()) reap();
    if (exited && !drain_until) drain_until = now + (kill_at ? *kill_at - now : limits.drain_after_exit);
    if (exited && !out.fd.open() && !err.fd.open()) break;
    if (exited && now >= *drain_until) break;
    if (!kill_at && cancel.requested()) stop(cancel.reason());
    if (!kill_at && deadline && now >= *deadline) stop(CancelReason::Timeout);
    if (kill_at && !killed && now >= *kill_at) {
      ::kill(-pid, SIGKILL);
      killed = true;
    }

    std::vector<pollfd> fds;
    auto add = [&](int fd, short events) {
      fds.push_back(pollfd{fd, events, 0});
      return fds.size() - 1;
    };
    const std::size_t none = static_cast<std::size_t>(-1);
    const std::size_t i_out = out.fd.open() ? add(out.fd.get(), POLLIN) : none;
    const std::size_t i_err = err.fd.open() ? add(err.fd.get(), POLLIN) : none;
    const std::size_t i_in = in_w.open() ? add(in_w.get(), POLLOUT) : none;
    const std::size_t i_cancel = !kill_at && cancel.fd() >= 0 ? add(cancel.fd(), POLLIN) : none;
    const std::size_t i_pid = !exited && pidfd.open() ? add(pidfd.get(), POLLIN) : none;

    int wait_ms = 60'000;
    if (!pidfd.open() && !exited) wait_ms = 10;
    if (!kill_at && deadline) wait_ms = std::min(wait_ms, ms_until(now, *deadline));
    if (kill_at && !killed) wait_ms = std::min(wait_ms, ms_until(now, *kill_at));
    if (drain_until) wait_ms = std::min(wait_ms, ms_until(now, *drain_until));
    // Without the token's fd (eventfd failed) the flag is all we have: look at it often.
    if (!kill_at && cancel.fd() < 0) wait_ms = std::min(wait_ms, 20);

    const int n = ::poll(fds.data(), fds.size(), wait_ms);
    if (n < 0 && errno != EINTR) break;
    if (n <= 0) continue;

    if (i_out != none && fds[i_out].revents != 0 && !drain(out, limits.output_cap)) out.fd.reset();
    if (i_err != none && fds[i_err].revents != 0 && !drain(err, limits.output_cap)) err.fd.reset();
    if (i_in != none && fds[i_in].revents != 0) {
      const std::string& text = *spec.stdin_text;
      const ssize_t w = ::write(in_w.get(), text.data() + stdin_pos, text.size() - stdin_pos);
      if (w > 0) stdin_pos += static_cast<std::size_t>(w);
      if ((w < 0 && errno != EAGAIN && errno != EINTR) || stdin_pos >= text.size()) in_w.reset();
    }
    if (i_cancel != none && fds[i_cancel].revents != 0) stop(cancel.reason());
    if (i_pid != none && fds[i_pid].revents != 0) reap();
  }

  if (!exited) {
    // Only reached when poll() failed outright: make sure nothing is left behind.
    ::kill(-pid, SIGKILL);
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (kill_at) {
    // Stragglers in the group that outlived the leader get no more time: nothing an
    // attempt started may outlive it once it was stopped.
    ::kill(-pid, SIGKILL);
  }
  if (WIFEXITED(status)) res.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status)) res.signal = WTERMSIG(status);
  return finish();
}

}  // namespace opsrun::steps::detail
