// The watcher's decisions: incarnations, this VM's events only, new / Started / disappeared,
// and handled EventIds remembered in the store across a restart.
#include <gtest/gtest.h>

#include "engine/engine_fixture.h"
#include "opsrun/azure/tracker.h"
#include "opsrun/store/store.h"

namespace opsrun::azure {
namespace {

ScheduledEvent ev(const std::string& id, EventStatus status,
                  std::vector<std::string> resources = {"vm1"}) {
  ScheduledEvent e;
  e.id = id;
  e.type = EventType::Reboot;
  e.status = status;
  e.resources = std::move(resources);
  return e;
}

std::vector<std::string> ids(const std::vector<ScheduledEvent>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.id);
  return out;
}

TEST(AzureTracker, NewScheduledEventsAreDrainedOnce) {
  EventTracker t(nullptr);
  auto d1 = t.observe({1, {ev("A", EventStatus::Scheduled)}}, "vm1");
  ASSERT_TRUE(d1);
  EXPECT_TRUE(d1->changed);
  EXPECT_EQ(ids(d1->to_drain), std::vector<std::string>{"A"});
  // Same incarnation: unchanged, nothing to do.
  auto same = t.observe({1, {ev("A", EventStatus::Scheduled)}}, "vm1");
  ASSERT_TRUE(same);
  EXPECT_FALSE(same->changed);
  EXPECT_TRUE(same->to_drain.empty());
  // A new incarnation with the same event (now Started after our ack) and a new one.
  auto d2 = t.observe({3, {ev("A", EventStatus::Started), ev("B", EventStatus::Scheduled)}}, "vm1");
  ASSERT_TRUE(d2);
  EXPECT_EQ(ids(d2->to_drain), std::vector<std::string>{"B"});
  EXPECT_TRUE(d2->started.empty());
}

TEST(AzureTracker, OtherVmsEventsAreIgnored) {
  EventTracker t(nullptr);
  auto d = t.observe(
      {1,
       {ev("A", EventStatus::Scheduled, {"vm2"}), ev("B", EventStatus::Scheduled, {"VM1", "vm2"})}},
      "vm1");
  ASSERT_TRUE(d);
  EXPECT_EQ(ids(d->to_drain), std::vector<std::string>{"B"});
  EXPECT_EQ(d->other_vms, 1);
}

TEST(AzureTracker, ArrivingStartedIsRecordedNotDrained) {
  EventTracker t(nullptr);
  auto d = t.observe({1, {ev("HW", EventStatus::Started)}}, "vm1");
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->to_drain.empty());
  EXPECT_EQ(ids(d->started), std::vector<std::string>{"HW"});
  auto rec = t.recorded("HW");
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->at("state").as_string(), "recorded");
}

TEST(AzureTracker, DisappearedScheduledIsCancelledStartedIsFinished) {
  EventTracker t(nullptr);
  ASSERT_TRUE(
      t.observe({1, {ev("S", EventStatus::Scheduled), ev("R", EventStatus::Started)}}, "vm1"));
  auto d = t.observe({2, {}}, "vm1");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->cancelled, std::vector<std::string>{"S"});
  EXPECT_EQ(d->finished, std::vector<std::string>{"R"});
  auto rec = t.recorded("S");
  ASSERT_TRUE(rec);
  EXPECT_TRUE(rec->at("cancelled").as_bool());
}

TEST(AzureTracker, AcknowledgedThenGoneIsFinishedNotCancelled) {
  EventTracker t(nullptr);
  ASSERT_TRUE(t.observe({1, {ev("S", EventStatus::Scheduled)}}, "vm1"));
  ASSERT_TRUE(t.record("S", JsonObject{{"state", "handled"}, {"acknowledged", true}}));
  auto d = t.observe({2, {}}, "vm1");
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->cancelled.empty());
  EXPECT_EQ(d->finished, std::vector<std::string>{"S"});
}

std::unique_ptr<store::Store> open_in(const testing::TempDir& dir) {
  store::OpenOptions o;
  o.data_dir = dir.path().string();
  auto s = store::open_store(o);
  EXPECT_TRUE(s) << s.error().describe();
  return s ? std::move(*s) : nullptr;
}

TEST(AzureTracker, HandledEventIdsSurviveARestart) {
  testing::TempDir dir;
  {
    auto s = open_in(dir);
    ASSERT_TRUE(s);
    EventTracker t(s.get());
    auto d = t.observe({5, {ev("c7061bac-AFDC", EventStatus::Scheduled)}}, "vm1");
    ASSERT_TRUE(d);
    EXPECT_EQ(d->to_drain.size(), 1u);
  }
  auto s = open_in(dir);
  ASSERT_TRUE(s);
  EventTracker restarted(s.get());
  // The same event, even with another incarnation and casing: not drained again.
  auto d = restarted.observe({6, {ev("C7061BAC-afdc", EventStatus::Scheduled)}}, "vm1");
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->changed);
  EXPECT_TRUE(d->to_drain.empty());
  auto stored = s->get_setting(EventTracker::key("C7061BAC-AFDC"));
  ASSERT_TRUE(stored && *stored);
  EXPECT_NE(stored->value().find("claimed"), std::string::npos);
}

}  // namespace
}  // namespace opsrun::azure
