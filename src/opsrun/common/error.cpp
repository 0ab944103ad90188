#include "opsrun/common/error.h"

namespace opsrun {

std::string_view to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::InvalidArgument: return "invalid_argument";
    case ErrorCode::NotFound: return "not_found";
    case ErrorCode::AlreadyExists: return "already_exists";
    case ErrorCode::Conflict: return "conflict";
    case ErrorCode::PermissionDenied: return "permission_denied";
    case ErrorCode::Unavailable: return "unavailable";
    case ErrorCode::DeadlineExceeded: return "deadline_exceeded";
    case ErrorCode::Cancelled: return "cancelled";
    case ErrorCode::Internal: return "internal";
  }
  return "internal";
}

std::string Error::describe() const {
  if (where.empty()) return message;
  return where + ": " + message;
}

}  // namespace opsrun
