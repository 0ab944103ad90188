#include <filesystem>

#include "opsrun/cli/commands.h"
#include "opsrun/model/runbook_yaml.h"

namespace opsrun::cli {

namespace {

// "42", "0.5", "true", "null" keep their JSON type; "001" or "x; rm" stay strings.
Json typed_value(const std::string& text) {
  if (text == "true") return true;
  if (text == "false") return false;
  if (text == "null") return nullptr;
  if (!text.empty() && (std::isdigit(static_cast<unsigned char>(text[0])) || text[0] == '-')) {
    auto parsed = parse_json(text);
    if (parsed && parsed->is_number() && to_json_text(*parsed) == text) return *parsed;
    if (parsed && parsed->is_double()) return *parsed;
  }
  return Json(text);
}

}  // namespace

Result<Json> parse_context(const std::vector<std::string>& pairs, const std::string& json) {
  JsonObject ctx;
  if (!json.empty()) {
    auto parsed = parse_json(json);
    if (!parsed) return fail(ErrorCode::InvalidArgument, parsed.error().message, "--ctx-json");
    if (!parsed->is_object())
      return fail(ErrorCode::InvalidArgument, "must be a JSON object", "--ctx-json");
    ctx = parsed->as_object();
  }
  for (const auto& pair : pairs) {
    const auto eq = pair.find('=');
    if (eq == std::string::npos || eq == 0)
      return fail(ErrorCode::InvalidArgument, "expected key=value, got '" + pair + "'", "--ctx");
    ctx[pair.substr(0, eq)] = typed_value(pair.substr(eq + 1));
  }
  return Json(std::move(ctx));
}

Result<model::RunbookPtr> resolve_runbook(const std::string& target,
                                          const std::vector<std::string>& dirs) {
  namespace fs = std::filesystem;
  auto load = [](const std::string& path) -> Result<model::RunbookPtr> {
    auto r = model::load_runbook_file(path);
    if (!r.ok()) {
      std::string text;
      for (const auto& d : r.diagnostics)
        if (d.severity == model::Diagnostic::Severity::Error) text += d.describe() + "\n";
      if (!text.empty()) text.pop_back();
      return fail(ErrorCode::InvalidArgument, text.empty() ? "cannot load " + path : text);
    }
    return r.runbook;
  };
  std::error_code ec;
  if (fs::is_regular_file(target, ec)) return load(target);
  for (const auto& dir : dirs) {
    for (const char* ext : {".yaml", ".yml"}) {
      const fs::path p = fs::path(dir) / (target + ext);
      if (fs::is_regular_file(p, ec)) return load(p.string());
    }
  }
  // Last resort: a file whose id differs from its name.
  for (const auto& dir : dirs) {
    if (!fs::is_directory(dir, ec)) continue;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      const auto ext = entry.path().extension();
      if (ext != ".yaml" && ext != ".yml") continue;
      auto r = model::load_runbook_file(entry.path().string());
      if (r.ok() && r.runbook->id == target) return r.runbook;
    }
  }
  return fail(ErrorCode::NotFound, "no runbook file or id '" + target + "' (looked in " +
                                       (dirs.empty() ? std::string("nowhere") : dirs.front()) + ")");
}

}  // namespace opsrun::cli
