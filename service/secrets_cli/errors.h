// The `secrets` command's exit codes and the one exception type its code
// throws to end with one of them. Messages never contain a secret value, an
// API key, an app key or a token (keys *names* of secrets are fine).
#pragma once

#include <string>

#include "process/exit_error.h"

namespace secrets_client {

enum ExitCode : int {
  kExitOk = 0,             // done
  kExitFailure = 1,        // server or network error; a stored value that is not the --type asked
  kExitUsage = 2,          // usage or configuration error, or a request the server called bad (400)
  kExitNotFound = 3,       // no such secret (404)
  kExitNotAuthorised = 4,  // 401 or 403
};

using ClientError = secretsd::ExitError;

inline ClientError usage_error(const std::string& message) {
  return ClientError(kExitUsage, message);
}
inline ClientError failure(const std::string& message) {
  return ClientError(kExitFailure, message);
}

// The exit code for an HTTP status that is not a success: the one place that
// maps the server's answers onto the command's exit codes.
inline int exit_code_for_status(int status) {
  if (status == 401 || status == 403) return kExitNotAuthorised;
  if (status == 404) return kExitNotFound;
  if (status == 400) return kExitUsage;
  return kExitFailure;
}

}  // namespace secrets_client
