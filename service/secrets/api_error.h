// An HTTP error a secrets handler answers with: a status and a fixed,
// caller-chosen message (never user input beyond a validated key, never
// exception text).
#pragma once

#include <string>

namespace secretsd::secrets {

struct ApiError {
  int status = 500;
  std::string message;
};

}  // namespace secretsd::secrets
