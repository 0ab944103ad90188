// What an operator can do with an execution that needs attention.
#pragma once

namespace opsrun::engine {

enum class OperatorAction { Retry, Skip, Abort };

}  // namespace opsrun::engine
