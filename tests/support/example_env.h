// The environment variables examples/opsrun.yaml references (its channel secrets), set to
// placeholder values so tests can load the shipped example.
#pragma once

#include <stdlib.h>

namespace opsrun::testing {

inline void set_example_env() {
  setenv("SLACK_BOT_TOKEN", "xoxb-example-token", 1);
  setenv("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T000/B000/example", 1);
  setenv("PAGERDUTY_ROUTING_KEY", "0123456789abcdef0123456789abcdef", 1);
  setenv("SMTP_PASSWORD", "example-smtp-password", 1);
  setenv("SERVICENOW_PASSWORD", "example-sn-password", 1);
  setenv("WEBHOOK_HMAC_SECRET", "example-hmac-secret", 1);
}

}  // namespace opsrun::testing
