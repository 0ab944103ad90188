#include "opsrun/store/sqlite/sqlite_db_internal.h"

namespace opsrun::store::sqlite {

Error sqlite_error(sqlite3* db, int rc, std::string_view what, std::string_view where) {
  const int primary = rc & 0xff;
  ErrorCode code = ErrorCode::Internal;
  std::string detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  switch (primary) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      code = ErrorCode::Unavailable;
      detail = "the database is locked by another process (" + detail + ")";
      break;
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      code = ErrorCode::InvalidArgument;
      detail = "not an opsrun database, or corrupt (" + detail + ")";
      break;
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_READONLY:
    case SQLITE_PERM:
      code = ErrorCode::Unavailable;
      break;
    case SQLITE_CONSTRAINT:
      code = ErrorCode::Conflict;
      break;
    default:
      break;
  }
  return Error{code, std::string(what) + ": " + detail, std::string(where)};
}

Result<Db> Db::open(const std::string& path, bool create) {
  Db db;
  db.path_ = path;
  const int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &db.db_, flags, nullptr);
  if (rc != SQLITE_OK) return std::unexpected(db.error(rc, "cannot open"));
  sqlite3_extended_result_codes(db.db_, 1);
  return db;
}

Result<void> Db::exec(std::string_view sql) {
  char* msg = nullptr;
  const int rc = sqlite3_exec(db_, std::string(sql).c_str(), nullptr, nullptr, &msg);
  sqlite3_free(msg);
  if (rc != SQLITE_OK) return std::unexpected(error(rc, "statement failed"));
  return {};
}

Result<Stmt> Db::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return std::unexpected(error(rc, "prepare failed"));
  return Stmt(db_, stmt);
}

}  // namespace opsrun::store::sqlite
