// Small helpers the fakes share: base64, form decoding, request recording with a clock.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace opsrun::testing {

std::string base64_encode(std::string_view in);
std::string base64_decode(std::string_view in);
// application/x-www-form-urlencoded (also a query string) into a map.
std::map<std::string, std::string> parse_form(std::string_view body);
// The query string of a request target ("" when none), and its path.
std::string_view target_path(std::string_view target);
std::string_view target_query(std::string_view target);

}  // namespace opsrun::testing
