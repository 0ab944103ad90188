// The schedules: section of opsrun.yaml, loaded through the real config loader.
#include <gtest/gtest.h>

#include "opsrun/config/config.h"
#include "opsrun/scheduler/schedules.h"

namespace opsrun::scheduler {
namespace {

Result<std::vector<ScheduleSpec>> load(const std::string& yaml) {
  auto cfg = config::load_text(yaml);
  EXPECT_TRUE(cfg) << cfg.error().describe();
  if (!cfg) return std::unexpected(cfg.error());
  return parse_schedules(cfg->schedules);
}

TEST(Schedules, ValidSection) {
  auto s = load(R"(
schedules:
  - id: nightly-backup
    cron: "30 2 * * *"
    timezone: Europe/Berlin
    runbook: db-backup
    context: {database: orders, keep: 7}
    misfire: skip
  - id: health.5m
    cron: "*/5 * * * *"
    runbook: health-check
)");
  ASSERT_TRUE(s) << s.error().describe();
  ASSERT_EQ(s->size(), 2u);
  const auto& a = (*s)[0];
  EXPECT_EQ(a.id, "nightly-backup");
  EXPECT_EQ(a.runbook, "db-backup");
  EXPECT_EQ(a.misfire, Misfire::Skip);
  EXPECT_EQ(a.schedule.time_zone(), "Europe/Berlin");
  EXPECT_EQ(a.schedule.expr().text(), "30 2 * * *");
  EXPECT_EQ(a.context.at("database").as_string(), "orders");
  const auto& b = (*s)[1];
  EXPECT_EQ(b.misfire, Misfire::RunOnce);
  EXPECT_EQ(b.schedule.time_zone(), "UTC");
  EXPECT_TRUE(b.context.is_object() && b.context.as_object().empty());
}

TEST(Schedules, NoSectionIsNoSchedules) {
  auto s = load("listen: 127.0.0.1:0\n");
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->empty());
}

void expect_error(const std::string& yaml, const std::string& where, const std::string& text) {
  auto s = load(yaml);
  ASSERT_FALSE(s) << yaml;
  EXPECT_EQ(s.error().where, where) << s.error().message;
  EXPECT_NE(s.error().message.find(text), std::string::npos) << s.error().message;
}

TEST(Schedules, ErrorsNameTheEntryAndField) {
  expect_error("schedules: {a: 1}\n", "schedules", "expected a list");
  expect_error("schedules:\n  - just-a-string\n", "schedules[0]", "expected a mapping");
  expect_error("schedules:\n  - {cron: '* * * * *', runbook: r}\n", "schedules[0].id", "is required");
  expect_error("schedules:\n  - {id: a, cron: '* * * * *', runbook: r}\n  - {id: b, cron: '61 * * * *', runbook: r}\n",
               "schedules[1].cron", "schedule 'b': cron \"61 * * * *\": minute field, column 1: 61 is out of range");
  expect_error("schedules:\n  - {id: a, cron: '* * * * *', runbook: r, timezone: Europe/Berln}\n",
               "schedules[0].timezone", "unknown time zone 'Europe/Berln'");
  expect_error("schedules:\n  - {id: a, cron: '* * * * *', runbook: r, misfire: later}\n",
               "schedules[0].misfire", "expected run_once or skip, got 'later'");
  expect_error("schedules:\n  - {id: a, cron: '* * * * *', runbook: r, context: [1]}\n",
               "schedules[0].context", "expected a mapping");
  expect_error("schedules:\n  - {id: a, cron: '* * * * *', runbok: r}\n", "schedules[0].runbok",
               "unknown key (allowed: id, cron, timezone, runbook, context, misfire)");
  expect_error("schedules:\n  - {id: a, cron: '* * * * *'}\n", "schedules[0].runbook", "is required");
  expect_error("schedules:\n  - {id: 'a b', cron: '* * * * *', runbook: r}\n", "schedules[0].id",
               "may only use letters");
  expect_error("schedules:\n  - {id: a, cron: '* * * * *', runbook: r}\n  - {id: a, cron: '* * * * *', runbook: r}\n",
               "schedules[1].id", "'a' is used by an earlier schedule");
  expect_error("schedules:\n  - {id: a, cron: [1], runbook: r}\n", "schedules[0].cron", "expected a string");
}

}  // namespace
}  // namespace opsrun::scheduler
