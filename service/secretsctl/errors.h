// secretsctl's exit codes and the one exception type commands throw to end
// with one of them. Messages never contain key material or secret values.
#pragma once

#include <string>

#include "process/exit_error.h"

namespace secretsctl {

enum ExitCode : int {
  kExitOk = 0,           // done
  kExitFailure = 1,      // operational failure: database unreachable, refused, verification failed
  kExitUsage = 2,        // usage error: unknown command, unknown option, bad argument
  kExitBadInput = 3,     // bad input file: missing file, bad JSON, bad manifest, bad key file
  kExitInterrupted = 130 // rotate stopped by SIGINT after a completed batch; run again to resume
};

using CliError = secretsd::ExitError;

inline CliError usage_error(const std::string& message) { return CliError(kExitUsage, message); }
inline CliError input_error(const std::string& message) { return CliError(kExitBadInput, message); }
inline CliError failure(const std::string& message) { return CliError(kExitFailure, message); }

}  // namespace secretsctl
