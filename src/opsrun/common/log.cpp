#include "opsrun/common/log.h"

#include <unistd.h>

#include <atomic>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cstdio>
#include <mutex>
#include <vector>

#include "opsrun/common/clock.h"

namespace opsrun::log {

namespace {

std::atomic<int> g_level{static_cast<int>(Level::Info)};
std::atomic<int> g_json{-1};  // -1: decide by isatty
std::mutex g_mu;
std::vector<std::string>& secrets() {
  static std::vector<std::string> s;
  return s;
}

const char* level_name(Level l) {
  switch (l) {
    case Level::Debug: return "debug";
    case Level::Info: return "info";
    case Level::Warn: return "warn";
    case Level::Error: return "error";
  }
  return "info";
}

}  // namespace

void set_level(Level level) { g_level = static_cast<int>(level); }
void set_json(bool json) { g_json = json ? 1 : 0; }

void add_secret(std::string secret) {
  if (secret.size() < 4) return;  // too short to redact without mangling ordinary words
  std::lock_guard g(g_mu);
  secrets().push_back(std::move(secret));
}

std::string redact(std::string text) {
  std::lock_guard g(g_mu);
  for (const auto& s : secrets()) {
    std::size_t pos = 0;
    while ((pos = text.find(s, pos)) != std::string::npos) {
      text.replace(pos, s.size(), "***");
      pos += 3;
    }
  }
  return text;
}

void write(Level level, std::string_view message, std::initializer_list<Field> fields) {
  if (static_cast<int>(level) < g_level.load()) return;
  int json = g_json.load();
  if (json < 0) json = isatty(STDERR_FILENO) ? 0 : 1;
  std::string line;
  const std::string now = format_time(std::chrono::system_clock::now());
  if (json) {
    boost::json::object o;
    o["timestamp"] = now;
    o["level"] = level_name(level);
    o["message"] = message;
    for (const auto& [k, v] : fields)
      if (!v.empty()) o[k] = v;  // an empty field says nothing
    line = boost::json::serialize(o);
  } else {
    line = now + " " + level_name(level) + " " + std::string(message);
    for (const auto& [k, v] : fields)
      if (!v.empty()) line += " " + std::string(k) + "=" + v;
  }
  line = redact(std::move(line));
  line += '\n';
  std::lock_guard g(g_mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace opsrun::log
