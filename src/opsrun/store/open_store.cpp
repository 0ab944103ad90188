#include "opsrun/store/postgres/postgres_store.h"
#include "opsrun/store/sqlite/sqlite_store.h"
#include "opsrun/store/store.h"

namespace opsrun::store {

namespace sqlite {
Result<void> restore_sqlite(const std::string& file, const OpenOptions& options);
}

namespace {

bool is_postgres(const std::string& url) {
  return url.starts_with("postgres://") || url.starts_with("postgresql://");
}

}  // namespace

Result<std::unique_ptr<Store>> open_store(const OpenOptions& options) {
  if (!options.url.empty()) {
    if (!is_postgres(options.url))
      return fail(ErrorCode::InvalidArgument, "unsupported store URL (use postgres://user@host:port/db)", "--store");
    auto pg = postgres::PostgresStore::open(options);
    if (!pg) return std::unexpected(pg.error());
    return std::unique_ptr<Store>(std::move(*pg));
  }
  auto s = sqlite::SqliteStore::open(options);
  if (!s) return std::unexpected(s.error());
  return std::unique_ptr<Store>(std::move(*s));
}

Result<void> restore_from(const std::string& file, const OpenOptions& options) {
  if (!options.url.empty()) {
    if (!is_postgres(options.url))
      return fail(ErrorCode::InvalidArgument, "unsupported store URL (use postgres://user@host:port/db)", "--store");
    return postgres::restore_postgres(file, options);
  }
  return sqlite::restore_sqlite(file, options);
}

}  // namespace opsrun::store
