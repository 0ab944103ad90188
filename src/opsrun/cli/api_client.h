// A small blocking HTTP client for the CLI's API verbs (libcurl), with the server and token
// from --server/--token or OPSRUN_SERVER/OPSRUN_TOKEN.
#pragma once

#include <functional>
#include <string>

#include "opsrun/common/error.h"
#include "opsrun/common/json.h"

namespace opsrun::cli {

struct ClientFlags {
  std::string server;                           // default $OPSRUN_SERVER or http://127.0.0.1:8080
  std::string token;                            // default $OPSRUN_TOKEN
  std::string output = "text";
};

struct ApiResponse {
  long status = 0;
  Json body;
};

class ApiClient {
 public:
  explicit ApiClient(ClientFlags flags);
  // Network failures are errors; HTTP errors come back with their status and JSON body.
  [[nodiscard]] Result<ApiResponse> call(const std::string& method, const std::string& path,
                                         const std::string& body = {}) const;
  // Reads a Server-Sent Events stream, calling on_event(event, data) per frame until it ends.
  [[nodiscard]] Result<void> stream(const std::string& path,
                                    const std::function<void(const std::string&, const std::string&)>& on_event) const;

 private:
  ClientFlags flags_;
};

}  // namespace opsrun::cli
