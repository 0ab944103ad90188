#include "opsrun/server/auth.h"

#include <gtest/gtest.h>
#include <stdlib.h>

namespace opsrun::server {
namespace {

TEST(Auth, HashIsSha256Hex) {
  // sha256("abc"), the FIPS 180-2 test vector.
  EXPECT_EQ(hash_token("abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Auth, GeneratedTokensAreUniqueAndMatchTheirHash) {
  auto a = generate_token();
  auto b = generate_token();
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(a->token.starts_with("opsr_"));
  EXPECT_EQ(a->token.size(), 5u + 43u);
  EXPECT_NE(a->token, b->token);
  EXPECT_EQ(a->hash, hash_token(a->token));
}

TEST(Auth, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
}

TEST(Auth, MalformedHashRejected) {
  auto s = TokenStore::create({{"ci", Role::Viewer, "sha256:xyz"}});
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("ci"), std::string::npos);
}

TEST(Auth, RoleMatrix) {
  auto s = TokenStore::create({{"v", Role::Viewer, hash_token("tv")},
                               {"o", Role::Operator, hash_token("to")},
                               {"a", Role::Admin, hash_token("ta")}});
  ASSERT_TRUE(s);
  const std::pair<const char*, int> tokens[] = {
      {"", 0}, {"Bearer tv", 1}, {"Bearer to", 2}, {"Bearer ta", 3}};
  for (Role required : {Role::Viewer, Role::Operator, Role::Admin}) {
    for (auto [header, level] : tokens) {
      auto r = s->authorize(header, required);
      if (level == 0) {
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().status, 401);
        EXPECT_NE(r.error().body.find("\"error\":\"unauthorized\""), std::string::npos);
      } else if (level - 1 < static_cast<int>(required)) {
        ASSERT_FALSE(r) << header;
        EXPECT_EQ(r.error().status, 403);
        EXPECT_NE(r.error().body.find("\"error\":\"forbidden\""), std::string::npos);
      } else {
        ASSERT_TRUE(r) << header;
      }
    }
  }
  EXPECT_EQ(s->authorize("Bearer nope", Role::Viewer).error().status, 401);
  EXPECT_EQ(s->authorize("Basic dGE=", Role::Viewer).error().status, 401);
  EXPECT_TRUE(s->authorize("bearer ta", Role::Admin));
}

TEST(Auth, BootstrapTokenIsAdmin) {
  setenv("OPSRUN_BOOTSTRAP_TOKEN", "boot-secret", 1);
  auto s = TokenStore::create({});
  ASSERT_TRUE(s);
  s->add_bootstrap_from_env();
  unsetenv("OPSRUN_BOOTSTRAP_TOKEN");
  auto p = s->authorize("Bearer boot-secret", Role::Admin);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->name, "bootstrap");
}

}  // namespace
}  // namespace opsrun::server

#include "opsrun/server/from_config.h"
#include "support/example_env.h"

namespace opsrun::server {
namespace {

TEST(FromConfig, ExampleConfigGivesOptionsAndTokens) {
  testing::set_example_env();
  auto c = config::load_file(OPSRUN_SOURCE_DIR "/examples/opsrun.yaml");
  ASSERT_TRUE(c) << c.error().describe();
  auto o = server_options_from_config(*c);
  EXPECT_EQ(o.host, "127.0.0.1");
  EXPECT_EQ(o.port, 8080);
  EXPECT_EQ(o.max_body_bytes, 1048576u);
  auto t = tokens_from_config(*c);
  ASSERT_TRUE(t) << t.error().describe();
  EXPECT_EQ(t->size(), 2u);
}

}  // namespace
}  // namespace opsrun::server
