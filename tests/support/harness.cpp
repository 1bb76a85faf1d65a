#include "harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <sodium.h>

#include "crypto/encoding.h"
#include "crypto/sodium_init.h"
#include "response_recorder.h"

extern char** environ;

namespace secretsd::it {
namespace {

using namespace std::chrono_literals;

std::string random_hex(std::size_t bytes) {
  ensure_sodium_initialized();
  std::string raw(bytes, '\0');
  randombytes_buf(raw.data(), raw.size());
  return hex_encode(raw);
}


// Binds 127.0.0.1:0 and returns the port the kernel chose. Another process
// may take it before secretsd binds it: SecretsdProcess::start() retries.
int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot find a free port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string tail(const std::string& text, std::size_t n) {
  return text.size() <= n ? text : text.substr(text.size() - n);
}

// The shared state: created in the global environment's SetUp.
struct Shared {
  std::string db_name;
  std::string auth_key = random_hex(32);
  std::string admin_key = random_hex(32);
  std::unique_ptr<SecretsdProcess> process;
  std::string setup_error;  // non-empty when SetUp failed
  bool database_created = false;
};

Shared& shared() {
  static Shared instance;
  return instance;
}

pqxx::connection connect_superuser(const std::string& dbname) {
  return pqxx::connection("dbname=" + dbname);
}

void create_database(const std::string& name) {
  {
    auto admin = connect_superuser("postgres");
    pqxx::nontransaction tx(admin);
    tx.exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
    tx.exec("CREATE DATABASE " + name);
  }
  auto db = connect_superuser(name);
  pqxx::nontransaction tx(db);
  tx.exec("CREATE EXTENSION pgsecrets");
  try {
    // Roles are cluster-wide and other test binaries may race to create it.
    tx.exec(
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'secretsd_it') THEN "
        "CREATE ROLE secretsd_it LOGIN IN ROLE pgsecrets_gateway; END IF; END $$");
  } catch (const pqxx::sql_error&) {
    // duplicate_object from a concurrent creator: the role exists now.
  }
  tx.exec("GRANT pgsecrets_gateway TO secretsd_it");
  tx.exec("GRANT CREATE ON DATABASE " + name + " TO secretsd_it");
}

void drop_database(const std::string& name) {
  try {
    auto admin = connect_superuser("postgres");
    pqxx::nontransaction tx(admin);
    tx.exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
  } catch (const std::exception&) {
    // Best effort at the end of the run.
  }
}

std::string database_url(const std::string& db_name) {
  std::string url;
  if (const char* host = std::getenv("PGHOST")) url += std::string("host=") + host + " ";
  if (const char* port = std::getenv("PGPORT")) url += std::string("port=") + port + " ";
  return url + "dbname=" + db_name + " user=secretsd_it";
}

// Inherited variables that would change secretsd's behaviour are dropped.
bool is_service_variable(const std::string& name) {
  return name.rfind("SECRETSD_", 0) == 0 || name == "DATABASE_URL" || name == "PORT" ||
         name == "BIND" || name == "AUTH_SECRET_KEY" || name == "ADMIN_API_KEY" ||
         name == "AUTH_ALGORITHM";
}

Env child_environment(int port, const Env& extra_env) {
  Env env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    std::string kv(*entry);
    auto eq = kv.find('=');
    if (eq == std::string::npos) continue;
    std::string name = kv.substr(0, eq);
    if (!is_service_variable(name)) env[name] = kv.substr(eq + 1);
  }
  const Shared& s = shared();
  env["DATABASE_URL"] = database_url(s.db_name);
  env["PORT"] = std::to_string(port);
  env["BIND"] = "127.0.0.1";
  env["AUTH_SECRET_KEY"] = s.auth_key;
  env["ADMIN_API_KEY"] = s.admin_key;
  env["SECRETSD_ALLOW_WEAK_ARGON2"] = "1";
  env["SECRETSD_ARGON2_OPSLIMIT"] = "1";
  env["SECRETSD_ARGON2_MEMLIMIT"] = "65536";
  env["SECRETSD_MIGRATIONS_DIR"] = PROJECT_SOURCE_DIR "/migrations";
  env["SECRETSD_LOGIN_RATE_LIMIT"] = "10000,10000";
  env["SECRETSD_REGISTER_RATE_LIMIT"] = "100000";
  // Tests create households freely (a test of the modes overrides it).
  env["SECRETSD_REGISTRATION"] = "open";
  for (const auto& [name, value] : extra_env) env[name] = value;
  return env;
}

std::string new_log_path() {
  static std::atomic<int> counter{0};
  return "/tmp/secretsd_it_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) +
         ".log";
}

