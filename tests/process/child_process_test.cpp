// The one child-process runner (process/child_process.h) in both modes:
// Isolated, as secretsd runs probes and restart commands, and Foreground,
// as `secrets run` runs its command.
#include <signal.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "process/child_process.h"

namespace secretsd::process {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Kind = ChildOutcome::Kind;

// A scratch folder removed at the end.
class ChildProcessFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("child_process_unit_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path file(const std::string& name, const std::string& text, fs::perms perms) {
    const fs::path p = dir_ / name;
    std::ofstream(p) << text;
    fs::permissions(p, perms);
    return p;
  }
  fs::path dir_;
};

// The caller's own PATH, for Foreground children to be found in.
std::vector<std::string> caller_env() {
  return {std::string("PATH=") + (std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin:/bin")};
}

TEST(ChildProcessIsolated, ExitStatusStdinAndNoInheritedEnvironment) {
  ::setenv("CHILD_PROCESS_UNIT_PARENT_SECRET", "leak", 1);
  auto env = base_child_environment();
  {
    ChildProcess p(ChildMode::Isolated, {"/bin/sh", "-c", "test -z \"$CHILD_PROCESS_UNIT_PARENT_SECRET\""}, env);
    EXPECT_TRUE(p.wait(5s).ok()) << "the parent's environment is not inherited";
  }
  {
    ChildProcess p(ChildMode::Isolated, {"/bin/sh", "-c", "exit 3"}, env);
    auto out = p.wait(5s);
    EXPECT_EQ(out.kind, Kind::Exited);
    EXPECT_EQ(out.code, 3);
    EXPECT_EQ(out.describe(), "exit status 3");
  }
  {
    ChildProcess p(ChildMode::Isolated, {"/bin/sh", "-c", "read -r v; [ \"$v\" = good ]"}, env, "good\n");
    EXPECT_TRUE(p.wait(5s).ok());
  }
  {
    // A child that never reads a large stdin still ends (no blocked write).
    ChildProcess p(ChildMode::Isolated, {"/bin/true"}, env, std::string(1 << 20, 'v'));
    EXPECT_TRUE(p.wait(5s).ok());
  }
  // No PATH search: a relative name is refused, not looked up.
  EXPECT_EQ(ChildProcess(ChildMode::Isolated, {"true"}, env).wait(1s).kind, Kind::SpawnFailed);
  EXPECT_EQ(ChildProcess(ChildMode::Isolated, {}, env).wait(1s).describe(), "could not be started");
}

TEST(ChildProcessIsolated, NoDescriptorAboveTwoAndNoOutputReachTheChild) {
  // A descriptor without close-on-exec, as a leaked socket would be.
  const int leaked = ::dup(STDERR_FILENO);
  ASSERT_GE(leaked, 3);
  const std::string fd = std::to_string(leaked);
  ChildProcess p(ChildMode::Isolated, {"/bin/sh", "-c", "[ ! -e /proc/$$/fd/" + fd + " ] && [ \"$(readlink /proc/$$/fd/1)\" = /dev/null ] && "
                  "[ \"$(readlink /proc/$$/fd/2)\" = /dev/null ]"},
                 base_child_environment());
  EXPECT_TRUE(p.wait(5s).ok());
  ::close(leaked);
}

TEST(ChildProcessIsolated, ATimeoutKillsTheWholeProcessGroup) {
  const auto marker = fs::temp_directory_path() / ("child_process_unit_grandchild_" + std::to_string(::getpid()));
  fs::remove(marker);
  auto start = std::chrono::steady_clock::now();
  ChildProcess p(ChildMode::Isolated, {"/bin/sh", "-c", "(sleep 1; touch '" + marker.string() + "') & sleep 30"},
                 base_child_environment());
  auto out = p.wait(300ms);
  EXPECT_EQ(out.kind, Kind::TimedOut);
  EXPECT_EQ(out.describe(), "timed out");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  std::this_thread::sleep_for(1500ms);
  EXPECT_FALSE(fs::exists(marker)) << "the grandchild was killed with its group";
}

TEST(ChildProcessIsolated, AChildStillRunningDiesWithItsObject) {
  {
    ChildProcess p(ChildMode::Isolated, {"/bin/sh", "-c", "sleep 30"}, base_child_environment());
    ASSERT_TRUE(p.started());
    EXPECT_FALSE(p.poll().has_value());
  }
  // Killed and reaped: no child of ours is left to wait for.
  int status = 0;
  EXPECT_EQ(::waitpid(-1, &status, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

TEST(ChildProcessForeground, ExitCodesAsAShellReportsThem) {
  auto run = [](std::vector<std::string> argv) {
    ChildProcess p(ChildMode::Foreground, argv, caller_env());
    return p.wait();
  };
  EXPECT_EQ(run({"sh", "-c", "exit 7"}).shell_status(), 7) << "found in PATH";
  EXPECT_EQ(run({"sh", "-c", "kill -TERM $$"}).shell_status(), 128 + SIGTERM);
  const auto missing = run({"pgsecrets-no-such-command"});
  EXPECT_EQ(missing.kind, Kind::SpawnFailed);
  EXPECT_EQ(missing.code, ENOENT);
  EXPECT_EQ(missing.shell_status(), 127);
}

TEST_F(ChildProcessFiles, ForegroundRunsAScriptWithoutAShebangUnderShAndRefusesANonExecutable) {
  const auto script = file("no_shebang", "exit 5\n", fs::perms::owner_all);
  ChildProcess p(ChildMode::Foreground, {script.string()}, caller_env());
  EXPECT_EQ(p.wait().shell_status(), 5);

  const auto plain = file("not_executable", "exit 0\n", fs::perms::owner_read | fs::perms::owner_write);
  ChildProcess q(ChildMode::Foreground, {plain.string()}, caller_env());
  const auto out = q.wait();
  EXPECT_EQ(out.kind, Kind::SpawnFailed);
  EXPECT_EQ(out.shell_status(), 126);
}

TEST_F(ChildProcessFiles, ForegroundKeepsTheCallersDescriptors) {
  const auto out_path = dir_ / "out";
  // stdout redirected for the test's sake; the child must write to it.
  const int saved = ::dup(STDOUT_FILENO);
  const int fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(fd, 0);
  ::dup2(fd, STDOUT_FILENO);
  {
    ChildProcess p(ChildMode::Foreground, {"sh", "-c", "echo visible"}, caller_env());
    EXPECT_TRUE(p.wait().ok());
  }
  ::dup2(saved, STDOUT_FILENO);
  ::close(saved);
  ::close(fd);
  std::ifstream in(out_path);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "visible");
}

TEST(ChildProcessForeground, SignalsToTheCallerAreForwardedWhileItRuns) {
  ChildProcess p(ChildMode::Foreground, {"sh", "-c", "trap 'exit 42' TERM; while :; do sleep 0.05; done"},
                 caller_env());
  ASSERT_TRUE(p.started());
  std::this_thread::sleep_for(300ms);  // the trap is set
  ::kill(::getpid(), SIGTERM);         // to us: forwarded, not fatal
  EXPECT_EQ(p.wait(5s).shell_status(), 42);
}

TEST(ChildProcessForeground, StopSendsSigtermThenSigkillAfterTheGrace) {
  {
    ChildProcess p(ChildMode::Foreground, {"sh", "-c", "trap 'exit 9' TERM; while :; do sleep 0.05; done"},
                   caller_env());
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(p.stop(5s).shell_status(), 9) << "SIGTERM first";
  }
  {
    ChildProcess p(ChildMode::Foreground, {"sh", "-c", "trap '' TERM; while :; do sleep 0.05; done"},
                   caller_env());
    std::this_thread::sleep_for(300ms);
    const auto start = std::chrono::steady_clock::now();
    const auto out = p.stop(400ms);
    EXPECT_EQ(out.kind, Kind::Signaled);
    EXPECT_EQ(out.code, SIGKILL) << "SIGKILL once the grace is over";
    EXPECT_GE(std::chrono::steady_clock::now() - start, 400ms);
  }
}

TEST(ChildEnvironment, DropsNamesAndReplacesVariables) {
  auto env = child_environment({"PATH=/bin", "SECRETS_API_KEY=n:k", "TOKEN=old", "X=a=b"},
                               {"SECRETS_API_KEY"}, {{"TOKEN", "new"}, {"FRESH", "v"}});
  EXPECT_EQ(env, (std::vector<std::string>{"PATH=/bin", "X=a=b", "FRESH=v", "TOKEN=new"}));
}

}  // namespace
}  // namespace secretsd::process
