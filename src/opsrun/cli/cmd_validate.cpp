#include <cstdio>
#include <filesystem>

#include "opsrun/cli/commands.h"
#include "opsrun/model/runbook_yaml.h"

namespace opsrun::cli {

int cmd_validate(const std::vector<std::string>& paths) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  for (const auto& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      for (const auto& e : fs::directory_iterator(p, ec))
        if (e.path().extension() == ".yaml" || e.path().extension() == ".yml")
          files.push_back(e.path().string());
    } else {
      files.push_back(p);
    }
  }
  std::sort(files.begin(), files.end());
  int invalid = 0;
  for (const auto& f : files) {
    auto r = model::load_runbook_file(f);
    for (const auto& d : r.diagnostics) std::fprintf(stderr, "%s\n", d.describe().c_str());
    if (r.ok()) {
      std::printf("%s: ok (%s, %zu steps)\n", f.c_str(), r.runbook->id.c_str(), r.runbook->steps.size());
    } else {
      ++invalid;
      std::printf("%s: invalid\n", f.c_str());
    }
  }
  if (files.empty()) {
    std::fprintf(stderr, "validate: no runbook files given\n");
    return kExitInvalid;
  }
  return invalid == 0 ? kExitOk : kExitInvalid;
}

}  // namespace opsrun::cli
