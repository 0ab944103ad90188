#include "opsrun/azure/processing_internal.h"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <mutex>

#include "opsrun/common/duration.h"
#include "opsrun/common/log.h"
#include "opsrun/engine/engine.h"
#include "opsrun/metrics/registry.h"
#include "opsrun/notify/servicenow_client.h"

namespace opsrun::azure::detail {

namespace {

using std::chrono::duration_cast;

double seconds_between(SystemTime a, SystemTime b) {
  return std::chrono::duration<double>(b - a).count();
}

// How long the drain of `e` may take: until NotBefore less the margin, within bounds.
Millis drain_budget(const ScheduledEvent& e, const WatcherOptions& o, SystemTime now) {
  if (!e.not_before) return o.default_drain;
  const auto left = duration_cast<Millis>(*e.not_before - now) - o.deadline_margin;
  return std::max(left, o.min_drain);
}

Json drain_context(const ScheduledEvent& e, const WatcherOptions& o, const std::string& vm_name) {
  JsonObject ctx = o.drain_context.is_object() ? o.drain_context.as_object() : JsonObject{};
  ctx["event_id"] = e.id;
  ctx["event_type"] = e.type == EventType::Unknown ? e.type_text : std::string(to_string(e.type));
  ctx["event_source"] = e.source;
  ctx["not_before"] = e.not_before ? format_time(*e.not_before) : std::string();
  ctx["vm_name"] = vm_name;
  ctx["dry_run"] = o.dry_run;
  return ctx;
}

// " (last line of the hook's output)", as the seed prints its hooks' messages.
std::string said(const Json& result) {
  const auto* out = result.is_object() ? result.as_object().if_contains("stdout") : nullptr;
  if (out == nullptr || !out->is_string()) return {};
  std::string text(out->as_string());
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  const auto nl = text.rfind('\n');
  if (nl != std::string::npos) text.erase(0, nl + 1);
  if (text.size() > 160) text = text.substr(0, 160) + "...";
  return text.empty() ? "" : " (" + text + ")";
}

struct Started {
  std::string id;
  Millis budget{0};
  SystemTime at;
};

// Starts the drain execution of one event; fills outcome on failure to start.
Started start_drain(WatcherParts& parts, const WatcherOptions& o, const std::string& vm_name,
                    DrainOutcome& out) {
  Started s;
  s.at = parts.clock.now();
  out.runbook_id = std::string(drain_runbook_for(out.event.type));
  auto base = parts.runbooks ? parts.runbooks(out.runbook_id) : nullptr;
  if (!base) {
    out.failure = "drain runbook " + out.runbook_id + " not found";
    return s;
  }
  s.budget = drain_budget(out.event, o, s.at);
  auto rb = std::make_shared<model::Runbook>(*base);
  rb->timeout = rb->timeout ? std::min(*rb->timeout, s.budget) : s.budget;
  engine::StartOptions so;
  so.dry_run = o.dry_run;
  so.actor = "azure-events";
  auto id = parts.engine.start(rb, drain_context(out.event, o, vm_name), so);
  if (!id) {
    out.failure = "could not start " + out.runbook_id + ": " + id.error().describe();
    return s;
  }
  s.id = *id;
  out.execution_id = *id;
  return s;
}

// False when stopped before the drain settled.
bool finish_drain(WatcherParts& parts, const Started& s, DrainOutcome& out,
                  const std::function<bool()>& stopping) {
  if (s.id.empty()) return true;
  // The runbook timeout ends the execution at the deadline; the extra second covers the
  // engine's own bookkeeping. An execution waiting for a person (a policy asking approval)
  // gets until the deadline too. Past it, cancel.
  const SystemTime deadline = s.at + s.budget + Millis(1000);
  std::optional<model::Execution> done;
  for (;;) {
    const auto left = duration_cast<Millis>(deadline - parts.clock.now());
    done = parts.engine.wait(s.id, std::clamp(left, Millis(1), Millis(250)));
    if ((done && model::is_terminal(done->status)) || parts.clock.now() >= deadline) break;
    if (stopping && stopping()) {
      out.failure = "stopped while draining";
      return false;
    }
    if (!done) continue;  // still running: wait again
    std::mutex mu;
    std::condition_variable cv;
    std::unique_lock lock(mu);
    parts.clock.wait_until(lock, cv, std::min(deadline, parts.clock.now() + Millis(200)),
                           [] { return false; });
  }
  if (!done || !model::is_terminal(done->status)) {
    const std::string why = done && !done->attention_reason.empty() ? done->attention_reason : "";
    (void)parts.engine.cancel(s.id, "azure-events",
                              "drain deadline passed" + (why.empty() ? "" : " (" + why + ")"));
    done = parts.engine.wait(s.id, Millis(5000));
  }
  out.seconds = seconds_between(s.at, parts.clock.now());
  if (!done) {
    out.failure = "drain did not finish before its deadline (" + format_duration(s.budget) + ")";
    return true;
  }
  for (const auto& h : done->history) {
    std::string line = h.step_id + ": " + std::string(model::to_string(h.status));
    if (!h.error.empty())
      line += ": " + h.error;
    else
      line += said(h.result);
    out.actions.push_back(std::move(line));
  }
  out.success = done->status == model::ExecutionStatus::Completed;
  if (!out.success) {
    out.failure = "execution " + std::string(model::to_string(done->status));
    if (!done->errors.empty())
      out.failure += ": " + done->errors.back().step + ": " + done->errors.back().error;
  }
  return true;
}

void step1_drain(WatcherParts& parts, const WatcherOptions& o, const std::string& vm_name,
                 BatchReport& r, const std::function<bool()>& stopping) {
  parts.print("=== Step 1: Executing Drain Hooks ===");
  std::vector<Started> started;
  for (auto& d : r.drains) started.push_back(start_drain(parts, o, vm_name, d));  // all at once
  for (std::size_t i = 0; i < r.drains.size(); ++i) {
    auto& d = r.drains[i];
    if (!finish_drain(parts, started[i], d, stopping)) {
      parts.print("  Stopping while " + d.event.id + " drains: no acknowledgement, no record");
      r.interrupted = true;
      r.drain_success = false;
      return;
    }
    parts.print("  " + std::string(o.dry_run ? "[DRY RUN] plan for " : "Executing ") + d.event.id +
                " (" + std::string(to_string(d.event.type)) + "): runbook " + d.runbook_id +
                (d.execution_id.empty() ? "" : ", execution " + d.execution_id));
    for (const auto& a : d.actions) parts.print("    - " + a);
    parts.print(d.success ? "    Drain hooks completed successfully"
                          : "    Drain hooks FAILED: " + d.failure);
    if (!d.success) r.drain_success = false;
    if (parts.metrics != nullptr && !o.dry_run)
      azure_metrics(*parts.metrics).drain_seconds.observe(d.seconds);
  }
}

void step2_acknowledge(WatcherParts& parts, const WatcherOptions& o, BatchReport& r) {
  parts.print("=== Step 2: Early Acknowledgment ===");
  std::vector<std::string> ids;
  for (const auto& d : r.drains)
    if (d.event.status == EventStatus::Scheduled) ids.push_back(d.event.id);
  if (o.dry_run) {
    r.ack_note = "dry run: would acknowledge " + std::to_string(ids.size()) + " event(s)";
  } else if (!r.drain_success) {
    r.ack_note = "skipped: a drain hook failed, so the events keep their full notice";
  } else if (ids.empty()) {
    r.ack_note = "nothing to acknowledge";
  } else {
    r.ack_attempted = true;
    // IMDS answers 500 and 410 for a while; 429 when polled too fast: try three times.
    auto ack = parts.imds.acknowledge(ids);
    for (int attempt = 1; !ack && ack.error().code == ErrorCode::Unavailable && attempt < 3;
         ++attempt) {
      std::mutex mu;
      std::condition_variable cv;
      std::unique_lock lock(mu);
      parts.clock.wait_until(lock, cv, parts.clock.now() + Millis(1000), [] { return false; });
      ack = parts.imds.acknowledge(ids);
    }
    const SystemTime at = parts.clock.now();
    if (!ack) {
      r.ack_note = "failed: " + ack.error().describe();
    } else {
      r.ack_success = true;
      for (auto& d : r.drains) {
        if (d.event.status != EventStatus::Scheduled) continue;
        d.acknowledged = true;
        d.reduction_seconds =
            d.event.not_before ? std::max(0.0, seconds_between(at, *d.event.not_before)) : 0.0;
        if (parts.metrics == nullptr) continue;
        const auto m = azure_metrics(*parts.metrics);
        m.acknowledged.inc();
        m.reduction.observe(d.reduction_seconds);
      }
      r.ack_note = "Successfully acknowledged all " + std::to_string(ids.size()) + " event(s)";
    }
  }
  parts.print("  " +
              (r.ack_success || o.dry_run ? r.ack_note : "Early acknowledgment " + r.ack_note));
  if (r.ack_success) parts.print("Impact window has been shortened via early acknowledgment!");
}

void step3_servicenow(WatcherParts& parts, const WatcherOptions& o, const std::string& vm_name,
                      BatchReport& r) {
  parts.print("=== Step 3: ServiceNow Documentation ===");
  const Json fields = incident_fields(r, o.incident, vm_name);
  if (o.dry_run) {
    r.incident_note =
        "dry run: would file \"" + std::string(fields.at("short_description").as_string()) + "\"";
  } else if (parts.servicenow == nullptr) {
    r.incident_note = "ServiceNow is not configured: no record filed";
  } else {
    auto ref = parts.servicenow->create_incident(fields);
    if (ref) {
      r.incident_success = true;
      r.incident_note =
          "ServiceNow automation record created successfully: " + ref->number + " " + ref->link;
    } else {
      r.incident_note = "ServiceNow record FAILED: " + ref.error().describe();
    }
  }
  parts.print("  " + r.incident_note);
}

void summary(WatcherParts& parts, const WatcherOptions& o, const BatchReport& r) {
  auto word = [](bool ok) { return std::string(ok ? "Success" : "Failed"); };
  parts.print("=== Automation Summary ===");
  parts.print("Events processed: " + std::to_string(r.drains.size()));
  parts.print("Drain hooks: " + word(r.drain_success));
  parts.print("Early acknowledgment: " + (o.dry_run       ? std::string("Dry run")
                                          : r.ack_success ? "Success"
                                                          : "Skipped/Failed"));
  parts.print("ServiceNow record: " + (o.dry_run                     ? std::string("Dry run")
                                       : parts.servicenow == nullptr ? "Not configured"
                                                                     : word(r.incident_success)));
  if (o.dry_run)
    parts.print("Dry run complete: nothing was changed.");
  else if (r.drain_success && r.ack_success)
    parts.print("Automation completed successfully! Impact window shortened.");
  else
    parts.print("Automation completed with failures; see above.");
}

std::string close_notes(const BatchReport& r) {
  std::string notes = "Automated handling of Azure Scheduled Events.\n";
  for (const auto& d : r.drains) {
    notes += "Event " + d.event.id + " (" + std::string(to_string(d.event.type)) + ", " +
             std::string(to_string(d.event.status)) + ", NotBefore " +
             (d.event.not_before ? format_rfc1123(*d.event.not_before) : std::string("-")) +
             "): drain runbook " + d.runbook_id +
             (d.success ? " succeeded" : " FAILED: " + d.failure) + "\n";
    for (const auto& a : d.actions) notes += "  - " + a + "\n";
    if (d.acknowledged) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.0f", d.reduction_seconds);
      notes += "  Acknowledged early; impact window reduced by " + std::string(buf) + " s\n";
    }
  }
  notes += "Early acknowledgement: " + (r.ack_success ? std::string("done") : r.ack_note) + "\n";
  return notes;
}

}  // namespace

