// The one way pgsecrets starts a command: from an argv array, never through
// a shell, with posix_spawn (the callers are multi-threaded, so no fork()).
// Two callers, two modes:
// - secretsd's probes and restart commands (settings/) run Isolated: in a
//   process group of their own, so a timeout kills everything they started,
//   with no terminal and no descriptor of secretsd's.
// - `secrets run` runs its command in the Foreground: on the caller's
//   terminal, found in PATH, with SIGTERM, SIGINT and SIGHUP forwarded.
// RAII: a child still running when the object dies is killed and reaped,
// so no zombie or stray process outlives its caller.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace secretsd::process {

struct ChildOutcome {
  enum class Kind { Exited, Signaled, TimedOut, SpawnFailed };
  Kind kind = Kind::SpawnFailed;
  int code = 0;  // exit status, signal number, or (SpawnFailed) the errno
  bool ok() const { return kind == Kind::Exited && code == 0; }
  // "exit status 3", "killed by signal 9", "timed out", "could not be started".
  std::string describe() const;
  // What a shell would report: the exit status, 128+N for signal N, 127 for
  // a command not found, 126 for one that cannot be run.
  int shell_status() const;
};

enum class ChildMode {
  // argv[0] must be an absolute path (no PATH search). stdin is /dev/null
  // (or the given data), stdout/stderr go to /dev/null because a probe or
  // restart script may echo the value it got, every descriptor above 2 is
  // closed (secretsd's sockets must not leak into a long-lived runtime),
  // and the child leads a new process group.
  Isolated,
  // argv[0] is looked up in PATH (a file without a "#!" line runs under
  // /bin/sh, as execvp does); the child shares the caller's terminal,
  // descriptors and process group. While it runs, SIGTERM, SIGINT and
  // SIGHUP sent to the caller are forwarded to it. One at a time.
  Foreground,
};

class ChildProcess {
 public:
  // `env` is the child's whole environment: nothing of the caller's own is
  // inherited (secretsd's holds AUTH_SECRET_KEY and ADMIN_API_KEY). With
  // `stdin_data`, the child reads it on stdin, then end of file.
  ChildProcess(ChildMode mode, const std::vector<std::string>& argv,
               const std::vector<std::string>& env,
               const std::optional<std::string>& stdin_data = std::nullopt);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // False when it could not be started (wait() then says why).
  bool started() const { return pid_ > 0; }

  // Feeds stdin (if any) and waits until the child exits or `timeout`
  // passes; on timeout it is killed with SIGKILL (its whole group when
  // Isolated) and reaped.
  ChildOutcome wait(std::chrono::milliseconds timeout);
  // Waits as long as it runs.
  ChildOutcome wait();
  // Without waiting: nullopt while it runs, else how it ended.
  std::optional<ChildOutcome> poll();
  // SIGTERM, up to `grace` for it to end, then SIGKILL; reaps it.
  ChildOutcome stop(std::chrono::milliseconds grace);

 private:
  void spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env,
             bool with_stdin);
  void feed_stdin();
  void send(int sig);
  ChildOutcome reaped(int status);
  ChildOutcome lost();
  ChildOutcome kill_and_reap();

  const ChildMode mode_;
  pid_t pid_ = -1;
  int spawn_errno_ = 0;
  std::optional<ChildOutcome> outcome_;  // once reaped (or failed to start)
  int stdin_fd_ = -1;  // our end of the child's stdin (a socket: no SIGPIPE)
  std::string stdin_data_;
  std::size_t stdin_written_ = 0;
};

// Minimal environment for secretsd's probes and restart commands.
std::vector<std::string> base_child_environment();

// `base` ("NAME=value" entries, e.g. environ) without the names in `drop`,
// with `set` added (replacing any entry of the same name).
std::vector<std::string> child_environment(const std::vector<std::string>& base,
                                           const std::vector<std::string>& drop,
                                           const std::map<std::string, std::string>& set);

}  // namespace secretsd::process