// posix_spawn (not fork) because the test binary is multi-threaded.
pid_t spawn(const std::vector<std::string>& args, const Env& env, const std::string& log_path) {
  std::vector<std::string> argv_storage{SECRETSD_BIN};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_storage;
  for (const auto& [name, value] : env) env_storage.push_back(name + "=" + value);
  std::vector<char*> envp;
  for (auto& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, SECRETSD_BIN, &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("posix_spawn(" SECRETSD_BIN ") failed");
  return pid;
}

int exit_status(int wstatus) { return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1; }

bool health_ok(int port) {
  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(0, 200000);
  c.set_read_timeout(1, 0);
  auto res = c.Get("/health");
  return res && res->status == 200;
}

class SecretsdEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    if (!enabled()) return;
    Shared& s = shared();
    s.db_name = "secretsd_it_" + std::to_string(::getpid());
    try {
      create_database(s.db_name);
      s.database_created = true;
      s.process = SecretsdProcess::start();
    } catch (const std::exception& e) {
      s.setup_error = e.what();
    }
  }
  void TearDown() override {
    Shared& s = shared();
    s.process.reset();
    if (s.database_created) drop_database(s.db_name);
  }
};

[[maybe_unused]] ::testing::Environment* const kEnvironment =
    ::testing::AddGlobalTestEnvironment(new SecretsdEnvironment);

httplib::Result post_json(httplib::Client& c, const std::string& path, const nlohmann::json& body,
                          const httplib::Headers& headers = {}) {
  return c.Post(path.c_str(), headers, body.dump(), "application/json");
}

void expect_status(const httplib::Result& res, int status, const char* what) {
  if (!res) throw std::runtime_error(std::string(what) + ": no response");
  if (res->status != status) {
    throw std::runtime_error(std::string(what) + ": status " + std::to_string(res->status));
  }
}

TestUser user_from(const nlohmann::json& body, const std::string& email,
                   const std::string& password) {
  TestUser user;
  user.id = body.at("user_id").get<std::string>();
  user.household_id = body.at("household_id").get<std::string>();
  user.session_id = body.at("session_id").get<std::string>();
  user.email = email;
  user.password = password;
  user.access_token = body.at("access_token").get<std::string>();
  user.refresh_token = body.at("refresh_token").get<std::string>();
  return user;
}

}  // namespace

// ---- SecretsdProcess ----------------------------------------------------

std::unique_ptr<SecretsdProcess> SecretsdProcess::start(const Env& extra_env) {
  // free_port() can only propose a port: another process may bind it before
  // secretsd does. secretsd then exits saying so, and the start is retried
  // on a new port (the condition waited on is secretsd's own bind).
  for (int attempt = 1;; ++attempt) {
    try {
      return start_on(free_port(), extra_env);
    } catch (const PortTaken&) {
      if (attempt == 5) throw std::runtime_error("secretsd found no free port in 5 attempts");
    }
  }
}

std::unique_ptr<SecretsdProcess> SecretsdProcess::start_on(int port, const Env& extra_env) {
  std::string log_path = new_log_path();
  pid_t pid = spawn({}, child_environment(port, extra_env), log_path);
  std::unique_ptr<SecretsdProcess> process(new SecretsdProcess(pid, port, log_path));
  auto deadline = std::chrono::steady_clock::now() + 15s;
  while (std::chrono::steady_clock::now() < deadline) {
    int wstatus = 0;
    if (::waitpid(pid, &wstatus, WNOHANG) == pid) {
      process->pid_ = -1;
      const std::string output = process->output();
      if (output.find("secretsd: cannot listen on") != std::string::npos) throw PortTaken();
      throw std::runtime_error("secretsd exited during start-up (status " +
                               std::to_string(exit_status(wstatus)) + "); output:\n" +
                               tail(output, 4000));
    }
    if (health_ok(port)) return process;
    std::this_thread::sleep_for(50ms);
  }
  throw std::runtime_error("secretsd did not answer /health within 15 s; output:\n" +
                           tail(process->output(), 4000));
}

int SecretsdProcess::run_to_completion(const std::vector<std::string>& args, const Env& extra_env,
                                       std::string* output) {
  std::string log_path = new_log_path();
  pid_t pid = spawn(args, child_environment(free_port(), extra_env), log_path);
  int wstatus = 0;
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (::waitpid(pid, &wstatus, WNOHANG) != pid) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &wstatus, 0);
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
  if (output != nullptr) *output = read_file(log_path);
  ::unlink(log_path.c_str());
  return exit_status(wstatus);
}

SecretsdProcess::~SecretsdProcess() {
  stop();
  ::unlink(log_path_.c_str());
}

int SecretsdProcess::stop() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  int wstatus = 0;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  bool exited = false;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid_, &wstatus, WNOHANG) == pid_) {
      exited = true;
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
  if (!exited) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &wstatus, 0);
  }
  pid_ = -1;
  return exited ? exit_status(wstatus) : -1;
}

httplib::Client SecretsdProcess::client() const {
  httplib::Client c("127.0.0.1", port_);
  c.set_connection_timeout(5, 0);
  c.set_read_timeout(30, 0);
  c.set_write_timeout(10, 0);
  record_responses(c);  // the OpenAPI response check (response_recorder.h)
  return c;
}

std::string SecretsdProcess::output() const { return read_file(log_path_); }

// ---- shared instance ----------------------------------------------------

bool enabled() {
  const char* v = std::getenv("PGSECRETS_TEST_DB");
  return v != nullptr && *v != '\0' && std::string(v) != "0";
}

