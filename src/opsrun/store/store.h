// The durable store: executions and their append-only event history, step attempts,
// timers, audit records and settings. Implementations: sqlite/ (the default) and postgres/.
// This header includes no third-party header.
//
// Threading: a Store may be called from several threads; implementations serialise
// internally. Every method returns an error value naming the store (describe()) on failure;
// a failed commit() leaves nothing half-written.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "opsrun/common/clock.h"
#include "opsrun/common/error.h"

namespace opsrun::store {

// One entry of an execution's history. `seq` is 1-based and dense per execution;
// (execution_id, seq) is unique, so a replayed append is refused, never doubled.
struct EventRecord {
  std::string execution_id;
  std::int64_t seq = 0;
  std::string type;                             // "started", "attempt_started", ...
  std::int64_t at_ms = 0;                       // unix milliseconds
  std::string data;                             // JSON text
};

// The summary row of an execution, kept in step with its events for listing.
struct ExecutionRow {
  std::string execution_id;
  std::string runbook_id;
  std::string runbook_version;
  std::string status;                           // model::ExecutionStatus names
  std::string current_step;
  std::int64_t started_at_ms = 0;
  std::int64_t updated_at_ms = 0;
  std::optional<std::int64_t> finished_at_ms;
  std::string reason;                           // needs_attention / blocked reason
};

// A group commit: events and row updates of many executions in one transaction.
struct Batch {
  std::vector<EventRecord> events;
  std::vector<ExecutionRow> executions;         // upserted by execution_id
  [[nodiscard]] bool empty() const { return events.empty() && executions.empty(); }
};

struct ExecutionQuery {
  std::string status;                           // empty: any
  std::string runbook_id;                       // empty: any
  bool unfinished_only = false;                 // pending, running, waiting (not terminal, not
                                                // needs_attention/blocked)
  int limit = 100;
  std::string before_id;                        // cursor: ids sort by start time
};

// A durable timer (the timer service, execution waits, schedules). `payload` is JSON text.
struct TimerRow {
  std::string id;
  std::string group_id;
  int shard = 0;                                // hash(id) % 32
  std::int64_t due_at_ms = 0;
  std::string status = "pending";               // pending | fired | cancelled | failed
  std::string payload;
  int attempts = 0;
  std::int64_t created_at_ms = 0;
  std::optional<std::int64_t> executed_at_ms;
  std::string last_error;
};

struct TimerQuery {
  std::string group_id;                         // empty: any
  std::string status;                           // empty: any
  int limit = 100;
  std::string after_id;                         // cursor: ids ascending
};

// One record of the tamper-evident audit log; the audit module computes the hashes, the
// store keeps the rows append-only with a dense sequence.
struct AuditRow {
  std::int64_t seq = 0;
  std::int64_t at_ms = 0;
  std::string data;                             // canonical JSON text
  std::string prev_hash;
  std::string hash;
};

struct CleanupStats {
  std::int64_t executions_deleted = 0;
  std::int64_t events_deleted = 0;
  std::int64_t timers_deleted = 0;
  int batches = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // "sqlite:/path/opsrun.db" or "postgres://user@host:port/db" (no password), for messages.
  [[nodiscard]] virtual std::string describe() const = 0;

  // --- executions -------------------------------------------------------------------------
  // One transaction, one fsync, for everything in the batch.
  [[nodiscard]] virtual Result<void> commit(const Batch& batch) = 0;
  [[nodiscard]] virtual Result<std::vector<EventRecord>> events(std::string_view execution_id,
                                                                std::int64_t after_seq = 0) = 0;
  [[nodiscard]] virtual Result<std::optional<ExecutionRow>> execution(
      std::string_view execution_id) = 0;
  // Newest first.
  [[nodiscard]] virtual Result<std::vector<ExecutionRow>> list_executions(
      const ExecutionQuery& query) = 0;

