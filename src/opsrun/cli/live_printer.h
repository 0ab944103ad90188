// Shows an execution's steps as they happen: colour on a terminal, plain text otherwise.
#pragma once

#include <cstdio>
#include <string>

#include "opsrun/engine/engine.h"

namespace opsrun::cli {

class LivePrinter {
 public:
  LivePrinter(engine::EventBus& bus, std::FILE* out);
  ~LivePrinter();
  LivePrinter(const LivePrinter&) = delete;
  LivePrinter& operator=(const LivePrinter&) = delete;

 private:
  void print(const engine::BusEvent& ev);

  engine::EventBus& bus_;
  std::FILE* out_;
  bool colour_;
  std::uint64_t subscription_;
};

// The final summary line and the errors of a finished execution.
void print_summary(const model::Execution& e, std::FILE* out);
// A history as a timeline (for `opsrun executions show`).
void print_timeline(const model::Execution& e, std::FILE* out);

}  // namespace opsrun::cli
