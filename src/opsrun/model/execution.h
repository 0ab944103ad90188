// The execution record, with the seed system's field and status names.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "opsrun/common/clock.h"
#include "opsrun/common/json.h"

namespace opsrun::model {

enum class ExecutionStatus {
  Pending,
  Running,
  Waiting,
  NeedsAttention,
  Completed,
  Failed,
  Cancelled,
  Blocked,
};
std::string_view to_string(ExecutionStatus s);
std::optional<ExecutionStatus> execution_status_from_string(std::string_view s);
bool is_terminal(ExecutionStatus s);

enum class HistoryStatus { Success, Failure, Skipped };
std::string_view to_string(HistoryStatus s);

struct HistoryEntry {
  std::string step_id;
  HistoryStatus status = HistoryStatus::Success;
  SystemTime start_time;
  SystemTime end_time;
  Json result;                                  // null when none
  std::string error;
  int attempts = 1;
  int index = -1;                               // loop index, -1 outside loops
};

struct ErrorEntry {
  std::string step;
  std::string error;
  SystemTime timestamp;
};

struct Execution {
  std::string execution_id;
  std::string runbook_id;
  std::string runbook_version;
  ExecutionStatus status = ExecutionStatus::Pending;
  std::string current_step;
  SystemTime start_time;
  std::optional<SystemTime> end_time;
  Json context = JsonObject{};
  Json results = JsonObject{};
  std::vector<ErrorEntry> errors;
  std::vector<HistoryEntry> history;
  std::string attention_reason;                 // why needs_attention / blocked
  bool dry_run = false;
};

// {executionId, runbookId, status, currentStep, startTime, endTime, context, results,
//  errors, history, ...} as the seed's API answers.
Json execution_to_json(const Execution& e);

}  // namespace opsrun::model
