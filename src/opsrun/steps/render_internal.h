// Rendering step specs against the attempt's scope, and the redaction rules shared by
// describe() and error messages. Private to the steps module.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "opsrun/common/error.h"
#include "opsrun/common/json.h"

namespace opsrun::steps::detail {

// render_template with the failing field named in the error: "argv[2]: unclosed '{{'".
[[nodiscard]] Result<std::string> render_field(std::string_view text, const Json& scope,
                                               std::string_view field);
[[nodiscard]] Result<std::vector<std::string>> render_list(const std::vector<std::string>& items,
                                                           const Json& scope,
                                                           std::string_view field);
[[nodiscard]] Result<std::map<std::string, std::string>> render_map(
    const std::map<std::string, std::string>& items, const Json& scope, std::string_view field);
// Renders every string inside a JSON value (a built-in's `with`).
[[nodiscard]] Result<Json> render_json(const Json& v, const Json& scope, std::string_view field);

// Header or variable names whose values are credentials: Authorization, Cookie, *token*,
// *secret*, *password*, api keys.
bool looks_secret(std::string_view name);
// "https://user:pass@host/x" -> "https://***@host/x".
std::string redact_url(std::string_view url);

// Whitespace trimmed from both ends (exec's value is trimmed stdout).
std::string trim(std::string_view s);

}  // namespace opsrun::steps::detail