AzureMetrics azure_metrics(metrics::Registry& registry) {
  return AzureMetrics{
      .events = registry.counter("azure_scheduled_events_total",
                                 "Scheduled Events seen for this VM, by type", {"type"}),
      .acknowledged = registry
                          .counter("azure_events_acknowledged_total",
                                   "Scheduled Events acknowledged early (StartRequests)")
                          .with({}),
      .drain_seconds = registry
                           .histogram("azure_drain_duration_seconds",
                                      "Time the drain runbooks of Scheduled Events took")
                           .with({}),
      .reduction = registry
                       .histogram("azure_impact_window_reduction_seconds",
                                  "NotBefore minus the early acknowledgement time, per event", {},
                                  {10, 30, 60, 120, 300, 600, 900, 1800, 3600, 86400})
                       .with({})};
}

Json incident_fields(const BatchReport& r, const IncidentFields& incident,
                     const std::string& vm_name) {
  const std::string n = std::to_string(r.drains.size());
  const bool success = r.drain_success && r.ack_success;
  JsonObject f{{"short_description", "Azure Scheduled Event(s) Automated - " + n + " event(s)"},
               {"category", "Infrastructure"},
               {"subcategory", "Automation"},
               {"impact", "4"},
               {"urgency", "4"},
               {"state", "6"},
               {"close_code", "Solved (Permanently)"},
               {"close_notes", close_notes(r)},
               {"assignment_group", incident.assignment_group},
               {"caller_id", incident.caller_id},
               {"u_azure_vm", incident.vm_identifier.empty() ? vm_name : incident.vm_identifier},
               {"u_event_count", n},
               {"u_automation_success", success ? "true" : "false"}};
  for (auto it = f.begin(); it != f.end();)
    it = it->value().as_string().empty() ? f.erase(it) : it + 1;
  return f;
}

BatchReport process_batch(WatcherParts& parts, const WatcherOptions& options,
                          const std::string& vm_name, const std::vector<ScheduledEvent>& events,
                          const std::function<bool()>& stopping) {
  BatchReport r;
  for (const auto& e : events) r.drains.push_back(DrainOutcome{.event = e});
  step1_drain(parts, options, vm_name, r, stopping);
  if (r.interrupted) return r;
  step2_acknowledge(parts, options, r);
  step3_servicenow(parts, options, vm_name, r);
  summary(parts, options, r);
  return r;
}

}  // namespace opsrun::azure::detail
