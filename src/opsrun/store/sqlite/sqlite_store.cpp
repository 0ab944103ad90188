#include "opsrun/store/sqlite/sqlite_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

namespace opsrun::store::sqlite {

namespace {

constexpr const char* kExecutionColumns =
    "execution_id, runbook_id, runbook_version, status, current_step, started_at_ms, "
    "updated_at_ms, finished_at_ms, reason";

ExecutionRow read_row(const Stmt& s) {
  ExecutionRow r;
  r.execution_id = s.text(0);
  r.runbook_id = s.text(1);
  r.runbook_version = s.text(2);
  r.status = s.text(3);
  r.current_step = s.text(4);
  r.started_at_ms = s.int64(5);
  r.updated_at_ms = s.int64(6);
  if (!s.is_null(7)) r.finished_at_ms = s.int64(7);
  r.reason = s.text(8);
  return r;
}

}  // namespace

std::string lock_path(const std::string& data_dir) {
  return (std::filesystem::path(data_dir) / "opsrun.lock").string();
}

SqliteStore::SqliteStore(Db db, int lock_fd) : db_(std::move(db)), lock_fd_(lock_fd) {}

SqliteStore::~SqliteStore() {
  if (lock_fd_ >= 0) close(lock_fd_);  // releases the shared claim
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const OpenOptions& options) {
  namespace fs = std::filesystem;
  const std::string where = "sqlite:" + (fs::path(options.data_dir) / "opsrun.db").string();
  std::error_code ec;
  if (!fs::is_directory(options.data_dir, ec)) {
    if (!options.create)
      return fail(ErrorCode::NotFound, "data directory " + options.data_dir + " does not exist", where);
    fs::create_directories(options.data_dir, ec);
    if (ec)
      return fail(ErrorCode::Unavailable,
                  "cannot create data directory " + options.data_dir + ": " + ec.message(), where);
  }
  // A shared claim for as long as this store is open: restore_from() needs it exclusively.
  const int fd = ::open(lock_path(options.data_dir).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return fail(ErrorCode::Unavailable, "cannot open the lock file: " + std::string(strerror(errno)), where);
  if (flock(fd, LOCK_SH | LOCK_NB) != 0) {
    close(fd);
    return fail(ErrorCode::Unavailable, "the store is being restored by another process", where);
  }
  const std::string path = (fs::path(options.data_dir) / "opsrun.db").string();
  auto db = open_checked(path, options.create, /*migrate=*/true);
  if (!db) {
    close(fd);
    return std::unexpected(db.error());
  }
  for (const char* pragma : {"PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL",
                             "PRAGMA foreign_keys = OFF", "PRAGMA temp_store = MEMORY"}) {
    if (auto r = db->exec(pragma); !r) {
      close(fd);
      return std::unexpected(r.error());
    }
  }
  std::unique_ptr<SqliteStore> store(new SqliteStore(std::move(*db), fd));
  if (auto r = store->prepare_statements(); !r) return std::unexpected(r.error());
  return store;
}

Result<void> SqliteStore::prepare_statements() {
  auto a = db_.prepare("INSERT INTO execution_events (execution_id, seq, type, at_ms, data) VALUES (?, ?, ?, ?, ?)");
  if (!a) return std::unexpected(a.error());
  insert_event_ = std::move(*a);
  auto b = db_.prepare(
      "INSERT INTO executions (execution_id, runbook_id, runbook_version, status, current_step, "
      "started_at_ms, updated_at_ms, finished_at_ms, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
      "ON CONFLICT (execution_id) DO UPDATE SET status = excluded.status, "
      "current_step = excluded.current_step, updated_at_ms = excluded.updated_at_ms, "
      "finished_at_ms = excluded.finished_at_ms, reason = excluded.reason");
  if (!b) return std::unexpected(b.error());
  upsert_execution_ = std::move(*b);
  auto c = db_.prepare("SELECT seq, type, at_ms, data FROM execution_events WHERE execution_id = ? AND seq > ? ORDER BY seq");
  if (!c) return std::unexpected(c.error());
  select_events_ = std::move(*c);
  auto d = db_.prepare(std::string("SELECT ") + kExecutionColumns + " FROM executions WHERE execution_id = ?");
  if (!d) return std::unexpected(d.error());
  select_execution_ = std::move(*d);
  return {};
}

Result<void> SqliteStore::in_transaction(const std::function<Result<void>()>& body) {
  if (auto r = db_.exec("BEGIN IMMEDIATE"); !r) return r;
  auto r = body();
  if (!r) {
    (void)db_.exec("ROLLBACK");
    return r;
  }
  if (auto c = db_.exec("COMMIT"); !c) {
    (void)db_.exec("ROLLBACK");
    return c;
  }
  return {};
}

Result<void> SqliteStore::commit(const Batch& batch) {
  if (batch.empty()) return {};
  std::lock_guard g(mu_);
  return in_transaction([&]() -> Result<void> {
    for (const auto& e : batch.events) {
      insert_event_.reset();
      insert_event_.bind(1, e.execution_id).bind(2, e.seq).bind(3, e.type).bind(4, e.at_ms).bind(5, e.data);
      const int rc = insert_event_.step();
      if (rc != SQLITE_DONE) {
        auto err = db_.error(rc, "cannot append event " + std::to_string(e.seq) + " of " + e.execution_id);
        insert_event_.reset();
        return std::unexpected(err);
      }
    }
    insert_event_.reset();
    for (const auto& x : batch.executions) {
      auto& s = upsert_execution_;
      s.reset();
      s.bind(1, x.execution_id).bind(2, x.runbook_id).bind(3, x.runbook_version).bind(4, x.status);
      s.bind(5, x.current_step).bind(6, x.started_at_ms).bind(7, x.updated_at_ms);
      if (x.finished_at_ms) s.bind(8, *x.finished_at_ms);
      else s.bind_null(8);
      s.bind(9, x.reason);
      const int rc = s.step();
      if (rc != SQLITE_DONE) {
        auto err = db_.error(rc, "cannot update execution " + x.execution_id);
        s.reset();
        return std::unexpected(err);
      }
    }
    upsert_execution_.reset();
    return {};
  });
}

Result<std::vector<EventRecord>> SqliteStore::events(std::string_view execution_id, std::int64_t after_seq) {
  std::lock_guard g(mu_);
  auto& s = select_events_;
  s.reset();
  s.bind(1, execution_id).bind(2, after_seq);
  std::vector<EventRecord> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW)
    out.push_back({std::string(execution_id), s.int64(0), s.text(1), s.int64(2), s.text(3)});
  s.reset();
  if (rc != SQLITE_DONE) return std::unexpected(db_.error(rc, "cannot read events"));
  return out;
}

Result<std::optional<ExecutionRow>> SqliteStore::execution(std::string_view execution_id) {
  std::lock_guard g(mu_);
  auto& s = select_execution_;
  s.reset();
  s.bind(1, execution_id);
  const int rc = s.step();
  std::optional<ExecutionRow> row;
  if (rc == SQLITE_ROW) row = read_row(s);
  s.reset();
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return std::unexpected(db_.error(rc, "cannot read execution"));
  return row;
}

Result<std::vector<ExecutionRow>> SqliteStore::list_executions(const ExecutionQuery& q) {
  std::lock_guard g(mu_);
  std::string sql = std::string("SELECT ") + kExecutionColumns + " FROM executions WHERE 1 = 1";
  if (!q.status.empty()) sql += " AND status = ?1";
  if (!q.runbook_id.empty()) sql += " AND runbook_id = ?2";
  if (q.unfinished_only) sql += " AND status IN ('pending', 'running', 'waiting')";
  if (!q.before_id.empty())
    sql += " AND (started_at_ms, execution_id) < (SELECT started_at_ms, execution_id FROM executions WHERE execution_id = ?3)";
  sql += " ORDER BY started_at_ms DESC, execution_id DESC LIMIT ?4";
  auto s = db_.prepare(sql);
  if (!s) return std::unexpected(s.error());
  if (!q.status.empty()) s->bind(1, q.status);
  if (!q.runbook_id.empty()) s->bind(2, q.runbook_id);
  if (!q.before_id.empty()) s->bind(3, q.before_id);
  s->bind(4, static_cast<std::int64_t>(std::max(0, q.limit)));
  std::vector<ExecutionRow> out;
  int rc;
  while ((rc = s->step()) == SQLITE_ROW) out.push_back(read_row(*s));
  if (rc != SQLITE_DONE) return std::unexpected(db_.error(rc, "cannot list executions"));
  return out;
}

Result<std::optional<std::string>> SqliteStore::get_setting(std::string_view key) {
  std::lock_guard g(mu_);
  auto s = db_.prepare("SELECT value FROM settings WHERE key = ?");
  if (!s) return std::unexpected(s.error());
  s->bind(1, key);
  const int rc = s->step();
  if (rc == SQLITE_ROW) return std::optional<std::string>(s->text(0));
  if (rc != SQLITE_DONE) return std::unexpected(db_.error(rc, "cannot read setting"));
  return std::optional<std::string>();
}

Result<void> SqliteStore::put_setting(std::string_view key, std::string_view value) {
  std::lock_guard g(mu_);
  auto s = db_.prepare("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value");
  if (!s) return std::unexpected(s.error());
  s->bind(1, key).bind(2, value);
  const int rc = s->step();
  if (rc != SQLITE_DONE) return std::unexpected(db_.error(rc, "cannot write setting"));
  return {};
}

Result<CleanupStats> SqliteStore::cleanup(SystemTime cutoff, int batch_size,
                                          const std::function<void(const CleanupStats&)>& progress) {
  CleanupStats stats;
  const std::int64_t cutoff_ms = to_unix_ms(cutoff);
  batch_size = std::max(1, batch_size);
  while (true) {
    std::int64_t deleted = 0;
    {
      // One short transaction per batch: readers and the engine are never held up long.
      std::lock_guard g(mu_);
      auto r = in_transaction([&]() -> Result<void> {
        if (auto e = db_.exec("CREATE TEMP TABLE IF NOT EXISTS cleanup_ids (id TEXT PRIMARY KEY); DELETE FROM cleanup_ids;"); !e)
          return e;
        auto fill = db_.prepare(
            "INSERT INTO cleanup_ids SELECT execution_id FROM executions "
            "WHERE finished_at_ms IS NOT NULL AND finished_at_ms < ? LIMIT ?");
        if (!fill) return std::unexpected(fill.error());
        fill->bind(1, cutoff_ms).bind(2, static_cast<std::int64_t>(batch_size));
        if (const int rc = fill->step(); rc != SQLITE_DONE) return std::unexpected(db_.error(rc, "cleanup"));
        deleted = sqlite3_changes64(db_.handle());
        if (deleted == 0) return {};
        if (auto e = db_.exec("DELETE FROM execution_events WHERE execution_id IN (SELECT id FROM cleanup_ids)"); !e) return e;
        stats.events_deleted += sqlite3_changes64(db_.handle());
        if (auto e = db_.exec("DELETE FROM executions WHERE execution_id IN (SELECT id FROM cleanup_ids)"); !e) return e;
        stats.executions_deleted += sqlite3_changes64(db_.handle());
        return {};
      });
      if (!r) return std::unexpected(r.error());
    }
    if (deleted == 0) break;
    ++stats.batches;
    if (progress) progress(stats);
  }
  while (true) {
    std::int64_t deleted = 0;
    {
      std::lock_guard g(mu_);
      auto del = db_.prepare(
          "DELETE FROM timers WHERE id IN (SELECT id FROM timers WHERE status != 'pending' "
          "AND coalesce(executed_at_ms, created_at_ms) < ? LIMIT ?)");
      if (!del) return std::unexpected(del.error());
      del->bind(1, cutoff_ms).bind(2, static_cast<std::int64_t>(batch_size));
      if (const int rc = del->step(); rc != SQLITE_DONE) return std::unexpected(db_.error(rc, "cleanup timers"));
      deleted = sqlite3_changes64(db_.handle());
    }
    if (deleted == 0) break;
    stats.timers_deleted += deleted;
    ++stats.batches;
    if (progress) progress(stats);
  }
  return stats;
}

Result<void> SqliteStore::analyze() {
  std::lock_guard g(mu_);
  return db_.exec("ANALYZE");
}

Result<void> SqliteStore::check_integrity() {
  std::lock_guard g(mu_);
  auto s = db_.prepare("PRAGMA integrity_check");
  if (!s) return std::unexpected(s.error());
  int rc = s->step();
  if (rc != SQLITE_ROW) return std::unexpected(db_.error(rc, "integrity check"));
  if (s->text(0) != "ok") return fail(ErrorCode::Internal, "integrity check: " + s->text(0), describe());
  struct Check {
    const char* sql;
    const char* problem;
  };
  for (const Check& c : {
           Check{"SELECT execution_id FROM execution_events GROUP BY execution_id "
                 "HAVING min(seq) != 1 OR max(seq) != count(*) LIMIT 1",
                 "has a gap in its event sequence"},
           Check{"SELECT e.execution_id FROM execution_events e LEFT JOIN executions x "
                 "ON x.execution_id = e.execution_id WHERE x.execution_id IS NULL LIMIT 1",
                 "has events but no execution row"},
       }) {
    auto q = db_.prepare(c.sql);
    if (!q) return std::unexpected(q.error());
    rc = q->step();
    if (rc == SQLITE_ROW)
      return fail(ErrorCode::Internal, "execution " + q->text(0) + " " + c.problem, describe());
    if (rc != SQLITE_DONE) return std::unexpected(db_.error(rc, "integrity check"));
  }
  return {};
}

Result<Millis> SqliteStore::ping() {
  const auto t0 = std::chrono::steady_clock::now();
  std::lock_guard g(mu_);
  auto s = db_.prepare("SELECT 1");
  if (!s) return std::unexpected(s.error());
  if (const int rc = s->step(); rc != SQLITE_ROW) return std::unexpected(db_.error(rc, "ping"));
  return std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - t0);
}

}  // namespace opsrun::store::sqlite