  // --- settings (the emergency stop lives here later) -------------------------------------
  [[nodiscard]] virtual Result<std::optional<std::string>> get_setting(std::string_view key) = 0;
  [[nodiscard]] virtual Result<void> put_setting(std::string_view key, std::string_view value) = 0;

  // --- timers -----------------------------------------------------------------------------
  // All in one transaction. An existing id with identical group, due time and payload is a
  // no-op (idempotent create); with different content the whole call fails with Conflict.
  // Returns the ids that were inserted (the new timers), in the order given.
  [[nodiscard]] virtual Result<std::vector<std::string>> put_timers(const std::vector<TimerRow>& timers) = 0;
  [[nodiscard]] virtual Result<std::optional<TimerRow>> get_timer(std::string_view id) = 0;
  [[nodiscard]] virtual Result<std::vector<TimerRow>> list_timers(const TimerQuery& query) = 0;
  // Pending timers due before `before_ms`, earliest first.
  [[nodiscard]] virtual Result<std::vector<TimerRow>> due_timers(std::int64_t before_ms, int limit) = 0;
  // Rewrites status, due time, attempts, executed time, last error and payload of each timer,
  // all in one transaction (the timer service commits firing outcomes in groups); NotFound
  // (and nothing written) when one is unknown.
  [[nodiscard]] virtual Result<void> update_timers(const std::vector<TimerRow>& timers) = 0;
  // NotFound when unknown; Conflict when it already fired, failed or was cancelled.
  [[nodiscard]] virtual Result<void> cancel_timer(std::string_view id) = 0;

  // --- audit ------------------------------------------------------------------------------
  // Appends rows whose seqs continue the log densely; Conflict if another writer got there
  // first (the caller re-reads last_audit() and recomputes).
  [[nodiscard]] virtual Result<void> append_audit(const std::vector<AuditRow>& rows) = 0;
  [[nodiscard]] virtual Result<std::vector<AuditRow>> audit_range(std::int64_t after_seq, int limit) = 0;
  [[nodiscard]] virtual Result<std::optional<AuditRow>> last_audit() = 0;

  // --- maintenance ------------------------------------------------------------------------
  // Deletes finished executions (and their events) and executed timers finished before
  // `cutoff`, `batch_size` rows per transaction; `progress` is called after each batch.
  [[nodiscard]] virtual Result<CleanupStats> cleanup(
      SystemTime cutoff, int batch_size,
      const std::function<void(const CleanupStats&)>& progress) = 0;
  [[nodiscard]] virtual Result<void> analyze() = 0;
  // Structural integrity (PRAGMA integrity_check; FK/orphan checks; dense event seqs).
  [[nodiscard]] virtual Result<void> check_integrity() = 0;
  // Round trip, for /health/db.
  [[nodiscard]] virtual Result<Millis> ping() = 0;
  // A consistent, compressed copy of the whole store in `file` (SQLite: the online backup
  // API, gzip; PostgreSQL: pg_dump custom format). Written to a temporary name, then renamed.
  [[nodiscard]] virtual Result<void> backup_to(const std::string& file) = 0;
};

struct OpenOptions {
  std::string data_dir = "./opsrun-data";       // SQLite: <data_dir>/opsrun.db
  std::string url;                              // "postgres://..." selects PostgreSQL
  bool create = true;                           // create the directory / schema if missing
};

// The composition root's way in: picks the backend from the options. While a Store is
// open it holds a shared claim on the store (SQLite: a lock file beside the database), so
// restore_from() can tell that a server or a run is using it.
[[nodiscard]] Result<std::unique_ptr<Store>> open_store(const OpenOptions& options);

// Replaces the store's contents with a backup made by backup_to(). Verifies the backup
// first (readable, intact, a schema this binary knows) and changes nothing if it is not;
// refuses while any process has the store open.
[[nodiscard]] Result<void> restore_from(const std::string& file, const OpenOptions& options);

}  // namespace opsrun::store
