#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "opsrun/common/ids.h"
#include "opsrun/notify/audit_log_channel.h"
#include "opsrun/notify/channel.h"
#include "opsrun/notify/log_channel.h"
#include "opsrun/metrics/registry.h"

namespace opsrun::testing {
namespace {

struct Named final : notify::Channel {
  std::string n;
  int sends = 0;
  explicit Named(std::string name) : n(std::move(name)) {}
  [[nodiscard]] std::string name() const override { return n; }
  Result<void> send(const notify::Notification&) override {
    ++sends;
    return {};
  }
};

notify::Notification sample() {
  notify::Notification n;
  n.execution_id = "exec-1";
  n.runbook_id = "rb";
  n.step_id = "tell";
  n.severity = notify::Severity::P1;
  n.message = "disk full";
  return n;
}

TEST(ChannelRegistry, ShipsLogAndAuditLog) {
  notify::ChannelRegistry r;
  EXPECT_EQ(r.names(), (std::vector<std::string>{"audit-log", "log"}));
  ASSERT_NE(r.find("log"), nullptr);
  EXPECT_EQ(r.find("slack"), nullptr);
}

TEST(ChannelRegistry, AddReplacesByName) {
  notify::ChannelRegistry r;
  auto a = std::make_shared<Named>("log");
  r.add(a);
  EXPECT_EQ(r.find("log"), a);
  EXPECT_EQ(r.names().size(), 2u);
  auto b = std::make_shared<Named>("slack");
  r.add(b);
  EXPECT_EQ(r.find("slack"), b);
}

TEST(LogChannel, SendsAlways) {
  notify::LogChannel c;
  EXPECT_TRUE(c.send(sample()).has_value());
  EXPECT_EQ(c.name(), "log");
}

TEST(AuditLogChannel, AppendsOneJsonLinePerNotificationWhenAPathIsSet) {
  const auto path = std::filesystem::temp_directory_path() / ("opsrun-audit-" + random_hex(6) + ".jsonl");
  notify::AuditLogChannel c(path.string());
  ASSERT_TRUE(c.send(sample()).has_value());
  ASSERT_TRUE(c.send(sample()).has_value());
  std::ifstream in(path);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    auto j = parse_json(line);
    ASSERT_TRUE(j) << line;
    EXPECT_EQ(j->at("message").as_string(), "disk full");
    EXPECT_EQ(j->at("severity").as_string(), "P1");
    EXPECT_EQ(j->at("execution").as_string(), "exec-1");
    ++lines;
  }
  EXPECT_EQ(lines, 2);
  std::filesystem::remove(path);
}

TEST(AuditLogChannel, WithoutAPathLogsAndWithABadPathFails) {
  notify::AuditLogChannel c;
  EXPECT_TRUE(c.send(sample()).has_value());
  c.set_path("/nonexistent-dir/audit.jsonl");
  auto r = c.send(sample());
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("/nonexistent-dir/audit.jsonl"), std::string::npos);
}

struct Failing final : notify::Channel {
  bool throws = false;
  [[nodiscard]] std::string name() const override { return "flaky"; }
  Result<void> send(const notify::Notification&) override {
    if (throws) throw std::runtime_error("boom");
    return fail(ErrorCode::Unavailable, "down");
  }
};

TEST(ChannelRegistry, SendCountsOutcomesPerChannelAndNeverThrows) {
  metrics::Registry metrics;
  notify::ChannelRegistry r;
  r.set_metrics(metrics);
  auto flaky = std::make_shared<Failing>();
  r.add(flaky);
  auto named = std::make_shared<Named>("ok");
  r.add(named);
  EXPECT_TRUE(r.send("ok", sample()).has_value());
  EXPECT_TRUE(r.send("ok", sample()).has_value());
  auto failed = r.send("flaky", sample());
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().message, "down");
  flaky->throws = true;
  auto thrown = r.send("flaky", sample());
  ASSERT_FALSE(thrown);
  EXPECT_NE(thrown.error().message.find("boom"), std::string::npos);
  auto unknown = r.send("nope", sample());
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::NotFound);
  EXPECT_EQ(named->sends, 2);
  const std::string text = metrics.render();
  EXPECT_NE(text.find(R"(opsrun_notifications_total{channel="ok",outcome="sent"} 2)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(opsrun_notifications_total{channel="flaky",outcome="failed"} 2)"), std::string::npos) << text;
}

TEST(Severity, Names) {
  EXPECT_EQ(notify::to_string(notify::Severity::P0), "P0");
  EXPECT_EQ(notify::to_string(notify::Severity::Info), "info");
  EXPECT_EQ(notify::parse_severity("p1"), notify::Severity::P1);
  EXPECT_EQ(notify::parse_severity("P3"), std::nullopt);
  EXPECT_EQ(notify::parse_action("resolve"), notify::Action::Resolve);
  EXPECT_EQ(notify::parse_action("close"), std::nullopt);
}

}  // namespace
}  // namespace opsrun::testing
