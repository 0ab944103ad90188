#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>

#include "opsrun/steps/executor.h"

namespace opsrun::steps {

CancelToken::CancelToken(Clock& clock)
    : clock_(clock), fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

CancelToken::~CancelToken() {
  if (fd_ >= 0) ::close(fd_);
}

void CancelToken::request(CancelReason reason) {
  if (reason == CancelReason::None) return;
  // The first reason wins: a timeout that is followed by an execution cancel stays a timeout.
  CancelReason expected = CancelReason::None;
  if (!reason_.compare_exchange_strong(expected, reason)) return;
  if (fd_ >= 0) {
    const std::uint64_t one = 1;
    // Never blocks (EFD_NONBLOCK) and the counter cannot overflow from one write.
    [[maybe_unused]] const auto n = ::write(fd_, &one, sizeof one);
  }
  {
    // Taking the mutex orders this notify after a sleeper's predicate check.
    std::lock_guard g(mu_);
  }
  cv_.notify_all();
}

bool CancelToken::sleep_for(Millis d) {
  std::unique_lock lock(mu_);
  if (requested()) return false;
  if (d <= Millis(0)) return true;
  const SystemTime deadline = clock_.now() + d;
  const bool woken = clock_.wait_until(lock, cv_, deadline, [this] { return requested(); });
  return !woken && !requested();
}

}  // namespace opsrun::steps
