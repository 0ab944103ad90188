// Store maintenance: cleanup of old executions, backup and verified restore (seed 002).
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "opsrun/cli/commands.h"

namespace opsrun::cli {

int cmd_cleanup(const CleanupFlags& flags) {
  if (flags.retention_days < 0 || flags.batch_size < 1) {
    std::fprintf(stderr, "cleanup: --retention-days must be >= 0 and --batch-size >= 1\n");
    return kExitInvalid;
  }
  auto store = open_store_from(flags.store);
  if (!store) {
    std::fprintf(stderr, "cleanup: %s\n", store.error().describe().c_str());
    return kExitFailed;
  }
  const SystemTime cutoff = std::chrono::system_clock::now() - std::chrono::hours(24) * flags.retention_days;
  std::printf("cleanup: deleting finished executions and executed timers before %s, %d per batch\n",
              format_time(cutoff).c_str(), flags.batch_size);
  auto stats = (*store)->cleanup(cutoff, flags.batch_size, [](const store::CleanupStats& s) {
    std::printf("  batch %d: %lld executions, %lld events, %lld timers deleted so far\n", s.batches,
                static_cast<long long>(s.executions_deleted), static_cast<long long>(s.events_deleted),
                static_cast<long long>(s.timers_deleted));
    std::fflush(stdout);
  });
  if (!stats) {
    std::fprintf(stderr, "cleanup: %s\n", stats.error().describe().c_str());
    return kExitFailed;
  }
  std::printf("cleanup: done: %lld executions, %lld events, %lld timers in %d batches; refreshing statistics\n",
              static_cast<long long>(stats->executions_deleted), static_cast<long long>(stats->events_deleted),
              static_cast<long long>(stats->timers_deleted), stats->batches);
  if (auto r = (*store)->analyze(); !r) {
    std::fprintf(stderr, "cleanup: analyze: %s\n", r.error().describe().c_str());
    return kExitFailed;
  }
  return kExitOk;
}

int cmd_backup(const BackupFlags& flags) {
  auto store = open_store_from(flags.store);
  if (!store) {
    std::fprintf(stderr, "backup: %s\n", store.error().describe().c_str());
    return kExitFailed;
  }
  if (auto r = (*store)->backup_to(flags.file); !r) {
    std::fprintf(stderr, "backup: %s\n", r.error().describe().c_str());
    return kExitFailed;
  }
  std::printf("backup: %s written to %s\n", (*store)->describe().c_str(), flags.file.c_str());
  return kExitOk;
}

int cmd_restore(const BackupFlags& flags) {
  if (!flags.yes) {
    if (!isatty(STDIN_FILENO)) {
      std::fprintf(stderr, "restore: this replaces the whole store; confirm with --yes\n");
      return kExitInvalid;
    }
    std::fprintf(stderr, "restore %s over %s? Everything in the store is replaced. [y/N] ",
                 flags.file.c_str(), flags.store.url.empty() ? flags.store.data_dir.c_str() : "the PostgreSQL store");
    std::string answer;
    std::getline(std::cin, answer);
    if (answer != "y" && answer != "yes") {
      std::fprintf(stderr, "restore: cancelled\n");
      return kExitFailed;
    }
  }
  store::OpenOptions o;
  o.data_dir = flags.store.data_dir;
  o.url = flags.store.url;
  if (auto r = store::restore_from(flags.file, o); !r) {
    std::fprintf(stderr, "restore: %s\n", r.error().describe().c_str());
    return r.error().code == ErrorCode::InvalidArgument ? kExitInvalid : kExitFailed;
  }
  std::printf("restore: %s restored and verified\n", flags.file.c_str());
  return kExitOk;
}

}  // namespace opsrun::cli
