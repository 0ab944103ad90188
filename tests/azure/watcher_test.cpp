// The watcher end to end: real engine, real drain runbooks and processes, IMDS and ServiceNow
// fakes over loopback. The cases.
#include "azure/watcher_fixture.h"

namespace opsrun::testing {
namespace {

constexpr const char* kVm = "vm-test-0";

std::string field(const JsonObject& o, const char* key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string("<absent>");
}

TEST_F(AzureWatcherTest, RebootEndToEnd) {
  ServiceProcess service;
  write_pids({service.pid()});
  imds.set_events(JsonArray{ImdsFake::event("F020BA2E-3BC0-4C40-A10B-86575A9EABD5", "Reboot",
                                            {kVm, "other-vm"}, rfc1123_in(Millis(15 * 60'000)))});
  start();
  auto d = watcher->poll_once();
  ASSERT_TRUE(d) << d.error().describe();
  ASSERT_EQ(d->to_drain.size(), 1u);

  // Step 1: the hooks really ran.
  EXPECT_TRUE(service.exited());
  EXPECT_EQ(service.term_signal(), SIGTERM);
  ASSERT_EQ(lb.requests().size(), 1u);
  EXPECT_EQ(lb.requests()[0].method, "POST");
  EXPECT_NE(lb.requests()[0].body.find("F020BA2E-3BC0-4C40-A10B-86575A9EABD5"), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(dir.file("state/F020BA2E-3BC0-4C40-A10B-86575A9EABD5.json")));
  // Step 2: acknowledged with the right EventId.
  EXPECT_EQ(imds.acknowledged(), std::vector<std::string>{"F020BA2E-3BC0-4C40-A10B-86575A9EABD5"});
  // Step 3: one resolved incident with the seed's fields.
  const auto inc = incidents();
  ASSERT_EQ(inc.size(), 1u);
  const std::pair<const char*, const char*> expected[] = {
      {"short_description", "Azure Scheduled Event(s) Automated - 1 event(s)"},
      {"category", "Infrastructure"},
      {"subcategory", "Automation"},
      {"impact", "4"},
      {"urgency", "4"},
      {"state", "6"},
      {"close_code", "Solved (Permanently)"},
      {"assignment_group", "Infrastructure Team"},
      {"caller_id", "automation.user"},
      {"u_azure_vm", "prod-vm-7"},
      {"u_event_count", "1"},
      {"u_automation_success", "true"}};
  for (const auto& [key, value] : expected) EXPECT_EQ(field(inc[0], key), value) << key;
  const auto notes = field(inc[0], "close_notes");
  EXPECT_NE(notes.find("F020BA2E-3BC0-4C40-A10B-86575A9EABD5 (Reboot"), std::string::npos) << notes;
  EXPECT_NE(notes.find("stop-services: success"), std::string::npos) << notes;
  EXPECT_NE(notes.find("impact window reduced by"), std::string::npos) << notes;
  // The console report.
  const auto out = output();
  for (const char* s :
       {"=== Step 1: Executing Drain Hooks ===", "Drain hooks completed successfully",
        "=== Step 2: Early Acknowledgment ===", "Successfully acknowledged all 1 event(s)",
        "=== Step 3: ServiceNow Documentation ===",
        "ServiceNow automation record created successfully: INC", "nav_to.do",
        "=== Automation Summary ===", "Events processed: 1",
        "Automation completed successfully! Impact window shortened."})
    EXPECT_NE(out.find(s), std::string::npos) << s << "\n" << out;
  EXPECT_EQ(out.find("sn-pass-0001"), std::string::npos);
  EXPECT_EQ(out.find("Authorization"), std::string::npos);
  // Metrics.
  const auto m = registry.render();
  EXPECT_NE(m.find("azure_scheduled_events_total{type=\"Reboot\"} 1"), std::string::npos) << m;
  EXPECT_NE(m.find("azure_events_acknowledged_total 1"), std::string::npos) << m;
  EXPECT_NE(m.find("azure_drain_duration_seconds_count 1"), std::string::npos) << m;
  EXPECT_NE(m.find("azure_impact_window_reduction_seconds_count 1"), std::string::npos) << m;
  // The next document (Started after our approval) changes nothing.
  auto again = watcher->poll_once();
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->to_drain.empty());
  EXPECT_EQ(imds.acknowledged().size(), 1u);
}

TEST_F(AzureWatcherTest, FailingDrainHookMeansNoAckAndAFailureRecord) {
  lb.set_handler(
      [](const HttpRequest&) { return HttpResponse{.status = 500, .body = "pool locked"}; });
  imds.set_events(
      JsonArray{ImdsFake::event("E-FAIL", "Redeploy", {kVm}, rfc1123_in(Millis(10 * 60'000)))});
  start();
  ASSERT_TRUE(watcher->poll_once());
  EXPECT_TRUE(imds.acknowledged().empty());
  const auto inc = incidents();
  ASSERT_EQ(inc.size(), 1u);
  EXPECT_EQ(field(inc[0], "u_automation_success"), "false");
  const auto notes = field(inc[0], "close_notes");
  EXPECT_NE(notes.find("FAILED"), std::string::npos) << notes;
  EXPECT_NE(notes.find("remove-from-load-balancer: failure"), std::string::npos) << notes;
  const auto out = output();
  EXPECT_NE(out.find("Drain hooks FAILED"), std::string::npos) << out;
  EXPECT_NE(out.find("skipped: a drain hook failed"), std::string::npos) << out;
  EXPECT_EQ(registry.render().find("azure_events_acknowledged_total 1"), std::string::npos);
}

TEST_F(AzureWatcherTest, DryRunPlansOnly) {
  ServiceProcess service;
  write_pids({service.pid()});
  options.dry_run = true;
  imds.set_events(
      JsonArray{ImdsFake::event("E-DRY", "Reboot", {kVm}, rfc1123_in(Millis(15 * 60'000)))});
  start();
  ASSERT_TRUE(watcher->poll_once());
  EXPECT_TRUE(imds.acknowledged().empty());
  EXPECT_TRUE(incidents().empty());
  EXPECT_TRUE(lb.requests().empty());
  EXPECT_FALSE(service.exited());
  EXPECT_FALSE(std::filesystem::exists(dir.file("state/E-DRY.json")));
  const auto out = output();
  EXPECT_NE(out.find("[DRY RUN] plan for E-DRY (Reboot): runbook azure-drain-reboot"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("- stop-services"), std::string::npos) << out;
  EXPECT_NE(out.find("dry run: would acknowledge 1 event(s)"), std::string::npos) << out;
  EXPECT_NE(out.find("dry run: would file \"Azure Scheduled Event(s) Automated - 1 event(s)\""),
            std::string::npos)
      << out;
  // A dry run leaves no mark in the store: a real run later still handles the event.
  options.dry_run = false;
  start(false);
  ASSERT_TRUE(watcher->poll_once());
  EXPECT_EQ(imds.acknowledged(), std::vector<std::string>{"E-DRY"});
}

TEST_F(AzureWatcherTest, SameEventInConsecutiveDocumentsAndAcrossARestartIsHandledOnce) {
  const auto nb = rfc1123_in(Millis(15 * 60'000));
  imds.set_events(JsonArray{ImdsFake::event("E-ONCE", "Freeze", {kVm}, nb)});
  start();
  ASSERT_TRUE(watcher->poll_once());
  EXPECT_EQ(imds.acknowledged().size(), 1u);
  // A new incarnation still listing it (as Scheduled: say another VM's view changed).
  imds.set_events(JsonArray{ImdsFake::event("E-ONCE", "Freeze", {kVm}, nb),
                            ImdsFake::event("E-OTHER", "Reboot", {"another-vm"}, nb)});
  auto d = watcher->poll_once();
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->changed);
  EXPECT_TRUE(d->to_drain.empty());
  EXPECT_EQ(d->other_vms, 1);
  // A restart: new store handle, engine and watcher on the same data directory.
  start();
  imds.set_events(JsonArray{ImdsFake::event("e-once", "Freeze", {kVm}, nb)});
  d = watcher->poll_once();
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->to_drain.empty());
  EXPECT_EQ(imds.acknowledged().size(), 1u);
  EXPECT_EQ(incidents().size(), 1u);
  EXPECT_EQ(count_lines("=== Step 1"), 1);
}

TEST_F(AzureWatcherTest, ArrivingStartedIsRecordedWithoutDrainOrAck) {
  imds.set_events(JsonArray{ImdsFake::event("HW-1", "Reboot", {kVm}, "", "Started")});
  start();
  auto d = watcher->poll_once();
  ASSERT_TRUE(d);
  EXPECT_EQ(d->started.size(), 1u);
  EXPECT_TRUE(imds.acknowledged().empty());
  EXPECT_TRUE(incidents().empty());
  EXPECT_EQ(count_lines("Event HW-1 (Reboot) arrived already Started: recorded"), 1);
  EXPECT_NE(registry.render().find("azure_scheduled_events_total{type=\"Reboot\"} 1"),
            std::string::npos);
  imds.remove_event("HW-1");
  ASSERT_TRUE(watcher->poll_once());
  EXPECT_EQ(count_lines("Event HW-1 is over"), 1);
}

TEST_F(AzureWatcherTest, DisappearingScheduledEventIsCancelled) {
  options.dry_run = true;  // nothing acknowledged, so the event stays Scheduled
  imds.set_events(
      JsonArray{ImdsFake::event("E-CXL", "Redeploy", {kVm}, rfc1123_in(Millis(600'000)))});
  start();
  ASSERT_TRUE(watcher->poll_once());
  imds.remove_event("E-CXL");
  auto d = watcher->poll_once();
  ASSERT_TRUE(d);
  EXPECT_EQ(d->cancelled, std::vector<std::string>{"E-CXL"});
  EXPECT_EQ(count_lines("Event E-CXL disappeared before it started: cancelled"), 1);
}

TEST_F(AzureWatcherTest, ImdsOutageIsLoggedOncePerOutageAndPollingGoesOn) {
  start();
  ASSERT_TRUE(watcher->poll_once());
  imds.fail_with(500);
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(watcher->poll_once());
  EXPECT_EQ(count_lines("IMDS unavailable"), 1);
  imds.fail_with(0);
  imds.set_events(
      JsonArray{ImdsFake::event("E-BACK", "Reboot", {kVm}, rfc1123_in(Millis(600'000)))});
  auto back = watcher->poll_once();
  ASSERT_TRUE(back) << back.error().describe();
  EXPECT_EQ(back->to_drain.size(), 1u);
  EXPECT_EQ(count_lines("IMDS reachable again"), 1);
  // A second outage, this time a timeout (no answer in time): said once more.
  imds.hang(Millis(700));
  EXPECT_FALSE(watcher->poll_once());
  EXPECT_FALSE(watcher->poll_once());
  imds.hang(Millis(0));
  EXPECT_EQ(count_lines("IMDS unavailable"), 2);
}

TEST_F(AzureWatcherTest, PreemptDeadlineIsRespected) {
  ServiceProcess stubborn(/*ignore_sigterm=*/true);
  write_pids({stubborn.pid()});
  // A long grace: the stop hook would wait 30 s before SIGKILL, past NotBefore.
  options.drain_context.as_object()["preempt_grace_seconds"] = 30;
  imds.set_events(JsonArray{ImdsFake::event("E-SPOT", "Preempt", {kVm}, rfc1123_in(Millis(4000)))});
  start();
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(watcher->poll_once());
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(took, std::chrono::seconds(6));  // cut at NotBefore less the margin, not 30 s
  EXPECT_TRUE(imds.acknowledged().empty());
  const auto out = output();
  EXPECT_NE(out.find("Drain hooks FAILED"), std::string::npos) << out;
  EXPECT_NE(out.find("timed out"), std::string::npos) << out;
  ASSERT_EQ(incidents().size(), 1u);
  EXPECT_EQ(field(incidents()[0], "u_automation_success"), "false");
}

TEST_F(AzureWatcherTest, ServiceNowThrottlingIsRetriedThenRecorded) {
  servicenow.fail_next(429, "1");
  servicenow.fail_next(503);
  imds.set_events(JsonArray{ImdsFake::event("E-SN", "Reboot", {kVm}, rfc1123_in(Millis(600'000)))});
  start();
  ASSERT_TRUE(watcher->poll_once());
  ASSERT_EQ(incidents().size(), 1u);
  int table_posts = 0;
  for (const auto& r : servicenow.requests())
    table_posts += r.method == "POST" && r.target.find("/api/now/table/incident") == 0;
  EXPECT_EQ(table_posts, 3);
  EXPECT_EQ(count_lines("ServiceNow automation record created successfully"), 1);
}

}  // namespace
}  // namespace opsrun::testing

namespace opsrun::testing {
namespace {

TEST_F(AzureWatcherTest, StopDuringADrainReturnsPromptlyWithoutAck) {
  ServiceProcess stubborn(/*ignore_sigterm=*/true);
  write_pids({stubborn.pid()});
  options.drain_context.as_object()["stop_grace_seconds"] = 30;
  imds.set_events(JsonArray{
      ImdsFake::event("E-STOP", "Reboot", {"vm-test-0"}, rfc1123_in(Millis(15 * 60'000)))});
  start();
  std::thread loop([this] { watcher->run(Millis(1000)); });
  for (int i = 0; i < 100 && count_lines("=== Step 1") == 0; ++i)
    std::this_thread::sleep_for(Millis(20));
  std::this_thread::sleep_for(Millis(300));  // the stop hook is now waiting out its grace
  const auto t0 = std::chrono::steady_clock::now();
  watcher->stop();
  loop.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  EXPECT_TRUE(imds.acknowledged().empty());
  EXPECT_TRUE(incidents().empty());
  EXPECT_EQ(count_lines("Stopping while E-STOP drains"), 1) << output();
}

TEST_F(AzureWatcherTest, StopAbortsASlowFirstImdsCall) {
  imds.hang(Millis(2500));  // within the fixture's 3 s first-call timeout
  start();
  std::thread loop([this] { watcher->run(Millis(1000)); });
  std::this_thread::sleep_for(Millis(200));
  const auto t0 = std::chrono::steady_clock::now();
  watcher->stop();
  loop.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(1500));
  EXPECT_EQ(count_lines("IMDS unavailable"), 0) << "stopping is not an outage";
  imds.hang(Millis(0));
}

}  // namespace
}  // namespace opsrun::testing

namespace opsrun::testing {
namespace {

TEST_F(AzureWatcherTest, AcknowledgementIsRetriedAfterA500) {
  imds.fail_acks(1, 500);
  imds.set_events(
      JsonArray{ImdsFake::event("E-RETRY", "Reboot", {"vm-test-0"}, rfc1123_in(Millis(600'000)))});
  start();
  ASSERT_TRUE(watcher->poll_once());
  EXPECT_EQ(imds.acknowledged(), std::vector<std::string>{"E-RETRY"});
  int posts = 0;
  for (const auto& r : imds.requests()) posts += r.method == "POST";
  EXPECT_EQ(posts, 2);
  EXPECT_EQ(count_lines("Successfully acknowledged all 1 event(s)"), 1);
}

TEST_F(AzureWatcherTest, MetricsAreShownBeforeAnyEvent) {
  start();
  const auto m = registry.render();
  EXPECT_NE(m.find("azure_events_acknowledged_total 0"), std::string::npos) << m;
  EXPECT_NE(m.find("azure_drain_duration_seconds_count 0"), std::string::npos) << m;
  EXPECT_NE(m.find("# TYPE azure_scheduled_events_total counter"), std::string::npos) << m;
}

}  // namespace
}  // namespace opsrun::testing
