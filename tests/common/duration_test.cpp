#include <gtest/gtest.h>

#include "opsrun/common/duration.h"

namespace opsrun {
namespace {

TEST(Duration, ParsesEveryUnit) {
  EXPECT_EQ(parse_duration("500ms").value(), Millis(500));
  EXPECT_EQ(parse_duration("30s").value(), Millis(30'000));
  EXPECT_EQ(parse_duration("5m").value(), Millis(300'000));
  EXPECT_EQ(parse_duration("1h").value(), Millis(3'600'000));
  EXPECT_EQ(parse_duration("2d").value(), Millis(172'800'000));
  EXPECT_EQ(parse_duration("1m30s").value(), Millis(90'000));
}

TEST(Duration, RejectsGarbageWithTheText) {
  for (const char* bad : {"", "5", "5x", "ms", "-1s", "1.5s", "5 s"}) {
    auto r = parse_duration(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);
  }
  EXPECT_NE(parse_duration("5x").error().message.find("'5x'"), std::string::npos);
}

TEST(Duration, FormatsShortest) {
  EXPECT_EQ(format_duration(Millis(1500)), "1500ms");
  EXPECT_EQ(format_duration(Millis(60'000)), "1m");
  EXPECT_EQ(format_duration(Millis(0)), "0ms");
}

}  // namespace
}  // namespace opsrun
