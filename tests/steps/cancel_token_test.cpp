#include <poll.h>

#include <future>

#include "steps/steps_fixture.h"

namespace opsrun::testing {
namespace {

using steps::CancelReason;
using steps::CancelToken;

TEST(CancelToken, FdBecomesReadableOnRequestAndFirstReasonWins) {
  SystemClock clock;
  CancelToken t(clock);
  pollfd p{t.fd(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 0), 0);
  EXPECT_FALSE(t.requested());
  t.request(CancelReason::Timeout);
  t.request(CancelReason::Cancelled);
  EXPECT_EQ(::poll(&p, 1, 0), 1);
  EXPECT_EQ(t.reason(), CancelReason::Timeout);
}

TEST(CancelToken, SleepOnFakeClockReturnsWhenTheClockIsAdvanced) {
  FakeClock clock;
  CancelToken t(clock);
  auto slept = std::async(std::launch::async, [&] { return t.sleep_for(Millis(60'000)); });
  while (clock.sleepers() == 0) std::this_thread::sleep_for(Millis(1));
  EXPECT_EQ(slept.wait_for(Millis(50)), std::future_status::timeout);
  clock.advance(Millis(60'000));
  ASSERT_EQ(slept.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_TRUE(slept.get());
}

TEST(CancelToken, SleepEndsEarlyWhenCancelled) {
  FakeClock clock;
  CancelToken t(clock);
  auto slept = std::async(std::launch::async, [&] { return t.sleep_for(Millis(60'000)); });
  while (clock.sleepers() == 0) std::this_thread::sleep_for(Millis(1));
  t.request(CancelReason::Cancelled);
  ASSERT_EQ(slept.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_FALSE(slept.get());
  EXPECT_FALSE(t.sleep_for(Millis(1)));  // already cancelled: no sleep at all
}

}  // namespace
}  // namespace opsrun::testing
