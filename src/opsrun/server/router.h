// Method + path pattern routing ("/api/executions/{id}/approve"), with a role per route.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "opsrun/server/http.h"

namespace opsrun::server {

// Who may call a route: anyone, or a token with at least this role.
struct Access {
  bool open = false;
  Role role = Role::Viewer;
  static Access anyone() { return {true, Role::Viewer}; }
  static Access at_least(Role r) { return {false, r}; }
};

class Router {
 public:
  // Patterns are literal segments and {name} segments; a trailing "/" is ignored.
  void add(std::string method, std::string pattern, Access access, Handler handler);
  void get(std::string pattern, Access a, Handler h) {
    add("GET", std::move(pattern), a, std::move(h));
  }
  void post(std::string pattern, Access a, Handler h) {
    add("POST", std::move(pattern), a, std::move(h));
  }
  void del(std::string pattern, Access a, Handler h) {
    add("DELETE", std::move(pattern), a, std::move(h));
  }

  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    Access access;
    Handler handler;
  };
  struct Match {
    const Route* route = nullptr;  // null: no route
    bool path_known = false;       // the path matched under another method (405)
    std::string allow;             // methods for the Allow header when 405
    std::map<std::string, std::string> params;
  };
  [[nodiscard]] Match match(std::string_view method, std::string_view path) const;
  [[nodiscard]] bool has(std::string_view method, std::string_view pattern) const;

 private:
  std::vector<Route> routes_;
};

// Splits a target into the decoded path and query map (Boost.URL); an error when malformed.
[[nodiscard]] Result<std::pair<std::string, std::map<std::string, std::string>>> parse_target(
    std::string_view target);

}  // namespace opsrun::server
