// Turns the loaded opsrun.yaml into server options and the token store.
#pragma once

#include "opsrun/config/config.h"
#include "opsrun/server/http_server.h"

namespace opsrun::server {

// Listen address, limits, open endpoints and TLS paths; health hooks are left to the daemon.
ServerOptions server_options_from_config(const config::Config& c);
// The configured tokens plus OPSRUN_BOOTSTRAP_TOKEN when set.
[[nodiscard]] Result<TokenStore> tokens_from_config(const config::Config& c);

}  // namespace opsrun::server
