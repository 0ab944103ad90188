// A runbook with one notify step to the channels `hook` and `dead` (severity, key template),
// for tests that run it through the real binary with configured channels.
#pragma once

namespace opsrun::testing {

inline constexpr const char* kTellRunbook = R"(id: tell
start: tell
steps:
  - id: tell
    type: notify
    channels: [hook, dead]
    message: "disk full on {{ ctx.host }}"
    severity: P1
    key: "disk-{{ ctx.host }}"
)";

}  // namespace opsrun::testing
