#include "opsrun/common/ids.h"

#include <sys/random.h>

#include <cstdint>
#include <vector>

namespace opsrun {

namespace {

void fill_random(unsigned char* buf, std::size_t n) {
  std::size_t got = 0;
  while (got < n) {
    const ssize_t r = getrandom(buf + got, n - got, 0);
    if (r > 0) got += static_cast<std::size_t>(r);
  }
}

}  // namespace

std::string new_execution_id(SystemTime now) {
  static constexpr char kAlphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  unsigned char raw[9];
  fill_random(raw, sizeof raw);
  std::string suffix;
  for (unsigned char c : raw) suffix += kAlphabet[c % 36];
  return "exec-" + std::to_string(to_unix_ms(now)) + "-" + suffix;
}

std::string random_hex(std::size_t bytes) {
  std::vector<unsigned char> raw(bytes);
  fill_random(raw.data(), raw.size());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

}  // namespace opsrun
