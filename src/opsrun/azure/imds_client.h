// The Azure Instance Metadata Service, as the Scheduled Events automation uses it: GET and
// POST /metadata/scheduledevents?api-version=2020-07-01 and the VM name
// (/metadata/instance/compute/name, format=text). Every request carries `Metadata: true` and
// bypasses proxies; the first Scheduled Events call may take up to 2 minutes (it enables the
// service), later ones get a short timeout.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "opsrun/azure/events.h"
#include "opsrun/common/clock.h"
#include "opsrun/common/error.h"

namespace opsrun::azure {

inline constexpr const char* kDefaultImdsUrl = "http://169.254.169.254";

struct ImdsOptions {
  std::string base_url = kDefaultImdsUrl;  // no trailing slash needed
  Millis first_call_timeout{120'000};
  Millis timeout{5'000};
  Millis connect_timeout{2'000};
};

class ImdsClient {
 public:
  explicit ImdsClient(ImdsOptions options);

  // The current document. Unavailable for transport errors and non-200 answers (the status
  // and the start of the body in the message).
  [[nodiscard]] Result<EventsDocument> scheduled_events();
  // POST {"StartRequests":[{"EventId":...},...]}.
  [[nodiscard]] Result<void> acknowledge(const std::vector<std::string>& event_ids);
  // compute.name of this VM.
  [[nodiscard]] Result<std::string> vm_name();

  [[nodiscard]] const ImdsOptions& options() const { return options_; }
  // A request in flight is aborted (Cancelled) once `stopping` returns true (the watcher's
  // stop: the first call may otherwise hold a shutdown for 2 minutes).
  void abort_when(std::function<bool()> stopping) { stopping_ = std::move(stopping); }

 private:
  ImdsOptions options_;
  std::function<bool()> stopping_;
  bool first_call_done_ = false;
};

}  // namespace opsrun::azure
