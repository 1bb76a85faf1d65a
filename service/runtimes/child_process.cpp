#include "runtimes/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

namespace secretsd::runtimes {
namespace {

using Clock = std::chrono::steady_clock;

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

std::vector<char*> c_strings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
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

std::vector<std::string> base_child_environment() {
  return {"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"};
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv,
                           const std::vector<std::string>& env,
                           const std::optional<std::string>& stdin_data) {
  if (argv.empty() || argv[0].empty() || argv[0][0] != '/') return;

  Fd child_stdin;
  if (stdin_data) {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return;
    stdin_fd_ = pair[0];
    child_stdin.fd = pair[1];
    stdin_data_ = *stdin_data;
    ::fcntl(stdin_fd_, F_SETFL, ::fcntl(stdin_fd_, F_GETFL) | O_NONBLOCK);
  }

  SpawnAttr attr;
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  // Ignored signals stay ignored across exec: give the child the defaults.
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGHUP);
  posix_spawnattr_setsigmask(&attr.attr, &none);
  posix_spawnattr_setsigdefault(&attr.attr, &defaults);
  posix_spawnattr_setpgroup(&attr.attr, 0);  // its own group, id = its pid
  posix_spawnattr_setflags(&attr.attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  SpawnActions actions;
  if (stdin_data) {
    posix_spawn_file_actions_adddup2(&actions.actions, child_stdin.fd, STDIN_FILENO);
  } else {
    posix_spawn_file_actions_addopen(&actions.actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  }
  posix_spawn_file_actions_addopen(&actions.actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions.actions, STDOUT_FILENO, STDERR_FILENO);
  posix_spawn_file_actions_addclosefrom_np(&actions.actions, 3);

  std::vector<std::string> argv_copy = argv;
  std::vector<std::string> env_copy = env;
  auto c_argv = c_strings(argv_copy);
  auto c_env = c_strings(env_copy);
  // posix_spawn (vfork-like), not fork(): secretsd is multi-threaded.
  pid_t pid = -1;
  if (::posix_spawn(&pid, argv[0].c_str(), &actions.actions, &attr.attr, c_argv.data(),
                    c_env.data()) == 0) {
    pid_ = pid;
    reaped_ = false;
  }
}

ChildProcess::~ChildProcess() {
  if (!reaped_) kill_group_and_reap();
  if (stdin_fd_ >= 0) ::close(stdin_fd_);
}

void ChildProcess::kill_group_and_reap() {
  ::kill(-pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
}

ChildOutcome ChildProcess::wait(std::chrono::milliseconds timeout) {
  ChildOutcome out;
  if (pid_ < 0) return out;  // SpawnFailed
  const auto deadline = Clock::now() + timeout;
  std::size_t written = 0;
  for (;;) {
    // Feed stdin without blocking: a child that never reads must still
    // time out rather than hang the request.
    if (stdin_fd_ >= 0) {
      while (written < stdin_data_.size()) {
        ssize_t n = ::send(stdin_fd_, stdin_data_.data() + written, stdin_data_.size() - written,
                           MSG_NOSIGNAL);
        if (n <= 0) break;
        written += static_cast<std::size_t>(n);
      }
      const bool gone = written < stdin_data_.size() && errno != EAGAIN && errno != EWOULDBLOCK;
      if (written == stdin_data_.size() || gone) {
        ::close(stdin_fd_);  // end of file for the child
        stdin_fd_ = -1;
      }
    }
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      if (WIFEXITED(status)) {
        out.kind = ChildOutcome::Kind::Exited;
        out.code = WEXITSTATUS(status);
      } else {
        out.kind = ChildOutcome::Kind::Signaled;
        out.code = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
      }
      return out;
    }
    if (Clock::now() >= deadline) {
      kill_group_and_reap();
      out.kind = ChildOutcome::Kind::TimedOut;
      return out;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace secretsd::runtimes
