#include "opsrun/server/router.h"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <algorithm>
#include <cctype>

namespace opsrun::server {
namespace {

std::vector<std::string> split_path(std::string_view p) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < p.size()) {
    if (p[i] == '/') {
      ++i;
      continue;
    }
    auto j = p.find('/', i);
    if (j == std::string_view::npos) j = p.size();
    out.emplace_back(p.substr(i, j - i));
    i = j;
  }
  return out;
}

bool matches(const std::vector<std::string>& pattern, const std::vector<std::string>& path,
             std::map<std::string, std::string>* params) {
  if (pattern.size() != path.size()) return false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const auto& s = pattern[i];
    if (s.size() > 2 && s.front() == '{' && s.back() == '}') {
      if (params) (*params)[s.substr(1, s.size() - 2)] = path[i];
    } else if (s != path[i]) {
      return false;
    }
  }
  return true;
}

}  // namespace

void Router::add(std::string method, std::string pattern, Access access, Handler handler) {
  auto segs = split_path(pattern);
  routes_.push_back(
      Route{std::move(method), std::move(pattern), std::move(segs), access, std::move(handler)});
}

bool Router::has(std::string_view method, std::string_view pattern) const {
  return std::any_of(routes_.begin(), routes_.end(), [&](const Route& r) {
    return r.method == method && r.segments == split_path(pattern);
  });
}

Router::Match Router::match(std::string_view method, std::string_view path) const {
  Match m;
  auto segs = split_path(path);
  for (const auto& r : routes_) {
    std::map<std::string, std::string> params;
    if (!matches(r.segments, segs, &params)) continue;
    if (r.method == method || (method == "HEAD" && r.method == "GET")) {
      m.route = &r;
      m.params = std::move(params);
      return m;
    }
    m.path_known = true;
    if (m.allow.find(r.method) == std::string::npos) {
      m.allow += (m.allow.empty() ? "" : ", ") + r.method;
    }
  }
  return m;
}

Result<std::pair<std::string, std::map<std::string, std::string>>> parse_target(
    std::string_view target) {
  auto u = boost::urls::parse_origin_form(target);
  if (!u) return fail(ErrorCode::InvalidArgument, "malformed request target");
  std::map<std::string, std::string> q;
  for (auto p : u->params()) q[std::string(p.key)] = p.has_value ? std::string(p.value) : "";
  return std::pair{std::string(u->path()), std::move(q)};
}

}  // namespace opsrun::server
