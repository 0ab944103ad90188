#include "opsrun/store/postgres/postgres_store.h"

#include <array>

namespace opsrun::store::postgres {

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
  started_at_ms   BIGINT NOT NULL,
  updated_at_ms   BIGINT NOT NULL,
  finished_at_ms  BIGINT,
  reason          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX executions_by_status ON executions (status, started_at_ms);
CREATE INDEX executions_by_runbook ON executions (runbook_id, started_at_ms);
CREATE INDEX executions_by_finish ON executions (finished_at_ms) WHERE finished_at_ms IS NOT NULL;
CREATE TABLE execution_events (
  execution_id TEXT NOT NULL,
  seq          BIGINT NOT NULL,
  type         TEXT NOT NULL,
  at_ms        BIGINT NOT NULL,
  data         TEXT NOT NULL,
  PRIMARY KEY (execution_id, seq)
);
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
  due_at_ms      BIGINT NOT NULL,
  status         TEXT NOT NULL,
  payload        TEXT NOT NULL,
  attempts       INTEGER NOT NULL DEFAULT 0,
  created_at_ms  BIGINT NOT NULL,
  executed_at_ms BIGINT,
  last_error     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX timers_due ON timers (status, due_at_ms);
CREATE INDEX timers_by_group ON timers (group_id, id);
CREATE TABLE audit_records (
  seq       BIGINT PRIMARY KEY,
  at_ms     BIGINT NOT NULL,
  data      TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash      TEXT NOT NULL
);
)sql",
};

constexpr const char* kExecutionColumns =
    "execution_id, runbook_id, runbook_version, status, current_step, started_at_ms, "
    "updated_at_ms, finished_at_ms, reason";


ExecutionRow read_row(PGresult* r, int i) {
  ExecutionRow x;
  x.execution_id = as_text(r, i, 0);
  x.runbook_id = as_text(r, i, 1);
  x.runbook_version = as_text(r, i, 2);
  x.status = as_text(r, i, 3);
  x.current_step = as_text(r, i, 4);
  x.started_at_ms = as_int(r, i, 5);
  x.updated_at_ms = as_int(r, i, 6);
  if (!PQgetisnull(r, i, 7)) x.finished_at_ms = as_int(r, i, 7);
  x.reason = as_text(r, i, 8);
  return x;
}

}  // namespace

Result<std::unique_ptr<PostgresStore>> PostgresStore::open(const OpenOptions& options) {
  std::unique_ptr<PostgresStore> store(new PostgresStore(options.url));
  if (auto r = store->conn_.connect(); !r) return std::unexpected(r.error());
  if (auto r = store->migrate(); !r) return std::unexpected(r.error());
  // Held for the session: restore_from() cannot take the lock exclusively while we are open.
  if (auto r = store->conn_.exec("SELECT pg_advisory_lock_shared(" + std::to_string(kOwnerLockKey) + ")"); !r)
    return std::unexpected(r.error());
  return store;
}

