// Identifiers that sort by creation time.
#pragma once

#include <string>

#include "opsrun/common/clock.h"

namespace opsrun {

// "exec-<unix ms>-<9 random base36 chars>", the seed system's shape; sorts by start time.
std::string new_execution_id(SystemTime now);
// A random lowercase hex string of `bytes` bytes, from the OS's CSPRNG.
std::string random_hex(std::size_t bytes);

}  // namespace opsrun
