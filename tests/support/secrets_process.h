// Starting the built `secrets` command (SECRETS_BIN) as a child process, for
// the tests that drive it as its users do: only the environment given (plus
// PATH), stdin from a file, stdout and stderr into files.
#pragma once

#include <fcntl.h>
#include <sys/types.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "harness.h"

namespace secretsd::it {

// `in_path` empty: stdin is /dev/null. The child exits 127 if exec fails.
inline pid_t spawn_secrets(const std::vector<std::string>& args, const Env& env,
                           const std::string& in_path, const std::string& out_path,
                           const std::string& err_path) {
  std::vector<std::string> argv_s{SECRETS_BIN};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<std::string> env_s{"PATH=/usr/bin:/bin"};
  for (const auto& [k, v] : env) env_s.push_back(k + "=" + v);
  std::vector<char*> argv, envp;
  for (auto& s : argv_s) argv.push_back(s.data());
  for (auto& s : env_s) envp.push_back(s.data());
  argv.push_back(nullptr);
  envp.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    const int i = open(in_path.empty() ? "/dev/null" : in_path.c_str(), O_RDONLY);
    const int o = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int e = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(i, 0);
    dup2(o, 1);
    dup2(e, 2);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  return pid;
}

}  // namespace secretsd::it