Result<void> PostgresStore::migrate() {
  if (auto r = conn_.exec("BEGIN"); !r) return std::unexpected(r.error());
  auto fail_tx = [&](const Error& e) -> Result<void> {
    (void)conn_.exec("ROLLBACK");
    return std::unexpected(e);
  };
  // Two nodes starting at once: one migrates, the other waits and then sees the result.
  if (auto r = conn_.exec("SELECT pg_advisory_xact_lock(7367011)", {}, true); !r) return fail_tx(r.error());
  auto exists = conn_.exec("SELECT to_regclass('opsrun_schema') IS NOT NULL, "
                           "(SELECT count(*) FROM pg_tables WHERE schemaname = current_schema())", {}, true);
  if (!exists) return fail_tx(exists.error());
  int version = 0;
  if (std::string(PQgetvalue(exists->get(), 0, 0)) == "t") {
    auto v = conn_.exec("SELECT version FROM opsrun_schema", {}, true);
    if (!v) return fail_tx(v.error());
    version = PQntuples(v->get()) > 0 ? static_cast<int>(as_int(v->get(), 0, 0)) : 0;
  } else if (as_int(exists->get(), 0, 1) != 0) {
    return fail_tx(Error{ErrorCode::InvalidArgument,
                         "not an opsrun database (it has tables but no opsrun schema)", conn_.where()});
  } else {
    auto c = conn_.exec("CREATE TABLE opsrun_schema (version INTEGER NOT NULL); INSERT INTO opsrun_schema VALUES (0)", {}, true);
    if (!c) return fail_tx(c.error());
  }
  if (version > kSchemaVersion)
    return fail_tx(Error{ErrorCode::InvalidArgument,
                         "was written by a newer opsrun (schema " + std::to_string(version) +
                             ", this binary knows " + std::to_string(kSchemaVersion) + ")",
                         conn_.where()});
  for (int v = version; v < kSchemaVersion; ++v)
    if (auto r = conn_.exec(kMigrations[static_cast<std::size_t>(v)], {}, true); !r) return fail_tx(r.error());
  if (auto r = conn_.exec("UPDATE opsrun_schema SET version = " + std::to_string(kSchemaVersion), {}, true); !r)
    return fail_tx(r.error());
  if (auto r = conn_.exec("COMMIT", {}, true); !r) return std::unexpected(r.error());
  return {};
}

Result<void> PostgresStore::in_transaction(const std::function<Result<void>()>& body) {
  if (auto r = conn_.exec("BEGIN"); !r) return std::unexpected(r.error());
  auto r = body();
  if (!r) {
    (void)conn_.exec("ROLLBACK", {}, true);
    return r;
  }
  if (auto c = conn_.exec("COMMIT", {}, true); !c) {
    (void)conn_.exec("ROLLBACK", {}, true);
    return std::unexpected(c.error());
  }
  return {};
}

Result<void> PostgresStore::commit(const Batch& batch) {
  if (batch.empty()) return {};
  std::vector<std::string> ids, types, data, seqs, ats;
  for (const auto& e : batch.events) {
    ids.push_back(e.execution_id);
    seqs.push_back(std::to_string(e.seq));
    types.push_back(e.type);
    ats.push_back(std::to_string(e.at_ms));
    data.push_back(e.data);
  }
  std::vector<std::string> xid, rb, ver, st, cur, started, updated, finished, reason;
  for (const auto& x : batch.executions) {
    xid.push_back(x.execution_id);
    rb.push_back(x.runbook_id);
    ver.push_back(x.runbook_version);
    st.push_back(x.status);
    cur.push_back(x.current_step);
    started.push_back(std::to_string(x.started_at_ms));
    updated.push_back(std::to_string(x.updated_at_ms));
    finished.push_back(x.finished_at_ms ? std::to_string(*x.finished_at_ms) : "");
    reason.push_back(x.reason);
  }
  const std::string a_ids = pg_array(ids), a_seqs = pg_array(seqs), a_types = pg_array(types),
                    a_ats = pg_array(ats), a_data = pg_array(data);
  const std::string b_id = pg_array(xid), b_rb = pg_array(rb), b_ver = pg_array(ver),
                    b_st = pg_array(st), b_cur = pg_array(cur), b_started = pg_array(started),
                    b_updated = pg_array(updated), b_finished = pg_array(finished),
                    b_reason = pg_array(reason);
  std::lock_guard g(mu_);
  if (auto r = conn_.exec("BEGIN"); !r) return std::unexpected(r.error());
  auto abort = [&](const Error& e) -> Result<void> {
    (void)conn_.exec("ROLLBACK", {}, true);
    return std::unexpected(e);
  };
  if (!batch.events.empty()) {
    auto r = conn_.exec(
        "INSERT INTO execution_events (execution_id, seq, type, at_ms, data) "
        "SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::text[])",
        {a_ids.c_str(), a_seqs.c_str(), a_types.c_str(), a_ats.c_str(), a_data.c_str()}, true);
    if (!r) return abort(r.error());
  }
  if (!batch.executions.empty()) {
    auto r = conn_.exec(
        "INSERT INTO executions (execution_id, runbook_id, runbook_version, status, current_step, "
        "started_at_ms, updated_at_ms, finished_at_ms, reason) "
        "SELECT i, r, v, s, c, st, u, NULLIF(f, '')::bigint, re FROM unnest($1::text[], $2::text[], "
        "$3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::text[], $9::text[]) "
        "AS t(i, r, v, s, c, st, u, f, re) "
        "ON CONFLICT (execution_id) DO UPDATE SET status = excluded.status, "
        "current_step = excluded.current_step, updated_at_ms = excluded.updated_at_ms, "
        "finished_at_ms = excluded.finished_at_ms, reason = excluded.reason",
        {b_id.c_str(), b_rb.c_str(), b_ver.c_str(), b_st.c_str(), b_cur.c_str(), b_started.c_str(),
         b_updated.c_str(), b_finished.c_str(), b_reason.c_str()},
        true);
    if (!r) return abort(r.error());
  }
  if (auto r = conn_.exec("COMMIT", {}, true); !r) return abort(r.error());
  return {};
}

