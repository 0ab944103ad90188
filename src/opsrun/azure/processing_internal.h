// Processing one batch of new Scheduled events (watcher.cpp's Step 1/2/3). Internal.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "opsrun/azure/watcher.h"
#include "opsrun/metrics/registry.h"

namespace opsrun::azure::detail {

struct DrainOutcome {
  ScheduledEvent event;
  std::string runbook_id;
  std::string execution_id;
  bool success = false;
  std::vector<std::string> actions;  // "stop-services: ok", "flush-cache: FAILED: ..."
  std::string failure;               // why it failed, when it did
  double seconds = 0;
  bool acknowledged = false;
  double reduction_seconds = 0;  // NotBefore minus the acknowledgement time
};

struct BatchReport {
  std::vector<DrainOutcome> drains;
  bool drain_success = true;
  bool ack_attempted = false;
  bool ack_success = false;
  std::string ack_note;  // why skipped / why failed
  bool incident_success = false;
  std::string incident_note;  // number and link, or the error, or why none
  bool interrupted = false;   // stopped while draining
};

// Runs the whole batch; prints the report through parts.print. When `stopping` turns true
// while a drain runs, the batch ends at once without acknowledging (the drain execution is
// left to the engine's shutdown and recovery).
BatchReport process_batch(WatcherParts& parts, const WatcherOptions& options,
                          const std::string& vm_name, const std::vector<ScheduledEvent>& events,
                          const std::function<bool()>& stopping);

// The four metrics, registered on first use (the watcher registers them at start so they
// show from the first scrape).
struct AzureMetrics {
  metrics::CounterFamily& events;     // azure_scheduled_events_total{type}
  metrics::Counter& acknowledged;     // azure_events_acknowledged_total
  metrics::Histogram& drain_seconds;  // azure_drain_duration_seconds
  metrics::Histogram& reduction;      // azure_impact_window_reduction_seconds
};
AzureMetrics azure_metrics(metrics::Registry& registry);

// The incident the seed files (exactly the fields; empty ones dropped).
Json incident_fields(const BatchReport& report, const IncidentFields& incident,
                     const std::string& vm_name);

}  // namespace opsrun::azure::detail
