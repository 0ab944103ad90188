#include "opsrun/notify/audit_log_channel.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "opsrun/common/clock.h"
#include "opsrun/common/log.h"

namespace opsrun::notify {

void AuditLogChannel::set_path(std::string path) {
  std::lock_guard g(mu_);
  path_ = std::move(path);
}

Result<void> AuditLogChannel::send(const Notification& n) {
  JsonObject rec{{"timestamp", format_time(std::chrono::system_clock::now())},
                 {"kind", "notification"},
                 {"execution", n.execution_id},
                 {"runbook", n.runbook_id},
                 {"step", n.step_id},
                 {"severity", to_string(n.severity)},
                 {"message", n.message},
                 {"details", n.details}};
  std::lock_guard g(mu_);
  if (path_.empty()) {
    log::info("audit", {{"tag", "audit"}, {"record", to_json_text(rec)}});
    return {};
  }
  const std::string line = to_json_text(rec) + "\n";
  // O_APPEND and one write() per record keep lines whole even with several writers.
  const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0)
    return fail(ErrorCode::Unavailable, "audit-log: cannot open " + path_ + ": " + std::strerror(errno));
  const ssize_t w = ::write(fd, line.data(), line.size());
  const int err = errno;
  ::close(fd);
  if (w != static_cast<ssize_t>(line.size()))
    return fail(ErrorCode::Unavailable, "audit-log: cannot write " + path_ + ": " + std::strerror(err));
  return {};
}

}  // namespace opsrun::notify
