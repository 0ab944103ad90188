// JSON values are Boost.JSON values; this header adds the few helpers every module needs.
#pragma once

#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "opsrun/common/error.h"

namespace opsrun {

using Json = boost::json::value;
using JsonObject = boost::json::object;
using JsonArray = boost::json::array;

[[nodiscard]] Result<Json> parse_json(std::string_view text);
std::string to_json_text(const Json& v);
// Indented, for people.
std::string to_pretty_json(const Json& v);

// Follows a dotted path ("a.b.0.c"; numbers index arrays). nullptr when absent.
const Json* find_path(const Json& root, std::string_view dotted);
// Follows a JSONPath of the simple form "$.a.b[0].c". nullptr when absent.
const Json* find_json_path(const Json& root, std::string_view path);

// Text of a scalar as a template would insert it: strings bare, others as JSON.
std::string json_to_text(const Json& v);
// Truthiness as Lua and the seed's checks see it: null/false are false, everything else true.
bool json_truthy(const Json& v);

}  // namespace opsrun
