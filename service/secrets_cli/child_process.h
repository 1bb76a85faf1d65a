// Runs a command with a given environment and waits for it, forwarding
// SIGTERM, SIGINT and SIGHUP: what `secrets run` does once it holds the
// secrets. Nothing is written to disk.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace secrets_client {

// `base` ("NAME=value" entries, e.g. environ) without the names in `drop`,
// with `set` added (replacing any entry of the same name).
std::vector<std::string> child_environment(const std::vector<std::string>& base,
                                           const std::vector<std::string>& drop,
                                           const std::map<std::string, std::string>& set);

// Runs argv[0] (looked up in PATH) with `env`; returns its exit code, or
// 128+N when signal N killed it; 127 when it cannot be found, 126 when it
// cannot be run (a message on stderr).
int run_child(const std::vector<std::string>& argv, const std::vector<std::string>& env);

// The same in steps, for `run --watch`: start_child() starts it (forwarding
// the signals above to it), child_exit() says whether it ended (its code, as
// run_child's) without waiting, and stop_child() sends SIGTERM, waits up to
// `grace` seconds, then SIGKILL, and reaps it. start_child returns -1 when
// it cannot fork.
int start_child(const std::vector<std::string>& argv, const std::vector<std::string>& env);
int child_exit(int pid);  // -1 while it runs
void stop_child(int pid, int grace_seconds);

}  // namespace secrets_client
