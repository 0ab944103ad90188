#include <gtest/gtest.h>

#include "opsrun/notify/retry_internal.h"
#include "support/clock_driver.h"

namespace opsrun::testing {
namespace {

using notify::detail::AttemptVerdict;
using notify::detail::Pacing;
using notify::detail::RetryOptions;
using std::chrono::seconds;

TEST(RetryAfter, SecondsAndHttpDates) {
  const SystemTime now = from_unix_ms(1'800'000'000'000);  // 2027-01-15T08:00:00Z
  EXPECT_EQ(notify::detail::parse_retry_after("7", now), Millis(7000));
  EXPECT_EQ(notify::detail::parse_retry_after(" 0 ", now), Millis(0));
  EXPECT_EQ(notify::detail::parse_retry_after("Fri, 15 Jan 2027 08:00:30 GMT", now),
            Millis(30'000));
  EXPECT_EQ(notify::detail::parse_retry_after("Fri, 15 Jan 2027 07:00:00 GMT", now), Millis(0));
  EXPECT_FALSE(notify::detail::parse_retry_after("", now));
  EXPECT_FALSE(notify::detail::parse_retry_after("-3", now));
  EXPECT_FALSE(notify::detail::parse_retry_after("soon", now));
}

TEST(Backoff, DoublesUpToTheCap) {
  RetryOptions o;
  o.initial_backoff = Millis(500);
  o.max_backoff = Millis(3000);
  EXPECT_EQ(notify::detail::backoff_delay(o, 1), Millis(500));
  EXPECT_EQ(notify::detail::backoff_delay(o, 2), Millis(1000));
  EXPECT_EQ(notify::detail::backoff_delay(o, 3), Millis(2000));
  EXPECT_EQ(notify::detail::backoff_delay(o, 4), Millis(3000));
  EXPECT_EQ(notify::detail::backoff_delay(o, 30), Millis(3000));
}

TEST(RunWithRetry, WaitsRetryAfterThenBackoffAndStopsWhenFinal) {
  FakeClock clock;
  ClockDriver driver(clock);
  std::vector<SystemTime> at;
  RetryOptions o;
  const auto report = notify::detail::run_with_retry(o, Pacing{clock, {}, {}}, [&](int n) {
    at.push_back(clock.now());
    AttemptVerdict v;
    if (n == 1) v = {true, Millis(7000), "HTTP 429"};
    if (n == 2) v = {true, std::nullopt, "HTTP 503"};
    return v;  // the third is final
  });
  EXPECT_EQ(report.attempts, 3);
  EXPECT_TRUE(report.gave_up.empty());
  ASSERT_EQ(at.size(), 3u);
  EXPECT_EQ(at[1] - at[0], seconds(7));
  EXPECT_EQ(at[2] - at[1], o.initial_backoff * 2);
}

TEST(RunWithRetry, GivesUpAfterMaxAttempts) {
  FakeClock clock;
  ClockDriver driver(clock);
  RetryOptions o;
  o.max_attempts = 3;
  int calls = 0;
  const auto report = notify::detail::run_with_retry(o, Pacing{clock, {}, {}}, [&](int) {
    ++calls;
    return AttemptVerdict{true, std::nullopt, "HTTP 500"};
  });
  EXPECT_EQ(calls, 3);
  EXPECT_NE(report.gave_up.find("gave up after 3 attempts"), std::string::npos);
}

TEST(RunWithRetry, NeverWaitsPastTheBudgetOrDeadline) {
  FakeClock clock;
  ClockDriver driver(clock);
  RetryOptions o;
  o.budget = seconds(60);
  int calls = 0;
  auto report = notify::detail::run_with_retry(o, Pacing{clock, {}, {}}, [&](int) {
    ++calls;
    return AttemptVerdict{true, Millis(120'000), "HTTP 429"};
  });
  EXPECT_EQ(calls, 1);  // no 120 s wait inside a 60 s budget, and no sleeping at all
  EXPECT_NE(report.gave_up.find("would pass the delivery time limit"), std::string::npos);

  calls = 0;
  report = notify::detail::run_with_retry(o, Pacing{clock, {}, clock.now() + seconds(1)}, [&](int) {
    ++calls;
    return AttemptVerdict{true, std::nullopt, "HTTP 503"};
  });
  EXPECT_EQ(calls, 2);  // 0.5 s fits before the caller's 1 s deadline, 1 s more does not
}

TEST(RunWithRetry, AnInterruptedSleepStopsAtOnce) {
  FakeClock clock;
  int calls = 0;
  const auto report = notify::detail::run_with_retry(
      RetryOptions{}, Pacing{clock, [](Millis) { return false; }, {}}, [&](int) {
        ++calls;
        return AttemptVerdict{true, std::nullopt, "HTTP 502"};
      });
  EXPECT_EQ(calls, 1);
  EXPECT_NE(report.gave_up.find("cancelled"), std::string::npos);
}

}  // namespace
}  // namespace opsrun::testing
