// opsrun.yaml: the daemon's configuration (docs/configuration.md describes every key).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "opsrun/common/duration.h"
#include "opsrun/common/error.h"
#include "opsrun/common/json.h"
#include "opsrun/config/channels.h"

namespace opsrun::config {

struct StoreConfig {
  std::string data_dir;  // embedded SQLite under this directory (default when url is empty)
  std::string url;       // e.g. postgresql://... ; wins over data_dir when set
};

struct TokenConfig {
  std::string name;
  std::string role;  // viewer | operator | admin (checked here)
  std::string hash;  // "sha256:<64 hex>" (checked here)
};

struct OpenEndpoints {
  bool health = true;   // /health, /health/ready, /health/db without a token
  bool metrics = true;  // /metrics without a token
};

struct Limits {
  std::uint64_t max_body_bytes = 1024 * 1024;
  std::uint64_t max_header_bytes = 16 * 1024;
  Millis request_timeout{30'000};
  Millis idle_timeout{60'000};
  std::uint32_t max_connections = 256;
};

struct TlsConfig {
  std::string cert;  // PEM file; TLS is on when both are set
  std::string key;
  [[nodiscard]] bool enabled() const { return !cert.empty() && !key.empty(); }
};

struct AuditConfig {
  std::string jsonl_path;                       // a JSON-lines copy of the audit log; empty: none
  std::uint64_t jsonl_max_bytes = 64ULL * 1024 * 1024;
  int jsonl_keep = 5;                           // rotated files kept
};

struct Config {
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 8080;
  StoreConfig store;
  std::vector<std::string> runbook_dirs;
  std::vector<TokenConfig> tokens;
  OpenEndpoints open_endpoints;
  Limits limits;
  TlsConfig tls;
  AuditConfig audit;
  std::vector<ChannelConfig> channels;          // in file order
  // Owned by later modules: accepted as they are (after ${VAR} expansion), validated there.
  Json policies;
  Json triggers;
  Json schedules;
  Json azure;
};

// Parses "host:port" ("[::1]:8080" for IPv6; port 0 asks for a free port).
[[nodiscard]] Result<std::pair<std::string, std::uint16_t>> parse_listen(std::string_view text);

// Loads and checks a file. Errors carry where = "file:line:column": unknown keys, wrong types,
// a ${VAR} whose variable is unset (named in the message).
[[nodiscard]] Result<Config> load_file(const std::filesystem::path& path);
// The same from text; `name` stands in for the file name in error locations.
[[nodiscard]] Result<Config> load_text(std::string_view text,
                                       std::string_view name = "opsrun.yaml");

}  // namespace opsrun::config
