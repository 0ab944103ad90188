// The cron expression parser: five fields into bit sets, with errors naming field and column.
#include <array>
#include <cctype>
#include <charconv>

#include "opsrun/scheduler/cron.h"

namespace opsrun::scheduler {
namespace {

struct FieldSpec {
  const char* name;
  unsigned lo;
  unsigned hi;
  std::array<std::string_view, 12> names;  // empty when the field takes no names
  unsigned first_name_value;
};

constexpr std::array<FieldSpec, 5> kFields{{
    {"minute", 0, 59, {}, 0},
    {"hour", 0, 23, {}, 0},
    {"day-of-month", 1, 31, {}, 0},
    {"month",
     1,
     12,
     {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"},
     1},
    // 7 is Sunday too, as in Vixie cron and croniter.
    {"day-of-week", 0, 7, {"sun", "mon", "tue", "wed", "thu", "fri", "sat"}, 0},
}};

constexpr std::array<std::pair<std::string_view, std::string_view>, 7> kAliases{{
    {"@yearly", "0 0 1 1 *"},
    {"@annually", "0 0 1 1 *"},
    {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"},
    {"@daily", "0 0 * * *"},
    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
}};

struct Token {
  std::string_view text;
  std::size_t column;  // 1-based, in the expression as written
};

class FieldParser {
 public:
  FieldParser(std::string_view expr, const FieldSpec& spec) : expr_(expr), spec_(spec) {}

  Result<std::uint64_t> parse(Token field) {
    std::uint64_t bits = 0;
    std::size_t start = 0;
    while (true) {
      const std::size_t comma = field.text.find(',', start);
      const std::size_t end = comma == std::string_view::npos ? field.text.size() : comma;
      auto item = item_bits({field.text.substr(start, end - start), field.column + start});
      if (!item) return std::unexpected(item.error());
      bits |= *item;
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    if (spec_.hi == 7 && ((bits >> 7) & 1U)) bits = (bits & ~(1ULL << 7)) | 1ULL;  // 7 -> Sunday
    return bits;
  }

 private:
  std::unexpected<Error> error(std::size_t column, const std::string& what) const {
    return fail(ErrorCode::InvalidArgument, "cron \"" + std::string(expr_) + "\": " + spec_.name +
                                                " field, column " + std::to_string(column) + ": " +
                                                what);
  }

  Result<unsigned> value(Token t) const {
    if (t.text.empty()) return error(t.column, "a value is missing");
    std::string lower;
    for (char c : t.text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    // Quartz/croniter extensions (last day, nearest weekday, nth weekday, hashed values).
    if (lower == "l" || lower == "?" || lower == "h" || lower.find('#') != std::string::npos ||
        (lower.size() > 1 && std::isdigit(static_cast<unsigned char>(lower[0])) &&
         (lower.back() == 'l' || lower.back() == 'w')))
      return error(t.column, "'" + std::string(t.text) +
                                 "' is not supported (only standard five-field cron)");
    if (std::isdigit(static_cast<unsigned char>(t.text[0]))) {
      unsigned v = 0;
      auto [ptr, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), v);
      if (ec != std::errc{} || ptr != t.text.data() + t.text.size())
        return error(t.column, "'" + std::string(t.text) + "' is not a number");
      if (v < spec_.lo || v > spec_.hi)
        return error(t.column, std::to_string(v) + " is out of range " + std::to_string(spec_.lo) +
                                   "-" + std::to_string(spec_.hi));
      return v;
    }
    for (std::size_t i = 0; i < spec_.names.size(); ++i)
      if (!spec_.names[i].empty() && spec_.names[i] == lower)
        return spec_.first_name_value + static_cast<unsigned>(i);
    if (spec_.names[0].empty())
      return error(t.column, "'" + std::string(t.text) + "' is not a number");
    return error(t.column, "'" + std::string(t.text) + "' is not a number or a name (" +
                               std::string(spec_.names[0]) + ", " + std::string(spec_.names[1]) +
                               ", ...)");
  }

  // One list item: *, N, A-B, each with an optional /STEP.
  Result<std::uint64_t> item_bits(Token item) const {
    if (item.text.empty()) return error(item.column, "empty list item");
    std::string_view base = item.text;
    unsigned step = 1;
    bool has_step = false;
    if (auto slash = item.text.find('/'); slash != std::string_view::npos) {
      has_step = true;
      base = item.text.substr(0, slash);
      const std::string_view s = item.text.substr(slash + 1);
      const std::size_t col = item.column + slash + 1;
      auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), step);
      if (s.empty() || ec != std::errc{} || ptr != s.data() + s.size())
        return error(col, "step '" + std::string(s) + "' is not a number");
      if (step == 0) return error(col, "step must be at least 1");
    }
    unsigned lo = spec_.lo, hi = spec_.hi;
    if (base == "*") {
      // whole range
    } else if (auto dash = base.find('-'); dash != std::string_view::npos) {
      auto a = value({base.substr(0, dash), item.column});
      if (!a) return std::unexpected(a.error());
      auto b = value({base.substr(dash + 1), item.column + dash + 1});
      if (!b) return std::unexpected(b.error());
      lo = *a;
      hi = *b;
      if (spec_.hi == 7 && hi == 0 && lo > 0) hi = 7;  // "fri-sun": Sunday as 7 ends a range
      if (lo > hi)
        return error(item.column, "range " + std::string(base) + " runs backwards (" +
                                      std::to_string(lo) + " > " + std::to_string(hi) + ")");
    } else {
      auto a = value({base, item.column});
      if (!a) return std::unexpected(a.error());
      lo = *a;
      if (!has_step) hi = *a;  // "5/10" means 5-max/10
    }
    std::uint64_t bits = 0;
    for (unsigned v = lo; v <= hi; v += step) bits |= 1ULL << v;
    return bits;
  }

  std::string_view expr_;
  const FieldSpec& spec_;
};

constexpr unsigned kMaxDays[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

}  // namespace

Result<CronExpr> CronExpr::parse(std::string_view text) {
  std::string_view body = text;
  while (!body.empty() && std::isspace(static_cast<unsigned char>(body.front())))
    body.remove_prefix(1);
  while (!body.empty() && std::isspace(static_cast<unsigned char>(body.back())))
    body.remove_suffix(1);
  if (body.starts_with("@")) {
    std::string lower;
    for (char c : body) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (const auto& [alias, expansion] : kAliases) {
      if (alias == lower) {
        auto e = parse(expansion);
        if (e) e->text_ = std::string(text);
        return e;
      }
    }
    return fail(ErrorCode::InvalidArgument,
                "cron \"" + std::string(text) + "\": unknown alias '" + std::string(body) +
                    "' (known: @yearly @annually @monthly @weekly @daily @midnight @hourly)");
  }
  std::vector<Token> fields;
  for (std::size_t i = 0; i < text.size();) {
    if (std::isspace(static_cast<unsigned char>(text[i]))) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < text.size() && !std::isspace(static_cast<unsigned char>(text[j]))) ++j;
    fields.push_back({text.substr(i, j - i), i + 1});
    i = j;
  }
  if (fields.size() != 5)
    return fail(ErrorCode::InvalidArgument,
                "cron \"" + std::string(text) + "\": expected 5 fields (minute hour day-of-month " +
                    "month day-of-week), got " + std::to_string(fields.size()));
  std::array<std::uint64_t, 5> bits{};
  for (std::size_t f = 0; f < 5; ++f) {
    auto b = FieldParser(text, kFields[f]).parse(fields[f]);
    if (!b) return std::unexpected(b.error());
    bits[f] = *b;
  }
  CronExpr e;
  e.text_ = std::string(text);
  e.minutes_ = bits[0];
  e.hours_ = static_cast<std::uint32_t>(bits[1]);
  e.days_ = static_cast<std::uint32_t>(bits[2]);
  e.months_ = static_cast<std::uint32_t>(bits[3]);
  e.weekdays_ = static_cast<std::uint32_t>(bits[4]);
  // A day-of-month that no chosen month has ("30 2", "31 4,6") would never run.
  const bool only_days = e.weekdays_ == 0x7F && e.days_ != 0xFFFFFFFEU;
  if (only_days) {
    bool possible = false;
    for (unsigned m = 1; m <= 12; ++m)
      for (unsigned d = 1; d <= kMaxDays[m]; ++d)
        if (e.month(m) && ((e.days_ >> d) & 1U)) possible = true;
    if (!possible)
      return fail(ErrorCode::InvalidArgument,
                  "cron \"" + std::string(text) + "\": day-of-month field, column " +
                      std::to_string(fields[2].column) +
                      ": no chosen month has such a day, so it would never run");
  }
  return e;
}

bool CronExpr::day(unsigned month, unsigned day, unsigned weekday) const {
  if (!this->month(month)) return false;
  const bool dom = (days_ >> day) & 1U;
  const bool dow = (weekdays_ >> weekday) & 1U;
  const bool all_days = days_ == 0xFFFFFFFEU;
  const bool all_weekdays = weekdays_ == 0x7F;
  if (!all_days && !all_weekdays) return dom || dow;
  return dom && dow;
}

}  // namespace opsrun::scheduler
