// A thin RAII layer over libpq for the store: one connection, parameterised queries,
// results, and the translation of failures into opsrun errors. Internal to store/postgres.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "opsrun/common/error.h"

namespace opsrun::store::postgres {

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

// "postgres://user:secret@host:5432/db" -> "postgres://user@host:5432/db".
std::string redact_url(const std::string& url);
// {"a","b\"c"} in PostgreSQL's array literal syntax; `null_marker` elements become NULL.
std::string pg_array(const std::vector<std::string>& items);

inline std::int64_t as_int(PGresult* r, int row, int col) { return std::stoll(PQgetvalue(r, row, col)); }
inline std::string as_text(PGresult* r, int row, int col) {
  return std::string(PQgetvalue(r, row, col), static_cast<std::size_t>(PQgetlength(r, row, col)));
}

class PgConn {
 public:
  explicit PgConn(std::string url) : url_(std::move(url)), where_(redact_url(url_)) {}
  ~PgConn() { PQfinish(conn_); }
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;

  // Connects (or reconnects after a lost connection).
  [[nodiscard]] Result<void> connect();
  // Runs one statement; params are text (nullptr = NULL). Reconnects once if the
  // connection was lost before the statement (never inside a transaction).
  [[nodiscard]] Result<PgResult> exec(const std::string& sql,
                                      const std::vector<const char*>& params = {},
                                      bool in_transaction = false);
  [[nodiscard]] const std::string& where() const { return where_; }
  [[nodiscard]] const std::string& url() const { return url_; }

 private:
  std::string url_;
  std::string where_;
  PGconn* conn_ = nullptr;
};

}  // namespace opsrun::store::postgres
