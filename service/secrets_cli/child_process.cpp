#include "secrets_cli/child_process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace secrets_client {
namespace {

constexpr int kForwarded[] = {SIGTERM, SIGINT, SIGHUP};

volatile sig_atomic_t g_child = 0;

void forward(int sig) {
  if (g_child > 0) kill(static_cast<pid_t>(g_child), sig);
}

std::vector<char*> c_strings(const std::vector<std::string>& v) {
  std::vector<char*> out;
  for (const auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// In the child, between fork and exec: async-signal-safe calls only.
[[noreturn]] void exec_child(char* const* argv, char* const* envp, const sigset_t& old_mask) {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig : kForwarded) sigaction(sig, &dfl, nullptr);
  sigprocmask(SIG_SETMASK, &old_mask, nullptr);
  execvpe(argv[0], argv, envp);
  const int err = errno;
  const char* what = std::strerror(err);
  const char prefix[] = "secrets: cannot run the command: ";
  (void)!write(STDERR_FILENO, prefix, sizeof prefix - 1);
  (void)!write(STDERR_FILENO, what, std::strlen(what));
  (void)!write(STDERR_FILENO, "\n", 1);
  _exit(err == ENOENT ? 127 : 126);
}

}  // namespace

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

int start_child(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
  std::vector<char*> c_argv = c_strings(argv);
  std::vector<char*> c_env = c_strings(env);

  // Blocked until the child's pid is known, so no signal is lost in between.
  sigset_t block, old_mask;
  sigemptyset(&block);
  for (int sig : kForwarded) sigaddset(&block, sig);
  sigprocmask(SIG_BLOCK, &block, &old_mask);
  struct sigaction fwd {};
  fwd.sa_handler = forward;
  sigemptyset(&fwd.sa_mask);
  fwd.sa_flags = SA_RESTART;
  for (int sig : kForwarded) sigaction(sig, &fwd, nullptr);

  const pid_t pid = fork();
  if (pid == 0) exec_child(c_argv.data(), c_env.data(), old_mask);
  if (pid < 0) {
    sigprocmask(SIG_SETMASK, &old_mask, nullptr);
    return -1;
  }
  g_child = pid;
  sigprocmask(SIG_SETMASK, &old_mask, nullptr);
  return pid;
}

namespace {
int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}
}  // namespace

int child_exit(int pid) {
  int status = 0;
  const pid_t r = waitpid(pid, &status, WNOHANG);
  if (r == pid) {
    g_child = 0;
    return exit_code_of(status);
  }
  return r < 0 && errno != EINTR ? 1 : -1;
}

void stop_child(int pid, int grace_seconds) {
  kill(pid, SIGTERM);
  for (int waited_ms = 0; waited_ms < grace_seconds * 1000; waited_ms += 20) {
    if (child_exit(pid) >= 0) return;
    usleep(20 * 1000);
  }
  kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  g_child = 0;
}

int run_child(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
  const int pid = start_child(argv, env);
  if (pid < 0) return -1;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  g_child = 0;
  return exit_code_of(status);
}

}  // namespace secrets_client
