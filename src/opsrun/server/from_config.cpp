#include "opsrun/server/from_config.h"

namespace opsrun::server {

ServerOptions server_options_from_config(const config::Config& c) {
  ServerOptions o;
  o.host = c.listen_host;
  o.port = c.listen_port;
  o.max_body_bytes = c.limits.max_body_bytes;
  o.max_header_bytes =
      static_cast<std::uint32_t>(std::min<std::uint64_t>(c.limits.max_header_bytes, UINT32_MAX));
  o.request_timeout = c.limits.request_timeout;
  o.idle_timeout = c.limits.idle_timeout;
  o.max_connections = c.limits.max_connections;
  o.open_health = c.open_endpoints.health;
  o.open_metrics = c.open_endpoints.metrics;
  o.tls_cert = c.tls.cert;
  o.tls_key = c.tls.key;
  return o;
}

Result<TokenStore> tokens_from_config(const config::Config& c) {
  std::vector<TokenEntry> entries;
  for (const auto& t : c.tokens) {
    auto role = parse_role(t.role);
    if (!role) return std::unexpected(role.error());
    entries.push_back(TokenEntry{t.name, *role, t.hash});
  }
  auto store = TokenStore::create(std::move(entries));
  if (!store) return store;
  store->add_bootstrap_from_env();
  return store;
}

}  // namespace opsrun::server
