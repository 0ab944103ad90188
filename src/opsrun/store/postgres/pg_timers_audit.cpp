// Timers and audit rows of the PostgreSQL store.
#include <unordered_set>

#include "opsrun/store/postgres/postgres_store.h"

namespace opsrun::store::postgres {

namespace {

constexpr const char* kTimerColumns =
    "id, group_id, shard, due_at_ms, status, payload, attempts, created_at_ms, executed_at_ms, last_error";

TimerRow read_timer(PGresult* r, int i) {
  TimerRow t;
  t.id = as_text(r, i, 0);
  t.group_id = as_text(r, i, 1);
  t.shard = static_cast<int>(as_int(r, i, 2));
  t.due_at_ms = as_int(r, i, 3);
  t.status = as_text(r, i, 4);
  t.payload = as_text(r, i, 5);
  t.attempts = static_cast<int>(as_int(r, i, 6));
  t.created_at_ms = as_int(r, i, 7);
  if (!PQgetisnull(r, i, 8)) t.executed_at_ms = as_int(r, i, 8);
  t.last_error = as_text(r, i, 9);
  return t;
}

std::vector<TimerRow> read_timers(PGresult* r) {
  std::vector<TimerRow> out;
  for (int i = 0; i < PQntuples(r); ++i) out.push_back(read_timer(r, i));
  return out;
}

AuditRow read_audit(PGresult* r, int i) {
  return {as_int(r, i, 0), as_int(r, i, 1), as_text(r, i, 2), as_text(r, i, 3), as_text(r, i, 4)};
}

}  // namespace

Result<std::vector<std::string>> PostgresStore::put_timers(const std::vector<TimerRow>& timers) {
  std::vector<std::string> inserted;
  if (timers.empty()) return inserted;
  std::vector<std::string> id, grp, shard, due, status, payload, attempts, created;
  for (const auto& t : timers) {
    id.push_back(t.id);
    grp.push_back(t.group_id);
    shard.push_back(std::to_string(t.shard));
    due.push_back(std::to_string(t.due_at_ms));
    status.push_back(t.status);
    payload.push_back(t.payload);
    attempts.push_back(std::to_string(t.attempts));
    created.push_back(std::to_string(t.created_at_ms));
  }
  const std::string a[] = {pg_array(id), pg_array(grp), pg_array(shard), pg_array(due),
                           pg_array(status), pg_array(payload), pg_array(attempts), pg_array(created)};
  std::lock_guard g(mu_);
  auto done = in_transaction([&]() -> Result<void> {
    // Insert what is new, then compare what already existed: same content is a no-op.
    auto ins = conn_.exec(
        "INSERT INTO timers (id, group_id, shard, due_at_ms, status, payload, attempts, created_at_ms) "
        "SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::bigint[], $5::text[], $6::text[], "
        "$7::int[], $8::bigint[]) ON CONFLICT (id) DO NOTHING RETURNING id",
        {a[0].c_str(), a[1].c_str(), a[2].c_str(), a[3].c_str(), a[4].c_str(), a[5].c_str(), a[6].c_str(), a[7].c_str()},
        true);
    if (!ins) return std::unexpected(ins.error());
    std::unordered_set<std::string> fresh;
    for (int i = 0; i < PQntuples(ins->get()); ++i) fresh.insert(as_text(ins->get(), i, 0));
    auto diff = conn_.exec(
        "SELECT t.id FROM timers t JOIN unnest($1::text[], $2::text[], $3::bigint[], $4::text[]) "
        "AS n(id, g, d, p) ON n.id = t.id WHERE t.group_id != n.g OR t.due_at_ms != n.d OR t.payload != n.p LIMIT 1",
        {a[0].c_str(), a[1].c_str(), a[3].c_str(), a[5].c_str()}, true);
    if (!diff) return std::unexpected(diff.error());
    if (PQntuples(diff->get()) > 0)
      return fail(ErrorCode::Conflict, "timer " + as_text(diff->get(), 0, 0) + " exists with different content",
                  conn_.where());
    for (const auto& t : timers)
      if (fresh.contains(t.id)) inserted.push_back(t.id);
    return {};
  });
  if (!done) return std::unexpected(done.error());
  return inserted;
}

Result<std::optional<TimerRow>> PostgresStore::get_timer(std::string_view id) {
  const std::string key(id);
  std::lock_guard g(mu_);
  auto r = conn_.exec(std::string("SELECT ") + kTimerColumns + " FROM timers WHERE id = $1", {key.c_str()});
  if (!r) return std::unexpected(r.error());
  if (PQntuples(r->get()) == 0) return std::optional<TimerRow>();
  return std::optional<TimerRow>(read_timer(r->get(), 0));
}

Result<std::vector<TimerRow>> PostgresStore::list_timers(const TimerQuery& q) {
  std::string sql = std::string("SELECT ") + kTimerColumns + " FROM timers WHERE true";
  std::vector<std::string> values;
  auto param = [&](std::string v) {
    values.push_back(std::move(v));
    return "$" + std::to_string(values.size());
  };
  if (!q.group_id.empty()) sql += " AND group_id = " + param(q.group_id);
  if (!q.status.empty()) sql += " AND status = " + param(q.status);
  if (!q.after_id.empty()) sql += " AND id > " + param(q.after_id);
  sql += " ORDER BY id LIMIT " + param(std::to_string(std::max(0, q.limit)));
  std::vector<const char*> params;
  for (const auto& v : values) params.push_back(v.c_str());
  std::lock_guard g(mu_);
  auto r = conn_.exec(sql, params);
  if (!r) return std::unexpected(r.error());
  return read_timers(r->get());
}

Result<std::vector<TimerRow>> PostgresStore::due_timers(std::int64_t before_ms, int limit) {
  const std::string b = std::to_string(before_ms), l = std::to_string(std::max(0, limit));
  std::lock_guard g(mu_);
  auto r = conn_.exec(std::string("SELECT ") + kTimerColumns +
                          " FROM timers WHERE status = 'pending' AND due_at_ms < $1 ORDER BY due_at_ms, id LIMIT $2",
                      {b.c_str(), l.c_str()});
  if (!r) return std::unexpected(r.error());
  return read_timers(r->get());
}

Result<void> PostgresStore::update_timers(const std::vector<TimerRow>& timers) {
  if (timers.empty()) return {};
  std::lock_guard g(mu_);
  return in_transaction([&]() -> Result<void> {
    for (const auto& t : timers) {
      const std::string due = std::to_string(t.due_at_ms), attempts = std::to_string(t.attempts);
      const std::string executed = t.executed_at_ms ? std::to_string(*t.executed_at_ms) : "";
      auto r = conn_.exec("UPDATE timers SET status = $1, due_at_ms = $2, attempts = $3, "
                          "executed_at_ms = NULLIF($4, '')::bigint, last_error = $5, payload = $6 WHERE id = $7",
                          {t.status.c_str(), due.c_str(), attempts.c_str(), executed.c_str(), t.last_error.c_str(),
                           t.payload.c_str(), t.id.c_str()});
      if (!r) return std::unexpected(r.error());
      if (std::string(PQcmdTuples(r->get())) == "0")
        return fail(ErrorCode::NotFound, "no timer " + t.id, conn_.where());
    }
    return {};
  });
}

Result<void> PostgresStore::cancel_timer(std::string_view id) {
  const std::string key(id);
  std::lock_guard g(mu_);
  return in_transaction([&]() -> Result<void> {
    auto r = conn_.exec("SELECT status FROM timers WHERE id = $1 FOR UPDATE", {key.c_str()}, true);
    if (!r) return std::unexpected(r.error());
    if (PQntuples(r->get()) == 0) return fail(ErrorCode::NotFound, "no timer " + key, conn_.where());
    const std::string status = as_text(r->get(), 0, 0);
    if (status != "pending")
      return fail(ErrorCode::Conflict, "timer " + key + " is " + status + " and cannot be cancelled", conn_.where());
    auto u = conn_.exec("UPDATE timers SET status = 'cancelled' WHERE id = $1", {key.c_str()}, true);
    if (!u) return std::unexpected(u.error());
    return {};
  });
}

Result<void> PostgresStore::append_audit(const std::vector<AuditRow>& rows) {
  if (rows.empty()) return {};
  std::lock_guard g(mu_);
  return in_transaction([&]() -> Result<void> {
    // Serialises writers from every node: the chain has one order.
    if (auto l = conn_.exec("LOCK TABLE audit_records IN EXCLUSIVE MODE", {}, true); !l) return std::unexpected(l.error());
    auto last = conn_.exec("SELECT coalesce(max(seq), 0) FROM audit_records", {}, true);
    if (!last) return std::unexpected(last.error());
    std::int64_t expected = as_int(last->get(), 0, 0) + 1;
    for (const auto& row : rows) {
      if (row.seq != expected)
        return fail(ErrorCode::Conflict, "audit record " + std::to_string(row.seq) + " does not follow " +
                                             std::to_string(expected - 1), conn_.where());
      const std::string seq = std::to_string(row.seq), at = std::to_string(row.at_ms);
      auto r = conn_.exec("INSERT INTO audit_records (seq, at_ms, data, prev_hash, hash) VALUES ($1, $2, $3, $4, $5)",
                          {seq.c_str(), at.c_str(), row.data.c_str(), row.prev_hash.c_str(), row.hash.c_str()}, true);
      if (!r) return std::unexpected(r.error());
      ++expected;
    }
    return {};
  });
}

Result<std::vector<AuditRow>> PostgresStore::audit_range(std::int64_t after_seq, int limit) {
  const std::string a = std::to_string(after_seq), l = std::to_string(std::max(0, limit));
  std::lock_guard g(mu_);
  auto r = conn_.exec("SELECT seq, at_ms, data, prev_hash, hash FROM audit_records WHERE seq > $1 ORDER BY seq LIMIT $2",
                      {a.c_str(), l.c_str()});
  if (!r) return std::unexpected(r.error());
  std::vector<AuditRow> out;
  for (int i = 0; i < PQntuples(r->get()); ++i) out.push_back(read_audit(r->get(), i));
  return out;
}

Result<std::optional<AuditRow>> PostgresStore::last_audit() {
  std::lock_guard g(mu_);
  auto r = conn_.exec("SELECT seq, at_ms, data, prev_hash, hash FROM audit_records ORDER BY seq DESC LIMIT 1");
  if (!r) return std::unexpected(r.error());
  if (PQntuples(r->get()) == 0) return std::optional<AuditRow>();
  return std::optional<AuditRow>(read_audit(r->get(), 0));
}

}  // namespace opsrun::store::postgres
