#include "opsrun/metrics/registry.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

namespace opsrun::metrics {
namespace {

TEST(Metrics, CounterWithLabels) {
  Registry r;
  r.counter("opsrun_executions_total", "Executions finished.", {"runbook", "status"})
      .with({"a", "completed"})
      .inc();
  auto text = r.render();
  EXPECT_NE(text.find("# TYPE opsrun_executions_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("opsrun_executions_total{runbook=\"a\",status=\"completed\"} 1\n"),
            std::string::npos)
      << text;
}

TEST(Metrics, SameNameSameFamilyAndTypeClash) {
  Registry r;
  auto& a = r.counter("x_total", "h", {"l"});
  auto& b = r.counter("x_total", "h", {"l"});
  EXPECT_EQ(&a, &b);
  EXPECT_THROW(r.gauge("x_total", "h"), std::invalid_argument);
  EXPECT_THROW(a.with({"1", "2"}), std::invalid_argument);
}

TEST(Metrics, LabelEscaping) {
  EXPECT_EQ(escape_label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  Registry r;
  r.gauge("g", "help with \\ and\nnewline", {"path"}).with({"q\"x"}).set(2.5);
  auto text = r.render();
  EXPECT_NE(text.find("# HELP g help with \\\\ and\\nnewline\n"), std::string::npos) << text;
  EXPECT_NE(text.find("g{path=\"q\\\"x\"} 2.5\n"), std::string::npos) << text;
}

TEST(Metrics, HistogramBucketsSumCount) {
  Registry r;
  auto& h = r.histogram("d_seconds", "Durations.", {"route"}, {0.1, 1}).with({"/x"});
  h.observe(0.05);
  h.observe(0.5);
  h.observe(5);
  auto text = r.render();
  EXPECT_NE(text.find("d_seconds_bucket{route=\"/x\",le=\"0.1\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("d_seconds_bucket{route=\"/x\",le=\"1\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("d_seconds_bucket{route=\"/x\",le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("d_seconds_sum{route=\"/x\"} 5.55\n"), std::string::npos) << text;
  EXPECT_NE(text.find("d_seconds_count{route=\"/x\"} 3\n"), std::string::npos);
}

TEST(Metrics, ConcurrentIncrements) {
  Registry r;
  auto& c = r.counter("c_total", "c").with({});
  auto& g = r.gauge("g", "g").with({});
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c.inc();
        g.inc();
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(c.value(), 40000);
  EXPECT_EQ(g.value(), 40000);
}

TEST(Metrics, ProcessMetrics) {
  Registry r;
  r.enable_process_metrics();
  auto text = r.render();
  for (const char* name : {"process_resident_memory_bytes ", "process_open_fds ",
                           "process_start_time_seconds ", "process_cpu_seconds_total "}) {
    EXPECT_NE(text.find(std::string("\n") + name), std::string::npos) << name << "\n" << text;
  }
}

TEST(Metrics, PromtoolAcceptsExposition) {
  if (!std::filesystem::exists("/usr/bin/promtool")) {
    if (std::getenv("CI")) FAIL() << "promtool missing (install the Debian package prometheus)";
    GTEST_SKIP() << "promtool not installed";
  }
  Registry r;
  r.enable_process_metrics();
  r.counter("opsrun_executions_total", "Executions finished, by runbook and status.",
            {"runbook", "status"})
      .with({"disk \"cleanup\"\n", "completed"})
      .inc(3);
  r.gauge("opsrun_executions_active", "Executions running now.").with({}).set(2);
  auto& h = r.histogram("http_request_duration_seconds", "Request latency.", {"route"});
  h.with({"/api/executions/{id}"}).observe(0.003);
  h.with({"/metrics"}).observe(0.2);
  auto path = std::filesystem::temp_directory_path() /
              ("opsrun_metrics_" + std::to_string(getpid()) + ".txt");
  {
    std::ofstream out(path);
    out << r.render();
  }
  std::string cmd = "/usr/bin/promtool check metrics < " + path.string() + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string output;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p)) output += buf;
  int rc = pclose(p);
  std::filesystem::remove(path);
  EXPECT_EQ(rc, 0) << output;
}

}  // namespace
}  // namespace opsrun::metrics
