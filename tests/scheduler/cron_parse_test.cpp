#include <gtest/gtest.h>

#include "opsrun/scheduler/cron.h"

namespace opsrun::scheduler {
namespace {

std::string error_of(const char* expr) {
  auto e = CronExpr::parse(expr);
  if (e) return "(accepted)";
  return e.error().message;
}

std::vector<unsigned> minutes_of(const char* expr) {
  auto e = CronExpr::parse(expr);
  EXPECT_TRUE(e) << e.error().message;
  std::vector<unsigned> out;
  for (unsigned m = 0; m < 60 && e; ++m)
    if (e->minute(m)) out.push_back(m);
  return out;
}

TEST(CronParse, ListsRangesAndSteps) {
  EXPECT_EQ(minutes_of("*/15 * * * *"), (std::vector<unsigned>{0, 15, 30, 45}));
  EXPECT_EQ(minutes_of("1-10/3 * * * *"), (std::vector<unsigned>{1, 4, 7, 10}));
  EXPECT_EQ(minutes_of("50/4 * * * *"), (std::vector<unsigned>{50, 54, 58}));
  EXPECT_EQ(minutes_of("5,1,3-4 * * * *"), (std::vector<unsigned>{1, 3, 4, 5}));
  EXPECT_EQ(minutes_of("  7   *  * * *  "), (std::vector<unsigned>{7}));
}

TEST(CronParse, NamesAnyCaseAndSundayAsSeven) {
  auto e = CronExpr::parse("0 0 * Jan-MAR,dec Mon-fri");
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_TRUE(e->month(1) && e->month(3) && e->month(12));
  EXPECT_FALSE(e->month(4));
  EXPECT_TRUE(e->day(2, 5, 1));    // a Monday in February
  EXPECT_FALSE(e->day(2, 4, 0));   // Sunday
  auto sunday = CronExpr::parse("0 0 * * 7");
  ASSERT_TRUE(sunday);
  EXPECT_TRUE(sunday->day(5, 5, 0));
  auto fri_sun = CronExpr::parse("0 0 * * fri-sun");
  ASSERT_TRUE(fri_sun);
  EXPECT_TRUE(fri_sun->day(5, 5, 0) && fri_sun->day(5, 4, 6) && fri_sun->day(5, 3, 5));
  EXPECT_FALSE(fri_sun->day(5, 2, 4));
  auto sun_sun = CronExpr::parse("0 0 * * sun-sun");
  ASSERT_TRUE(sun_sun);
  EXPECT_TRUE(sun_sun->day(5, 5, 0));
  EXPECT_FALSE(sun_sun->day(5, 6, 1));
}

TEST(CronParse, DayOfMonthOrDayOfWeekWhenBothRestricted) {
  auto both = CronExpr::parse("0 0 13 * fri");
  ASSERT_TRUE(both);
  EXPECT_TRUE(both->day(6, 13, 2));   // the 13th, a Tuesday
  EXPECT_TRUE(both->day(6, 7, 5));    // a Friday, the 7th
  EXPECT_FALSE(both->day(6, 8, 6));
  // Only one restricted: it alone decides (AND with "every").
  auto dom = CronExpr::parse("0 0 13 * *");
  ASSERT_TRUE(dom);
  EXPECT_FALSE(dom->day(6, 7, 5));
  // "*/2" restricts the field (croniter's rule: a field is unrestricted only when it
  // matches every value), so it ORs with the weekday; "1-31" matches every day.
  auto odd = CronExpr::parse("0 0 */2 * 1");
  ASSERT_TRUE(odd);
  EXPECT_TRUE(odd->day(6, 3, 3));
  EXPECT_TRUE(odd->day(6, 10, 1));
  auto full = CronExpr::parse("0 0 1-31 * 1");
  ASSERT_TRUE(full);
  EXPECT_FALSE(full->day(6, 3, 3));
  EXPECT_TRUE(full->day(6, 10, 1));
}

TEST(CronParse, Aliases) {
  auto daily = CronExpr::parse("@daily");
  ASSERT_TRUE(daily);
  EXPECT_EQ(daily->text(), "@daily");
  EXPECT_TRUE(daily->minute(0) && daily->hour(0) && !daily->hour(1));
  EXPECT_TRUE(CronExpr::parse("@HOURLY"));
  EXPECT_NE(error_of("@reboot").find("unknown alias '@reboot'"), std::string::npos);
}

TEST(CronParse, ErrorsNameTheFieldAndColumn) {
  EXPECT_EQ(error_of("61 * * * *"), "cron \"61 * * * *\": minute field, column 1: 61 is out of range 0-59");
  EXPECT_EQ(error_of("0 24 * * *"), "cron \"0 24 * * *\": hour field, column 3: 24 is out of range 0-23");
  EXPECT_EQ(error_of("0 0 0 * *"), "cron \"0 0 0 * *\": day-of-month field, column 5: 0 is out of range 1-31");
  EXPECT_EQ(error_of("0 0 * 13 *"), "cron \"0 0 * 13 *\": month field, column 7: 13 is out of range 1-12");
  EXPECT_EQ(error_of("0 0 * * 8"), "cron \"0 0 * * 8\": day-of-week field, column 9: 8 is out of range 0-7");
  EXPECT_EQ(error_of("0 0 * * 1,,2"), "cron \"0 0 * * 1,,2\": day-of-week field, column 11: empty list item");
  EXPECT_EQ(error_of("0 0 * * 1-x"),
            "cron \"0 0 * * 1-x\": day-of-week field, column 11: 'x' is not a number or a name (sun, mon, ...)");
  EXPECT_EQ(error_of("*/0 * * * *"), "cron \"*/0 * * * *\": minute field, column 3: step must be at least 1");
  EXPECT_EQ(error_of("*/a * * * *"), "cron \"*/a * * * *\": minute field, column 3: step 'a' is not a number");
  EXPECT_EQ(error_of("30-10 * * * *"),
            "cron \"30-10 * * * *\": minute field, column 1: range 30-10 runs backwards (30 > 10)");
  EXPECT_EQ(error_of("0 jan * * *"), "cron \"0 jan * * *\": hour field, column 3: 'jan' is not a number");
  EXPECT_EQ(error_of("0 0 * foo *"),
            "cron \"0 0 * foo *\": month field, column 7: 'foo' is not a number or a name (jan, feb, ...)");
  EXPECT_EQ(error_of("* * * *"),
            "cron \"* * * *\": expected 5 fields (minute hour day-of-month month day-of-week), got 4");
  EXPECT_NE(error_of("0 0 * * * *").find("got 6"), std::string::npos);
  EXPECT_NE(error_of("").find("got 0"), std::string::npos);
  EXPECT_EQ(error_of("0 0 L * *"),
            "cron \"0 0 L * *\": day-of-month field, column 5: 'L' is not supported (only standard five-field cron)");
  EXPECT_NE(error_of("0 0 * * 5#3").find("'5#3' is not supported"), std::string::npos);
  EXPECT_EQ(error_of("0 0 30 2 *"),
            "cron \"0 0 30 2 *\": day-of-month field, column 5: no chosen month has such a day, so it would "
            "never run");
  EXPECT_TRUE(CronExpr::parse("0 0 29 2 *"));   // leap years
  EXPECT_TRUE(CronExpr::parse("0 0 30 2 mon")); // OR: every Monday in February
}

TEST(CronParse, UnknownTimeZone) {
  auto s = CronSchedule::create("* * * * *", "Mars/Olympus");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("unknown time zone 'Mars/Olympus'"), std::string::npos);
  EXPECT_TRUE(CronSchedule::create("* * * * *", ""));  // UTC
}

TEST(CronNext, StrictlyAfterAndOnMinuteBoundaries) {
  auto s = CronSchedule::create("*/5 * * * *", "UTC");
  ASSERT_TRUE(s);
  SystemTime t;
  ASSERT_TRUE(parse_time("2026-01-01T10:05:00Z", t));
  EXPECT_EQ(format_time(*s->next_after(t)), "2026-01-01T10:10:00.000Z");
  ASSERT_TRUE(parse_time("2026-01-01T10:04:59.999Z", t));
  EXPECT_EQ(format_time(*s->next_after(t)), "2026-01-01T10:05:00.000Z");
  auto leap = CronSchedule::create("0 0 29 2 *", "UTC");
  ASSERT_TRUE(leap);
  ASSERT_TRUE(parse_time("2097-03-01T00:00:00Z", t));
  EXPECT_EQ(format_time(*leap->next_after(t)), "2104-02-29T00:00:00.000Z");  // 2100 is no leap year
}

}  // namespace
}  // namespace opsrun::scheduler
