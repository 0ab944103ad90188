#include "opsrun/store/postgres/pg_conn_internal.h"

#include <cstring>

namespace opsrun::store::postgres {

std::string redact_url(const std::string& url) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const auto at = url.find('@', scheme + 3);
  if (at == std::string::npos) return url;
  const auto colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon) + url.substr(at);
}

std::string pg_array(const std::vector<std::string>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

Result<void> PgConn::connect() {
  if (conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK) return {};
  PQfinish(conn_);
  // A short connect timeout: a server that is down must be reported, not waited for.
  std::string conninfo = url_;
  conninfo += (conninfo.find('?') == std::string::npos ? "?" : "&");
  conninfo += "connect_timeout=5&application_name=opsrun";
  conn_ = PQconnectdb(conninfo.c_str());
  if (PQstatus(conn_) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(conn_);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    PQfinish(conn_);
    conn_ = nullptr;
    return fail(ErrorCode::Unavailable, "cannot connect to PostgreSQL: " + msg, where_);
  }
  PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);
  return {};
}

Result<PgResult> PgConn::exec(const std::string& sql, const std::vector<const char*>& params,
                              bool in_transaction) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (auto c = connect(); !c) return std::unexpected(c.error());
    // Without parameters the simple protocol is used, which allows several statements.
    PgResult r(params.empty() ? PQexec(conn_, sql.c_str())
                              : PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()),
                                             nullptr, params.data(), nullptr, nullptr, 0));
    const auto status = PQresultStatus(r.get());
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return r;
    if (PQstatus(conn_) != CONNECTION_OK) {
      // The server went away: a statement outside a transaction is retried once on a new
      // connection; inside one, the caller's transaction is gone and must be redone.
      if (in_transaction || attempt == 1)
        return fail(ErrorCode::Unavailable, "lost the connection to PostgreSQL", where_);
      continue;
    }
    const char* state = PQresultErrorField(r.get(), PG_DIAG_SQLSTATE);
    std::string msg = PQresultErrorMessage(r.get());
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    ErrorCode code = ErrorCode::Internal;
    if (state != nullptr) {
      if (std::strcmp(state, "23505") == 0) code = ErrorCode::Conflict;
      else if (std::strncmp(state, "08", 2) == 0 || std::strncmp(state, "53", 2) == 0 ||
               std::strncmp(state, "57", 2) == 0)
        code = ErrorCode::Unavailable;
    }
    return fail(code, msg, where_);
  }
  return fail(ErrorCode::Unavailable, "lost the connection to PostgreSQL", where_);
}

}  // namespace opsrun::store::postgres
