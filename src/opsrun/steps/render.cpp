#include <algorithm>
#include <cctype>

#include "opsrun/model/template.h"
#include "opsrun/steps/render_internal.h"

namespace opsrun::steps::detail {

Result<std::string> render_field(std::string_view text, const Json& scope, std::string_view field) {
  auto r = model::render_template(text, scope);
  if (!r) {
    Error e = r.error();
    e.message = std::string(field) + ": " + e.message;
    return std::unexpected(std::move(e));
  }
  return r;
}

Result<std::vector<std::string>> render_list(const std::vector<std::string>& items,
                                             const Json& scope, std::string_view field) {
  std::vector<std::string> out;
  out.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    auto r = render_field(items[i], scope, std::string(field) + "[" + std::to_string(i) + "]");
    if (!r) return std::unexpected(r.error());
    out.push_back(std::move(*r));
  }
  return out;
}

Result<std::map<std::string, std::string>> render_map(
    const std::map<std::string, std::string>& items, const Json& scope, std::string_view field) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : items) {
    auto r = render_field(v, scope, std::string(field) + "." + k);
    if (!r) return std::unexpected(r.error());
    out.emplace(k, std::move(*r));
  }
  return out;
}

Result<Json> render_json(const Json& v, const Json& scope, std::string_view field) {
  if (v.is_string()) {
    const std::string_view text = v.get_string();
    // A lone "{{ ctx.n }}" keeps the value's type, so `duration: "{{ ctx.pause }}"` can be 5000.
    if (const Json* single = model::template_single_value(text, scope)) return *single;
    auto r = render_field(text, scope, field);
    if (!r) return std::unexpected(r.error());
    return Json(*r);
  }
  if (v.is_array()) {
    JsonArray out;
    std::size_t i = 0;
    for (const auto& e : v.get_array()) {
      auto r = render_json(e, scope, std::string(field) + "[" + std::to_string(i++) + "]");
      if (!r) return std::unexpected(r.error());
      out.push_back(std::move(*r));
    }
    return out;
  }
  if (v.is_object()) {
    JsonObject out;
    for (const auto& kv : v.get_object()) {
      auto r = render_json(kv.value(), scope, std::string(field) + "." + std::string(kv.key()));
      if (!r) return std::unexpected(r.error());
      out[kv.key()] = std::move(*r);
    }
    return out;
  }
  return v;
}

bool looks_secret(std::string_view name) {
  std::string n(name);
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
  if (n == "idempotency-key") return false;  // ours, and useful in an audit trail
  static constexpr std::string_view kExact[] = {"authorization", "proxy-authorization", "cookie",
                                                "set-cookie"};
  for (auto e : kExact)
    if (n == e) return true;
  static constexpr std::string_view kParts[] = {"token", "secret", "password", "passwd",
                                                "api-key", "apikey", "api_key", "credential",
                                                "private", "signature", "auth"};
  for (auto p : kParts)
    if (n.find(p) != std::string::npos) return true;
  return false;
}

std::string redact_url(std::string_view url) {
  const auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  const auto host_start = scheme + 3;
  const auto host_end = url.find_first_of("/?#", host_start);
  const auto at = url.rfind('@', host_end == std::string_view::npos ? url.size() : host_end);
  if (at == std::string_view::npos || at < host_start) return std::string(url);
  return std::string(url.substr(0, host_start)) + "***" + std::string(url.substr(at));
}

std::string trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n\v\f");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r\n\v\f");
  return std::string(s.substr(first, last - first + 1));
}

}  // namespace opsrun::steps::detail
