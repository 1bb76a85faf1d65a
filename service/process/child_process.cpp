#include "process/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

namespace secretsd::process {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kForwarded[] = {SIGTERM, SIGINT, SIGHUP};

// The Foreground child the caller's signals go to; 0 when none runs.
volatile sig_atomic_t g_forward_to = 0;

void forward(int sig) {
  if (g_forward_to > 0) ::kill(static_cast<pid_t>(g_forward_to), sig);
}

// Closes a descriptor on scope exit (the child's end after spawning).
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// posix_spawn attributes/file actions are C objects needing destroy().
struct SpawnAttr {
  posix_spawnattr_t attr;
  SpawnAttr() { posix_spawnattr_init(&attr); }
  ~SpawnAttr() { posix_spawnattr_destroy(&attr); }
};
struct SpawnActions {
  posix_spawn_file_actions_t actions;
  SpawnActions() { posix_spawn_file_actions_init(&actions); }
  ~SpawnActions() { posix_spawn_file_actions_destroy(&actions); }
};

// Blocks the forwarded signals and routes them to forward(); the mask is
// restored when this ends, by which time the child's pid is known, so no
// signal is lost in between.
struct ForwardingSignals {
  sigset_t old_mask;
  ForwardingSignals() {
    sigset_t block;
    sigemptyset(&block);
    for (int sig : kForwarded) sigaddset(&block, sig);
    ::pthread_sigmask(SIG_BLOCK, &block, &old_mask);
    struct sigaction fwd {};
    fwd.sa_handler = forward;
    sigemptyset(&fwd.sa_mask);
    fwd.sa_flags = SA_RESTART;
    for (int sig : kForwarded) ::sigaction(sig, &fwd, nullptr);
  }
  ~ForwardingSignals() { ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr); }
};

std::vector<char*> c_strings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Where execvp would find `name`: itself when it holds a '/', else the
// first executable file of that name in the PATH of `env` (the child's
// environment, which the Foreground caller builds from its own): this file
// takes its environment as a parameter, it never reads the process's.
std::string find_in_path(const std::string& name, const std::vector<std::string>& env) {
  if (name.find('/') != std::string::npos) return name;
  std::string dirs = "/bin:/usr/bin";
  for (const auto& entry : env) {
    if (entry.rfind("PATH=", 0) == 0) dirs = entry.substr(5);
  }
  std::size_t start = 0;
  for (;;) {
    const std::size_t end = dirs.find(':', start);
    std::string dir = dirs.substr(start, end == std::string::npos ? std::string::npos : end - start);
    const std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    if (end == std::string::npos) return name;
    start = end + 1;
  }
}

}  // namespace

std::string ChildOutcome::describe() const {
  switch (kind) {
    case Kind::Exited: return "exit status " + std::to_string(code);
    case Kind::Signaled: return "killed by signal " + std::to_string(code);
    case Kind::TimedOut: return "timed out";
    case Kind::SpawnFailed: break;
  }
  return "could not be started";
}

int ChildOutcome::shell_status() const {
  switch (kind) {
    case Kind::Exited: return code;
    case Kind::Signaled: return 128 + code;
    case Kind::TimedOut: return 128 + SIGKILL;
    case Kind::SpawnFailed: break;
  }
  return code == ENOENT ? 127 : 126;
}

std::vector<std::string> base_child_environment() {
  return {"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"};
}

std::vector<std::string> child_environment(const std::vector<std::string>& base,
                                           const std::vector<std::string>& drop,
                                           const std::map<std::string, std::string>& set) {
  std::vector<std::string> out;
  for (const auto& entry : base) {
    const std::string name = entry.substr(0, entry.find('='));
    bool skip = set.count(name) > 0;
    for (const auto& d : drop) skip |= name == d;
    if (!skip) out.push_back(entry);
  }
  for (const auto& [name, value] : set) out.push_back(name + "=" + value);
  return out;
}

ChildProcess::ChildProcess(ChildMode mode, const std::vector<std::string>& argv,
                           const std::vector<std::string>& env,
                           const std::optional<std::string>& stdin_data)
    : mode_(mode) {
  if (stdin_data) stdin_data_ = *stdin_data;
  spawn(argv, env, stdin_data.has_value());
  if (pid_ < 0) outcome_ = ChildOutcome{ChildOutcome::Kind::SpawnFailed, spawn_errno_};
}

