// `opsrun serve`: the composition root of the long-running service.
#pragma once

#include <string>
#include <vector>

namespace opsrun::server {

struct DaemonFlags {
  std::string config_file;                      // --config; empty: ./opsrun.yaml if present
  std::string listen;                           // --listen host:port (overrides the config)
  std::string data_dir;                         // --data-dir (overrides the config)
  std::string store_url;                        // --store (overrides the config)
  std::vector<std::string> runbook_dirs;        // --runbooks (added to the config's)
  int grace_seconds = 10;                       // running steps may finish within this
  std::string policy_file;                      // --policy: a safety policy file (wins over
                                                // the config's `policies:` section)
};

// Serves until SIGTERM or SIGINT; returns the process exit code.
int run_daemon(const DaemonFlags& flags);

}  // namespace opsrun::server
