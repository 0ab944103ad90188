// Timers and audit rows of the SQLite store.
#include "opsrun/store/sqlite/sqlite_store.h"

namespace opsrun::store::sqlite {

namespace {

constexpr const char* kTimerColumns =
    "id, group_id, shard, due_at_ms, status, payload, attempts, created_at_ms, executed_at_ms, last_error";

TimerRow read_timer(const Stmt& s) {
  TimerRow t;
  t.id = s.text(0);
  t.group_id = s.text(1);
  t.shard = static_cast<int>(s.int64(2));
  t.due_at_ms = s.int64(3);
  t.status = s.text(4);
  t.payload = s.text(5);
  t.attempts = static_cast<int>(s.int64(6));
  t.created_at_ms = s.int64(7);
  if (!s.is_null(8)) t.executed_at_ms = s.int64(8);
  t.last_error = s.text(9);
  return t;
}

}  // namespace

Result<std::vector<std::string>> SqliteStore::put_timers(const std::vector<TimerRow>& timers) {
  std::lock_guard g(mu_);
  std::vector<std::string> inserted;
  auto done = in_transaction([&]() -> Result<void> {
    auto find = db_.prepare("SELECT group_id, due_at_ms, payload FROM timers WHERE id = ?");
    auto insert = db_.prepare(std::string("INSERT INTO timers (") + kTimerColumns +
                              ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (!find) return std::unexpected(find.error());
    if (!insert) return std::unexpected(insert.error());
    for (const auto& t : timers) {
      find->reset();
      find->bind(1, t.id);
      int rc = find->step();
      if (rc == SQLITE_ROW) {
        if (find->text(0) == t.group_id && find->int64(1) == t.due_at_ms && find->text(2) == t.payload)
          continue;  // the same timer again: idempotent
        return fail(ErrorCode::Conflict, "timer " + t.id + " exists with different content", describe());
      }
      if (rc != SQLITE_DONE) return std::unexpected(db_.error(rc, "cannot read timer " + t.id));
      insert->reset();
      insert->bind(1, t.id).bind(2, t.group_id).bind(3, static_cast<std::int64_t>(t.shard));
      insert->bind(4, t.due_at_ms).bind(5, t.status).bind(6, t.payload);
      insert->bind(7, static_cast<std::int64_t>(t.attempts)).bind(8, t.created_at_ms);
      if (t.executed_at_ms) insert->bind(9, *t.executed_at_ms);
      else insert->bind_null(9);
      insert->bind(10, t.last_error);
      rc = insert->step();
      if (rc != SQLITE_DONE) return std::unexpected(db_.error(rc, "cannot store timer " + t.id));
      inserted.push_back(t.id);
    }
    return {};
  });
  if (!done) return std::unexpected(done.error());
  return inserted;
}

Result<std::optional<TimerRow>> SqliteStore::get_timer(std::string_view id) {
  std::lock_guard g(mu_);
  auto s = db_.prepare(std::string("SELECT ") + kTimerColumns + " FROM timers WHERE id = ?");
  if (!s) return std::unexpected(s.error());
  s->bind(1, id);
  const int rc = s->step();
  if (rc == SQLITE_ROW) return std::optional<TimerRow>(read_timer(*s));
  if (rc != SQLITE_DONE) return std::unexpected(db_.error(rc, "cannot read timer"));
  return std::optional<TimerRow>();
}

Result<std::vector<TimerRow>> SqliteStore::list_timers(const TimerQuery& q) {
  std::lock_guard g(mu_);
  std::string sql = std::string("SELECT ") + kTimerColumns + " FROM timers WHERE 1 = 1";
  if (!q.group_id.empty()) sql += " AND group_id = ?1";
  if (!q.status.empty()) sql += " AND status = ?2";
  if (!q.after_id.empty()) sql += " AND id > ?3";
  sql += " ORDER BY id LIMIT ?4";
  auto s = db_.prepare(sql);
  if (!s) return std::unexpected(s.error());
  if (!q.group_id.empty()) s->bind(1, q.group_id);
  if (!q.status.empty()) s->bind(2, q.status);
  if (!q.after_id.empty()) s->bind(3, q.after_id);
  s->bind(4, static_cast<std::int64_t>(std::max(0, q.limit)));
  std::vector<TimerRow> out;
  int rc;
  while ((rc = s->step()) == SQLITE_ROW) out.push_back(read_timer(*s));
  if (rc != SQLITE_DONE) return std::unexpected(db_.error(rc, "cannot list timers"));
  return out;
}

Result<std::vector<TimerRow>> SqliteStore::due_timers(std::int64_t before_ms, int limit) {
  std::lock_guard g(mu_);
  auto s = db_.prepare(std::string("SELECT ") + kTimerColumns +
                       " FROM timers WHERE status = 'pending' AND due_at_ms < ? ORDER BY due_at_ms, id LIMIT ?");
  if (!s) return std::unexpected(s.error());
  s->bind(1, before_ms).bind(2, static_cast<std::int64_t>(std::max(0, limit)));
  std::vector<TimerRow> out;
  int rc;
  while ((rc = s->step()) == SQLITE_ROW) out.push_back(read_timer(*s));
  if (rc != SQLITE_DONE) return std::unexpected(db_.error(rc, "cannot read due timers"));
  return out;
}

Result<void> SqliteStore::update_timers(const std::vector<TimerRow>& timers) {
  if (timers.empty()) return {};
  std::lock_guard g(mu_);
  return in_transaction([&]() -> Result<void> {
    auto s = db_.prepare("UPDATE timers SET status = ?, due_at_ms = ?, attempts = ?, executed_at_ms = ?, "
                         "last_error = ?, payload = ? WHERE id = ?");
    if (!s) return std::unexpected(s.error());
    for (const auto& t : timers) {
      s->reset();
      s->bind(1, t.status).bind(2, t.due_at_ms).bind(3, static_cast<std::int64_t>(t.attempts));
      if (t.executed_at_ms) s->bind(4, *t.executed_at_ms);
      else s->bind_null(4);
      s->bind(5, t.last_error).bind(6, t.payload).bind(7, t.id);
      const int rc = s->step();
      if (rc != SQLITE_DONE) return std::unexpected(db_.error(rc, "cannot update timer " + t.id));
      if (sqlite3_changes(db_.handle()) == 0) return fail(ErrorCode::NotFound, "no timer " + t.id, describe());
    }
    return {};
  });
}

Result<void> SqliteStore::cancel_timer(std::string_view id) {
  std::lock_guard g(mu_);
  return in_transaction([&]() -> Result<void> {
    auto s = db_.prepare("SELECT status FROM timers WHERE id = ?");
    if (!s) return std::unexpected(s.error());
    s->bind(1, id);
    const int rc = s->step();
    if (rc == SQLITE_DONE) return fail(ErrorCode::NotFound, "no timer " + std::string(id), describe());
    if (rc != SQLITE_ROW) return std::unexpected(db_.error(rc, "cannot read timer"));
    const std::string status = s->text(0);
    if (status != "pending")
      return fail(ErrorCode::Conflict, "timer " + std::string(id) + " is " + status + " and cannot be cancelled", describe());
    auto u = db_.prepare("UPDATE timers SET status = 'cancelled' WHERE id = ?");
    if (!u) return std::unexpected(u.error());
    u->bind(1, id);
    if (const int urc = u->step(); urc != SQLITE_DONE) return std::unexpected(db_.error(urc, "cannot cancel timer"));
    return {};
  });
}

Result<void> SqliteStore::append_audit(const std::vector<AuditRow>& rows) {
  if (rows.empty()) return {};
  std::lock_guard g(mu_);
  return in_transaction([&]() -> Result<void> {
    auto last = db_.prepare("SELECT coalesce(max(seq), 0) FROM audit_records");
    if (!last) return std::unexpected(last.error());
    if (const int rc = last->step(); rc != SQLITE_ROW) return std::unexpected(db_.error(rc, "audit"));
    std::int64_t expected = last->int64(0) + 1;
    auto insert = db_.prepare("INSERT INTO audit_records (seq, at_ms, data, prev_hash, hash) VALUES (?, ?, ?, ?, ?)");
    if (!insert) return std::unexpected(insert.error());
    for (const auto& r : rows) {
      if (r.seq != expected)
        return fail(ErrorCode::Conflict, "audit record " + std::to_string(r.seq) + " does not follow " +
                                             std::to_string(expected - 1), describe());
      insert->reset();
      insert->bind(1, r.seq).bind(2, r.at_ms).bind(3, r.data).bind(4, r.prev_hash).bind(5, r.hash);
      if (const int rc = insert->step(); rc != SQLITE_DONE) return std::unexpected(db_.error(rc, "cannot append audit"));
      ++expected;
    }
    return {};
  });
}

Result<std::vector<AuditRow>> SqliteStore::audit_range(std::int64_t after_seq, int limit) {
  std::lock_guard g(mu_);
  auto s = db_.prepare("SELECT seq, at_ms, data, prev_hash, hash FROM audit_records WHERE seq > ? ORDER BY seq LIMIT ?");
  if (!s) return std::unexpected(s.error());
  s->bind(1, after_seq).bind(2, static_cast<std::int64_t>(std::max(0, limit)));
  std::vector<AuditRow> out;
  int rc;
  while ((rc = s->step()) == SQLITE_ROW) out.push_back({s->int64(0), s->int64(1), s->text(2), s->text(3), s->text(4)});
  if (rc != SQLITE_DONE) return std::unexpected(db_.error(rc, "cannot read audit records"));
  return out;
}

Result<std::optional<AuditRow>> SqliteStore::last_audit() {
  std::lock_guard g(mu_);
  auto s = db_.prepare("SELECT seq, at_ms, data, prev_hash, hash FROM audit_records ORDER BY seq DESC LIMIT 1");
  if (!s) return std::unexpected(s.error());
  const int rc = s->step();
  if (rc == SQLITE_ROW) return std::optional<AuditRow>(AuditRow{s->int64(0), s->int64(1), s->text(2), s->text(3), s->text(4)});
  if (rc != SQLITE_DONE) return std::unexpected(db_.error(rc, "cannot read audit records"));
  return std::optional<AuditRow>();
}

}  // namespace opsrun::store::sqlite
