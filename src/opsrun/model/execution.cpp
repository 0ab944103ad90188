#include "opsrun/model/execution.h"

#include <array>

namespace opsrun::model {

namespace {

constexpr std::array<std::pair<ExecutionStatus, std::string_view>, 8> kStatuses{{
    {ExecutionStatus::Pending, "pending"},
    {ExecutionStatus::Running, "running"},
    {ExecutionStatus::Waiting, "waiting"},
    {ExecutionStatus::NeedsAttention, "needs_attention"},
    {ExecutionStatus::Completed, "completed"},
    {ExecutionStatus::Failed, "failed"},
    {ExecutionStatus::Cancelled, "cancelled"},
    {ExecutionStatus::Blocked, "blocked"},
}};

}  // namespace

std::string_view to_string(ExecutionStatus s) {
  for (const auto& [status, name] : kStatuses)
    if (status == s) return name;
  return "pending";
}

std::optional<ExecutionStatus> execution_status_from_string(std::string_view s) {
  for (const auto& [status, name] : kStatuses)
    if (name == s) return status;
  return std::nullopt;
}

bool is_terminal(ExecutionStatus s) {
  return s == ExecutionStatus::Completed || s == ExecutionStatus::Failed ||
         s == ExecutionStatus::Cancelled || s == ExecutionStatus::Blocked;
}

std::string_view to_string(HistoryStatus s) {
  switch (s) {
    case HistoryStatus::Success: return "success";
    case HistoryStatus::Failure: return "failure";
    case HistoryStatus::Skipped: return "skipped";
  }
  return "success";
}

Json execution_to_json(const Execution& e) {
  JsonObject o;
  o["executionId"] = e.execution_id;
  o["runbookId"] = e.runbook_id;
  o["runbookVersion"] = e.runbook_version;
  o["status"] = to_string(e.status);
  if (!e.current_step.empty()) o["currentStep"] = e.current_step;
  o["startTime"] = format_time(e.start_time);
  if (e.end_time) o["endTime"] = format_time(*e.end_time);
  o["context"] = e.context;
  o["results"] = e.results;
  JsonArray errors;
  for (const auto& err : e.errors) {
    JsonObject j;
    j["step"] = err.step;
    j["error"] = err.error;
    j["timestamp"] = format_time(err.timestamp);
    errors.emplace_back(std::move(j));
  }
  o["errors"] = std::move(errors);
  JsonArray history;
  for (const auto& h : e.history) {
    JsonObject j;
    j["stepId"] = h.step_id;
    j["status"] = to_string(h.status);
    j["startTime"] = format_time(h.start_time);
    j["endTime"] = format_time(h.end_time);
    if (!h.result.is_null()) j["result"] = h.result;
    if (!h.error.empty()) j["error"] = h.error;
    j["attempts"] = h.attempts;
    if (h.index >= 0) j["index"] = h.index;
    history.emplace_back(std::move(j));
  }
  o["history"] = std::move(history);
  if (!e.attention_reason.empty()) o["reason"] = e.attention_reason;
  o["dryRun"] = e.dry_run;
  return o;
}

}  // namespace opsrun::model
