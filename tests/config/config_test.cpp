#include "opsrun/config/config.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "support/example_env.h"

namespace opsrun::config {
namespace {

TEST(Config, Defaults) {
  auto c = load_text("");
  ASSERT_TRUE(c) << c.error().describe();
  EXPECT_EQ(c->listen_host, "127.0.0.1");
  EXPECT_EQ(c->listen_port, 8080);
  EXPECT_EQ(c->limits.max_body_bytes, 1024u * 1024u);
  EXPECT_TRUE(c->open_endpoints.health);
  EXPECT_TRUE(c->open_endpoints.metrics);
  EXPECT_FALSE(c->tls.enabled());
}

TEST(Config, ShippedExampleLoads) {
  testing::set_example_env();
  auto c = load_file(OPSRUN_SOURCE_DIR "/examples/opsrun.yaml");
  ASSERT_TRUE(c) << c.error().describe();
  EXPECT_EQ(c->tokens.size(), 2u);
  EXPECT_EQ(c->tokens[1].role, "operator");
  EXPECT_EQ(c->limits.request_timeout, Millis(30'000));
  ASSERT_EQ(c->channels.size(), 6u);
  EXPECT_EQ(c->channels[0].name, "slack");
  EXPECT_EQ(c->channels[0].slack.severity_channels.at("P0"), "#alerts-critical");
}

TEST(Config, UnknownKeyHasLineAndColumn) {
  auto c = load_text("listen: 127.0.0.1:1\nlimits:\n  max_bodyy: 3\n", "x.yaml");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().where, "x.yaml:3:3");
  EXPECT_NE(c.error().message.find("limits.max_bodyy"), std::string::npos);
}

TEST(Config, WrongTypeHasLine) {
  auto c = load_text("limits:\n  max_connections: many\n", "x.yaml");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().where, "x.yaml:2:20");
  auto d = load_text("runbooks: /a\n", "x.yaml");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().where, "x.yaml:1:11");
  auto e = load_text("tokens:\n  - name: a\n    role: root\n    hash: sha256:00\n", "x.yaml");
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().where, "x.yaml:3:11");
}

TEST(Config, EnvExpansion) {
  setenv("OPSRUN_TEST_DB_PW", "s3cret", 1);
  auto c = load_text(
      "store:\n  url: postgresql://u:${OPSRUN_TEST_DB_PW}@h/db\n"
      "azure:\n  secret: ${OPSRUN_TEST_DB_PW}\n");
  ASSERT_TRUE(c) << c.error().describe();
  EXPECT_EQ(c->store.url, "postgresql://u:s3cret@h/db");
  EXPECT_EQ(c->azure.at("secret").as_string(), "s3cret");
  unsetenv("OPSRUN_TEST_DB_PW");
}

TEST(Config, MissingEnvVarNamedWithLine) {
  unsetenv("OPSRUN_TEST_MISSING");
  auto c = load_text("listen: 127.0.0.1:1\nstore:\n  url: ${OPSRUN_TEST_MISSING}\n", "y.yaml");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("OPSRUN_TEST_MISSING"), std::string::npos);
  EXPECT_EQ(c.error().where, "y.yaml:3:8");
}

TEST(Config, ListenParsing) {
  EXPECT_EQ(parse_listen("0.0.0.0:0")->second, 0);
  EXPECT_EQ(parse_listen("[::1]:9")->first, "::1");
  EXPECT_FALSE(parse_listen("localhost"));
  EXPECT_FALSE(parse_listen("h:70000"));
}

TEST(Config, SyntaxErrorHasLine) {
  auto c = load_text("a: [1,\n", "z.yaml");
  ASSERT_FALSE(c);
  EXPECT_TRUE(c.error().where.starts_with("z.yaml:"));
}

TEST(Config, AuditFileSettings) {
  auto c = load_text("audit:\n  jsonl: /var/log/opsrun/audit.jsonl\n  jsonl_keep: 3\n");
  ASSERT_TRUE(c) << c.error().describe();
  EXPECT_EQ(c->audit.jsonl_path, "/var/log/opsrun/audit.jsonl");
  EXPECT_EQ(c->audit.jsonl_keep, 3);
  EXPECT_EQ(c->audit.jsonl_max_bytes, 64ULL * 1024 * 1024);
  auto bad = load_text("audit:\n  jsonl_keep: 0\n", "x.yaml");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().where, "x.yaml:2:15");
  EXPECT_NE(bad.error().message.find("audit.jsonl_keep"), std::string::npos) << bad.error().message;
}

}  // namespace
}  // namespace opsrun::config
