// Builds one configured channel from a YAML `channels:` entry, the way serve does.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "opsrun/config/config.h"
#include "opsrun/notify/configured.h"

namespace opsrun::testing {

// `entry` is the YAML under `channels:` (indented by two spaces).
inline std::shared_ptr<notify::Channel> channel_from_yaml(const std::string& entry, Clock& clock,
                                                          notify::KeyValue memory = {}) {
  auto cfg = config::load_text("channels:\n" + entry, "test.yaml");
  if (!cfg) {
    ADD_FAILURE() << cfg.error().describe();
    return nullptr;
  }
  if (cfg->channels.size() != 1) {
    ADD_FAILURE() << "expected one channel";
    return nullptr;
  }
  return notify::make_channel(cfg->channels[0], notify::ChannelDeps{clock, std::move(memory)});
}

// Delivers with stderr captured and expects a failure that shows `secret` neither in the
// error nor in any log line written meanwhile; returns the error.
inline Error failure_hiding(notify::Channel& channel, const notify::Notification& n,
                            const std::string& secret) {
  ::testing::internal::CaptureStderr();
  auto r = channel.deliver(n);
  const std::string logs = ::testing::internal::GetCapturedStderr();
  if (r) {
    ADD_FAILURE() << "delivered, expected a failure";
    return Error{ErrorCode::Internal, "delivered", {}};
  }
  EXPECT_EQ(r.error().describe().find(secret), std::string::npos) << r.error().describe();
  EXPECT_EQ(logs.find(secret), std::string::npos) << logs;
  return r.error();
}

inline notify::Notification alert(std::string message, notify::Severity s = notify::Severity::P1,
                                  std::string key = "",
                                  notify::Action a = notify::Action::Trigger) {
  notify::Notification n;
  n.execution_id = "exec-42";
  n.runbook_id = "disk-cleanup";
  n.step_id = "tell";
  n.message = std::move(message);
  n.severity = s;
  n.key = std::move(key);
  n.action = a;
  return n;
}

}  // namespace opsrun::testing
