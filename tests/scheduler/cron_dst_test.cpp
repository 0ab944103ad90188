// DST edges: a job at a fixed local time runs once on a spring-forward day (at the end of
// the gap) and once on a fall-back day (at the first occurrence); interval jobs (hour `*`)
// follow the local clock through repeats and gaps. Times below are UTC.
#include <gtest/gtest.h>

#include "scheduler/time_literal.h"
#include "opsrun/scheduler/cron.h"

namespace opsrun::scheduler {
namespace {

std::vector<std::string> runs(const char* expr, const char* zone, const char* from, int n) {
  auto s = CronSchedule::create(expr, zone);
  EXPECT_TRUE(s) << s.error().message;
  if (!s) return {};
  std::vector<std::string> out;
  for (auto t : s->next_runs(at(from), n)) out.push_back(format_time(t));
  return out;
}

using V = std::vector<std::string>;

// Europe/Berlin 2024-03-31: 02:00 CET becomes 03:00 CEST at 01:00 UTC.
TEST(CronDst, BerlinSpringForwardFixedTimeRunsOnceAtGapEnd) {
  EXPECT_EQ(runs("30 2 * * *", "Europe/Berlin", "2024-03-29T12:00:00Z", 4),
            (V{"2024-03-30T01:30:00.000Z",    // 02:30 CET
               "2024-03-31T01:00:00.000Z",    // 02:30 does not exist: 03:00 CEST, once
               "2024-04-01T00:30:00.000Z",    // 02:30 CEST
               "2024-04-02T00:30:00.000Z"}));
  // Two gap times and the gap end itself collapse into one run.
  EXPECT_EQ(runs("0,30 2,3 * * *", "Europe/Berlin", "2024-03-30T23:00:00Z", 3),
            (V{"2024-03-31T01:00:00.000Z", "2024-03-31T01:30:00.000Z", "2024-04-01T00:00:00.000Z"}));
}

TEST(CronDst, BerlinSpringForwardIntervalJobsSkipTheMissingHour) {
  EXPECT_EQ(runs("*/30 * * * *", "Europe/Berlin", "2024-03-31T00:10:00Z", 4),
            (V{"2024-03-31T00:30:00.000Z",    // 01:30 CET
               "2024-03-31T01:00:00.000Z",    // 03:00 CEST
               "2024-03-31T01:30:00.000Z", "2024-03-31T02:00:00.000Z"}));
  // Hourly at :30: an hour of real time between runs; no extra run at 03:00.
  EXPECT_EQ(runs("30 * * * *", "Europe/Berlin", "2024-03-31T00:10:00Z", 3),
            (V{"2024-03-31T00:30:00.000Z", "2024-03-31T01:30:00.000Z", "2024-03-31T02:30:00.000Z"}));
}

// Europe/Berlin 2024-10-27: 03:00 CEST becomes 02:00 CET at 01:00 UTC; 02:00-02:59 twice.
TEST(CronDst, BerlinFallBackFixedTimeNeverRunsTwice) {
  EXPECT_EQ(runs("30 2 * * *", "Europe/Berlin", "2024-10-26T12:00:00Z", 3),
            (V{"2024-10-27T00:30:00.000Z",    // 02:30 CEST, the first occurrence
               "2024-10-28T01:30:00.000Z",    // next day 02:30 CET; never 01:30Z on the 27th
               "2024-10-29T01:30:00.000Z"}));
  // Asked from inside the repeated hour (e.g. after a restart), it does not run again.
  EXPECT_EQ(runs("30 2 * * *", "Europe/Berlin", "2024-10-27T01:10:00Z", 1),
            (V{"2024-10-28T01:30:00.000Z"}));
  EXPECT_EQ(runs("0 2 * * *", "Europe/Berlin", "2024-10-27T00:30:00Z", 1),
            (V{"2024-10-28T01:00:00.000Z"}));
}

TEST(CronDst, BerlinFallBackIntervalJobsRunThroughTheRepeatedHour) {
  EXPECT_EQ(runs("*/30 * * * *", "Europe/Berlin", "2024-10-27T00:10:00Z", 5),
            (V{"2024-10-27T00:30:00.000Z",    // 02:30 CEST
               "2024-10-27T01:00:00.000Z",    // 02:00 CET
               "2024-10-27T01:30:00.000Z",    // 02:30 CET
               "2024-10-27T02:00:00.000Z",    // 03:00 CET
               "2024-10-27T02:30:00.000Z"}));
  EXPECT_EQ(runs("0 * * * *", "Europe/Berlin", "2024-10-26T23:10:00Z", 3),
            (V{"2024-10-27T00:00:00.000Z", "2024-10-27T01:00:00.000Z", "2024-10-27T02:00:00.000Z"}));
}

// America/New_York 2024-03-10: 02:00 EST -> 03:00 EDT at 07:00 UTC;
// 2024-11-03: 02:00 EDT -> 01:00 EST at 06:00 UTC.
TEST(CronDst, NewYork) {
  EXPECT_EQ(runs("30 2 * * *", "America/New_York", "2024-03-09T12:00:00Z", 3),
            (V{"2024-03-10T07:00:00.000Z", "2024-03-11T06:30:00.000Z", "2024-03-12T06:30:00.000Z"}));
  EXPECT_EQ(runs("30 1 * * *", "America/New_York", "2024-11-02T12:00:00Z", 3),
            (V{"2024-11-03T05:30:00.000Z",    // 01:30 EDT, the first occurrence
               "2024-11-04T06:30:00.000Z", "2024-11-05T06:30:00.000Z"}));
  // Business hours keep their local time across the change.
  EXPECT_EQ(runs("0 9 * * mon-fri", "America/New_York", "2024-03-08T12:00:00Z", 3),
            (V{"2024-03-08T14:00:00.000Z", "2024-03-11T13:00:00.000Z", "2024-03-12T13:00:00.000Z"}));
  EXPECT_EQ(runs("0 * * * *", "America/New_York", "2024-11-03T04:30:00Z", 4),
            (V{"2024-11-03T05:00:00.000Z",    // 01:00 EDT
               "2024-11-03T06:00:00.000Z",    // 01:00 EST
               "2024-11-03T07:00:00.000Z", "2024-11-03T08:00:00.000Z"}));
}

// Australia/Lord_Howe moves by 30 minutes: 2024-10-06 02:00 +10:30 becomes 02:30 +11.
TEST(CronDst, HalfHourShift) {
  EXPECT_EQ(runs("15 2 * * *", "Australia/Lord_Howe", "2024-10-05T00:00:00Z", 2),
            (V{"2024-10-05T15:30:00.000Z", "2024-10-06T15:15:00.000Z"}));
}

TEST(CronDst, LocalTextShowsZoneAndOffset) {
  auto s = CronSchedule::create("30 2 * * *", "Europe/Berlin");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->local_text(at("2024-03-31T01:00:00Z")), "2024-03-31 03:00 CEST (+02:00)");
  EXPECT_EQ(s->local_text(at("2024-10-28T01:30:00Z")), "2024-10-28 02:30 CET (+01:00)");
}

}  // namespace
}  // namespace opsrun::scheduler
