// The scale-out store: PostgreSQL 15 through libpq. Same semantics as the SQLite store; a
// commit() is one transaction whose rows travel as arrays (a few round trips per batch,
// however many executions it carries). Each open store holds a shared advisory lock so
// restore_from() can tell the store is in use.
#pragma once

#include <memory>
#include <mutex>

#include "opsrun/store/postgres/pg_conn_internal.h"
#include "opsrun/store/store.h"

namespace opsrun::store::postgres {

inline constexpr int kSchemaVersion = 2;
// The advisory lock key that marks "this store is open" (shared) or "being restored".
inline constexpr long long kOwnerLockKey = 0x6f7073727563;  // "opsruc"

class PostgresStore final : public Store {
 public:
  [[nodiscard]] static Result<std::unique_ptr<PostgresStore>> open(const OpenOptions& options);

  [[nodiscard]] std::string describe() const override { return conn_.where(); }
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
  explicit PostgresStore(std::string url) : conn_(std::move(url)) {}
  [[nodiscard]] Result<void> migrate();

  // Runs `body` between BEGIN and COMMIT, rolling back on any error.
  [[nodiscard]] Result<void> in_transaction(const std::function<Result<void>()>& body);

  std::mutex mu_;
  PgConn conn_;
};

[[nodiscard]] Result<void> restore_postgres(const std::string& file, const OpenOptions& options);

}  // namespace opsrun::store::postgres