Env secretsd_environment(const Env& extra_env) { return child_environment(8080, extra_env); }

SecretsdProcess& secretsd() {
  if (!shared().process) throw std::runtime_error("secretsd is not running");
  return *shared().process;
}

std::string database_name() { return shared().db_name; }
std::string admin_key() { return shared().admin_key; }
std::string auth_secret_key() { return shared().auth_key; }
httplib::Client client() { return secretsd().client(); }
std::string secretsd_output() { return secretsd().output(); }
pqxx::connection superuser_db() { return connect_superuser(shared().db_name); }

void SecretsdTest::SetUp() {
  if (!enabled()) GTEST_SKIP() << "PGSECRETS_TEST_DB not set: no PostgreSQL to use";
  if (!shared().setup_error.empty()) FAIL() << "integration set-up failed: " << shared().setup_error;
  if (!shared().process) FAIL() << "integration set-up did not run";
}

// ---- request helpers ------------------------------------------------------

httplib::Headers auth_header(const std::string& access_token) {
  return {{"Authorization", "Bearer " + access_token}};
}

httplib::Headers admin_headers() { return {{"X-Admin-Key", admin_key()}}; }

httplib::Headers app_headers(const std::string& app_id, const std::string& app_key) {
  return {{"X-Jarvis-App-Id", app_id}, {"X-Jarvis-App-Key", app_key}};
}

httplib::Headers node_headers(const std::string& node_id, const std::string& api_key) {
  return {{"X-API-Key", node_id + ":" + api_key}};
}

nlohmann::json body_of(const httplib::Result& res) {
  if (!res || res->body.empty()) return nlohmann::json::object();
  return nlohmann::json::parse(res->body, nullptr, /*allow_exceptions=*/false);
}

std::string unique_suffix() {
  static std::atomic<int> counter{0};
  return std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

// Strong by the password rule (accounts/password_policy.h): 96 random bits.
std::string strong_password() { return "Harness-" + random_hex(12) + "-pw"; }

// Registration answers 202 without tokens; the person then signs in.
TestUser signed_in(const std::string& email, const std::string& password) {
  auto c = client();
  auto res = post_json(c, "/api/v0/auth/login", {{"email", email}, {"password", password}});
  expect_status(res, 200, "login after registration");
  return user_from(body_of(res), email, password);
}

TestUser register_user(const std::string& household_name) {
  std::string email = "user-" + unique_suffix() + "@example.test";
  std::string password = strong_password();
  auto c = client();
  auto res = post_json(c, "/api/v0/auth/register",
                       {{"email", email}, {"password", password}, {"household_name", household_name}});
  expect_status(res, 202, "register_user");
  return signed_in(email, password);
}

TestUser register_invited_user(const TestUser& inviter, const std::string& role) {
  auto c = client();
  auto invite = post_json(c, "/api/v0/households/invites", {{"role", role}},
                          auth_header(inviter.access_token));
  expect_status(invite, 201, "create invite");
  std::string code = body_of(invite).at("invite_code").get<std::string>();
  std::string email = "invited-" + unique_suffix() + "@example.test";
  std::string password = strong_password();
  auto res = post_json(c, "/api/v0/auth/register",
                       {{"email", email}, {"password", password}, {"invite_code", code}});
  expect_status(res, 202, "register_invited_user");
  return signed_in(email, password);
}

TestUser login(const TestUser& user) {
  auto c = client();
  auto res = post_json(c, "/api/v0/auth/login", {{"email", user.email}, {"password", user.password}});
  expect_status(res, 200, "login");
  auto body = body_of(res);
  TestUser again = user;
  again.access_token = body.at("access_token").get<std::string>();
  again.refresh_token = body.at("refresh_token").get<std::string>();
  again.session_id = body.at("session_id").get<std::string>();
  return again;
}

NodeCredentials create_node(const std::string& household_id) {
  NodeCredentials node{"node-" + unique_suffix(), {}};
  auto c = client();
  auto res = post_json(c, "/api/v0/admin/nodes",
                       {{"node_id", node.node_id}, {"household_id", household_id}},
                       admin_headers());
  expect_status(res, 201, "create_node");
  node.api_key = body_of(res).at("api_key").get<std::string>();
  return node;
}

AppCredentials create_app(const std::vector<std::string>& household_ids) {
  AppCredentials app{"app-" + unique_suffix(), {}};
  auto c = client();
  auto res = post_json(c, "/api/v0/admin/apps",
                       {{"app_id", app.app_id}, {"household_ids", household_ids}},
                       admin_headers());
  expect_status(res, 201, "create_app");
  app.app_key = body_of(res).at("app_key").get<std::string>();
  return app;
}

JwtClaims claims_for(const TestUser& user) {
  JwtClaims claims;
  claims.sub = user.id;
  claims.household = user.household_id;
  claims.typ = "access";
  claims.iss = "secretsd";
  claims.aud = "pgsecrets";
  claims.iat = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
  claims.exp = claims.iat + 600;
  claims.extra["sid"] = user.session_id;
  return claims;
}

}  // namespace secretsd::it
