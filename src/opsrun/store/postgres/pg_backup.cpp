// Backup and restore of a PostgreSQL store through pg_dump / pg_restore. The password never
// goes on a command line (where `ps` shows it): it travels in PGPASSWORD.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "opsrun/store/postgres/postgres_store.h"

extern char** environ;

namespace opsrun::store::postgres {

namespace {

std::string password_of(const std::string& url) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return {};
  const auto at = url.find('@', scheme + 3);
  const auto colon = url.find(':', scheme + 3);
  if (at == std::string::npos || colon == std::string::npos || colon > at) return {};
  return url.substr(colon + 1, at - colon - 1);
}

struct ChildResult {
  int exit_code = -1;
  std::string err;
};

// stderr (and stdout when `capture_stdout`) is collected; stdout otherwise goes nowhere.
ChildResult run_child(const std::vector<std::string>& args, const std::string& password,
                      bool capture_stdout = false) {
  std::vector<std::string> env_store;
  for (char** e = environ; *e != nullptr; ++e)
    if (std::strncmp(*e, "PGPASSWORD=", 11) != 0) env_store.emplace_back(*e);
  if (!password.empty()) env_store.push_back("PGPASSWORD=" + password);
  std::vector<char*> envp, argv;
  for (auto& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> a = args;
  for (auto& s : a) argv.push_back(s.data());
  argv.push_back(nullptr);
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) return {};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
  if (capture_stdout) posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
  else posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  close(pipefd[1]);
  ChildResult out;
  if (rc != 0) {
    close(pipefd[0]);
    out.err = std::string(argv[0]) + ": " + std::strerror(rc);
    return out;
  }
  char buf[4096];
  ssize_t n;
  while ((n = read(pipefd[0], buf, sizeof buf)) > 0) out.err.append(buf, static_cast<std::size_t>(n));
  close(pipefd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  while (!out.err.empty() && out.err.back() == '\n') out.err.pop_back();
  return out;
}

}  // namespace

Result<void> PostgresStore::backup_to(const std::string& file) {
  const std::string partial = file + ".partial";
  auto r = run_child({"pg_dump", "--format=custom", "--compress=6", "--no-owner", "--file=" + partial,
                      "--dbname=" + redact_url(conn_.url())},
                     password_of(conn_.url()));
  if (r.exit_code != 0) {
    std::remove(partial.c_str());
    return fail(ErrorCode::Unavailable, "pg_dump failed: " + r.err, conn_.where());
  }
  if (std::rename(partial.c_str(), file.c_str()) != 0)
    return fail(ErrorCode::Unavailable, "cannot rename to " + file + ": " + std::strerror(errno));
  return {};
}

Result<void> restore_postgres(const std::string& file, const OpenOptions& options) {
  const std::string where = redact_url(options.url);
  // Verify the archive before touching the database.
  auto listed = run_child({"pg_restore", "--list", file}, "", /*capture_stdout=*/true);
  if (listed.exit_code != 0)
    return fail(ErrorCode::InvalidArgument, "backup " + file + " is not a pg_dump archive: " + listed.err, where);
  if (listed.err.find("TABLE DATA public opsrun_schema") == std::string::npos)
    return fail(ErrorCode::InvalidArgument, "backup " + file + " is not a backup of an opsrun store", where);
  PgConn conn(options.url);
  auto locked = conn.exec("SELECT pg_try_advisory_lock(" + std::to_string(kOwnerLockKey) + ")");
  if (!locked) return std::unexpected(locked.error());
  if (std::string(PQgetvalue(locked->get(), 0, 0)) != "t")
    return fail(ErrorCode::Conflict, "the store is in use (a server or a run has it open); stop it before restoring", where);
  auto r = run_child({"pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
                      "--dbname=" + where, file},
                     password_of(options.url));
  (void)conn.exec("SELECT pg_advisory_unlock(" + std::to_string(kOwnerLockKey) + ")");
  if (r.exit_code != 0) return fail(ErrorCode::Internal, "pg_restore failed: " + r.err, where);
  return {};
}

}  // namespace opsrun::store::postgres
