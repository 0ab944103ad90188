#include "opsrun/metrics/process_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace opsrun::metrics {
namespace {

std::optional<double> boot_time_seconds() {
  std::ifstream in("/proc/stat");
  std::string key;
  while (in >> key) {
    if (key == "btime") {
      double v = 0;
      if (in >> v) return v;
      return std::nullopt;
    }
    in.ignore(1 << 20, '\n');
  }
  return std::nullopt;
}

}  // namespace

ProcessStats read_process_stats() {
  ProcessStats s;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  {
    std::ifstream in("/proc/self/stat");
    std::string line;
    if (std::getline(in, line)) {
      // The command name (field 2) may hold spaces and parentheses: parse after the last ')'.
      auto close = line.rfind(')');
      if (close != std::string::npos) {
        std::istringstream rest(line.substr(close + 2));
        std::vector<std::string> f;
        std::string tok;
        while (rest >> tok) f.push_back(tok);
        // rest[0] is field 3 (state); utime=14, stime=15, starttime=22, vsize=23, rss=24.
        auto field = [&](int n) -> std::optional<double> {
          std::size_t i = static_cast<std::size_t>(n - 3);
          if (i >= f.size()) return std::nullopt;
          try {
            return std::stod(f[i]);
          } catch (...) {
            return std::nullopt;
          }
        };
        auto ut = field(14), st = field(15);
        if (ut && st && ticks > 0) s.cpu_seconds_total = (*ut + *st) / ticks;
        if (auto start = field(22); start && ticks > 0) {
          if (auto bt = boot_time_seconds()) s.start_time_seconds = *bt + *start / ticks;
        }
        s.virtual_memory_bytes = field(23);
        if (auto rss = field(24)) s.resident_memory_bytes = *rss * page;
      }
    }
  }
  if (DIR* d = opendir("/proc/self/fd")) {
    double n = 0;
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') ++n;
    }
    closedir(d);
    s.open_fds = n - 1;  // the directory stream's own descriptor
  }
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
    s.max_fds = static_cast<double>(rl.rlim_cur);
  }
  return s;
}

}  // namespace opsrun::metrics
