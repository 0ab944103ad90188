#include "opsrun/model/template.h"

#include <array>
#include <charconv>

namespace opsrun::model {

namespace {

constexpr std::array<std::string_view, 6> kRoots{"ctx",   "results",   "item",
                                                 "index", "execution", "env"};

// One "{{ ... }}" found in a text: where it is and the path inside, trimmed.
struct Placeholder {
  std::size_t begin = 0;  // offset of "{{"
  std::size_t end = 0;    // offset just past "}}"
  std::string_view path;
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_segment_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

// Paths are dot-separated segments; hyphens belong to segments because step ids use them.
Result<void> check_path(std::string_view path) {
  if (path.empty()) return fail(ErrorCode::InvalidArgument, "empty template '{{ }}'");
  std::string_view rest = path;
  bool first = true;
  while (true) {
    const auto dot = rest.find('.');
    const std::string_view seg = rest.substr(0, dot);
    if (seg.empty())
      return fail(ErrorCode::InvalidArgument,
                  "empty segment in template path '" + std::string(path) + "'");
    for (char c : seg)
      if (!is_segment_char(c))
        return fail(ErrorCode::InvalidArgument, "bad character '" + std::string(1, c) +
                                                    "' in template path '" + std::string(path) +
                                                    "'");
    if (first) {
      bool known = false;
      for (auto r : kRoots) known = known || r == seg;
      if (!known)
        return fail(ErrorCode::InvalidArgument,
                    "unknown template root '" + std::string(seg) +
                        "' (use ctx, results, item, index, execution or env)");
      first = false;
    }
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  return {};
}

// Splits `text` into placeholders; calls `on_literal` / `on_placeholder` in order.
template <class Lit, class Ph>
Result<void> scan(std::string_view text, Lit&& on_literal, Ph&& on_placeholder) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto open = text.find("{{", pos);
    if (open == std::string_view::npos) break;
    const auto close = text.find("}}", open + 2);
    if (close == std::string_view::npos)
      return fail(ErrorCode::InvalidArgument,
                  "unclosed template starting at '" + std::string(text.substr(open, 20)) + "'");
    Placeholder p{open, close + 2, trim(text.substr(open + 2, close - open - 2))};
    if (auto ok = check_path(p.path); !ok) return ok;
    on_literal(text.substr(pos, open - pos));
    on_placeholder(p);
    pos = p.end;
  }
  on_literal(text.substr(std::min(pos, text.size())));
  return {};
}

const Json* step_into(const Json* cur, std::string_view seg) {
  if (cur == nullptr) return nullptr;
  if (cur->is_object()) {
    const auto& o = cur->get_object();
    auto it = o.find(seg);
    return it == o.end() ? nullptr : &it->value();
  }
  if (cur->is_array()) {
    std::size_t i = 0;
    auto [p, ec] = std::from_chars(seg.data(), seg.data() + seg.size(), i);
    if (ec != std::errc{} || p != seg.data() + seg.size()) return nullptr;
    const auto& a = cur->get_array();
    return i < a.size() ? &a[i] : nullptr;
  }
  return nullptr;
}

const Json* resolve(std::string_view path, const Json& scope) {
  const Json* cur = &scope;
  while (cur != nullptr) {
    const auto dot = path.find('.');
    cur = step_into(cur, path.substr(0, dot));
    if (dot == std::string_view::npos) break;
    path.remove_prefix(dot + 1);
  }
  return cur;
}

}  // namespace

Result<std::string> render_template(std::string_view text, const Json& scope) {
  std::string out;
  out.reserve(text.size());
  auto ok = scan(
      text, [&](std::string_view lit) { out.append(lit); },
      [&](const Placeholder& p) {
        // Inserted as text into this one string: never re-scanned, split or quoted.
        if (const Json* v = resolve(p.path, scope)) out += json_to_text(*v);
      });
  if (!ok) return std::unexpected(ok.error());
  return out;
}

Result<void> check_template(std::string_view text) {
  return scan(
      text, [](std::string_view) {}, [](const Placeholder&) {});
}

const Json* template_single_value(std::string_view text, const Json& scope) {
  if (!text.starts_with("{{") || !text.ends_with("}}")) return nullptr;
  const auto close = text.find("}}", 2);
  if (close + 2 != text.size()) return nullptr;
  const std::string_view path = trim(text.substr(2, close - 2));
  if (!check_path(path)) return nullptr;
  return resolve(path, scope);
}

}  // namespace opsrun::model
