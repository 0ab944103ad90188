#include "opsrun/common/clock.h"

#include <cstdio>
#include <ctime>

namespace opsrun {

SystemTime SystemClock::now() const { return std::chrono::system_clock::now(); }

bool SystemClock::wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                             SystemTime deadline, const std::function<bool()>& wake) {
  return cv.wait_until(lock, deadline, wake);
}

FakeClock::FakeClock(SystemTime start) : now_(start) {}

SystemTime FakeClock::now() const {
  std::lock_guard guard(mu_);
  return now_;
}

bool FakeClock::wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                           SystemTime deadline, const std::function<bool()>& wake) {
  std::multiset<SystemTime>::iterator slot;
  {
    std::lock_guard guard(mu_);
    ++sleepers_;
    slot = deadlines_.insert(deadline);
  }
  bool woken = false;
  // Simulated time moves in another thread; poll the caller's condition on a short real
  // interval instead of threading the caller's condition variable into the clock.
  while (true) {
    if (wake()) {
      woken = true;
      break;
    }
    if (now() >= deadline) break;
    cv.wait_for(lock, std::chrono::milliseconds(1));
  }
  std::lock_guard guard(mu_);
  --sleepers_;
  deadlines_.erase(slot);
  return woken;
}

void FakeClock::advance_to(SystemTime t) {
  std::lock_guard guard(mu_);
  if (t > now_) now_ = t;
}

int FakeClock::sleepers() const {
  std::lock_guard guard(mu_);
  return sleepers_;
}

SystemTime FakeClock::earliest_sleeper_deadline() const {
  std::lock_guard guard(mu_);
  return deadlines_.empty() ? SystemTime::max() : *deadlines_.begin();
}

std::int64_t to_unix_ms(SystemTime t) {
  return std::chrono::duration_cast<Millis>(t.time_since_epoch()).count();
}

SystemTime from_unix_ms(std::int64_t ms) { return SystemTime{} + Millis(ms); }

std::string format_time(SystemTime t) {
  const std::int64_t ms = to_unix_ms(t);
  std::time_t secs = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  const int frac = static_cast<int>(ms - static_cast<std::int64_t>(secs) * 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
  return buf;
}

namespace {

bool read_int(std::string_view s, std::size_t& pos, int digits, int& out) {
  if (pos + static_cast<std::size_t>(digits) > s.size()) return false;
  out = 0;
  for (int i = 0; i < digits; ++i) {
    const char c = s[pos++];
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  return true;
}

bool expect(std::string_view s, std::size_t& pos, char c) {
  if (pos >= s.size() || s[pos] != c) return false;
  ++pos;
  return true;
}

}  // namespace

bool parse_time(std::string_view s, SystemTime& out) {
  std::size_t pos = 0;
  int year, mon, day, hour, min, sec;
  if (!read_int(s, pos, 4, year) || !expect(s, pos, '-') || !read_int(s, pos, 2, mon) ||
      !expect(s, pos, '-') || !read_int(s, pos, 2, day))
    return false;
  if (pos >= s.size() || (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ')) return false;
  ++pos;
  if (!read_int(s, pos, 2, hour) || !expect(s, pos, ':') || !read_int(s, pos, 2, min) ||
      !expect(s, pos, ':') || !read_int(s, pos, 2, sec))
    return false;
  if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60)
    return false;
  std::int64_t millis = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int n = 0;
    std::int64_t scale = 100;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (n < 3) millis += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
      ++n;
    }
    if (n == 0) return false;
  }
  int offset_minutes = 0;
  if (pos >= s.size()) return false;
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    const int sign = s[pos] == '-' ? -1 : 1;
    ++pos;
    int oh, om;
    if (!read_int(s, pos, 2, oh) || !expect(s, pos, ':') || !read_int(s, pos, 2, om)) return false;
    offset_minutes = sign * (oh * 60 + om);
  } else {
    return false;
  }
  if (pos != s.size()) return false;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  const std::time_t secs = timegm(&tm);
  out = from_unix_ms(static_cast<std::int64_t>(secs) * 1000 + millis -
                     static_cast<std::int64_t>(offset_minutes) * 60000);
  return true;
}

}  // namespace opsrun
