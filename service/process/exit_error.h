// How a command-line tool ends early: thrown with the exit code and a
// message safe to print (never a key, a value or a token); main() prints the
// message and exits with the code. secretsctl and `secrets` each define
// their own codes.
#pragma once

#include <stdexcept>
#include <string>

namespace secretsd {

class ExitError : public std::runtime_error {
 public:
  ExitError(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
  int code() const noexcept { return code_; }

 private:
  int code_;
};

}  // namespace secretsd
