#include "opsrun/server/auth.h"

#include <openssl/evp.h>
#include <sys/random.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "opsrun/common/json.h"
#include "opsrun/common/log.h"

namespace opsrun::server {

std::string_view to_string(Role r) {
  switch (r) {
    case Role::Viewer:
      return "viewer";
    case Role::Operator:
      return "operator";
    case Role::Admin:
      return "admin";
  }
  return "viewer";
}

Result<Role> parse_role(std::string_view text) {
  if (text == "viewer") return Role::Viewer;
  if (text == "operator") return Role::Operator;
  if (text == "admin") return Role::Admin;
  return fail(ErrorCode::InvalidArgument,
              "unknown role '" + std::string(text) + "' (viewer, operator or admin)");
}

std::string hash_token(std::string_view token) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  EVP_Digest(token.data(), token.size(), md.data(), &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 0xf];
  }
  return out;
}

Result<GeneratedToken> generate_token() {
  std::array<unsigned char, 32> raw{};
  std::size_t got = 0;
  while (got < raw.size()) {
    ssize_t n = getrandom(raw.data() + got, raw.size() - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(ErrorCode::Internal, std::string("getrandom: ") + std::strerror(errno));
    }
    got += static_cast<std::size_t>(n);
  }
  static constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string token = "opsr_";
  // Unpadded url-safe base64: tokens survive shells and URLs without quoting.
  unsigned int acc = 0;
  int bits = 0;
  for (unsigned char b : raw) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      token += kB64[(acc >> bits) & 0x3f];
    }
  }
  if (bits > 0) token += kB64[(acc << (6 - bits)) & 0x3f];
  GeneratedToken g{token, hash_token(token)};
  return g;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;  // hashes have a fixed length: no secret leaks here
  volatile unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff = diff | static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
}

namespace {
bool valid_hash(std::string_view h) {
  if (!h.starts_with("sha256:") || h.size() != 7 + 64) return false;
  for (char c : h.substr(7)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}
}  // namespace

Result<TokenStore> TokenStore::create(std::vector<TokenEntry> entries) {
  TokenStore s;
  for (auto& e : entries) {
    if (!valid_hash(e.hash)) {
      return fail(ErrorCode::InvalidArgument,
                  "token '" + e.name + "': hash must be \"sha256:\" and 64 lowercase hex digits");
    }
    s.entries_.push_back(std::move(e));
  }
  return s;
}

void TokenStore::add(TokenEntry entry) { entries_.push_back(std::move(entry)); }

void TokenStore::add_bootstrap_from_env() {
  const char* t = std::getenv("OPSRUN_BOOTSTRAP_TOKEN");
  if (t == nullptr || *t == '\0') return;
  log::add_secret(t);
  entries_.push_back(TokenEntry{"bootstrap", Role::Admin, hash_token(t)});
}

std::optional<Principal> TokenStore::identify(std::string_view token) const {
  const std::string h = hash_token(token);
  std::optional<Principal> found;
  for (const auto& e : entries_) {
    if (constant_time_equal(h, e.hash) && !found) found = Principal{e.name, e.role};
  }
  return found;
}

std::expected<Principal, AuthFailure> TokenStore::authorize(std::string_view header,
                                                            Role required) const {
  auto unauthorized = [](std::string_view msg) {
    return std::unexpected(AuthFailure{401, json_error_body("unauthorized", msg)});
  };
  while (!header.empty() && header.front() == ' ') header.remove_prefix(1);
  if (header.empty()) return unauthorized("missing bearer token (Authorization: Bearer <token>)");
  constexpr std::string_view kBearer = "bearer ";
  if (header.size() <= kBearer.size() ||
      !std::equal(kBearer.begin(), kBearer.end(), header.begin(),
                  [](char a, char b) { return a == (b | 0x20); })) {
    return unauthorized("the Authorization header must be 'Bearer <token>'");
  }
  std::string_view token = header.substr(kBearer.size());
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
  auto p = identify(token);
  if (!p) return unauthorized("invalid token");
  if (static_cast<int>(p->role) < static_cast<int>(required)) {
    return std::unexpected(AuthFailure{
        403, json_error_body("forbidden", "this needs the " + std::string(to_string(required)) +
                                              " role; token '" + p->name + "' is " +
                                              std::string(to_string(p->role)))});
  }
  return *p;
}

std::string json_error_body(std::string_view code, std::string_view message) {
  JsonObject o;
  o["error"] = code;
  o["message"] = message;
  return to_json_text(o);
}

}  // namespace opsrun::server
