// Durations as runbooks and the CLI write them: 500ms, 30s, 5m, 1h, 2d (and sums like 1m30s).
#pragma once

#include <string>
#include <string_view>

#include "opsrun/common/clock.h"
#include "opsrun/common/error.h"

namespace opsrun {

[[nodiscard]] Result<Millis> parse_duration(std::string_view text);
// The shortest exact spelling: 1500 -> "1500ms", 60000 -> "1m".
std::string format_duration(Millis d);

}  // namespace opsrun
