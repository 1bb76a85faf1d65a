#include "secrets_cli/cli.h"

#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <iterator>
#include <map>
#include <sstream>
#include <thread>
#include <atomic>
#include <chrono>
#include <cstring>

#include <nlohmann/json.hpp>

#include "secretsctl/args.h"
#include "secretsctl/errors.h"
#include "process/child_process.h"
#include "secrets_cli/change_watch.h"
#include "secrets_cli/config.h"
#include "secrets_cli/errors.h"
#include "secrets_cli/secrets_api.h"
#include "secrets_cli/typed_value.h"

extern char** environ;

namespace secrets_client {
namespace {

constexpr const char* kHelp = R"(secrets: read and write pgsecrets secrets over secretsd's REST API

usage:
  secrets get KEY [--scope integration|node] [--node-id ID] [--type string|int|bool]
      print the value and a newline
  secrets list [--scope integration|node] [--node-id ID] [--json]
      metadata only, never values: key, scope, node_id, value_type, version,
      updated_at; tab-separated ("-" for no node), or JSON lines with --json
  secrets set KEY [--scope integration|node] [--node-id ID] [--type string|int|bool] < value
      the value is read from stdin (never from the command line), one
      trailing newline stripped; creates the secret or updates it (--type
      applies on creation and is checked against the value)
  secrets delete KEY [--scope integration|node] [--node-id ID]
  secrets watch
      follows the change stream: one JSON line per change the caller may
      see, {"id","key","scope","node_id","version","action","at"} (never a
      value), and {"action":"reset",...} when changes were missed and the
      secrets must be listed again; reconnects with the last id after a drop
  secrets run [--watch [--grace SECONDS]] [--node-id ID] -- COMMAND [ARGS...]
      runs COMMAND with every secret the caller sees in its environment
      (NAME = the key): the integration secrets, and the node secrets of the
      calling node (or of --node-id for an app or a user), which win over an
      integration secret of the same key. SECRETS_API_KEY, SECRETS_APP_KEY
      and SECRETS_TOKEN are not passed on. SIGTERM, SIGINT and SIGHUP are
      forwarded; the exit code is COMMAND's, 128+N if signal N killed it.
      --watch: when a secret COMMAND gets changes (or the stream says
      reset), COMMAND is stopped (SIGTERM, then SIGKILL after --grace
      seconds, default 10) and started again with the new values; changes
      within half a second make one restart. It ends when COMMAND exits by
      itself.

connection (every flag overrides its variable):
  --url URL            SECRETS_URL            https://host[:port][/prefix]
  --api-key ID:KEY     SECRETS_API_KEY        a node: node_id:api_key
  --app-id ID          SECRETS_APP_ID         an app, with
  --app-key KEY        SECRETS_APP_KEY
  --household-id ID    SECRETS_HOUSEHOLD_ID   the app's household
  --token JWT          SECRETS_TOKEN          a user's access token
  --ca-file PATH       SECRETS_CA_FILE        CA bundle for https (default: the system's)
  --insecure           allow plain http:// to a host that is not loopback
  Exactly one kind of credentials; a credential flag makes the command
  ignore every credential variable.

exit codes:
  0  success
  1  server or network error; with get --type, a value that is not that type
  2  usage or configuration error, or a request the server refused as bad (400)
  3  not found (404)
  4  not authorised (401, 403)
Messages never contain a secret's value, a key or a token.
)";

const std::vector<std::string> kConnectionValued = {"url",          "api-key", "app-id", "app-key",
                                                    "household-id", "token",   "ca-file"};
const std::vector<std::string> kCredentialVariables = {"SECRETS_API_KEY", "SECRETS_APP_KEY", "SECRETS_TOKEN"};

secretsctl::Args parse(const std::string& command, const std::vector<std::string>& words,
                       std::vector<std::string> valued, std::vector<std::string> flags) {
  valued.insert(valued.end(), kConnectionValued.begin(), kConnectionValued.end());
  flags.push_back("insecure");
  secretsctl::OptionSpec spec{command, valued, flags, "secrets"};
  return secretsctl::parse_args(words, spec);
}

ClientConfig config_from(const secretsctl::Args& args) {
  ConfigFlags flags;
  for (const auto& name : kConnectionValued) {
    if (auto v = args.value(name)) flags.values[name] = *v;
  }
  flags.insecure = args.has("insecure");
  return resolve_config(process_env(), flags);
}

Selector selector_from(const secretsctl::Args& args) {
  Selector s;
  s.scope = args.value("scope").value_or("");
  s.node_id = args.value("node-id").value_or("");
  if (!s.scope.empty() && s.scope != "integration" && s.scope != "node") {
    throw usage_error("--scope must be integration or node");
  }
  return s;
}

std::string type_from(const secretsctl::Args& args) {
  std::string t = args.value("type").value_or("");
  if (!t.empty() && t != "string" && t != "int" && t != "bool") {
    throw usage_error("--type must be string, int or bool");
  }
  return t;
}

// Exactly one KEY.
std::string key_from(const secretsctl::Args& args, const std::string& command) {
  if (args.positionals.size() != 1) throw usage_error(command + " takes one KEY (see: secrets --help)");
  return args.positionals[0];
}

int cmd_get(const std::vector<std::string>& words) {
  auto args = parse("get", words, {"scope", "node-id", "type"}, {});
  if (args.has("help")) return std::cout << kHelp, kExitOk;
  const std::string key = key_from(args, "get");
  const Selector which = selector_from(args);
  const std::string type = type_from(args);
  const ClientConfig config = config_from(args);
  const std::string value = SecretsApi(config).get_value(key, which);
  auto text = typed_text(value, type.empty() ? "string" : type);
  if (!text) throw failure("the value of " + key + " is not a valid " + type);
  std::cout << *text << '\n';
  return kExitOk;
}

int cmd_list(const std::vector<std::string>& words) {
  auto args = parse("list", words, {"scope", "node-id"}, {"json"});
  if (args.has("help")) return std::cout << kHelp, kExitOk;
  if (!args.positionals.empty()) throw usage_error("list takes no arguments (see: secrets --help)");
  const Selector filter = selector_from(args);
  const ClientConfig config = config_from(args);
  for (const SecretMeta& m : SecretsApi(config).list(filter)) {
    if (args.has("json")) {
      nlohmann::json line{
          {"key", m.key},
          {"scope", m.scope},
          {"node_id", m.node_id.empty() ? nlohmann::json(nullptr) : nlohmann::json(m.node_id)},
          {"value_type", m.value_type},
          {"version", m.version},
          {"updated_at", m.updated_at}};
      std::cout << line.dump() << '\n';
    } else {
      std::cout << m.key << '\t' << m.scope << '\t' << (m.node_id.empty() ? "-" : m.node_id) << '\t'
                << m.value_type << '\t' << m.version << '\t' << m.updated_at << '\n';
    }
  }
  return kExitOk;
}

int cmd_set(const std::vector<std::string>& words) {
  auto args = parse("set", words, {"scope", "node-id", "type"}, {});
  if (args.has("help")) return std::cout << kHelp, kExitOk;
  const std::string key = key_from(args, "set");
  const Selector which = selector_from(args);
  const std::string type = type_from(args);
  const ClientConfig config = config_from(args);
  if (isatty(STDIN_FILENO)) std::cerr << "secrets: reading the value from stdin (end with Ctrl-D)\n";
  std::string value{std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
  if (!value.empty() && value.back() == '\n') value.pop_back();
  if (!type.empty() && !typed_text(value, type)) throw usage_error("the value is not a valid " + type);
  SecretsApi(config).set(key, value, which, type);
  return kExitOk;
}

int cmd_delete(const std::vector<std::string>& words) {
  auto args = parse("delete", words, {"scope", "node-id"}, {});
  if (args.has("help")) return std::cout << kHelp, kExitOk;
  const std::string key = key_from(args, "delete");
  const Selector which = selector_from(args);
  const ClientConfig config = config_from(args);
  SecretsApi(config).remove(key, which);
  return kExitOk;
}

bool is_env_name(const std::string& s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isalnum(c) || c == '_'; });
}

// The secrets `run` exports: integration ones, then the node's own, which
// replace an integration secret of the same key.
std::map<std::string, std::string> visible_secrets(SecretsApi& api, const std::string& node_id) {
  std::map<std::string, std::string> out;
  const auto all = api.list({});
  for (const std::string scope : {"integration", "node"}) {
    for (const SecretMeta& m : all) {
      if (m.scope != scope || (scope == "node" && (node_id.empty() || m.node_id != node_id))) continue;
      if (!is_env_name(m.key)) throw failure("secret " + m.key + " is not a valid environment variable name");
      out[m.key] = api.get_value(m.key, {m.scope, m.node_id});
    }
  }
  return out;
}

int cmd_watch(const std::vector<std::string>& words) {
  auto args = parse("watch", words, {}, {});
  if (args.has("help")) return std::cout << kHelp, kExitOk;
  if (!args.positionals.empty()) throw usage_error("watch takes no arguments (see: secrets --help)");
  const ClientConfig config = config_from(args);
  ChangeWatcher watcher(config);
  watcher.run([](const WatchEvent& e) {
    auto data = nlohmann::json::parse(e.data, nullptr, false);
    if (!data.is_object()) data = nlohmann::json::object();
    nlohmann::json line = nlohmann::json::object();
    if (!e.id.empty()) line["id"] = std::stoll(e.id);
    line.update(data);
    line["action"] = e.event;
    std::cout << line.dump() << std::endl;  // one line per event, at once
  }, [] {
    // Changes from now on reach this output: what a script or a test waits
    // for before it changes something (stdout stays JSON lines only).
    std::cerr << "secrets: watching for changes" << std::endl;
  });
  return kExitOk;
}

// Whether a change concerns what `run` exported: integration secrets and
// the node secrets of `node_id`; a reset always does.
bool concerns(const WatchEvent& e, const std::string& node_id) {
  if (e.event == "reset") return true;
  auto data = nlohmann::json::parse(e.data, nullptr, false);
  if (!data.is_object()) return true;
  if (data.value("scope", "") != "node") return true;
  return !node_id.empty() && data.value("node_id", "") == node_id;
}

using secretsd::process::ChildMode;
using secretsd::process::ChildOutcome;
using secretsd::process::ChildProcess;
using secretsd::process::child_environment;

// `run`'s exit code is its command's, as a shell reports it; a command that
// cannot be run is said on stderr (127: not found, 126: not runnable).
int exit_code_of(const ChildOutcome& outcome) {
  if (outcome.kind == ChildOutcome::Kind::SpawnFailed) {
    std::cerr << "secrets: cannot run the command: " << std::strerror(outcome.code) << '\n';
  }
  return outcome.shell_status();
}

// run --watch: the stream is followed on a thread of its own; a change
// wakes this loop, which restarts the command with fresh values.
int run_watching(const ClientConfig& config, const std::string& node_id,
                 const std::vector<std::string>& command, int grace) {
  std::atomic<bool> changed{false};
  std::atomic<bool> connected{false};
  std::atomic<int> watch_error{0};
  ChangeWatcher watcher(config);
  std::thread follower([&] {
    try {
      watcher.run([&](const WatchEvent& e) {
        if (concerns(e, node_id)) changed = true;
      }, [&] { connected = true; });
    } catch (const ClientError& e) {
      watch_error = e.code();
    }
  });
  struct Join {
    ChangeWatcher& w;
    std::thread& t;
    ~Join() {
      w.stop();
      t.join();
    }
  } join{watcher, follower};
  // The stream first, then the values: a change made in between is then
  // seen as a change (a restart) instead of being missed. An unreachable
  // stream does not hold the command back for more than 5 s.
  for (int i = 0; i < 100 && !connected && watch_error == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (watch_error != 0) throw ClientError(watch_error, "the change stream was refused");
  std::vector<std::string> base;
  for (char** e = environ; *e != nullptr; ++e) base.emplace_back(*e);
  for (;;) {
    changed = false;
    std::map<std::string, std::string> secrets;
    {
      SecretsApi api(config);
      secrets = visible_secrets(api, node_id);
    }
    ChildProcess child(ChildMode::Foreground, command,
                       child_environment(base, kCredentialVariables, secrets));
    for (;;) {
      if (auto outcome = child.poll()) return exit_code_of(*outcome);
      if (watch_error != 0) {
        child.stop(std::chrono::seconds(grace));
        throw ClientError(watch_error, "the change stream was refused");
      }
      if (changed) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    // Let a burst of changes settle into one restart.
    do {
      changed = false;
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    } while (changed);
    std::cerr << "secrets: a secret changed: restarting the command\n";
    child.stop(std::chrono::seconds(grace));
  }
}

int cmd_run(const std::vector<std::string>& words) {
  const auto dashes = std::find(words.begin(), words.end(), "--");
  const std::vector<std::string> options(words.begin(), dashes);
  auto args = parse("run", options, {"node-id", "grace"}, {"watch"});
  if (args.has("help")) return std::cout << kHelp, kExitOk;
  if (dashes == words.end() || dashes + 1 == words.end() || !args.positionals.empty()) {
    throw usage_error("run needs -- COMMAND [ARGS...] (see: secrets --help)");
  }
  const std::vector<std::string> command(dashes + 1, words.end());
  const ClientConfig config = config_from(args);
  const std::string node_id =
      config.caller == Caller::kNode ? config.node_id : args.value("node-id").value_or("");
  if (config.caller == Caller::kNode && args.value("node-id") && *args.value("node-id") != node_id) {
    throw usage_error("a node runs with its own node secrets; --node-id is for apps and users");
  }
  if (args.has("watch")) {
    int grace = 10;
    if (auto g = args.value("grace")) {
      if (g->empty() || g->size() > 6 || !std::all_of(g->begin(), g->end(), ::isdigit)) {
        throw usage_error("--grace must be a number of seconds");
      }
      grace = std::stoi(*g);
    }
    return run_watching(config, node_id, command, grace);
  }
  if (args.value("grace")) throw usage_error("--grace goes with --watch");
  std::map<std::string, std::string> secrets;
  {
    // Closed before the command starts: its connection must not leak into the child.
    SecretsApi api(config);
    secrets = visible_secrets(api, node_id);
  }
  std::vector<std::string> base;
  for (char** e = environ; *e != nullptr; ++e) base.emplace_back(*e);
  ChildProcess child(ChildMode::Foreground, command,
                     child_environment(base, kCredentialVariables, secrets));
  return exit_code_of(child.wait());
}

}  // namespace

int run_secrets_cli(const std::vector<std::string>& words) {
  try {
    if (words.empty()) {
      std::cerr << kHelp;
      return kExitUsage;
    }
    const std::string& command = words[0];
    const std::vector<std::string> rest(words.begin() + 1, words.end());
    if (command == "--help" || command == "-h" || command == "help") return std::cout << kHelp, kExitOk;
    if (command == "get") return cmd_get(rest);
    if (command == "list") return cmd_list(rest);
    if (command == "set") return cmd_set(rest);
    if (command == "delete") return cmd_delete(rest);
    if (command == "run") return cmd_run(rest);
    if (command == "watch") return cmd_watch(rest);
    throw usage_error("unknown command '" + command + "' (see: secrets --help)");
  } catch (const ClientError& e) {  // also the shared option parser's usage errors (2)
    std::cerr << "secrets: " << e.what() << '\n';
    return e.code();
  } catch (const std::exception& e) {
    std::cerr << "secrets: unexpected error: " << e.what() << '\n';
    return kExitFailure;
  }
}

}  // namespace secrets_client
