// The embedded default store: one SQLite file in WAL mode with synchronous=FULL, so a
// commit() that returned is on disk. One connection behind a mutex; each commit() is one
// transaction and one fsync however many executions it carries (group commit).
#pragma once

#include <memory>
#include <mutex>

#include "opsrun/store/sqlite/sqlite_db_internal.h"
#include "opsrun/store/store.h"

namespace opsrun::store::sqlite {

inline constexpr int kSchemaVersion = 2;

class SqliteStore final : public Store {
 public:
  [[nodiscard]] static Result<std::unique_ptr<SqliteStore>> open(const OpenOptions& options);
  ~SqliteStore() override;

  [[nodiscard]] std::string describe() const override { return "sqlite:" + db_.path(); }
  [[nodiscard]] Result<void> commit(const Batch& batch) override;
  [[nodiscard]] Result<std::vector<EventRecord>> events(std::string_view execution_id,
                                                        std::int64_t after_seq) override;
  [[nodiscard]] Result<std::optional<ExecutionRow>> execution(std::string_view execution_id) override;
  [[nodiscard]] Result<std::vector<ExecutionRow>> list_executions(const ExecutionQuery& query) override;
  [[nodiscard]] Result<std::optional<std::string>> get_setting(std::string_view key) override;
  [[nodiscard]] Result<void> put_setting(std::string_view key, std::string_view value) override;
  [[nodiscard]] Result<CleanupStats> cleanup(
      SystemTime cutoff, int batch_size,
      const std::function<void(const CleanupStats&)>& progress) override;
  [[nodiscard]] Result<void> analyze() override;
  [[nodiscard]] Result<void> check_integrity() override;
  [[nodiscard]] Result<Millis> ping() override;
  [[nodiscard]] Result<void> backup_to(const std::string& file) override;
  [[nodiscard]] Result<std::vector<std::string>> put_timers(const std::vector<TimerRow>& timers) override;
  [[nodiscard]] Result<std::optional<TimerRow>> get_timer(std::string_view id) override;
  [[nodiscard]] Result<std::vector<TimerRow>> list_timers(const TimerQuery& query) override;
  [[nodiscard]] Result<std::vector<TimerRow>> due_timers(std::int64_t before_ms, int limit) override;
  [[nodiscard]] Result<void> update_timers(const std::vector<TimerRow>& timers) override;
  [[nodiscard]] Result<void> cancel_timer(std::string_view id) override;
  [[nodiscard]] Result<void> append_audit(const std::vector<AuditRow>& rows) override;
  [[nodiscard]] Result<std::vector<AuditRow>> audit_range(std::int64_t after_seq, int limit) override;
  [[nodiscard]] Result<std::optional<AuditRow>> last_audit() override;

 private:
  SqliteStore(Db db, int lock_fd);
  [[nodiscard]] Result<void> prepare_statements();
  [[nodiscard]] Result<void> in_transaction(const std::function<Result<void>()>& body);

  std::mutex mu_;
  Db db_;
  int lock_fd_ = -1;                            // shared flock on opsrun.lock while open
  Stmt insert_event_;
  Stmt upsert_execution_;
  Stmt select_events_;
  Stmt select_execution_;
};

// Opens the database file at `path` and checks it is an opsrun database of a schema this
// binary knows, applying migrations when `migrate` (used by restore to verify a backup).
[[nodiscard]] Result<Db> open_checked(const std::string& path, bool create, bool migrate);

// The lock file beside the database: "<data_dir>/opsrun.lock".
std::string lock_path(const std::string& data_dir);

}  // namespace opsrun::store::sqlite
