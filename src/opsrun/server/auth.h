// API tokens: stored only as SHA-256 hashes, compared in constant time, with three roles.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "opsrun/common/error.h"

namespace opsrun::server {

// Ordered: a higher role may do everything a lower one may.
enum class Role { Viewer = 0, Operator = 1, Admin = 2 };

std::string_view to_string(Role r);
[[nodiscard]] Result<Role> parse_role(std::string_view text);

// "sha256:<64 lowercase hex>" of the token's bytes.
std::string hash_token(std::string_view token);

struct GeneratedToken {
  std::string token;  // "opsr_" + 43 url-safe base64 characters (32 random bytes)
  std::string hash;   // hash_token(token)
};
// A new token from getrandom(2).
[[nodiscard]] Result<GeneratedToken> generate_token();

// Compares without an early exit, so the time taken does not reveal the common prefix.
bool constant_time_equal(std::string_view a, std::string_view b);

struct TokenEntry {
  std::string name;
  Role role = Role::Viewer;
  std::string hash;  // "sha256:<hex>"
};

// An HTTP answer to a refused request: status 401 or 403 and a JSON body
// {"error": "unauthorized"|"forbidden", "message": "..."}.
struct AuthFailure {
  int status = 401;
  std::string body;
};

struct Principal {
  std::string name;
  Role role = Role::Viewer;
};

// Thread-safe after construction (read-only).
class TokenStore {
 public:
  // Hashes must be "sha256:<64 hex>"; a malformed one is an error naming the token entry.
  [[nodiscard]] static Result<TokenStore> create(std::vector<TokenEntry> entries);
  // Adds OPSRUN_BOOTSTRAP_TOKEN (when set and non-empty) as an admin token named "bootstrap",
  // and registers it with the log redactor.
  void add_bootstrap_from_env();
  void add(TokenEntry entry);

  // Which token (if any) this bearer token is. Every entry is compared, to keep timing flat.
  [[nodiscard]] std::optional<Principal> identify(std::string_view token) const;

  // From an Authorization header value ("Bearer <token>", may be empty when absent):
  // the principal, or 401 (missing/invalid) / 403 (role below `required`).
  [[nodiscard]] std::expected<Principal, AuthFailure> authorize(std::string_view header,
                                                                Role required) const;

  [[nodiscard]] std::size_t size() const { return entries_.size(); }

 private:
  std::vector<TokenEntry> entries_;
};

// The JSON error body every refusal uses: {"error": code, "message": message}.
std::string json_error_body(std::string_view code, std::string_view message);

}  // namespace opsrun::server
