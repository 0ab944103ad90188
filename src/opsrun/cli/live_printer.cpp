#include "opsrun/cli/live_printer.h"

#include <unistd.h>

namespace opsrun::cli {

namespace {

const char* paint(bool colour, const char* code) { return colour ? code : ""; }
constexpr const char* kGreen = "\033[32m";
constexpr const char* kRed = "\033[31m";
constexpr const char* kYellow = "\033[33m";
constexpr const char* kDim = "\033[2m";
constexpr const char* kReset = "\033[0m";

std::string field(const Json& payload, std::string_view key) {
  if (!payload.is_object()) return {};
  const Json* v = payload.as_object().if_contains(key);
  return v == nullptr ? std::string() : json_to_text(*v);
}

std::string one_line(std::string s, std::size_t max = 160) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  if (s.size() > max) s = s.substr(0, max) + "…";
  return s;
}

}  // namespace

LivePrinter::LivePrinter(engine::EventBus& bus, std::FILE* out)
    : bus_(bus), out_(out), colour_(isatty(fileno(out)) != 0) {
  subscription_ = bus_.on("*", [this](const engine::BusEvent& ev) { print(ev); });
}

LivePrinter::~LivePrinter() { bus_.off(subscription_); }

void LivePrinter::print(const engine::BusEvent& ev) {
  const bool c = colour_;
  const std::string idx = field(ev.payload, "index");
  const std::string label = ev.step_id + (idx.empty() ? "" : "[" + idx + "]");
  if (ev.name == "execution:started") {
    std::fprintf(out_, "%s▶ %s%s %s%s\n", paint(c, kDim), ev.runbook_id.c_str(),
                 field(ev.payload, "dryRun") == "true" ? " (dry run)" : "", ev.execution_id.c_str(),
                 paint(c, kReset));
  } else if (ev.name == "step:started") {
    const std::string attempt = field(ev.payload, "attempt");
    std::fprintf(out_, "  %s… %s%s%s\n", paint(c, kDim), label.c_str(),
                 attempt.empty() || attempt == "1" ? "" : (" (attempt " + attempt + ")").c_str(),
                 paint(c, kReset));
  } else if (ev.name == "step:completed") {
    std::string detail;
    if (ev.payload.is_object()) {
      if (const Json* r = ev.payload.as_object().if_contains("result"); r != nullptr && r->is_object()) {
        if (const Json* w = r->as_object().if_contains("wouldRun")) detail = "would run " + to_json_text(*w);
        else if (const Json* v = r->as_object().if_contains("value")) detail = "→ " + json_to_text(*v);
      }
    }
    std::fprintf(out_, "  %s✓%s %s %s\n", paint(c, kGreen), paint(c, kReset), label.c_str(),
                 one_line(detail).c_str());
  } else if (ev.name == "step:retrying") {
    std::fprintf(out_, "  %s↻%s %s failed (%s), retrying in %sms\n", paint(c, kYellow),
                 paint(c, kReset), label.c_str(), one_line(field(ev.payload, "error")).c_str(),
                 field(ev.payload, "delay_ms").c_str());
  } else if (ev.name == "step:failed") {
    std::fprintf(out_, "  %s✗%s %s %s\n", paint(c, kRed), paint(c, kReset), label.c_str(),
                 one_line(field(ev.payload, "error")).c_str());
  } else if (ev.name == "notification:sent") {
    std::fprintf(out_, "  %s✉ %s: %s%s\n", paint(c, kDim), field(ev.payload, "channel").c_str(),
                 one_line(field(ev.payload, "message")).c_str(), paint(c, kReset));
  } else if (ev.name == "execution:waiting") {
    const bool held = field(ev.payload, "reason") == "emergency_stop";
    std::fprintf(out_, "  %s⏸ %s %s: %s%s\n", paint(c, kYellow), ev.step_id.c_str(),
                 held ? "is held" : "waits for approval", field(ev.payload, "message").c_str(), paint(c, kReset));
  } else if (ev.name == "safety:decision" && field(ev.payload, "decision") == "deny") {
    std::fprintf(out_, "  %s⛔ %s denied: %s%s\n", paint(c, kRed), ev.step_id.c_str(),
                 field(ev.payload, "reason").c_str(), paint(c, kReset));
  } else if (ev.name == "execution:needs_attention") {
    std::fprintf(out_, "  %s! needs attention: %s%s\n", paint(c, kYellow),
                 field(ev.payload, "reason").c_str(), paint(c, kReset));
  }
  std::fflush(out_);
}

void print_summary(const model::Execution& e, std::FILE* out) {
  const bool c = isatty(fileno(out)) != 0;
  const bool ok = e.status == model::ExecutionStatus::Completed;
  std::string took;
  if (e.end_time)
    took = " in " + std::to_string(std::chrono::duration_cast<Millis>(*e.end_time - e.start_time).count()) + "ms";
  std::fprintf(out, "%s%s %s%s %s%s\n", paint(c, ok ? kGreen : kRed), ok ? "✔" : "✘",
               std::string(model::to_string(e.status)).c_str(), took.c_str(), e.execution_id.c_str(),
               paint(c, kReset));
  if (!e.attention_reason.empty()) std::fprintf(out, "  reason: %s\n", e.attention_reason.c_str());
  for (const auto& err : e.errors)
    std::fprintf(out, "  error in %s: %s\n", err.step.c_str(), one_line(err.error).c_str());
}

void print_timeline(const model::Execution& e, std::FILE* out) {
  std::fprintf(out, "%s  %s  runbook %s@%s  status %s\n", e.execution_id.c_str(),
               format_time(e.start_time).c_str(), e.runbook_id.c_str(), e.runbook_version.c_str(),
               std::string(model::to_string(e.status)).c_str());
  for (const auto& h : e.history) {
    const auto ms = std::chrono::duration_cast<Millis>(h.end_time - h.start_time).count();
    std::string line = "  " + format_time(h.start_time) + "  " + std::string(model::to_string(h.status));
    line.resize(std::max<std::size_t>(line.size(), 36), ' ');
    line += h.step_id + (h.index >= 0 ? "[" + std::to_string(h.index) + "]" : "");
    line += "  " + std::to_string(ms) + "ms";
    if (h.attempts > 1) line += "  attempts " + std::to_string(h.attempts);
    if (!h.error.empty()) line += "  " + one_line(h.error);
    std::fprintf(out, "%s\n", line.c_str());
  }
  if (e.end_time) std::fprintf(out, "  %s  end\n", format_time(*e.end_time).c_str());
  if (!e.attention_reason.empty()) std::fprintf(out, "  reason: %s\n", e.attention_reason.c_str());
}

}  // namespace opsrun::cli