void ChildProcess::spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                         bool with_stdin) {
  const bool isolated = mode_ == ChildMode::Isolated;
  spawn_errno_ = ENOENT;
  if (argv.empty() || argv[0].empty() || (isolated && argv[0][0] != '/')) return;

  Fd child_stdin;
  if (with_stdin) {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
      spawn_errno_ = errno;
      return;
    }
    stdin_fd_ = pair[0];
    child_stdin.fd = pair[1];
    ::fcntl(stdin_fd_, F_SETFL, ::fcntl(stdin_fd_, F_GETFL) | O_NONBLOCK);
  }

  SpawnActions actions;
  if (with_stdin) {
    posix_spawn_file_actions_adddup2(&actions.actions, child_stdin.fd, STDIN_FILENO);
  } else if (isolated) {
    posix_spawn_file_actions_addopen(&actions.actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  }
  if (isolated) {
    posix_spawn_file_actions_addopen(&actions.actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&actions.actions, STDOUT_FILENO, STDERR_FILENO);
    posix_spawn_file_actions_addclosefrom_np(&actions.actions, 3);
  }

  // Before the attributes: the Foreground child gets the mask from before.
  std::optional<ForwardingSignals> forwarding;
  if (!isolated) forwarding.emplace();

  SpawnAttr attr;
  sigset_t mask, defaults;
  sigemptyset(&mask);
  if (!isolated) mask = forwarding->old_mask;
  // Ignored signals stay ignored across exec: give the child the defaults.
  sigemptyset(&defaults);
  for (int sig : kForwarded) sigaddset(&defaults, sig);
  if (isolated) sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigmask(&attr.attr, &mask);
  posix_spawnattr_setsigdefault(&attr.attr, &defaults);
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (isolated) {
    posix_spawnattr_setpgroup(&attr.attr, 0);  // its own group, id = its pid
    flags |= POSIX_SPAWN_SETPGROUP;
  }
  posix_spawnattr_setflags(&attr.attr, flags);

  std::vector<std::string> argv_copy = argv;
  std::vector<std::string> env_copy = env;
  auto c_argv = c_strings(argv_copy);
  auto c_env = c_strings(env_copy);
  pid_t pid = -1;
  int rc = isolated ? ::posix_spawn(&pid, argv[0].c_str(), &actions.actions, &attr.attr,
                                    c_argv.data(), c_env.data())
                    : ::posix_spawnp(&pid, argv[0].c_str(), &actions.actions, &attr.attr,
                                     c_argv.data(), c_env.data());
  if (rc == ENOEXEC && !isolated) {
    // A file without "#!": /bin/sh runs it, as execvp would have.
    std::vector<std::string> sh_argv = {"/bin/sh", find_in_path(argv[0], env)};
    sh_argv.insert(sh_argv.end(), argv.begin() + 1, argv.end());
    auto c_sh_argv = c_strings(sh_argv);
    rc = ::posix_spawn(&pid, "/bin/sh", &actions.actions, &attr.attr, c_sh_argv.data(),
                       c_env.data());
  }
  if (rc != 0) {
    spawn_errno_ = rc;
    return;
  }
  pid_ = pid;
  if (!isolated) g_forward_to = pid;
}

ChildProcess::~ChildProcess() {
  if (!outcome_) kill_and_reap();
  if (stdin_fd_ >= 0) ::close(stdin_fd_);
}

void ChildProcess::send(int sig) { ::kill(mode_ == ChildMode::Isolated ? -pid_ : pid_, sig); }

ChildOutcome ChildProcess::reaped(int status) {
  if (g_forward_to == pid_) g_forward_to = 0;
  ChildOutcome out;
  if (WIFEXITED(status)) {
    out.kind = ChildOutcome::Kind::Exited;
    out.code = WEXITSTATUS(status);
  } else {
    out.kind = ChildOutcome::Kind::Signaled;
    out.code = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  }
  outcome_ = out;
  return out;
}

// A child that can no longer be waited for (reaped elsewhere) counts as a
// failure, status 1.
ChildOutcome ChildProcess::lost() {
  if (g_forward_to == pid_) g_forward_to = 0;
  outcome_ = ChildOutcome{ChildOutcome::Kind::Exited, 1};
  return *outcome_;
}

ChildOutcome ChildProcess::kill_and_reap() {
  send(SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0) {
    if (errno != EINTR) return lost();
  }
  return reaped(status);
}

// Feeds stdin without blocking: a child that never reads must still time
// out rather than hang its caller.
void ChildProcess::feed_stdin() {
  if (stdin_fd_ < 0) return;
  while (stdin_written_ < stdin_data_.size()) {
    ssize_t n = ::send(stdin_fd_, stdin_data_.data() + stdin_written_,
                       stdin_data_.size() - stdin_written_, MSG_NOSIGNAL);
    if (n <= 0) break;
    stdin_written_ += static_cast<std::size_t>(n);
  }
  const bool gone =
      stdin_written_ < stdin_data_.size() && errno != EAGAIN && errno != EWOULDBLOCK;
  if (stdin_written_ == stdin_data_.size() || gone) {
    ::close(stdin_fd_);  // end of file for the child
    stdin_fd_ = -1;
  }
}

std::optional<ChildOutcome> ChildProcess::poll() {
  if (outcome_) return outcome_;
  feed_stdin();
  int status = 0;
  const pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) return reaped(status);
  if (r < 0 && errno != EINTR) return lost();
  return std::nullopt;
}

ChildOutcome ChildProcess::wait(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (auto out = poll()) return *out;
    if (Clock::now() >= deadline) {
      kill_and_reap();
      return ChildOutcome{ChildOutcome::Kind::TimedOut, 0};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

ChildOutcome ChildProcess::wait() {
  if (outcome_) return *outcome_;
  while (stdin_fd_ >= 0) {
    if (auto out = poll()) return *out;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0) {
    if (errno != EINTR) return lost();
  }
  return reaped(status);
}

ChildOutcome ChildProcess::stop(std::chrono::milliseconds grace) {
  if (outcome_) return *outcome_;
  send(SIGTERM);
  const auto deadline = Clock::now() + grace;
  while (Clock::now() < deadline) {
    if (auto out = poll()) return *out;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return kill_and_reap();
}

}  // namespace secretsd::process
