// at("2024-03-31T01:00:00Z"): an RFC 3339 literal as a SystemTime, for readable tests.
#pragma once

#include <gtest/gtest.h>

#include "opsrun/common/clock.h"

namespace opsrun::scheduler {

inline SystemTime at(const char* text) {
  SystemTime t;
  EXPECT_TRUE(parse_time(text, t)) << text;
  return t;
}

}  // namespace opsrun::scheduler
