#include "opsrun/common/json.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <cstdio>

namespace opsrun {

Result<Json> parse_json(std::string_view text) {
  boost::system::error_code ec;
  Json v = boost::json::parse(text, ec);
  if (ec) return fail(ErrorCode::InvalidArgument, "malformed JSON: " + ec.message());
  return v;
}

std::string to_json_text(const Json& v) { return boost::json::serialize(v); }

namespace {

void pretty(std::string& out, const Json& v, int indent) {
  const std::string pad(static_cast<std::size_t>(indent) * 2, ' ');
  const std::string inner(static_cast<std::size_t>(indent + 1) * 2, ' ');
  if (v.is_object()) {
    const auto& o = v.get_object();
    if (o.empty()) { out += "{}"; return; }
    out += "{\n";
    bool first = true;
    for (const auto& kv : o) {
      if (!first) out += ",\n";
      first = false;
      out += inner + boost::json::serialize(Json(kv.key())) + ": ";
      pretty(out, kv.value(), indent + 1);
    }
    out += "\n" + pad + "}";
  } else if (v.is_array()) {
    const auto& a = v.get_array();
    if (a.empty()) { out += "[]"; return; }
    out += "[\n";
    bool first = true;
    for (const auto& e : a) {
      if (!first) out += ",\n";
      first = false;
      out += inner;
      pretty(out, e, indent + 1);
    }
    out += "\n" + pad + "]";
  } else {
    out += boost::json::serialize(v);
  }
}

const Json* step_into(const Json* cur, std::string_view key) {
  if (cur == nullptr) return nullptr;
  if (cur->is_object()) {
    const auto& o = cur->get_object();
    auto it = o.find(key);
    return it == o.end() ? nullptr : &it->value();
  }
  if (cur->is_array()) {
    std::size_t idx = 0;
    auto [p, ec] = std::from_chars(key.data(), key.data() + key.size(), idx);
    if (ec != std::errc{} || p != key.data() + key.size()) return nullptr;
    const auto& a = cur->get_array();
    return idx < a.size() ? &a[idx] : nullptr;
  }
  return nullptr;
}

}  // namespace

std::string to_pretty_json(const Json& v) {
  std::string out;
  pretty(out, v, 0);
  return out;
}

const Json* find_path(const Json& root, std::string_view dotted) {
  const Json* cur = &root;
  while (!dotted.empty()) {
    const auto dot = dotted.find('.');
    cur = step_into(cur, dotted.substr(0, dot));
    if (dot == std::string_view::npos) break;
    dotted.remove_prefix(dot + 1);
  }
  return cur;
}

const Json* find_json_path(const Json& root, std::string_view path) {
  if (path.empty() || path[0] != '$') return nullptr;
  path.remove_prefix(1);
  const Json* cur = &root;
  while (!path.empty() && cur != nullptr) {
    if (path[0] == '.') {
      path.remove_prefix(1);
      std::size_t end = path.find_first_of(".[");
      cur = step_into(cur, path.substr(0, end));
      path = end == std::string_view::npos ? std::string_view{} : path.substr(end);
    } else if (path[0] == '[') {
      const auto close = path.find(']');
      if (close == std::string_view::npos) return nullptr;
      std::string_view key = path.substr(1, close - 1);
      if (key.size() >= 2 && (key.front() == '\'' || key.front() == '"')) key = key.substr(1, key.size() - 2);
      cur = step_into(cur, key);
      path.remove_prefix(close + 1);
    } else {
      return nullptr;
    }
  }
  return cur;
}

std::string json_to_text(const Json& v) {
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_null()) return "";
  if (v.is_double()) {
    // People read these in messages: 0.0344, not 3.44E-2.
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.15g", v.get_double());
    return buf;
  }
  return boost::json::serialize(v);
}

bool json_truthy(const Json& v) {
  if (v.is_null()) return false;
  if (v.is_bool()) return v.get_bool();
  return true;
}

}  // namespace opsrun
