// Versioned schema of the SQLite store. Migrations only ever append: migration N turns
// schema N-1 into N, inside the transaction that records the new version.
#include <array>

#include "opsrun/store/sqlite/sqlite_store.h"

namespace opsrun::store::sqlite {

namespace {

constexpr std::array<const char*, kSchemaVersion> kMigrations = {
    // 1: executions, their event history, settings.
    R"sql(
CREATE TABLE executions (
  execution_id    TEXT PRIMARY KEY,
  runbook_id      TEXT NOT NULL,
  runbook_version TEXT NOT NULL,
  status          TEXT NOT NULL,
  current_step    TEXT NOT NULL DEFAULT '',
  started_at_ms   INTEGER NOT NULL,
  updated_at_ms   INTEGER NOT NULL,
  finished_at_ms  INTEGER,
  reason          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX executions_by_status ON executions (status, started_at_ms);
CREATE INDEX executions_by_runbook ON executions (runbook_id, started_at_ms);
CREATE INDEX executions_by_finish ON executions (finished_at_ms) WHERE finished_at_ms IS NOT NULL;
CREATE TABLE execution_events (
  execution_id TEXT NOT NULL,
  seq          INTEGER NOT NULL,
  type         TEXT NOT NULL,
  at_ms        INTEGER NOT NULL,
  data         TEXT NOT NULL,
  PRIMARY KEY (execution_id, seq)
) WITHOUT ROWID;
CREATE TABLE settings (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
)sql",
    // 2: durable timers and the audit log.
    R"sql(
CREATE TABLE timers (
  id             TEXT PRIMARY KEY,
  group_id       TEXT NOT NULL,
  shard          INTEGER NOT NULL,
  due_at_ms      INTEGER NOT NULL,
  status         TEXT NOT NULL,
  payload        TEXT NOT NULL,
  attempts       INTEGER NOT NULL DEFAULT 0,
  created_at_ms  INTEGER NOT NULL,
  executed_at_ms INTEGER,
  last_error     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX timers_due ON timers (status, due_at_ms);
CREATE INDEX timers_by_group ON timers (group_id, id);
CREATE TABLE audit_records (
  seq       INTEGER PRIMARY KEY,
  at_ms     INTEGER NOT NULL,
  data      TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash      TEXT NOT NULL
);
)sql",
};

Result<int> current_version(Db& db) {
  auto stmt = db.prepare(
      "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'opsrun_schema'");
  if (!stmt) return std::unexpected(stmt.error());
  int rc = stmt->step();
  if (rc != SQLITE_ROW) return std::unexpected(db.error(rc, "cannot read the schema"));
  if (stmt->int64(0) == 0) {
    // No version table: an empty file is new; anything else is somebody else's database.
    auto any = db.prepare("SELECT count(*) FROM sqlite_master");
    if (!any) return std::unexpected(any.error());
    rc = any->step();
    if (rc != SQLITE_ROW) return std::unexpected(db.error(rc, "cannot read the schema"));
    if (any->int64(0) != 0)
      return fail(ErrorCode::InvalidArgument,
                  "not an opsrun database (it has tables but no opsrun schema)", "sqlite:" + db.path());
    return 0;
  }
  auto v = db.prepare("SELECT version FROM opsrun_schema");
  if (!v) return std::unexpected(v.error());
  rc = v->step();
  if (rc != SQLITE_ROW) return std::unexpected(db.error(rc, "cannot read the schema version"));
  return static_cast<int>(v->int64(0));
}

}  // namespace

Result<Db> open_checked(const std::string& path, bool create, bool migrate) {
  auto db = Db::open(path, create);
  if (!db) return std::unexpected(db.error());
  if (auto r = db->exec("PRAGMA busy_timeout = 5000"); !r) return std::unexpected(r.error());
  auto version = current_version(*db);
  if (!version) return std::unexpected(version.error());
  if (*version > kSchemaVersion)
    return fail(ErrorCode::InvalidArgument,
                "was written by a newer opsrun (schema " + std::to_string(*version) +
                    ", this binary knows " + std::to_string(kSchemaVersion) + ")",
                "sqlite:" + path);
  if (*version == kSchemaVersion || !migrate) {
    if (*version != kSchemaVersion)
      return fail(ErrorCode::InvalidArgument, "schema " + std::to_string(*version) + " is older than this binary's",
                  "sqlite:" + path);
    return std::move(*db);
  }
  if (auto r = db->exec("BEGIN IMMEDIATE"); !r) return std::unexpected(r.error());
  std::string sql;
  if (*version == 0) sql += "CREATE TABLE opsrun_schema (version INTEGER NOT NULL); INSERT INTO opsrun_schema VALUES (0);";
  for (int v = *version; v < kSchemaVersion; ++v) sql += kMigrations[static_cast<std::size_t>(v)];
  sql += "UPDATE opsrun_schema SET version = " + std::to_string(kSchemaVersion) + ";";
  if (auto r = db->exec(sql); !r) {
    (void)db->exec("ROLLBACK");
    return std::unexpected(r.error());
  }
  if (auto r = db->exec("COMMIT"); !r) return std::unexpected(r.error());
  return std::move(*db);
}

}  // namespace opsrun::store::sqlite
