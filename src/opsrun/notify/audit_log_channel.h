// The `audit-log` channel.
//
// PLACEHOLDER: the audit module (hash-chained records) replaces this channel later. Until
// then it appends one JSON line per notification to a file when a path is set, and otherwise
// writes a log line tagged `audit`. Nothing should depend on the file's exact format.
#pragma once

#include <mutex>
#include <string>

#include "opsrun/notify/channel.h"

namespace opsrun::notify {

class AuditLogChannel final : public Channel {
 public:
  AuditLogChannel() = default;
  explicit AuditLogChannel(std::string path) : path_(std::move(path)) {}

  [[nodiscard]] std::string name() const override { return "audit-log"; }
  Result<void> send(const Notification& n) override;
  // Empty: log lines instead of a file.
  void set_path(std::string path);

 private:
  std::mutex mu_;
  std::string path_;
};

}  // namespace opsrun::notify
