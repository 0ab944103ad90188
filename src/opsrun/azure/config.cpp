#include "opsrun/azure/config.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace opsrun::azure {

namespace {

struct Reader {
  const std::string& file;
  std::string error;

  bool bad(const std::string& field, const std::string& message) {
    if (error.empty()) error = file + ": " + field + ": " + message;
    return false;
  }
  bool object(const Json& parent, const char* key, const std::string& field,
              const JsonObject*& out) {
    out = nullptr;
    const auto* v = parent.as_object().if_contains(key);
    if (v == nullptr || v->is_null()) return true;
    if (!v->is_object()) return bad(field, "must be an object");
    out = &v->as_object();
    return true;
  }
  bool string(const JsonObject& o, const char* key, const std::string& field, std::string& out) {
    const auto* v = o.if_contains(key);
    if (v == nullptr || v->is_null()) return true;
    if (!v->is_string()) return bad(field, "must be a string");
    out = std::string(v->as_string());
    return true;
  }
  bool boolean(const JsonObject& o, const char* key, const std::string& field, bool& out) {
    const auto* v = o.if_contains(key);
    if (v == nullptr || v->is_null()) return true;
    if (!v->is_bool()) return bad(field, "must be true or false");
    out = v->as_bool();
    return true;
  }
  bool integer(const JsonObject& o, const char* key, const std::string& field, int min, int& out) {
    const auto* v = o.if_contains(key);
    if (v == nullptr || v->is_null()) return true;
    if (!v->is_int64() && !v->is_uint64()) return bad(field, "must be a whole number");
    const long long n = v->is_int64() ? v->as_int64() : static_cast<long long>(v->as_uint64());
    if (n < min || n > 86400)
      return bad(field, "must be between " + std::to_string(min) + " and 86400");
    out = static_cast<int>(n);
    return true;
  }
};

bool read_servicenow(Reader& r, const JsonObject& sn, AzureEventsConfig& cfg) {
  notify::ServiceNowSettings s;
  if (!r.string(sn, "instance_url", "servicenow.instance_url", s.instance_url) ||
      !r.string(sn, "username", "servicenow.username", s.username) ||
      !r.string(sn, "password", "servicenow.password", s.password) ||
      !r.string(sn, "auth_type", "servicenow.auth_type", s.auth_type) ||
      !r.string(sn, "client_id", "servicenow.client_id", s.client_id) ||
      !r.string(sn, "client_secret", "servicenow.client_secret", s.client_secret) ||
      !r.string(sn, "assignment_group", "servicenow.assignment_group",
                cfg.incident.assignment_group) ||
      !r.string(sn, "caller_id", "servicenow.caller_id", cfg.incident.caller_id) ||
      !r.string(sn, "vm_identifier", "servicenow.vm_identifier", cfg.incident.vm_identifier))
    return false;
  if (s.auth_type.empty()) s.auth_type = "basic";
  if (s.instance_url.empty())
    return r.bad("servicenow.instance_url", "required when the servicenow section is present");
  if (s.auth_type != "basic" && s.auth_type != "oauth")
    return r.bad("servicenow.auth_type", "must be basic or oauth");
  if (s.auth_type == "basic" && s.username.empty())
    return r.bad("servicenow.username", "required for basic auth");
  if (s.auth_type == "basic" && s.password.empty())
    return r.bad("servicenow.password", "required for basic auth");
  if (auto ok = notify::ServiceNowClient::validate(s); !ok)
    return r.bad("servicenow", ok.error().message);
  cfg.servicenow = std::move(s);
  return true;
}

}  // namespace

Result<AzureEventsConfig> parse_config(std::string_view json_text, const std::string& file) {
  auto parsed = parse_json(json_text);
  if (!parsed) return fail(ErrorCode::InvalidArgument, file + ": " + parsed.error().message);
  if (!parsed->is_object())
    return fail(ErrorCode::InvalidArgument, file + ": the top level must be a JSON object");
  AzureEventsConfig cfg;
  Reader r{file, {}};
  const auto& top = parsed->as_object();
  const JsonObject* automation = nullptr;
  const JsonObject* sn = nullptr;
  bool ok = r.string(top, "imds_url", "imds_url", cfg.imds_url) &&
            r.integer(top, "poll_interval", "poll_interval", 1, cfg.poll_interval_seconds) &&
            r.string(top, "vm_name", "vm_name", cfg.vm_name) &&
            r.object(*parsed, "automation", "automation", automation) &&
            r.object(*parsed, "servicenow", "servicenow", sn);
  if (ok && automation != nullptr) {
    ok = r.boolean(*automation, "dry_run", "automation.dry_run", cfg.dry_run) &&
         r.string(*automation, "runbook_dir", "automation.runbook_dir", cfg.runbook_dir) &&
         r.integer(*automation, "default_drain_seconds", "automation.default_drain_seconds", 1,
                   cfg.default_drain_seconds);
    if (const auto* drain = automation->if_contains("drain");
        ok && drain != nullptr && !drain->is_null()) {
      if (!drain->is_object())
        ok = r.bad("automation.drain", "must be an object");
      else
        cfg.drain_context = *drain;
    }
  }
  if (ok && sn != nullptr) ok = read_servicenow(r, *sn, cfg);
  if (ok && cfg.imds_url.rfind("http://", 0) != 0 && cfg.imds_url.rfind("https://", 0) != 0)
    ok = r.bad("imds_url", "must start with http:// or https://");
  if (!ok) return fail(ErrorCode::InvalidArgument, r.error);
  // The drain runbooks call the hook script shipped beside them unless told otherwise.
  auto& ctx = cfg.drain_context.as_object();
  if (!ctx.contains("drain_script"))
    ctx["drain_script"] =
        (std::filesystem::absolute(cfg.runbook_dir) / "scripts" / "azure-drain.sh")
            .lexically_normal()
            .string();
  return cfg;
}

Result<AzureEventsConfig> load_config_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return fail(ErrorCode::InvalidArgument, path + ": cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), path);
}

}  // namespace opsrun::azure
