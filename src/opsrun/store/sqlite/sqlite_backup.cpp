// Backup (online backup API + gzip) and verified restore of the SQLite store.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <cstring>
#include <filesystem>

#include "opsrun/common/ids.h"
#include "opsrun/store/sqlite/sqlite_store.h"

namespace opsrun::store::sqlite {

namespace fs = std::filesystem;

namespace {

Result<void> gzip_file(const std::string& from, const std::string& to) {
  std::FILE* in = std::fopen(from.c_str(), "rb");
  if (in == nullptr) return fail(ErrorCode::Internal, "cannot read " + from);
  gzFile out = gzopen(to.c_str(), "wb6");
  if (out == nullptr) {
    std::fclose(in);
    return fail(ErrorCode::Unavailable, "cannot write " + to + ": " + std::strerror(errno));
  }
  char buf[1 << 16];
  std::size_t n;
  bool ok = true;
  while ((n = std::fread(buf, 1, sizeof buf, in)) > 0)
    if (gzwrite(out, buf, static_cast<unsigned>(n)) != static_cast<int>(n)) ok = false;
  std::fclose(in);
  if (gzclose(out) != Z_OK) ok = false;
  if (!ok) return fail(ErrorCode::Unavailable, "writing " + to + " failed (disk full?)");
  return {};
}

Result<void> gunzip_file(const std::string& from, const std::string& to) {
  gzFile in = gzopen(from.c_str(), "rb");
  if (in == nullptr) return fail(ErrorCode::NotFound, "cannot read backup " + from);
  std::FILE* out = std::fopen(to.c_str(), "wb");
  if (out == nullptr) {
    gzclose(in);
    return fail(ErrorCode::Unavailable, "cannot write " + to);
  }
  char buf[1 << 16];
  int n;
  bool ok = true;
  while ((n = gzread(in, buf, sizeof buf)) > 0)
    if (std::fwrite(buf, 1, static_cast<std::size_t>(n), out) != static_cast<std::size_t>(n)) ok = false;
  if (n < 0) ok = false;
  gzclose(in);
  if (std::fclose(out) != 0) ok = false;
  if (!ok) return fail(ErrorCode::InvalidArgument, "backup " + from + " is not a readable gzip file");
  return {};
}

}  // namespace

Result<void> SqliteStore::backup_to(const std::string& file) {
  const std::string snapshot = file + ".tmp-" + random_hex(4) + ".db";
  {
    std::lock_guard g(mu_);
    sqlite3* dest = nullptr;
    int rc = sqlite3_open_v2(snapshot.c_str(), &dest, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_close_v2(dest);
      return fail(ErrorCode::Unavailable, "cannot create " + snapshot, describe());
    }
    sqlite3_backup* b = sqlite3_backup_init(dest, "main", db_.handle(), "main");
    if (b == nullptr) {
      auto err = sqlite_error(dest, sqlite3_errcode(dest), "backup", describe());
      sqlite3_close_v2(dest);
      std::remove(snapshot.c_str());
      return std::unexpected(err);
    }
    rc = sqlite3_backup_step(b, -1);
    sqlite3_backup_finish(b);
    // The copy is in rollback-journal mode; the restore switches it back to WAL.
    sqlite3_close_v2(dest);
    if (rc != SQLITE_DONE) {
      std::remove(snapshot.c_str());
      return std::unexpected(sqlite_error(nullptr, rc, "backup", describe()));
    }
  }
  const std::string partial = file + ".partial";
  auto r = gzip_file(snapshot, partial);
  std::remove(snapshot.c_str());
  if (!r) {
    std::remove(partial.c_str());
    return r;
  }
  if (std::rename(partial.c_str(), file.c_str()) != 0)
    return fail(ErrorCode::Unavailable, "cannot rename to " + file + ": " + std::strerror(errno));
  return {};
}

Result<void> restore_sqlite(const std::string& file, const OpenOptions& options) {
  const fs::path dir(options.data_dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  const std::string db_path = (dir / "opsrun.db").string();
  const std::string where = "sqlite:" + db_path;
  // An exclusive claim: fails while any server or run has the store open.
  const int fd = ::open(lock_path(options.data_dir).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return fail(ErrorCode::Unavailable, "cannot open the lock file", where);
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    close(fd);
    return fail(ErrorCode::Conflict,
                "the store is in use (a server or a run has it open); stop it before restoring", where);
  }
  const std::string staged = (dir / ("opsrun.db.restore-" + random_hex(4))).string();
  auto cleanup = [&] {
    std::remove(staged.c_str());
    close(fd);
  };
  if (auto r = gunzip_file(file, staged); !r) {
    cleanup();
    return r;
  }
  {
    // Verify before anything is replaced: opens, is an opsrun schema we know, is intact.
    auto db = open_checked(staged, /*create=*/false, /*migrate=*/false);
    if (!db) {
      cleanup();
      return fail(ErrorCode::InvalidArgument, "backup " + file + " is not usable: " + db.error().describe(), where);
    }
    auto s = db->prepare("PRAGMA integrity_check");
    if (!s || s->step() != SQLITE_ROW || s->text(0) != "ok") {
      cleanup();
      return fail(ErrorCode::InvalidArgument, "backup " + file + " fails the integrity check", where);
    }
  }
  // Drop the old WAL and shared-memory files with the old database, then swap atomically.
  for (const char* suffix : {"-wal", "-shm"}) std::remove((db_path + suffix).c_str());
  if (std::rename(staged.c_str(), db_path.c_str()) != 0) {
    cleanup();
    return fail(ErrorCode::Unavailable, std::string("cannot replace the database: ") + std::strerror(errno), where);
  }
  close(fd);
  return {};
}

}  // namespace opsrun::store::sqlite
