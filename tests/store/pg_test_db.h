// A fresh PostgreSQL database per test on the throwaway cluster that `make test` starts
// (OPSRUN_TEST_PG_URL). Without it the PostgreSQL tests skip, or fail when CI is set.
#pragma once

#include <libpq-fe.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "opsrun/common/ids.h"

namespace opsrun::testing {

inline std::optional<std::string> pg_admin_url() {
  const char* url = std::getenv("OPSRUN_TEST_PG_URL");
  if (url == nullptr || *url == '\0') return std::nullopt;
  return std::string(url);
}

inline bool pg_required() { return std::getenv("CI") != nullptr; }

inline bool pg_admin_exec(const std::string& sql) {
  auto admin = pg_admin_url();
  if (!admin) return false;
  PGconn* c = PQconnectdb(admin->c_str());
  bool ok = PQstatus(c) == CONNECTION_OK;
  if (ok) {
    PGresult* r = PQexec(c, sql.c_str());
    ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
  }
  PQfinish(c);
  return ok;
}

// Creates an empty database and drops it (forcibly) when destroyed.
class PgTestDatabase {
 public:
  PgTestDatabase() {
    auto admin = pg_admin_url();
    if (!admin) return;
    name_ = "opsrun_t_" + random_hex(6);
    if (!pg_admin_exec("CREATE DATABASE " + name_)) return;
    const auto slash = admin->rfind('/');
    url_ = admin->substr(0, slash + 1) + name_;
  }
  ~PgTestDatabase() {
    if (!url_.empty()) pg_admin_exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  }
  PgTestDatabase(const PgTestDatabase&) = delete;
  PgTestDatabase& operator=(const PgTestDatabase&) = delete;

  // Empty when no cluster is configured.
  [[nodiscard]] const std::string& url() const { return url_; }

 private:
  std::string name_;
  std::string url_;
};

}  // namespace opsrun::testing
