// Next-run computation in a time zone. The zone's history is a sequence of segments with one
// UTC offset each (date::sys_info); inside a segment local time is UTC plus that offset, so
// the search walks segments and, in each, looks for the first matching local minute. The
// DST rules of cron.h are applied where segments meet.
#include <date/tz.h>

#include "opsrun/scheduler/cron.h"

namespace opsrun::scheduler {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;
using LocalMinutes = date::local_time<minutes>;

// The first local minute in [from, until) that the expression matches.
std::optional<LocalMinutes> next_local_match(const CronExpr& e, LocalMinutes from,
                                             LocalMinutes until) {
  date::local_days day = std::chrono::floor<date::days>(from);
  auto minute_of_day = static_cast<unsigned>((from - day).count());
  while (day < until) {
    const date::year_month_day ymd{day};
    const auto month = static_cast<unsigned>(ymd.month());
    if (!e.month(month)) {
      day = date::local_days{date::year_month_day{ymd.year() / ymd.month() / 1} + date::months{1}};
      minute_of_day = 0;
      continue;
    }
    if (e.day(month, static_cast<unsigned>(ymd.day()), date::weekday{day}.c_encoding())) {
      for (unsigned h = minute_of_day / 60, m = minute_of_day % 60; h < 24; ++h, m = 0) {
        if (!e.hour(h)) continue;
        for (; m < 60; ++m) {
          if (!e.minute(m)) continue;
          const LocalMinutes found = day + minutes(h * 60 + m);
          if (found >= until) return std::nullopt;
          return found;
        }
      }
    }
    day += date::days{1};
    minute_of_day = 0;
  }
  return std::nullopt;
}

LocalMinutes ceil_minutes(date::local_seconds t) { return std::chrono::ceil<minutes>(t); }

constexpr int kMaxSegments = 1000;
constexpr date::years kHorizon{10};

}  // namespace

Result<CronSchedule> CronSchedule::create(std::string_view expression, std::string_view time_zone) {
  auto expr = CronExpr::parse(expression);
  if (!expr) return std::unexpected(expr.error());
  const std::string name = time_zone.empty() ? "UTC" : std::string(time_zone);
  const date::time_zone* zone = nullptr;
  try {
    zone = date::locate_zone(name);
  } catch (const std::exception&) {
    return fail(ErrorCode::InvalidArgument,
                "unknown time zone '" + name + "' (use an IANA name such as Europe/Berlin or UTC)");
  }
  return CronSchedule(std::move(*expr), zone, name);
}

std::optional<SystemTime> CronSchedule::next_after(SystemTime after) const {
  // Hour restricted: a local time runs once (first occurrence; end of a gap). Every hour:
  // runs follow the local clock through repeats and gaps.
  const bool once_per_local_time = !expr_.every_hour();
  const date::sys_seconds start = std::chrono::floor<seconds>(after);
  date::sys_info info = zone_->get_info(start);
  LocalMinutes from =
      std::chrono::floor<minutes>(date::local_seconds{start.time_since_epoch() + info.offset}) +
      minutes(1);
  const LocalMinutes horizon = from + std::chrono::duration_cast<minutes>(kHorizon);
  for (int i = 0; i < kMaxSegments && from < horizon; ++i) {
    const auto to_sys = [&](LocalMinutes l) {
      return date::sys_seconds{l.time_since_epoch() - info.offset};
    };
    const LocalMinutes segment_end =
        ceil_minutes(date::local_seconds{info.end.time_since_epoch() + info.offset});
    // Local times below `repeated_until` already happened in the previous segment (fall-back).
    LocalMinutes repeated_until = from;
    if (once_per_local_time) {
      const date::sys_info prev = zone_->get_info(info.begin - seconds(1));
      if (prev.offset > info.offset)
        repeated_until =
            ceil_minutes(date::local_seconds{info.begin.time_since_epoch() + prev.offset});
    }
    while (auto match = next_local_match(expr_, from, std::min(segment_end, horizon))) {
      if (*match < repeated_until) {
        from = *match + minutes(1);
        continue;
      }
      return SystemTime{
          std::chrono::duration_cast<SystemTime::duration>(to_sys(*match).time_since_epoch())};
    }
    if (segment_end >= horizon) return std::nullopt;
    const date::sys_info next = zone_->get_info(info.end);
    if (once_per_local_time && next.offset > info.offset) {
      // Spring-forward gap: its local times run once, when the gap ends.
      const LocalMinutes gap_end =
          ceil_minutes(date::local_seconds{info.end.time_since_epoch() + next.offset});
      if (next_local_match(expr_, std::max(from, segment_end), gap_end))
        return SystemTime{
            std::chrono::duration_cast<SystemTime::duration>(info.end.time_since_epoch())};
    }
    info = next;
    from = ceil_minutes(date::local_seconds{info.begin.time_since_epoch() + info.offset});
  }
  return std::nullopt;
}

std::vector<SystemTime> CronSchedule::next_runs(SystemTime after, int count) const {
  std::vector<SystemTime> out;
  for (int i = 0; i < count; ++i) {
    auto next = next_after(after);
    if (!next) break;
    out.push_back(*next);
    after = *next;
  }
  return out;
}

std::string CronSchedule::local_text(SystemTime t) const {
  const auto zoned = date::make_zoned(zone_, std::chrono::floor<seconds>(t));
  return date::format("%Y-%m-%d %H:%M %Z (%Ez)", zoned);
}

}  // namespace opsrun::scheduler
