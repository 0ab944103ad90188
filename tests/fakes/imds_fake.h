// An Azure IMDS fake (../shared/specs/external-apis.md §1) on 127.0.0.1: serves
// GET/POST /metadata/scheduledevents and GET /metadata/instance/compute/name, enforces the
// Metadata header, api-version and format=text rules, bumps DocumentIncarnation on every
// change, applies StartRequests (the event becomes Started, NotBefore "") and records them.
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "opsrun/common/json.h"
#include "support/loopback_http_server.h"

namespace opsrun::testing {

class ImdsFake {
 public:
  struct Options {
    std::string vm_name = "vm-test-0";
    std::chrono::milliseconds first_call_delay{0};  // the enabling first call
  };
  ImdsFake() : ImdsFake(Options{}) {}
  explicit ImdsFake(Options options);

  [[nodiscard]] std::string url() const;  // base URL, no trailing slash

  // Replaces the events (objects in the IMDS shape); the incarnation increases.
  void set_events(JsonArray events);
  // Removes one event (it finished, or Azure cancelled it); the incarnation increases.
  void remove_event(const std::string& event_id);
  // While set, GET and POST get this status (500, 410, 429...) instead.
  void fail_with(int status);
  // The next `count` approvals (POSTs) get `status` instead.
  void fail_acks(int count, int status);
  // While set, every answer waits this long first (longer than the client's timeout: the
  // service looks unreachable). Zero: normal.
  void hang(std::chrono::milliseconds delay);

  [[nodiscard]] long long incarnation() const;
  // EventIds received in StartRequests, in order.
  [[nodiscard]] std::vector<std::string> acknowledged() const;
  [[nodiscard]] int event_gets() const;
  [[nodiscard]] std::vector<HttpRequest> requests() const { return server_.requests(); }

  // One event in the IMDS shape.
  static Json event(const std::string& id, const std::string& type,
                    const std::vector<std::string>& resources, const std::string& not_before,
                    const std::string& status = "Scheduled");

 private:
  HttpResponse handle(const HttpRequest& r);
  HttpResponse approve(const std::string& body);

  Options options_;
  mutable std::mutex mu_;
  JsonArray events_;
  long long incarnation_ = 1;
  int fail_status_ = 0;
  int ack_failures_ = 0;
  int ack_failure_status_ = 0;
  std::chrono::milliseconds hang_{0};
  bool first_done_ = false;
  int gets_ = 0;
  std::vector<std::string> acks_;
  LoopbackHttpServer server_;  // last: stopped first, before the state it reads
};

}  // namespace opsrun::testing
