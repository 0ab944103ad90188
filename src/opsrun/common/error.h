// Errors that callers handle travel as values: Result<T> = std::expected<T, Error>.
#pragma once

#include <expected>
#include <string>
#include <string_view>

namespace opsrun {

enum class ErrorCode {
  InvalidArgument,
  NotFound,
  AlreadyExists,
  Conflict,
  PermissionDenied,
  Unavailable,
  DeadlineExceeded,
  Cancelled,
  Internal,
};

std::string_view to_string(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::Internal;
  std::string message;
  // Where the problem is, when it has a place: "file:line:column" or a field path.
  std::string where;

  // "where: message" when there is a place, else the message.
  [[nodiscard]] std::string describe() const;
};

template <class T>
using Result = std::expected<T, Error>;

// Shorthand for returning an error: `return fail(ErrorCode::NotFound, "no such runbook");`
[[nodiscard]] inline std::unexpected<Error> fail(ErrorCode code, std::string message,
                                                 std::string where = {}) {
  return std::unexpected(Error{code, std::move(message), std::move(where)});
}

}  // namespace opsrun
