// Process metrics read from /proc at scrape time.
#pragma once

#include <optional>

namespace opsrun::metrics {

struct ProcessStats {
  std::optional<double> resident_memory_bytes;
  std::optional<double> virtual_memory_bytes;
  std::optional<double> open_fds;
  std::optional<double> max_fds;
  std::optional<double> start_time_seconds;  // since the Unix epoch
  std::optional<double> cpu_seconds_total;
};

ProcessStats read_process_stats();

}  // namespace opsrun::metrics
