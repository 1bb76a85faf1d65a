// One child process started from an argv array — never through a shell —
// in a process group of its own, so a timeout can kill everything it
// started. RAII: a child still running when the object dies is killed and
// reaped, so no zombie or stray process outlives a request.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace secretsd::runtimes {

struct ChildOutcome {
  enum class Kind { Exited, Signaled, TimedOut, SpawnFailed };
  Kind kind = Kind::SpawnFailed;
  int code = 0;  // exit status or signal number
  bool ok() const { return kind == Kind::Exited && code == 0; }
  // "exit status 3", "killed by signal 9", "timed out", "could not be started".
  std::string describe() const;
};

class ChildProcess {
 public:
  // argv[0] must be an absolute path (no PATH search). `env` is the child's
  // whole environment: nothing of secretsd's own (which holds
  // AUTH_SECRET_KEY and ADMIN_API_KEY) is inherited. stdout/stderr go to
  // /dev/null, because a probe or restart script may echo the value it got;
  // every descriptor above 2 is closed in the child (secretsd's sockets
  // must not leak into a long-lived runtime it starts).
  // With `stdin_data`, the child reads it on stdin, then end of file;
  // otherwise stdin is /dev/null.
  ChildProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env,
               const std::optional<std::string>& stdin_data = std::nullopt);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Feeds stdin (if any) and waits until the child exits or `timeout`
  // passes; on timeout the whole process group is killed. Call once.
  ChildOutcome wait(std::chrono::milliseconds timeout);

 private:
  void kill_group_and_reap();

  pid_t pid_ = -1;
  bool reaped_ = true;
  int stdin_fd_ = -1;  // our end of the child's stdin (a socket: no SIGPIPE)
  std::string stdin_data_;
};

// Minimal environment for probes and restart commands.
std::vector<std::string> base_child_environment();

}  // namespace secretsd::runtimes
