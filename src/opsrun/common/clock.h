// Time reaches code through a Clock&, so tests can hand in a FakeClock and make every
// timing test instant.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <functional>
#include <set>
#include <string>
#include <string_view>

namespace opsrun {

using SystemTime = std::chrono::system_clock::time_point;
using Millis = std::chrono::milliseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  [[nodiscard]] virtual SystemTime now() const = 0;
  // Blocks until `deadline` or until `wake` returns true (checked whenever notify() is called).
  // Returns true when woken by the predicate, false at the deadline.
  // The mutex guards whatever `wake` reads; it is locked on entry and on return.
  virtual bool wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                          SystemTime deadline, const std::function<bool()>& wake) = 0;
  [[nodiscard]] virtual bool is_simulated() const { return false; }
};

class SystemClock final : public Clock {
 public:
  [[nodiscard]] SystemTime now() const override;
  bool wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                  SystemTime deadline, const std::function<bool()>& wake) override;
};

// A clock that only moves when told. Threads blocked in wait_until() are counted so a
// driver can tell "everything is waiting for time" and advance to the next deadline.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(SystemTime start = SystemTime{} + std::chrono::hours(24 * 365 * 56));
  [[nodiscard]] SystemTime now() const override;
  bool wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                  SystemTime deadline, const std::function<bool()>& wake) override;
  [[nodiscard]] bool is_simulated() const override { return true; }

  void advance_to(SystemTime t);
  void advance(Millis d) { advance_to(now() + d); }
  // How many threads sit in wait_until(), and the earliest deadline among them.
  [[nodiscard]] int sleepers() const;
  [[nodiscard]] SystemTime earliest_sleeper_deadline() const;

 private:
  mutable std::mutex mu_;
  std::condition_variable tick_;
  SystemTime now_;
  int sleepers_ = 0;
  std::multiset<SystemTime> deadlines_;
};

// RFC 3339 in UTC with milliseconds: 2026-11-22T10:00:00.250Z
std::string format_time(SystemTime t);
// Accepts RFC 3339 with or without fraction, 'Z' or a numeric offset.
bool parse_time(std::string_view text, SystemTime& out);
std::int64_t to_unix_ms(SystemTime t);
SystemTime from_unix_ms(std::int64_t ms);

}  // namespace opsrun
