// The Scheduled Events document model: tolerant parsing of every documented field and form.
#include <gtest/gtest.h>

#include "opsrun/azure/events.h"

namespace opsrun::azure {
namespace {

SystemTime utc(const char* rfc3339) {
  SystemTime t;
  EXPECT_TRUE(parse_time(rfc3339, t)) << rfc3339;
  return t;
}

TEST(AzureEvents, ParsesTheDocumentedSample) {
  auto doc = parse_events_document(R"({
    "DocumentIncarnation": 2,
    "Events": [{
      "EventId": "C7061BAC-AFDC-4513-B24B-AA5F13A16123", "EventStatus": "Scheduled",
      "EventType": "Freeze", "ResourceType": "VirtualMachine", "Resources": ["WestNO_0", "WestNO_1"],
      "NotBefore": "Mon, 11 Apr 2026 22:26:58 GMT",
      "Description": "Virtual machine is being paused because of a memory-preserving Live Migration operation.",
      "EventSource": "Platform", "DurationInSeconds": 5}]})");
  ASSERT_TRUE(doc) << doc.error().describe();
  EXPECT_EQ(doc->incarnation, 2);
  ASSERT_EQ(doc->events.size(), 1u);
  const auto& e = doc->events[0];
  EXPECT_EQ(e.id, "C7061BAC-AFDC-4513-B24B-AA5F13A16123");
  EXPECT_EQ(e.type, EventType::Freeze);
  EXPECT_EQ(e.status, EventStatus::Scheduled);
  EXPECT_EQ(e.resources, (std::vector<std::string>{"WestNO_0", "WestNO_1"}));
  ASSERT_TRUE(e.not_before);
  EXPECT_EQ(*e.not_before, utc("2026-04-11T22:26:58Z"));
  EXPECT_EQ(e.source, "Platform");
  EXPECT_EQ(e.duration_seconds, 5);
}

TEST(AzureEvents, NumbersMayComeAsStrings) {
  auto doc = parse_events_document(
      R"({"DocumentIncarnation": "7", "Events": [{"EventId": "a", "EventType": "Reboot", "EventStatus": "Started",
          "NotBefore": "", "DurationInSeconds": "-1"}]})");
  ASSERT_TRUE(doc) << doc.error().describe();
  EXPECT_EQ(doc->incarnation, 7);
  EXPECT_EQ(doc->events[0].duration_seconds, -1);
  EXPECT_EQ(doc->events[0].status, EventStatus::Started);
  EXPECT_FALSE(doc->events[0].not_before);  // "" once started
}

TEST(AzureEvents, EmptyEventsMeansNothingScheduled) {
  auto doc = parse_events_document(R"({"DocumentIncarnation": 4, "Events": []})");
  ASSERT_TRUE(doc);
  EXPECT_TRUE(doc->events.empty());
}

TEST(AzureEvents, NotBeforeFormats) {
  const auto expected = utc("2016-09-19T18:29:47Z");
  for (const char* text :
       {"Mon, 19 Sep 2016 18:29:47 GMT", "19 Sep 2016 18:29:47 GMT", "2016-09-19T18:29:47Z",
        "2016-09-19T18:29:47.000Z", "2016-09-19T18:29:47", "2016-09-19T20:29:47+02:00"}) {
    auto t = parse_not_before(text);
    ASSERT_TRUE(t) << text << ": " << t.error().describe();
    ASSERT_TRUE(*t) << text;
    EXPECT_EQ(**t, expected) << text;
  }
  auto empty = parse_not_before("");
  ASSERT_TRUE(empty);
  EXPECT_FALSE(*empty);
  EXPECT_FALSE(parse_not_before("tomorrow"));
  EXPECT_FALSE(parse_not_before("Mon, 19 Foo 2016 18:29:47 GMT"));
  EXPECT_FALSE(parse_not_before("Mon, 19 Sep 2016 18:29:47 PST"));
}

TEST(AzureEvents, FormatsRfc1123RoundTrip) {
  const auto t = utc("2026-11-23T07:05:09Z");
  EXPECT_EQ(format_rfc1123(t), "Mon, 23 Nov 2026 07:05:09 GMT");
  auto back = parse_not_before(format_rfc1123(t));
  ASSERT_TRUE(back && *back);
  EXPECT_EQ(**back, t);
}

TEST(AzureEvents, EveryTypeAndStatus) {
  EXPECT_EQ(event_type_from("Freeze"), EventType::Freeze);
  EXPECT_EQ(event_type_from("reboot"), EventType::Reboot);
  EXPECT_EQ(event_type_from("Redeploy"), EventType::Redeploy);
  EXPECT_EQ(event_type_from("Preempt"), EventType::Preempt);
  EXPECT_EQ(event_type_from("Terminate"), EventType::Terminate);
  EXPECT_EQ(event_type_from("LiveMigrate"), EventType::Unknown);
  EXPECT_EQ(event_status_from("Scheduled"), EventStatus::Scheduled);
  EXPECT_EQ(event_status_from("started"), EventStatus::Started);
  EXPECT_EQ(event_status_from("Completed"), EventStatus::Unknown);  // no such status

  EXPECT_EQ(drain_runbook_for(EventType::Reboot), "azure-drain-reboot");
  EXPECT_EQ(drain_runbook_for(EventType::Redeploy), "azure-drain-redeploy");
  EXPECT_EQ(drain_runbook_for(EventType::Preempt), "azure-drain-preempt");
  EXPECT_EQ(drain_runbook_for(EventType::Terminate), "azure-drain-preempt");
  EXPECT_EQ(drain_runbook_for(EventType::Freeze), "azure-drain-generic");
  EXPECT_EQ(drain_runbook_for(EventType::Unknown), "azure-drain-generic");
}

TEST(AzureEvents, ErrorsNameTheField) {
  auto no_id =
      parse_events_document(R"({"DocumentIncarnation": 1, "Events": [{"EventType": "Reboot"}]})");
  ASSERT_FALSE(no_id);
  EXPECT_NE(no_id.error().message.find("Events[0].EventId"), std::string::npos)
      << no_id.error().message;
  auto bad_time = parse_events_document(
      R"({"DocumentIncarnation": 1, "Events": [{"EventId": "x"}, {"EventId": "y", "NotBefore": "soon"}]})");
  ASSERT_FALSE(bad_time);
  EXPECT_NE(bad_time.error().message.find("Events[1].NotBefore"), std::string::npos)
      << bad_time.error().message;
  EXPECT_FALSE(parse_events_document(R"({"Events": []})"));
  EXPECT_FALSE(parse_events_document("not json"));
}

TEST(AzureEvents, ResourcesFilterIsCaseInsensitive) {
  ScheduledEvent e;
  e.resources = {"WestNO_0", "WestNO_1"};
  EXPECT_TRUE(affects(e, "westno_1"));
  EXPECT_FALSE(affects(e, "WestNO_2"));
  EXPECT_TRUE(affects(e, ""));
}

}  // namespace
}  // namespace opsrun::azure
