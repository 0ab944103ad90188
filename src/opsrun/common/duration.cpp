#include "opsrun/common/duration.h"

#include <cstdint>

namespace opsrun {

Result<Millis> parse_duration(std::string_view text) {
  if (text.empty()) return fail(ErrorCode::InvalidArgument, "empty duration");
  std::int64_t total = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::int64_t number = 0;
    const std::size_t digits_start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      number = number * 10 + (text[pos] - '0');
      if (number > 1'000'000'000'000LL)
        return fail(ErrorCode::InvalidArgument, "duration too large: '" + std::string(text) + "'");
      ++pos;
    }
    if (pos == digits_start)
      return fail(ErrorCode::InvalidArgument,
                  "bad duration '" + std::string(text) + "' (use 500ms, 30s, 5m, 1h, 2d)");
    const std::size_t unit_start = pos;
    while (pos < text.size() && text[pos] >= 'a' && text[pos] <= 'z') ++pos;
    const std::string_view unit = text.substr(unit_start, pos - unit_start);
    std::int64_t factor = 0;
    if (unit == "ms") factor = 1;
    else if (unit == "s") factor = 1000;
    else if (unit == "m") factor = 60'000;
    else if (unit == "h") factor = 3'600'000;
    else if (unit == "d") factor = 86'400'000;
    else
      return fail(ErrorCode::InvalidArgument,
                  "bad duration '" + std::string(text) + "' (use 500ms, 30s, 5m, 1h, 2d)");
    total += number * factor;
  }
  return Millis(total);
}

std::string format_duration(Millis d) {
  const std::int64_t ms = d.count();
  struct Unit { std::int64_t factor; const char* name; };
  for (const Unit u : {Unit{86'400'000, "d"}, Unit{3'600'000, "h"}, Unit{60'000, "m"},
                       Unit{1000, "s"}}) {
    if (ms != 0 && ms % u.factor == 0) return std::to_string(ms / u.factor) + u.name;
  }
  return std::to_string(ms) + "ms";
}

}  // namespace opsrun
