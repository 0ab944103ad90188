#include "opsrun/config/config.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <fstream>
#include <sstream>

#include "opsrun/config/yaml_reader_internal.h"

namespace opsrun::config {
namespace {

using detail::ConfigError;

class Loader : public detail::YamlReader {
 public:
  using YamlReader::YamlReader;

  Config load(const YAML::Node& root) {
    Config c;
    if (root.IsNull()) return c;
    fields(
        root, "",
        {"listen", "store", "runbooks", "tokens", "open_endpoints", "limits", "tls", "audit",
         "channels", "policies", "triggers", "schedules", "azure"},
        [&](const std::string& k, const YAML::Node& v) {
          if (k == "listen") {
            auto hp = parse_listen(str(v, k));
            if (!hp) error(v, "listen: " + hp.error().message);
            c.listen_host = hp->first;
            c.listen_port = hp->second;
          } else if (k == "store") {
            fields(v, "store", {"data_dir", "url"},
                   [&](const std::string& sk, const YAML::Node& sv) {
                     (sk == "data_dir" ? c.store.data_dir : c.store.url) = str(sv, "store." + sk);
                   });
          } else if (k == "runbooks") {
            if (!v.IsSequence()) error(v, "runbooks: expected a list of directories");
            for (const auto& e : v) c.runbook_dirs.push_back(str(e, "runbooks[]"));
          } else if (k == "tokens") {
            if (!v.IsSequence()) error(v, "tokens: expected a list");
            for (const auto& e : v) {
              TokenConfig t;
              fields(e, "tokens[]", {"name", "role", "hash"},
                     [&](const std::string& tk, const YAML::Node& tv) {
                       std::string s = str(tv, "tokens[]." + tk);
                       if (tk == "name") t.name = s;
                       if (tk == "role") {
                         if (s != "viewer" && s != "operator" && s != "admin") {
                           error(tv, "tokens[].role: expected viewer, operator or admin, got '" +
                                         s + "'");
                         }
                         t.role = s;
                       }
                       if (tk == "hash") {
                         bool ok = s.starts_with("sha256:") && s.size() == 71 &&
                                   s.find_first_not_of("0123456789abcdef", 7) == std::string::npos;
                         if (!ok)
                           error(tv,
                                 "tokens[].hash: expected sha256:<64 lowercase hex> (opsrun token "
                                 "new prints one)");
                         t.hash = s;
                       }
                     });
              if (t.name.empty() || t.role.empty() || t.hash.empty()) {
                error(e, "tokens[]: name, role and hash are all required");
              }
              c.tokens.push_back(t);
            }
          } else if (k == "open_endpoints") {
            fields(v, k, {"health", "metrics"}, [&](const std::string& sk, const YAML::Node& sv) {
              (sk == "health" ? c.open_endpoints.health : c.open_endpoints.metrics) =
                  boolean(sv, k + "." + sk);
            });
          } else if (k == "limits") {
            fields(v, k,
                   {"max_body_bytes", "max_header_bytes", "request_timeout", "idle_timeout",
                    "max_connections"},
                   [&](const std::string& sk, const YAML::Node& sv) {
                     const std::string key = k + "." + sk;
                     if (sk == "max_body_bytes") c.limits.max_body_bytes = number(sv, key);
                     if (sk == "max_header_bytes") c.limits.max_header_bytes = number(sv, key);
                     if (sk == "request_timeout") c.limits.request_timeout = duration(sv, key);
                     if (sk == "idle_timeout") c.limits.idle_timeout = duration(sv, key);
                     if (sk == "max_connections") {
                       auto n = number(sv, key);
                       if (n == 0 || n > 1'000'000) error(sv, key + ": expected 1 to 1000000");
                       c.limits.max_connections = static_cast<std::uint32_t>(n);
                     }
                   });
          } else if (k == "tls") {
            fields(v, k, {"cert", "key"}, [&](const std::string& sk, const YAML::Node& sv) {
              (sk == "cert" ? c.tls.cert : c.tls.key) = str(sv, "tls." + sk);
            });
            if (c.tls.cert.empty() != c.tls.key.empty()) error(v, "tls: set both cert and key");
          } else if (k == "audit") {
            fields(v, k, {"jsonl", "jsonl_max_bytes", "jsonl_keep"},
                   [&](const std::string& sk, const YAML::Node& sv) {
                     const std::string key = k + "." + sk;
                     if (sk == "jsonl") c.audit.jsonl_path = str(sv, key);
                     if (sk == "jsonl_max_bytes") {
                       c.audit.jsonl_max_bytes = number(sv, key);
                       if (c.audit.jsonl_max_bytes < 4096) error(sv, key + ": expected at least 4096");
                     }
                     if (sk == "jsonl_keep") {
                       auto n = number(sv, key);
                       if (n < 1 || n > 1000) error(sv, key + ": expected 1 to 1000");
                       c.audit.jsonl_keep = static_cast<int>(n);
                     }
                   });
          } else if (k == "channels") {
            c.channels = detail::read_channels(*this, v);
          } else if (k == "policies") {
            c.policies = raw(v);
          } else if (k == "triggers") {
            c.triggers = raw(v);
          } else if (k == "schedules") {
            c.schedules = raw(v);
          } else if (k == "azure") {
            c.azure = raw(v);
          }
        });
    return c;
  }
};

}  // namespace

Result<std::pair<std::string, std::uint16_t>> parse_listen(std::string_view text) {
  std::string host;
  std::string_view port;
  if (text.starts_with("[")) {
    auto close = text.find("]:");
    if (close == std::string_view::npos) {
      return fail(ErrorCode::InvalidArgument, "expected [ipv6]:port");
    }
    host = std::string(text.substr(1, close - 1));
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return fail(ErrorCode::InvalidArgument,
                  "expected host:port, got '" + std::string(text) + "'");
    }
    host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
  }
  unsigned v = 0;
  auto r = std::from_chars(port.data(), port.data() + port.size(), v);
  if (host.empty() || port.empty() || r.ec != std::errc{} || r.ptr != port.data() + port.size() ||
      v > 65535) {
    return fail(ErrorCode::InvalidArgument,
                "expected host:port with a port 0-65535, got '" + std::string(text) + "'");
  }
  return std::pair{host, static_cast<std::uint16_t>(v)};
}

Result<Config> load_text(std::string_view text, std::string_view name) {
  Loader l{std::string(name)};
  try {
    YAML::Node root = YAML::Load(std::string(text));
    return l.load(root);
  } catch (const ConfigError& e) {
    return fail(ErrorCode::InvalidArgument, e.message, e.where);
  } catch (const YAML::Exception& e) {
    return fail(ErrorCode::InvalidArgument, e.msg,
                std::string(name) + ":" + std::to_string(e.mark.line + 1) + ":" +
                    std::to_string(e.mark.column + 1));
  }
}

Result<Config> load_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return fail(ErrorCode::NotFound, "cannot read config file", path.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return load_text(ss.str(), path.string());
}

}  // namespace opsrun::config
