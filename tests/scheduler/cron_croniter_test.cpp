// Next-run times against python3-croniter (Debian's 1.3.5) as the oracle: several hundred
// expressions (hand-picked and generated) x start times x time zones. croniter runs as a
// real process (croniter_oracle.py); where croniter 1.3.5 is wrong around DST changes the
// script marks the case not comparable (cron_dst_test.cpp covers those rules), and where it
// skips the first days of a month the script's day-by-day scan of croniter's own expanded
// fields overrules it (see the script).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "opsrun/scheduler/cron.h"

namespace opsrun::scheduler {
namespace {

const char* const kZones[] = {"UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata",
                              "Australia/Sydney", "Asia/Kathmandu", "Pacific/Chatham",
                              "America/Sao_Paulo"};

const char* const kHandPicked[] = {
    "* * * * *", "*/5 * * * *", "0 * * * *", "30 2 * * *", "0 9 * * 1-5", "0 9 * * mon-fri",
    "15 14 1 * *", "0 22 * * 1-5", "23 0-20/2 * * *", "5 4 * * sun", "0 0,12 1 */2 *",
    "0 4 8-14 * *", "0 0 1,15 * 3", "0 0 * * 7", "0 0 * * 0-7", "@hourly", "@daily",
    "@weekly", "@monthly", "@yearly", "@annually", "@midnight", "0 0 29 2 *", "0 12 31 * *",
    "0 0 31 1,3,5 *", "59 23 31 12 *", "0 0 1 jan *", "0 0 1 JAN-MAR *", "0 8 * feb,aug mon",
    "*/15 9-17 * * MON-FRI", "0 0 */2 * 1", "0 0 1-31 * 1", "0 0 * * */2", "0 0 13 * fri",
    "5/10 * * * *", "0 3/4 * * *", "0 0 10/5 * *", "0 0 * 3/3 *", "0 0 * * 1/2",
    "0 0 * * fri-sun", "0 0 * * 5-7", "0 0 * * sat,sun", "1,2,3 4,5 6,7 8,9 *",
    "0-59/20 * * * *", "0 0-23/6 * * *", "0 0 1 1-12/3 *", "*/59 */23 * * *", "0 12 * * 0,6",
    "0 0 28-31 * *", "0 0 29 2 mon", "60 * * * *", "* 24 * * *",
    "* * 0 * *", "* * * 13 *", "* * * * 8", "5-1 * * * *", "*/0 * * * *", "* * * *",
    "0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 * foo *", "a * * * *"};

// A random field: *, */k, a, a-b, a-b/k, a/k, or a list of two or three of these.
std::string field(std::mt19937& rng, int lo, int hi, const std::vector<std::string>& names) {
  auto pick = [&](int a, int b) { return std::uniform_int_distribution<int>(a, b)(rng); };
  auto value = [&](int v) {
    if (!names.empty() && pick(0, 2) == 0) return names[static_cast<std::size_t>(v - lo) % names.size()];
    return std::to_string(v);
  };
  // croniter 1.3.5 mishandles a bare "*" inside a list ("1,*"), so lists never hold one.
  auto one = [&](bool in_list) -> std::string {
    const int a = pick(lo, hi), b = pick(a, hi), k = pick(1, std::max(2, (hi - lo) / 2));
    switch (pick(in_list ? 1 : 0, 6)) {
      case 0: return "*";
      case 1: return "*/" + std::to_string(k);
      case 2: case 3: return value(a);
      case 4: return value(a) + "-" + value(b);
      case 5: return value(a) + "-" + value(b) + "/" + std::to_string(k);
      default: return std::to_string(a) + "/" + std::to_string(k);
    }
  };
  if (pick(0, 4) == 0) {
    std::string list = one(true);
    for (int i = pick(1, 2); i > 0; --i) list += "," + one(true);
    return list;
  }
  return one(false);
}

std::vector<std::string> generated(int count) {
  std::mt19937 rng(20240331);
  const std::vector<std::string> months{"jan", "feb", "mar", "apr", "may", "jun",
                                        "jul", "aug", "sep", "oct", "nov", "dec"};
  const std::vector<std::string> days{"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) {
    // Mostly fixed minutes and hours, as real schedules are, so runs are not all a minute apart.
    const bool dense = i % 4 == 0;
    std::string e = (dense ? field(rng, 0, 59, {}) : std::to_string(rng() % 60)) + " " +
                    (dense || i % 3 == 0 ? field(rng, 0, 23, {}) : std::to_string(rng() % 24)) + " " +
                    (i % 2 == 0 ? field(rng, 1, 31, {}) : "*") + " " +
                    (i % 5 == 0 ? field(rng, 1, 12, months) : "*") + " " +
                    (i % 3 != 1 ? field(rng, 0, 6, days) : "*");
    out.push_back(e);
  }
  return out;
}

std::vector<std::int64_t> start_times() {
  std::vector<std::int64_t> out = {
      1709251199,  // 2024-02-29T23:59:59Z (leap day)
      1735689599,  // 2024-12-31T23:59:59Z
      1711846800,  // 2024-03-31T01:00:00Z (Berlin spring forward)
      1730000000,  // 2024-10-27T03:33:20Z (just after Berlin fall back)
  };
  std::mt19937_64 rng(5);
  for (int i = 0; i < 4; ++i)
    out.push_back(1577836800 + static_cast<std::int64_t>(rng() % (10ULL * 365 * 86400)));  // 2020-2030
  return out;
}

struct Case {
  std::string expr;
  std::string zone;
  std::int64_t start;
};

TEST(CronVersusCroniter, NextRunsMatchTheOracle) {
  const std::string python = "/usr/bin/python3";
  if (std::system((python + " -c 'import croniter' 2>/dev/null").c_str()) != 0) {
    if (std::getenv("CI") != nullptr) FAIL() << "python3-croniter is not installed";
    GTEST_SKIP() << "python3-croniter is not installed (apt-get install python3-croniter)";
  }
  std::vector<std::string> exprs(std::begin(kHandPicked), std::end(kHandPicked));
  for (auto& e : generated(400)) exprs.push_back(e);
  std::vector<Case> cases;
  const auto starts = start_times();
  for (std::size_t i = 0; i < exprs.size(); ++i)
    for (std::size_t z = 0; z < std::size(kZones); ++z)
      for (std::size_t s = 0; s < starts.size(); ++s)
        if ((i + z + s) % 3 == 0) cases.push_back({exprs[i], kZones[z], starts[s]});

  const auto dir = std::filesystem::temp_directory_path() / ("opsrun-croniter-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  {
    std::ofstream in(dir / "cases.tsv");
    for (const auto& c : cases) in << c.expr << '\t' << c.zone << '\t' << c.start << '\n';
  }
  const std::string cmd = python + " " OPSRUN_SOURCE_DIR "/tests/scheduler/croniter_oracle.py < " +
                          (dir / "cases.tsv").string() + " > " + (dir / "expected.tsv").string();
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::ifstream expected(dir / "expected.tsv");

  int compared = 0, invalid = 0, skipped_dst = 0, mismatches = 0, corrected = 0;
  std::string line;
  for (const auto& c : cases) {
    ASSERT_TRUE(std::getline(expected, line)) << "oracle output ends early";
    std::istringstream fields(line);
    std::string kind, source;
    std::int64_t next = 0;
    int comparable = 0;
    fields >> kind >> next >> comparable >> source;
    auto schedule = CronSchedule::create(c.expr, c.zone);
    const std::string label = "\"" + c.expr + "\" in " + c.zone + " after " + std::to_string(c.start);
    if (kind == "invalid" || kind == "never") {
      ++invalid;
      EXPECT_FALSE(schedule) << label << ": croniter says " << kind << ", we accepted it";
      continue;
    }
    ASSERT_EQ(kind, "next") << line;
    if (!schedule) {
      ADD_FAILURE() << label << ": we reject it (" << schedule.error().message << "), croniter accepts";
      continue;
    }
    if (comparable == 0) {
      ++skipped_dst;
      continue;
    }
    ++compared;
    if (source == "scan") ++corrected;
    const auto ours = schedule->next_after(from_unix_ms(c.start * 1000));
    ASSERT_TRUE(ours) << label;
    if (to_unix_ms(*ours) / 1000 != next && ++mismatches <= 20)
      ADD_FAILURE() << label << ": croniter " << format_time(from_unix_ms(next * 1000)) << ", we "
                    << format_time(*ours) << " (" << schedule->local_text(*ours) << ")";
  }
  EXPECT_EQ(mismatches, 0);
  std::filesystem::remove_all(dir);
  // The comparison must really cover the ground it claims to.
  EXPECT_GE(exprs.size(), 400u);
  EXPECT_GE(compared, 5000) << "skipped around DST: " << skipped_dst << ", invalid: " << invalid;
  EXPECT_LE(skipped_dst * 10, compared) << "too many cases were not comparable";
  EXPECT_GE(invalid, 15);
  EXPECT_LE(corrected * 50, compared) << "croniter was overruled by the scan too often";
  std::printf("compared %d (croniter's month-end slip overruled by the scan: %d), invalid %d, "
              "not comparable around DST %d\n", compared, corrected, invalid, skipped_dst);
}

}  // namespace
}  // namespace opsrun::scheduler
