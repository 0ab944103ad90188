// Loading runbooks from YAML, and validating any runbook (YAML-made or built in C++).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "opsrun/model/runbook.h"

namespace opsrun::model {

struct Diagnostic {
  enum class Severity { Error, Warning };
  Severity severity = Severity::Error;
  std::string file;
  int line = 0;                                 // 1-based; 0 when unknown
  int column = 0;
  std::string field;                            // "steps[2].retry.delay"
  std::string message;

  // "file:line:column: error: steps[2].retry.delay: bad duration '5x' ..."
  [[nodiscard]] std::string describe() const;
};

struct LoadResult {
  RunbookPtr runbook;                           // null when any error was found
  std::vector<Diagnostic> diagnostics;          // errors and warnings, in file order
  [[nodiscard]] bool ok() const { return runbook != nullptr; }
};

LoadResult load_runbook_file(const std::string& path);
LoadResult load_runbook_text(std::string_view yaml, const std::string& file_name);

// Semantic checks on a parsed runbook: start exists, references resolve, ids unique,
// unreachable steps (warning), decisions' branches lead somewhere, parallel/loop bodies.
std::vector<Diagnostic> validate_runbook(const Runbook& rb);

}  // namespace opsrun::model
