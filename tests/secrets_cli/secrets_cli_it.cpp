// The `secrets` command (build/bin/secrets) end to end: run as a subprocess
// against the shared secretsd, as a node, an app and a user, for every
// command and exit code; `run`'s child environment, exit code and signals;
// and no value or credential in what it writes to stderr.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "harness.h"
#include "secrets_process.h"
#include "secrets_api_support.h"

namespace secretsd::it {
namespace {

using nlohmann::json;

struct Outcome {
  int exit = -1;  // the exit code; 128+N for a death by signal N
  std::string out, err;
};

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// A scratch folder for one subprocess's stdin, stdout and stderr.
class Scratch {
 public:
  Scratch() {
    char tmpl[] = "/tmp/secrets-cli-it.XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  ~Scratch() { (void)!std::system(("rm -rf '" + dir_ + "'").c_str()); }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }

 private:
  std::string dir_;
};

// Starts SECRETS_BIN with `args`, only `env` (plus PATH) as its environment,
// `input` on stdin, stdout and stderr into `scratch`.
pid_t spawn(const std::vector<std::string>& args, const Env& env, const std::string& input,
            const Scratch& scratch) {
  std::ofstream(scratch.path("in"), std::ios::binary) << input;
  return spawn_secrets(args, env, scratch.path("in"), scratch.path("out"), scratch.path("err"));
}

Outcome wait_for(pid_t pid, const Scratch& scratch) {
  int status = 0;
  waitpid(pid, &status, 0);
  Outcome r;
  r.exit = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(scratch.path("out"));
  r.err = slurp(scratch.path("err"));
  return r;
}

Outcome secrets_cmd(const std::vector<std::string>& args, const Env& env, const std::string& input = "") {
  Scratch scratch;
  return wait_for(spawn(args, env, input, scratch), scratch);
}

std::string url() {
  return "http://127.0.0.1:" + std::to_string(secretsd().port());
}

Env as_node(const NodeCredentials& n) {
  return {{"SECRETS_URL", url()}, {"SECRETS_API_KEY", n.header()}};
}
Env as_user(const TestUser& u) {
  return {{"SECRETS_URL", url()}, {"SECRETS_TOKEN", u.access_token}};
}
Env as_app(const AppCredentials& a, const std::string& household) {
  return {{"SECRETS_URL", url()},
          {"SECRETS_APP_ID", a.app_id},
          {"SECRETS_APP_KEY", a.app_key},
          {"SECRETS_HOUSEHOLD_ID", household}};
}

// Everything a test must never find in the command's stderr.
void expect_clean(const Outcome& r, const std::vector<std::string>& forbidden) {
  for (const auto& f : forbidden) {
    EXPECT_EQ(r.err.find(f), std::string::npos) << "stderr leaks a value or credential: " << r.err;
  }
}

class SecretsCliTest : public SecretsdTest {
 protected:
  static std::string key(const std::string& stem) { return secrets_api::unique_key(stem); }
};

TEST_F(SecretsCliTest, NodeSetsGetsListsAndDeletesItsOwnSecrets) {
  TestUser u = register_user("cli node");
  NodeCredentials n = create_node(u.household_id);
  const std::string shared = key("CLI_SHARED"), own = key("CLI_OWN");
  const std::string v_shared = "sv-shared-" + unique_suffix(), v_own = "sv-own-" + unique_suffix();
  std::vector<std::string> forbidden{v_shared, v_own, n.api_key, u.access_token};

  ASSERT_EQ(secrets_cmd({"set", shared}, as_user(u), v_shared + "\n").exit, 0);
  Outcome set = secrets_cmd({"set", own, "--scope", "node"}, as_node(n), v_own + "\n");
  EXPECT_EQ(set.exit, 0) << set.err;

  Outcome g = secrets_cmd({"get", own, "--scope", "node"}, as_node(n));
  EXPECT_EQ(g.exit, 0) << g.err;
  EXPECT_EQ(g.out, v_own + "\n");  // one trailing newline stripped by set, one added by get
  EXPECT_EQ(secrets_cmd({"get", shared}, as_node(n)).out, v_shared + "\n");

  Outcome l = secrets_cmd({"list"}, as_node(n));
  EXPECT_EQ(l.exit, 0) << l.err;
  EXPECT_NE(l.out.find(shared + "\tintegration\t-\tstring\t1\t"), std::string::npos) << l.out;
  EXPECT_NE(l.out.find(own + "\tnode\t" + n.node_id + "\tstring\t1\t"), std::string::npos) << l.out;
  Outcome lj = secrets_cmd({"list", "--json", "--scope", "node"}, as_node(n));
  EXPECT_EQ(lj.exit, 0);
  std::istringstream lines(lj.out);
  int seen = 0;
  for (std::string line; std::getline(lines, line);) {
    json m = json::parse(line);
    EXPECT_EQ(m["scope"], "node");
    EXPECT_FALSE(m.contains("value"));
    if (m["key"] == own) {
      ++seen;
      EXPECT_EQ(m["node_id"], n.node_id);
      EXPECT_EQ(m["value_type"], "string");
      EXPECT_EQ(m["version"], 1);
      EXPECT_TRUE(m["updated_at"].is_string());
    }
  }
  EXPECT_EQ(seen, 1) << lj.out;
  for (const Outcome& r : {l, lj}) {
    EXPECT_EQ(r.out.find(v_own), std::string::npos);
    EXPECT_EQ(r.out.find(v_shared), std::string::npos);
  }

  // A node writes only its own node's secrets: 403 -> 4.
  Outcome refused = secrets_cmd({"set", shared}, as_node(n), "sv-refused");
  EXPECT_EQ(refused.exit, 4) << refused.err;
  Outcome del = secrets_cmd({"delete", own, "--scope", "node"}, as_node(n));
  EXPECT_EQ(del.exit, 0) << del.err;
  Outcome gone = secrets_cmd({"get", own, "--scope", "node"}, as_node(n));
  EXPECT_EQ(gone.exit, 3);
  EXPECT_EQ(gone.out, "");
  EXPECT_EQ(secrets_cmd({"delete", own, "--scope", "node"}, as_node(n)).exit, 3);

  NodeCredentials wrong = n;
  wrong.api_key = "nk-wrong-" + unique_suffix();
  Outcome unauth = secrets_cmd({"get", shared}, as_node(wrong));
  EXPECT_EQ(unauth.exit, 4);
  forbidden.push_back(wrong.api_key);
  for (const Outcome& r : {set, g, l, lj, refused, del, gone, unauth}) expect_clean(r, forbidden);
}

TEST_F(SecretsCliTest, UserCreatesThenUpdatesAndAnAppReadsItsHousehold) {
  TestUser u = register_user("cli user");
  AppCredentials app = create_app({u.household_id});
  const std::string k = key("CLI_USER");
  const std::string v1 = "sv-one-" + unique_suffix(), v2 = "sv-two-" + unique_suffix();
  std::vector<std::string> forbidden{v1, v2, u.access_token, app.app_key};

  Outcome create = secrets_cmd({"set", k}, as_user(u), v1);
  EXPECT_EQ(create.exit, 0) << create.err;
  Outcome update = secrets_cmd({"set", k}, as_user(u), v2 + "\n\n");  // only one newline is stripped
  EXPECT_EQ(update.exit, 0) << update.err;
  Outcome g = secrets_cmd({"get", k}, as_app(app, u.household_id));
  EXPECT_EQ(g.exit, 0) << g.err;
  EXPECT_EQ(g.out, v2 + "\n\n");
  Outcome l = secrets_cmd({"list", "--json", "--scope", "integration"}, as_user(u));
  EXPECT_NE(l.out.find("\"key\":\"" + k + "\""), std::string::npos);
  EXPECT_NE(l.out.find("\"version\":2"), std::string::npos) << l.out;

  Outcome missing = secrets_cmd({"get", key("CLI_NOPE")}, as_app(app, u.household_id));
  EXPECT_EQ(missing.exit, 3);
  TestUser other = register_user("cli other");
  Outcome not_granted = secrets_cmd({"get", k}, as_app(app, other.household_id));
  EXPECT_EQ(not_granted.exit, 4) << not_granted.err;
  Env bad_token = as_user(u);
  bad_token["SECRETS_TOKEN"] = "not-a-jwt-" + unique_suffix();
  Outcome unauth = secrets_cmd({"list"}, bad_token);
  EXPECT_EQ(unauth.exit, 4);
  forbidden.push_back(bad_token["SECRETS_TOKEN"]);
  // Flags override the variables: the right token on the command line wins.
  Outcome flag = secrets_cmd({"get", k, "--token", u.access_token}, bad_token);
  EXPECT_EQ(flag.exit, 0) << flag.err;
  Outcome bad_key = secrets_cmd({"set", "not-snake-case"}, as_user(u), v1);
  EXPECT_EQ(bad_key.exit, 2);  // the server's 400
  for (const Outcome& r : {create, update, g, l, missing, not_granted, unauth, flag, bad_key}) {
    expect_clean(r, forbidden);
  }
}

TEST_F(SecretsCliTest, TypedGetAndSet) {
  TestUser u = register_user("cli typed");
  const std::string port = key("CLI_PORT"), flag = key("CLI_FLAG"), text = key("CLI_TEXT");
  EXPECT_EQ(secrets_cmd({"set", port, "--type", "int"}, as_user(u), "+08080\n").exit, 0);
  EXPECT_EQ(secrets_cmd({"set", flag, "--type", "bool"}, as_user(u), "TRUE").exit, 0);
  const std::string v = "sv-not-a-number-" + unique_suffix();
  EXPECT_EQ(secrets_cmd({"set", text}, as_user(u), v).exit, 0);

  Outcome i = secrets_cmd({"get", port, "--type", "int"}, as_user(u));
  EXPECT_EQ(i.exit, 0) << i.err;
  EXPECT_EQ(i.out, "8080\n");
  EXPECT_EQ(secrets_cmd({"get", port}, as_user(u)).out, "+08080\n");  // as stored
  EXPECT_EQ(secrets_cmd({"get", flag, "--type", "bool"}, as_user(u)).out, "true\n");
  EXPECT_NE(secrets_cmd({"list", "--json"}, as_user(u)).out.find("\"value_type\":\"int\""),
            std::string::npos);

  // A stored value that is not the type asked: exit 1, the value not shown.
  Outcome not_int = secrets_cmd({"get", text, "--type", "int"}, as_user(u));
  EXPECT_EQ(not_int.exit, 1);
  EXPECT_EQ(not_int.out, "");
  EXPECT_NE(not_int.err.find("not a valid int"), std::string::npos) << not_int.err;
  // set checks the value against --type before sending it: a usage error.
  Outcome bad = secrets_cmd({"set", key("CLI_BAD"), "--type", "int"}, as_user(u), v);
  EXPECT_EQ(bad.exit, 2);
  EXPECT_EQ(secrets_cmd({"get", port, "--type", "float"}, as_user(u)).exit, 2);
  for (const Outcome& r : {not_int, bad}) expect_clean(r, {v, u.access_token});
}

TEST_F(SecretsCliTest, UsageConfigurationAndNetworkErrors) {
  TestUser u = register_user("cli usage");
  const Env env = as_user(u);
  Outcome none = secrets_cmd({}, env);
  EXPECT_EQ(none.exit, 2);
  EXPECT_NE(none.err.find("exit codes"), std::string::npos);
  Outcome help = secrets_cmd({"--help"}, {});
  EXPECT_EQ(help.exit, 0);
  EXPECT_NE(help.out.find("4  not authorised"), std::string::npos);
  EXPECT_EQ(secrets_cmd({"frobnicate"}, env).exit, 2);
  EXPECT_EQ(secrets_cmd({"get"}, env).exit, 2);
  EXPECT_EQ(secrets_cmd({"get", "A", "B"}, env).exit, 2);
  EXPECT_EQ(secrets_cmd({"get", "A", "--scope", "household"}, env).exit, 2);
  EXPECT_EQ(secrets_cmd({"list", "--bogus"}, env).exit, 2);
  EXPECT_EQ(secrets_cmd({"run", "true"}, env).exit, 2);
  EXPECT_EQ(secrets_cmd({"run", "--grace", "1", "--", "true"}, env).exit, 2);  // --grace needs --watch
  EXPECT_EQ(secrets_cmd({"run", "--watch", "--grace", "soon", "--", "true"}, env).exit, 2);
  EXPECT_EQ(secrets_cmd({"watch", "extra"}, env).exit, 2);
  EXPECT_EQ(secrets_cmd({"get", "A"}, {{"SECRETS_TOKEN", u.access_token}}).exit, 2);  // no URL
  Outcome plain = secrets_cmd(
      {"get", "A"}, {{"SECRETS_URL", "http://secrets.invalid:7701"}, {"SECRETS_TOKEN", u.access_token}});
  EXPECT_EQ(plain.exit, 2);
  EXPECT_NE(plain.err.find("--insecure"), std::string::npos);
  // With --insecure it tries (0.0.0.0 is not loopback by name, yet
  // refuses at once), and a refused connection is a network error.
  Outcome insecure = secrets_cmd({"get", "A", "--insecure"},
                                 {{"SECRETS_URL", "http://0.0.0.0:1"}, {"SECRETS_TOKEN", u.access_token}});
  EXPECT_EQ(insecure.exit, 1) << insecure.err;
  Outcome closed =
      secrets_cmd({"list"}, {{"SECRETS_URL", "http://127.0.0.1:1"}, {"SECRETS_TOKEN", u.access_token}});
  EXPECT_EQ(closed.exit, 1);
  for (const Outcome& r : {none, plain, insecure, closed}) expect_clean(r, {u.access_token});
}

TEST_F(SecretsCliTest, RunGivesTheChildTheVisibleSecretsAndItsExitCode) {
  TestUser u = register_user("cli run");
  NodeCredentials n = create_node(u.household_id), other = create_node(u.household_id);
  const std::string a = key("RUN_A"), b = key("RUN_B"), theirs = key("RUN_THEIRS");
  const std::string va = "sv-a-" + unique_suffix(), vb_shared = "sv-b-shared-" + unique_suffix(),
                    vb_node = "sv b node $HOME '" + unique_suffix(), vt = "sv-t-" + unique_suffix();
  ASSERT_EQ(secrets_cmd({"set", a}, as_user(u), va).exit, 0);
  ASSERT_EQ(secrets_cmd({"set", b}, as_user(u), vb_shared).exit, 0);
  ASSERT_EQ(secrets_cmd({"set", b, "--scope", "node"}, as_node(n), vb_node).exit, 0);
  ASSERT_EQ(secrets_cmd({"set", theirs, "--scope", "node"}, as_node(other), vt).exit, 0);

  const std::string script = "printf '%s|%s|%s|%s' \"$" + a + "\" \"$" + b + "\" \"${" + theirs +
                             "-unset}\" \"${SECRETS_API_KEY-unset}\"";
  Outcome r = secrets_cmd({"run", "--", "sh", "-c", script}, as_node(n));
  EXPECT_EQ(r.exit, 0) << r.err;
  // The node's own secret wins over the integration one of the same key;
  // another node's is not there, nor the credential.
  EXPECT_EQ(r.out, va + "|" + vb_node + "|unset|unset");
  expect_clean(r, {va, vb_node, vb_shared, vt, n.api_key});

  // A user picks a node with --node-id, or gets the integration secrets only.
  EXPECT_EQ(secrets_cmd({"run", "--node-id", other.node_id, "--", "sh", "-c", script}, as_user(u)).out,
            va + "|" + vb_shared + "|" + vt + "|unset");
  EXPECT_EQ(secrets_cmd({"run", "--", "sh", "-c", script}, as_user(u)).out,
            va + "|" + vb_shared + "|unset|unset");

  EXPECT_EQ(secrets_cmd({"run", "--", "sh", "-c", "exit 7"}, as_node(n)).exit, 7);
  EXPECT_EQ(secrets_cmd({"run", "--", "sh", "-c", "kill -KILL $$"}, as_node(n)).exit, 128 + SIGKILL);
  EXPECT_EQ(secrets_cmd({"run", "--", "/nonexistent/worker"}, as_node(n)).exit, 127);
}

TEST_F(SecretsCliTest, RunForwardsSigtermToTheChild) {
  TestUser u = register_user("cli signal");
  NodeCredentials n = create_node(u.household_id);
  Scratch scratch;
  const std::string ready = scratch.path("ready");
  // The child exits 42 on SIGTERM: only a forwarded signal reaches it, since
  // the test signals the `secrets` process alone.
  const std::string script = "trap 'exit 42' TERM; echo $$ > '" + ready + "'; while :; do sleep 0.05; done";
  pid_t pid = spawn({"run", "--", "sh", "-c", script}, as_node(n), "", scratch);
  for (int i = 0; i < 200 && slurp(ready).find('\n') == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const pid_t child = static_cast<pid_t>(std::atoi(slurp(ready).c_str()));
  ASSERT_GT(child, 0) << "the child never started";
  kill(pid, SIGTERM);
  // Bounded: without forwarding nothing ends the child, so fail, not hang.
  int status = 0;
  bool ended = false;
  for (int i = 0; i < 200 && !ended; ++i) {
    ended = waitpid(pid, &status, WNOHANG) == pid;
    if (!ended) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!ended) {
    kill(child, SIGKILL);
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    FAIL() << "SIGTERM did not reach the child within 10 s";
  }
  Outcome r;
  r.exit = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.err = slurp(scratch.path("err"));
  EXPECT_EQ(r.exit, 42) << r.err;
}

}  // namespace
}  // namespace secretsd::it
