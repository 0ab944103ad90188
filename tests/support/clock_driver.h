// Moves a FakeClock to the next sleeper's deadline whenever some thread sleeps on it, so code
// that waits between retries runs at once in tests while the waits stay measurable.
//
//   FakeClock clock;
//   ClockDriver driver(clock);   // stops in its destructor
#pragma once

#include <atomic>
#include <chrono>
#include <thread>

#include "opsrun/common/clock.h"

namespace opsrun::testing {

class ClockDriver {
 public:
  explicit ClockDriver(FakeClock& clock) : clock_(clock), thread_([this] { run(); }) {}
  ~ClockDriver() {
    stop_ = true;
    thread_.join();
  }
  ClockDriver(const ClockDriver&) = delete;
  ClockDriver& operator=(const ClockDriver&) = delete;

 private:
  void run() {
    while (!stop_) {
      if (clock_.sleepers() > 0) {
        const auto next = clock_.earliest_sleeper_deadline();
        if (next > clock_.now()) clock_.advance_to(next);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  FakeClock& clock_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace opsrun::testing
