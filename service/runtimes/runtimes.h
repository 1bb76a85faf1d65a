// Runtimes: the processes that consume provider settings (voice, chat,
// WhatsApp workers), how each is restarted, and the rules that keep an app
// credential from becoming remote code execution.
//
// Two sources:
// - SECRETSD_RUNTIMES_FILE, written by the operator, trusted:
//     {"runtimes": [{"id": "voice", "settings": ["llm_api_key"],
//                    "restart": {"command": ["/opt/jarvis/restart-voice"]},
//                    "health_url": "http://127.0.0.1:8080/health",
//                    "app_id": "provisioner"}],
//      "settings": {"llm_api_key": {"probe": ["/opt/jarvis/check-llm-key"],
//                                   "canary": true}}}
//   "app_id" (optional) names the app allowed to read the runtime's
//   environment from GET /internal/runtime-env; without it no app may.
// - POST /internal/runtimes from an authenticated app, stored in the
//   database, untrusted: a command runtime's executable must resolve (after
//   symlinks and "..") to a file under one of SECRETSD_RUNTIME_COMMAND_DIRS
//   (none configured: refused), checked at registration AND again before
//   every run; probes can only come from the file.
// Commands are argv arrays run without a shell; URLs (restart and health)
// must be http:// on 127.0.0.1, localhost or [::1].
#pragma once

#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtimes/runtime.h"

namespace secretsd::runtimes {

struct RuntimesFile {
  std::vector<Runtime> runtimes;
  std::map<std::string, SettingPolicy> settings;
};

// Throws std::runtime_error (naming the file, not its content) when the
// file is unreadable or invalid.
RuntimesFile load_runtimes_file(const std::string& path);

// Validates a runtime definition (the POST body or a file entry). With
// `trusted` false (API), command executables are checked against
// `command_dirs` (403 when outside or when none are configured).
std::variant<Runtime, PolicyError> parse_runtime(const nlohmann::json& body, bool trusted,
                                                 const std::vector<std::string>& command_dirs);

// The executable to run for an untrusted command: realpath of `path` if it
// is an executable regular file under one of `dirs`, else nullopt.
std::optional<std::string> allowed_executable(const std::string& path,
                                              const std::vector<std::string>& dirs);

struct LoopbackUrl {
  std::string host;  // what to connect to: "127.0.0.1" or "::1"
  int port = 80;
  std::string path;  // with query, at least "/"
};
// http://127.0.0.1|localhost|[::1][:port][/path] only; "localhost" is
// pinned to 127.0.0.1 so /etc/hosts cannot redirect it.
std::optional<LoopbackUrl> parse_loopback_url(const std::string& url);

// The JSON an admin sees for a runtime (argv and URLs are not secrets).
nlohmann::json runtime_json(const Runtime& r);

}  // namespace secretsd::runtimes
