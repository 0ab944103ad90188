#include <gtest/gtest.h>

#include <thread>

#include "opsrun/common/clock.h"

namespace opsrun {
namespace {

TEST(Time, RoundTripsRfc3339) {
  SystemTime t;
  ASSERT_TRUE(parse_time("2026-11-22T10:00:00.250Z", t));
  EXPECT_EQ(format_time(t), "2026-11-22T10:00:00.250Z");
  ASSERT_TRUE(parse_time("2026-11-22T11:00:00+01:00", t));
  EXPECT_EQ(format_time(t), "2026-11-22T10:00:00.000Z");
  EXPECT_FALSE(parse_time("2026-11-22 10:00", t));
  EXPECT_FALSE(parse_time("2026-13-22T10:00:00Z", t));
  EXPECT_FALSE(parse_time("2026-11-22T10:00:00", t));
}

TEST(FakeClock, SleeperWakesOnlyWhenAdvanced) {
  FakeClock clock;
  std::mutex mu;
  std::condition_variable cv;
  std::atomic<bool> done{false};
  const SystemTime deadline = clock.now() + Millis(5000);
  std::thread sleeper([&] {
    std::unique_lock lock(mu);
    clock.wait_until(lock, cv, deadline, [] { return false; });
    done = true;
  });
  while (clock.sleepers() == 0) std::this_thread::yield();
  EXPECT_EQ(clock.earliest_sleeper_deadline(), deadline);
  clock.advance(Millis(4999));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(done.load());
  clock.advance(Millis(1));
  sleeper.join();
  EXPECT_TRUE(done.load());
  EXPECT_EQ(clock.sleepers(), 0);
}

}  // namespace
}  // namespace opsrun
