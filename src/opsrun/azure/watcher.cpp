#include "opsrun/azure/watcher.h"

#include <filesystem>
#include <map>

#include "opsrun/azure/processing_internal.h"
#include "opsrun/common/log.h"
#include "opsrun/metrics/registry.h"
#include "opsrun/model/runbook_yaml.h"

namespace opsrun::azure {

struct Watcher::Impl {
  WatcherParts parts;
  WatcherOptions options;
  EventTracker tracker;
  std::string vm_name;
  bool vm_name_known = false;
  bool imds_down = false;
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;

  Impl(WatcherParts p, WatcherOptions o)
      // A dry run remembers events in memory only: a later real run still handles them.
      : parts(std::move(p)),
        options(std::move(o)),
        tracker(options.dry_run ? nullptr : parts.store) {
    if (!parts.print) parts.print = [](const std::string& line) { log::info(line); };
    vm_name = options.vm_name;
    vm_name_known = !vm_name.empty();
    parts.imds.abort_when([this] { return is_stopping(); });
    if (parts.metrics != nullptr) (void)detail::azure_metrics(*parts.metrics);  // from the start
  }

  bool is_stopping() {
    std::lock_guard lock(mu);
    return stopping;
  }

  void resolve_vm_name() {
    if (vm_name_known) return;
    vm_name_known = true;
    auto name = parts.imds.vm_name();
    if (name) {
      vm_name = *name;
      parts.print("VM name from IMDS: " + vm_name);
    } else {
      parts.print("warning: VM name unknown (" + name.error().describe() +
                  "); handling every event in the document. Set vm_name in the config to filter.");
    }
  }

  void record_started(const ScheduledEvent& e) {
    parts.print("Event " + e.id + " (" + std::string(to_string(e.type)) + ") arrived already " +
                std::string(to_string(e.status)) + ": recorded; nothing to drain or acknowledge");
  }

  void count(const ScheduledEvent& e) {
    if (parts.metrics == nullptr) return;
    detail::azure_metrics(*parts.metrics)
        .events.with({e.type == EventType::Unknown ? e.type_text : std::string(to_string(e.type))})
        .inc();
  }

  Result<void> store_outcomes(const detail::BatchReport& report) {
    for (const auto& d : report.drains) {
      JsonObject o{{"state", "handled"},
                   {"type", to_string(d.event.type)},
                   {"runbook", d.runbook_id},
                   {"execution_id", d.execution_id},
                   {"drain_success", d.success},
                   {"acknowledged", d.acknowledged},
                   {"incident", report.incident_success},
                   {"handled_at", format_time(parts.clock.now())}};
      if (auto r = tracker.record(d.event.id, o); !r) return r;
    }
    return {};
  }
};

Watcher::Watcher(WatcherParts parts, WatcherOptions options)
    : impl_(std::make_unique<Impl>(std::move(parts), std::move(options))) {}

Watcher::~Watcher() { impl_->parts.imds.abort_when({}); }

Result<Decision> Watcher::poll_once() {
  auto& m = *impl_;
  auto doc = m.parts.imds.scheduled_events();
  if (!doc) {
    if (doc.error().code == ErrorCode::Cancelled) return std::unexpected(doc.error());  // stopping
    if (!m.imds_down) {  // once per outage
      m.imds_down = true;
      m.parts.print("IMDS unavailable (" + doc.error().describe() + "); still polling");
    }
    return std::unexpected(doc.error());
  }
  if (m.imds_down) {
    m.imds_down = false;
    m.parts.print("IMDS reachable again");
  }
  m.resolve_vm_name();
  auto decision = m.tracker.observe(*doc, m.vm_name);
  if (!decision) return decision;
  for (const auto& id : decision->cancelled)
    m.parts.print("Event " + id + " disappeared before it started: cancelled");
  for (const auto& id : decision->finished)
    m.parts.print("Event " + id + " is over (gone from the document)");
  for (const auto& e : decision->started) {
    m.count(e);
    m.record_started(e);
  }
  if (decision->to_drain.empty()) return decision;
  m.parts.print("Found " + std::to_string(decision->to_drain.size()) +
                " new scheduled event(s) for " +
                (m.vm_name.empty() ? std::string("this VM") : m.vm_name) +
                " (DocumentIncarnation " + std::to_string(doc->incarnation) + ")");
  for (const auto& e : decision->to_drain) {
    m.count(e);
    m.parts.print("  " + e.id + ": " + std::string(to_string(e.type)) + ", NotBefore " +
                  (e.not_before ? format_rfc1123(*e.not_before) : std::string("-")) +
                  (e.description.empty() ? "" : ", " + e.description));
  }
  const auto report = detail::process_batch(m.parts, m.options, m.vm_name, decision->to_drain,
                                            [&m] { return m.is_stopping(); });
  if (report.interrupted) return decision;  // claimed: recovery carries the drain on
  if (auto r = m.store_outcomes(report); !r) return std::unexpected(r.error());
  return decision;
}

void Watcher::run(Millis interval) {
  for (;;) {
    {
      std::lock_guard lock(impl_->mu);
      if (impl_->stopping) return;
    }
    auto polled = poll_once();
    if (!polled && polled.error().code != ErrorCode::Unavailable &&
        polled.error().code != ErrorCode::Cancelled)
      log::error("azure-events: poll failed", {{"error", polled.error().describe()}});
    std::unique_lock lock(impl_->mu);
    impl_->parts.clock.wait_until(lock, impl_->cv, impl_->parts.clock.now() + interval,
                                  [this] { return impl_->stopping; });
    if (impl_->stopping) return;
  }
}

void Watcher::stop() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
}

Result<std::function<model::RunbookPtr(std::string_view)>> load_drain_runbooks(
    const std::string& dir) {
  std::map<std::string, model::RunbookPtr, std::less<>> books;
  for (const char* id : {"azure-drain-reboot", "azure-drain-redeploy", "azure-drain-preempt",
                         "azure-drain-generic"}) {
    const std::string path = (std::filesystem::path(dir) / (std::string(id) + ".yaml")).string();
    auto loaded = model::load_runbook_file(path);
    if (!loaded.ok()) {
      std::string problems;
      for (const auto& d : loaded.diagnostics)
        if (d.severity == model::Diagnostic::Severity::Error) problems += "\n" + d.describe();
      return fail(ErrorCode::InvalidArgument,
                  "drain runbook " + path +
                      " is not usable:" + (problems.empty() ? " cannot be read" : problems));
    }
    books[id] = loaded.runbook;
  }
  return [books = std::move(books)](std::string_view id) -> model::RunbookPtr {
    auto it = books.find(id);
    return it == books.end() ? nullptr : it->second;
  };
}

}  // namespace opsrun::azure