Result<std::vector<EventRecord>> PostgresStore::events(std::string_view execution_id, std::int64_t after_seq) {
  const std::string id(execution_id), after = std::to_string(after_seq);
  std::lock_guard g(mu_);
  auto r = conn_.exec("SELECT seq, type, at_ms, data FROM execution_events WHERE execution_id = $1 "
                      "AND seq > $2 ORDER BY seq", {id.c_str(), after.c_str()});
  if (!r) return std::unexpected(r.error());
  std::vector<EventRecord> out;
  for (int i = 0; i < PQntuples(r->get()); ++i)
    out.push_back({id, as_int(r->get(), i, 0), as_text(r->get(), i, 1), as_int(r->get(), i, 2),
                   as_text(r->get(), i, 3)});
  return out;
}

Result<std::optional<ExecutionRow>> PostgresStore::execution(std::string_view execution_id) {
  const std::string id(execution_id);
  std::lock_guard g(mu_);
  auto r = conn_.exec(std::string("SELECT ") + kExecutionColumns + " FROM executions WHERE execution_id = $1", {id.c_str()});
  if (!r) return std::unexpected(r.error());
  if (PQntuples(r->get()) == 0) return std::optional<ExecutionRow>();
  return std::optional<ExecutionRow>(read_row(r->get(), 0));
}

Result<std::vector<ExecutionRow>> PostgresStore::list_executions(const ExecutionQuery& q) {
  std::string sql = std::string("SELECT ") + kExecutionColumns + " FROM executions WHERE true";
  std::vector<std::string> values;
  auto param = [&](std::string v) {
    values.push_back(std::move(v));
    return "$" + std::to_string(values.size());
  };
  if (!q.status.empty()) sql += " AND status = " + param(q.status);
  if (!q.runbook_id.empty()) sql += " AND runbook_id = " + param(q.runbook_id);
  if (q.unfinished_only) sql += " AND status IN ('pending', 'running', 'waiting')";
  if (!q.before_id.empty())
    sql += " AND (started_at_ms, execution_id) < (SELECT started_at_ms, execution_id FROM executions "
           "WHERE execution_id = " + param(q.before_id) + ")";
  sql += " ORDER BY started_at_ms DESC, execution_id DESC LIMIT " + param(std::to_string(std::max(0, q.limit)));
  std::vector<const char*> params;
  for (const auto& v : values) params.push_back(v.c_str());
  std::lock_guard g(mu_);
  auto r = conn_.exec(sql, params);
  if (!r) return std::unexpected(r.error());
  std::vector<ExecutionRow> out;
  for (int i = 0; i < PQntuples(r->get()); ++i) out.push_back(read_row(r->get(), i));
  return out;
}

Result<std::optional<std::string>> PostgresStore::get_setting(std::string_view key) {
  const std::string k(key);
  std::lock_guard g(mu_);
  auto r = conn_.exec("SELECT value FROM settings WHERE key = $1", {k.c_str()});
  if (!r) return std::unexpected(r.error());
  if (PQntuples(r->get()) == 0) return std::optional<std::string>();
  return std::optional<std::string>(as_text(r->get(), 0, 0));
}

