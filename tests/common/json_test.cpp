#include <gtest/gtest.h>

#include "opsrun/common/json.h"

namespace opsrun {
namespace {

TEST(Json, FindsDottedAndJsonPaths) {
  auto v = parse_json(R"({"a":{"b":[10,{"c":"x"}]}})").value();
  ASSERT_NE(find_path(v, "a.b.1.c"), nullptr);
  EXPECT_EQ(json_to_text(*find_path(v, "a.b.1.c")), "x");
  EXPECT_EQ(find_path(v, "a.zz"), nullptr);
  ASSERT_NE(find_json_path(v, "$.a.b[0]"), nullptr);
  EXPECT_EQ(find_json_path(v, "$.a.b[0]")->as_int64(), 10);
  EXPECT_EQ(find_json_path(v, "$.a.b[5]"), nullptr);
}

TEST(Json, MalformedIsAnError) {
  auto r = parse_json("{\"a\":");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);
}

}  // namespace
}  // namespace opsrun
