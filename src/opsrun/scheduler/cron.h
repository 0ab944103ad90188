// Five-field cron expressions and their run times in a time zone.
//
// Syntax (as croniter and Vixie cron): minute hour day-of-month month day-of-week; each field
// a list of `*`, `N`, `A-B`, with an optional `/STEP` (`*/15`, `1-30/2`, `5/10` = `5-max/10`);
// month names jan..dec and weekday names sun..sat in any case; weekday 7 is Sunday; the
// aliases @yearly @annually @monthly @weekly @daily @midnight @hourly. When both
// day-of-month and day-of-week are restricted a day matches if EITHER matches (a field
// counts as unrestricted when it matches every value of its range, as in croniter).
//
// Time zones (docs/configuration.md, "Schedules"): fields are local wall-clock times.
// When the hour field is restricted (a "daily at 02:30" job), each local time runs once: a
// time repeated by a fall-back runs at its first occurrence only, and a time skipped by a
// spring-forward runs at the end of the gap (03:00 in Berlin). When the hour field is `*`
// (an interval job) runs follow the local clock: both occurrences of a repeated hour run,
// times inside a gap do not exist.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "opsrun/common/clock.h"
#include "opsrun/common/error.h"

namespace date {
class time_zone;
}

namespace opsrun::scheduler {

class CronExpr {
 public:
  // Errors name the field and the 1-based column in `text`.
  [[nodiscard]] static Result<CronExpr> parse(std::string_view text);

  [[nodiscard]] const std::string& text() const { return text_; }
  [[nodiscard]] bool minute(unsigned m) const { return (minutes_ >> m) & 1U; }
  [[nodiscard]] bool hour(unsigned h) const { return (hours_ >> h) & 1U; }
  [[nodiscard]] bool month(unsigned m) const { return (months_ >> m) & 1U; }
  // month 1..12, day 1..31, weekday 0 (Sunday) .. 6; applies the OR rule.
  [[nodiscard]] bool day(unsigned month, unsigned day, unsigned weekday) const;
  [[nodiscard]] bool every_hour() const { return hours_ == (1U << 24) - 1; }

 private:
  std::string text_;
  std::uint64_t minutes_ = 0;   // bit m: minute m
  std::uint32_t hours_ = 0;     // bit h
  std::uint32_t days_ = 0;      // bit d, 1..31
  std::uint32_t months_ = 0;    // bit m, 1..12
  std::uint32_t weekdays_ = 0;  // bit w, 0..6
};

// An expression bound to a time zone of the system tz database.
class CronSchedule {
 public:
  [[nodiscard]] static Result<CronSchedule> create(std::string_view expression,
                                                   std::string_view time_zone);

  // The first run strictly after `after` (a run is on a local minute boundary), or nullopt
  // when none falls within the next ten years.
  [[nodiscard]] std::optional<SystemTime> next_after(SystemTime after) const;
  [[nodiscard]] std::vector<SystemTime> next_runs(SystemTime after, int count) const;
  // "2026-03-29 03:00 CEST (+02:00)"
  [[nodiscard]] std::string local_text(SystemTime t) const;

  [[nodiscard]] const CronExpr& expr() const { return expr_; }
  [[nodiscard]] const std::string& time_zone() const { return zone_name_; }

 private:
  CronSchedule(CronExpr expr, const date::time_zone* zone, std::string name)
      : expr_(std::move(expr)), zone_(zone), zone_name_(std::move(name)) {}
  CronExpr expr_;
  const date::time_zone* zone_;
  std::string zone_name_;
};

}  // namespace opsrun::scheduler