Result<void> PostgresStore::put_setting(std::string_view key, std::string_view value) {
  const std::string k(key), v(value);
  std::lock_guard g(mu_);
  auto r = conn_.exec("INSERT INTO settings (key, value) VALUES ($1, $2) "
                      "ON CONFLICT (key) DO UPDATE SET value = excluded.value", {k.c_str(), v.c_str()});
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<CleanupStats> PostgresStore::cleanup(SystemTime cutoff, int batch_size,
                                            const std::function<void(const CleanupStats&)>& progress) {
  CleanupStats stats;
  const std::string cut = std::to_string(to_unix_ms(cutoff)), lim = std::to_string(std::max(1, batch_size));
  while (true) {
    Result<PgResult> r;
    {
      std::lock_guard g(mu_);
      // One statement per batch: a short transaction of its own.
      r = conn_.exec(
          "WITH picked AS (SELECT execution_id FROM executions WHERE finished_at_ms IS NOT NULL "
          "AND finished_at_ms < $1 LIMIT $2), "
          "ev AS (DELETE FROM execution_events WHERE execution_id IN (SELECT execution_id FROM picked) RETURNING 1), "
          "ex AS (DELETE FROM executions WHERE execution_id IN (SELECT execution_id FROM picked) RETURNING 1) "
          "SELECT (SELECT count(*) FROM ex), (SELECT count(*) FROM ev)",
          {cut.c_str(), lim.c_str()});
    }
    if (!r) return std::unexpected(r.error());
    const std::int64_t executions = as_int(r->get(), 0, 0);
    if (executions == 0) break;
    stats.executions_deleted += executions;
    stats.events_deleted += as_int(r->get(), 0, 1);
    ++stats.batches;
    if (progress) progress(stats);
  }
  while (true) {
    Result<PgResult> r;
    {
      std::lock_guard g(mu_);
      r = conn_.exec("WITH gone AS (DELETE FROM timers WHERE id IN (SELECT id FROM timers WHERE "
                     "status != 'pending' AND coalesce(executed_at_ms, created_at_ms) < $1 LIMIT $2) "
                     "RETURNING 1) SELECT count(*) FROM gone", {cut.c_str(), lim.c_str()});
    }
    if (!r) return std::unexpected(r.error());
    const std::int64_t timers = as_int(r->get(), 0, 0);
    if (timers == 0) break;
    stats.timers_deleted += timers;
    ++stats.batches;
    if (progress) progress(stats);
  }
  return stats;
}

Result<void> PostgresStore::analyze() {
  std::lock_guard g(mu_);
  if (auto r = conn_.exec("ANALYZE executions, execution_events, settings"); !r) return std::unexpected(r.error());
  return {};
}

Result<void> PostgresStore::check_integrity() {
  struct Check {
    const char* sql;
    const char* problem;
  };
  std::lock_guard g(mu_);
  for (const Check& c : {
           Check{"SELECT execution_id FROM execution_events GROUP BY execution_id "
                 "HAVING min(seq) != 1 OR max(seq) != count(*) LIMIT 1",
                 "has a gap in its event sequence"},
           Check{"SELECT e.execution_id FROM execution_events e LEFT JOIN executions x "
                 "ON x.execution_id = e.execution_id WHERE x.execution_id IS NULL LIMIT 1",
                 "has events but no execution row"},
       }) {
    auto r = conn_.exec(c.sql);
    if (!r) return std::unexpected(r.error());
    if (PQntuples(r->get()) > 0)
      return fail(ErrorCode::Internal, "execution " + as_text(r->get(), 0, 0) + " " + c.problem, conn_.where());
  }
  return {};
}

Result<Millis> PostgresStore::ping() {
  const auto t0 = std::chrono::steady_clock::now();
  std::lock_guard g(mu_);
  if (auto r = conn_.exec("SELECT 1"); !r) return std::unexpected(r.error());
  return std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - t0);
}

}  // namespace opsrun::store::postgres
