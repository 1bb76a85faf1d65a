// Provider settings, restart_all_runtimes, runtime-env and the settings
// relay, against a real secretsd and PostgreSQL.
//
// Most tests use a second secretsd ("settings process") started with a
// runtimes file, an allowed command directory and a short restart timeout;
// the shared process (no command directories) shows the API refusing
// command runtimes by default. Setting names carry unique_suffix(): the
// settings are global and other tests share the database.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include <pqxx/pqxx>

#include "harness.h"
#include "runtimes/names.h"

namespace secretsd::it {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

const std::string kFakeRuntime = PROJECT_SOURCE_DIR "/tests/support/fake_runtime.sh";
const std::string kJson = "application/json";

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void write_text(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::trunc);
  out << text;
}

// "<pid> <value>" written by fake_runtime.sh.
struct RuntimeState {
  pid_t pid = 0;
  std::string value;
};
std::optional<RuntimeState> runtime_state(const fs::path& dir) {
  std::string text = read_text(dir / "state");
  auto space = text.find(' ');
  if (space == std::string::npos) return std::nullopt;
  RuntimeState s;
  s.pid = std::stoi(text.substr(0, space));
  s.value = text.substr(space + 1);
  while (!s.value.empty() && s.value.back() == '\n') s.value.pop_back();
  return s;
}

// Running (a zombie nobody reaped yet counts as gone: the runtimes are
// orphans, and PID 1 in a container may never reap them).
bool process_alive(pid_t pid) {
  if (pid <= 0 || ::kill(pid, 0) != 0) return false;
  std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
  auto paren = stat.rfind(')');
  return paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] != 'Z';
}

// A tiny loopback HTTP server standing in for a runtime's restart endpoint.
class RestartEndpoint {
 public:
  explicit RestartEndpoint(int status) {
    server_.Post("/restart", [this, status](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mutex_);
      bodies_.push_back(req.body);
      res.status = status;
      res.set_content("{}", "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~RestartEndpoint() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/restart"; }
  std::vector<std::string> bodies() {
    std::lock_guard<std::mutex> lock(mutex_);
    return bodies_;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<std::string> bodies_;
};

// Everything the settings process needs, created once.
struct World {
  std::string sfx;
  fs::path dir;
  AppCredentials app;    // owns the file runtimes' env and registers runtimes
  AppCredentials other;  // an unrelated app
  std::unique_ptr<SecretsdProcess> process;

  std::string fake_key, canary_key, probed_key, slow_key;
  fs::path fake_dir, canary_dir, api_dir;

  std::string runtime(const std::string& base) const { return base + "-" + sfx; }

  ~World() {
    process.reset();  // stop secretsd before its files go
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }
};

void write_runtime_config(const World& w, const fs::path& state_dir, const std::string& runtime_id,
                          const std::string& setting, int port) {
  fs::create_directories(state_dir);
  write_text(state_dir / "config", "port=" + std::to_string(port) + "\napp_id=" + w.app.app_id +
                                       "\napp_key=" + w.app.app_key + "\nruntime_id=" + runtime_id +
                                       "\nenv_name=" + runtimes::env_var_name(setting) + "\n");
  ::chmod((state_dir / "config").c_str(), 0600);
}

// The slow runtime's `sleep` argument: 30 seconds, spelled uniquely for this
// test process ("30.<pid>") so its process can be found, or not, by cmdline.
std::string slow_sleep_seconds() { return "30." + std::to_string(::getpid()); }

// True while some process runs exactly `argv` (as /proc/PID/cmdline shows it).
bool process_running(const std::vector<std::string>& argv) {
  std::string wanted;
  for (const auto& a : argv) wanted += a + '\0';
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string pid = entry.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "cmdline", std::ios::binary);
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (cmdline == wanted) return true;
  }
  return false;
}

World& world() {
  static std::unique_ptr<World> instance;
  if (instance) return *instance;
  auto w = std::make_unique<World>();
  w->sfx = unique_suffix();
  w->dir = fs::temp_directory_path() / ("secretsd_settings_it_" + w->sfx);
  fs::create_directories(w->dir / "bin");
  w->app = create_app();
  w->other = create_app();
  w->fake_key = "it.fake_key_" + w->sfx;
  w->canary_key = "it.canary_key_" + w->sfx;
  w->probed_key = "it.probed_key_" + w->sfx;
  w->slow_key = "it.slow_key_" + w->sfx;
  w->fake_dir = w->dir / "fake";
  w->canary_dir = w->dir / "canary";
  w->api_dir = w->dir / "api";
  // The API may run executables from dir/bin only: a copy of the fake runtime.
  fs::copy_file(kFakeRuntime, w->dir / "bin" / "fake_runtime.sh");
  ::chmod((w->dir / "bin" / "fake_runtime.sh").c_str(), 0755);

  auto restart_with = [&](const fs::path& state) {
    return json{{"command", {"/bin/bash", kFakeRuntime, "restart", state.string()}}};
  };
  auto touch = [&](const std::string& marker) {
    return json{{"command", {"/usr/bin/touch", (w->dir / marker).string()}}};
  };
  json file = {
      {"runtimes",
       {{{"id", w->runtime("fake")}, {"settings", {w->fake_key}}, {"restart", restart_with(w->fake_dir)},
         {"app_id", w->app.app_id}},
        {{"id", w->runtime("canary")}, {"settings", {w->canary_key}},
         {"restart", restart_with(w->canary_dir)}, {"app_id", w->app.app_id}},
        {{"id", w->runtime("canary-fleet")}, {"settings", {w->canary_key}},
         {"restart", touch("canary-fleet-restarted")}},
        {{"id", w->runtime("probed")}, {"settings", {w->probed_key}},
         {"restart", touch("probed-restarted")}},
        {{"id", w->runtime("slow")}, {"settings", {w->slow_key}},
         {"restart", {{"command", {"/bin/sleep", slow_sleep_seconds()}}}}}}},
      {"settings",
       {{w->probed_key,
         {{"probe", {"/bin/bash", "-c", "read -r v; [ \"$v\" = good-value ]"}}}},
        {w->canary_key, {{"canary", true}}}}}};
  write_text(w->dir / "runtimes.json", file.dump(2));

  w->process = SecretsdProcess::start({{"SECRETSD_RUNTIMES_FILE", (w->dir / "runtimes.json").string()},
                                       {"SECRETSD_RUNTIME_COMMAND_DIRS", (w->dir / "bin").string()},
                                       {"SECRETSD_RESTART_TIMEOUT_MS", "8000"}});
  const int port = w->process->port();
  // What the API-registered runtimes below consume (file runtimes need no grant).
  auto granted = w->process->client().Put(
      ("/api/v0/admin/apps/" + w->app.app_id + "/settings").c_str(), admin_headers(),
      json{{"settings", {"it.whatever", "it.api_key_" + w->sfx, "it.url_key_" + w->sfx}}}.dump(), kJson.c_str());
  if (!granted || granted->status != 200) throw std::runtime_error("granting the test app its settings failed");
  write_runtime_config(*w, w->fake_dir, w->runtime("fake"), w->fake_key, port);
  write_runtime_config(*w, w->canary_dir, w->runtime("canary"), w->canary_key, port);
  write_runtime_config(*w, w->api_dir, w->runtime("api"), "it.api_key_" + w->sfx, port);
  instance = std::move(w);
  return *instance;
}

class SettingsTest : public SecretsdTest {
 protected:
  httplib::Client c() { return world().process->client(); }

  httplib::Result put_setting(const std::string& name, const json& body,
                              const httplib::Headers& headers = admin_headers()) {
    return c().Put(("/api/v0/admin/settings/" + name).c_str(), headers, body.dump(), kJson.c_str());
  }
  httplib::Result get_setting(const std::string& name) {
    return c().Get(("/api/v0/admin/settings/" + name).c_str(), admin_headers());
  }
  std::string env_value(const std::string& runtime_id, const std::string& setting) {
    auto res = c().Get(("/internal/runtime-env?runtime_id=" + runtime_id).c_str(),
                       app_headers(world().app.app_id, world().app.app_key));
    if (!res || res->status != 200) return "<status " + std::to_string(res ? res->status : 0) + ">";
    auto env = body_of(res).at("env");
    auto name = runtimes::env_var_name(setting);
    return env.contains(name) ? env[name].get<std::string>() : "<absent>";
  }
};

void kill_runtime(const fs::path& dir) {
  if (auto s = runtime_state(dir)) ::kill(s->pid, SIGTERM);
}

// ------------------------------------------------------------------ access

TEST_F(SettingsTest, AdminEndpointsNeedTheAdminKey) {
  auto cl = c();
  auto none = cl.Get("/api/v0/admin/settings");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(body_of(none).at("statusCode"), 401);

  auto user = register_user();
  auto as_user = cl.Get("/api/v0/admin/settings", auth_header(user.access_token));
  ASSERT_TRUE(as_user);
  EXPECT_EQ(as_user->status, 403);
  auto put_user = put_setting("it.x_" + world().sfx, {{"value", "v"}}, auth_header(user.access_token));
  ASSERT_TRUE(put_user);
  EXPECT_EQ(put_user->status, 403);
  auto runtimes_user = cl.Get("/api/v0/admin/runtimes", auth_header(user.access_token));
  ASSERT_TRUE(runtimes_user);
  EXPECT_EQ(runtimes_user->status, 403);

  auto bad_key = cl.Get("/api/v0/admin/settings", {{"X-Admin-Key", std::string(64, 'a')}});
  ASSERT_TRUE(bad_key);
  EXPECT_EQ(bad_key->status, 401);

  auto admin = cl.Get("/api/v0/admin/settings", admin_headers());
  ASSERT_TRUE(admin);
  EXPECT_EQ(admin->status, 200);
  EXPECT_TRUE(body_of(admin).at("data").is_array());
}

TEST_F(SettingsTest, BadRequestsAreRefused) {
  auto r1 = put_setting("9starts-with-digit", {{"value", "v"}});
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->status, 400);
  auto r2 = put_setting("it.ok_" + world().sfx, {{"value", ""}});
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->status, 400);
  auto r3 = put_setting("it.ok_" + world().sfx, {{"value", "v"}, {"is_sensitive", "yes"}});
  ASSERT_TRUE(r3);
  EXPECT_EQ(r3->status, 400);
  auto r4 = c().Put(("/api/v0/admin/settings/it.ok_" + world().sfx).c_str(), admin_headers(),
                    "not json", kJson.c_str());
  ASSERT_TRUE(r4);
  EXPECT_EQ(r4->status, 400);
  auto missing = get_setting("it.never_" + world().sfx);
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(body_of(missing).at("statusCode"), 404);
}

// ------------------------------------------------------------------ storage

TEST_F(SettingsTest, SensitiveValueIsEncryptedMaskedAndNeverLogged) {
  const std::string name = "it.llm_api_key_" + world().sfx;
  const std::string canary = "sk-canary-" + world().sfx + "-tail-wxyz";
  auto put = put_setting(name, {{"value", canary}, {"is_sensitive", true}, {"description", "LLM key"}});
  ASSERT_TRUE(put);
  ASSERT_EQ(put->status, 201);
  EXPECT_EQ(put->body.find(canary), std::string::npos);
  auto data = body_of(put).at("data");
  EXPECT_EQ(data.at("value"), "sk-\xE2\x80\xA6wxyz");
  EXPECT_EQ(data.at("restarts"), json::array());

  auto short_name = "it.short_" + world().sfx;
  ASSERT_EQ(put_setting(short_name, {{"value", "abc123"}, {"is_sensitive", true}})->status, 201);
  auto plain_name = "it.model_" + world().sfx;
  ASSERT_EQ(put_setting(plain_name, {{"value", "gpt-4o-mini"}, {"is_sensitive", false}})->status, 201);

  auto list = c().Get("/api/v0/admin/settings", admin_headers());
  ASSERT_TRUE(list);
  ASSERT_EQ(list->status, 200);
  EXPECT_EQ(list->body.find(canary), std::string::npos);
  std::map<std::string, json> by_name;
  const json list_body = body_of(list);
  for (const auto& s : list_body.at("data")) by_name[s.at("name").get<std::string>()] = s;
  ASSERT_TRUE(by_name.count(name));
  EXPECT_EQ(by_name[name].at("value"), "sk-\xE2\x80\xA6wxyz");
  EXPECT_EQ(by_name[name].at("is_sensitive"), true);
  EXPECT_EQ(by_name[name].at("description"), "LLM key");
  EXPECT_FALSE(by_name[name].at("updated_at").get<std::string>().empty());
  EXPECT_EQ(by_name[short_name].at("value"), "\xE2\x80\xA2\xE2\x80\xA2\xE2\x80\xA2\xE2\x80\xA2");
  EXPECT_EQ(by_name[plain_name].at("value"), "gpt-4o-mini");

  // Change it, so a previous value exists too.
  const std::string canary2 = "sk-second-" + world().sfx + "-tail-abcd";
  ASSERT_EQ(put_setting(name, {{"value", canary2}})->status, 200);

  // The values are secrets of the extension in the global household: the
  // current and the previous version, ciphertext only, under its keyring.
  auto db = superuser_db();
  pqxx::work tx(db);
  tx.exec("SELECT secrets.use_household('00000000-0000-0000-0000-000000000000')");
  auto row = tx.exec_params(
      "SELECT s.version, position(convert_to($2, 'UTF8') in s.value), "
      "  (SELECT position(convert_to($3, 'UTF8') in v.value) FROM secrets.secret_versions v "
      "    WHERE v.household_id = s.household_id AND v.secret_id = s.id AND v.version = s.version - 1), "
      "  secrets.get_secret(g.secret_key, 'integration'), "
      "  secrets.get_secret(g.secret_key, 'integration', NULL, s.version - 1), "
      "  g.secret_key "
      "FROM secretsd.global_settings g JOIN secrets.secrets s "
      "  ON s.household_id = '00000000-0000-0000-0000-000000000000' AND s.scope = 'integration' "
      " AND s.key = g.secret_key "
      "WHERE g.name = $1",
      name, canary2, canary);
  ASSERT_EQ(row.size(), 1u);
  EXPECT_EQ(row[0][0].as<int>(), 2);
  EXPECT_EQ(row[0][1].as<int>(), 0) << "a value is never stored in clear";
  EXPECT_EQ(row[0][2].as<int>(), 0);
  EXPECT_EQ(row[0][3].as<std::string>(), canary2);
  EXPECT_EQ(row[0][4].as<std::string>(), canary);
  const std::string secret_key = row[0][5].as<std::string>();
  EXPECT_EQ(secret_key.rfind("SETTING_", 0), 0u) << secret_key;
  // Nothing else anywhere in secretsd's tables or the audit log holds either value.
  for (const std::string& value : {canary, canary2}) {
    auto leaks = tx.exec_params(
        "SELECT (SELECT count(*) FROM secretsd.global_settings g WHERE strpos(row_to_json(g)::text, $1) > 0) "
        "     + (SELECT count(*) FROM secretsd.global_setting_versions v WHERE strpos(row_to_json(v)::text, $1) > 0) "
        "     + (SELECT count(*) FROM secretsd.runtime_restarts r WHERE strpos(row_to_json(r)::text, $1) > 0) "
        "     + (SELECT count(*) FROM secrets.audit_log a WHERE strpos(row_to_json(a)::text, $1) > 0)",
        value);
    EXPECT_EQ(leaks[0][0].as<int>(), 0) << value;
  }
  // The extension's audit log is the change log: who, what, never the value.
  auto log = tx.exec_params(
      "SELECT action, actor FROM secrets.audit_log "
      "WHERE household_id = '00000000-0000-0000-0000-000000000000' AND key = $1 ORDER BY seq",
      secret_key);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0][0].as<std::string>(), "create");
  EXPECT_EQ(log[1][0].as<std::string>(), "update");
  EXPECT_EQ(log[0][1].as<std::string>(), "admin");
  tx.commit();
  EXPECT_EQ(world().process->output().find(canary), std::string::npos);
  EXPECT_EQ(world().process->output().find(canary2), std::string::npos);
}

TEST_F(SettingsTest, RollbackRestoresThePreviousValueAndDeleteRemoves) {
  const std::string name = "it.rollback_" + world().sfx;
  ASSERT_EQ(put_setting(name, {{"value", "first"}, {"is_sensitive", false}})->status, 201);
  auto none = c().Post(("/api/v0/admin/settings/" + name + "/rollback").c_str(), admin_headers(), "", kJson.c_str());
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 409) << "nothing to roll back to yet";

  ASSERT_EQ(put_setting(name, {{"value", "second"}, {"is_sensitive", false}})->status, 200);
  auto back = c().Post(("/api/v0/admin/settings/" + name + "/rollback").c_str(), admin_headers(), "", kJson.c_str());
  ASSERT_TRUE(back);
  ASSERT_EQ(back->status, 200);
  EXPECT_EQ(body_of(back).at("data").at("value"), "first");
  EXPECT_EQ(body_of(get_setting(name)).at("data").at("value"), "first");
  // A second rollback redoes (the rollback was a new version; the one before it is "second").
  auto redo = c().Post(("/api/v0/admin/settings/" + name + "/rollback").c_str(), admin_headers(), "", kJson.c_str());
  ASSERT_TRUE(redo);
  EXPECT_EQ(body_of(redo).at("data").at("value"), "second");

  auto missing = c().Post("/api/v0/admin/settings/it.nothing_here/rollback", admin_headers(), "", kJson.c_str());
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);

  auto db = superuser_db();
  auto key_rows = pqxx::nontransaction(db).exec_params(
      "SELECT secret_key FROM secretsd.global_settings WHERE name = $1", name);
  ASSERT_EQ(key_rows.size(), 1u);
  const std::string secret_key = key_rows[0][0].as<std::string>();

  auto del = c().Delete(("/api/v0/admin/settings/" + name).c_str(), admin_headers());
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 200);
  EXPECT_EQ(body_of(del).at("data").at("deleted"), true);
  EXPECT_EQ(get_setting(name)->status, 404);
  EXPECT_EQ(c().Delete(("/api/v0/admin/settings/" + name).c_str(), admin_headers())->status, 404);

  // Recreated, it starts afresh: the delete purged the old versions.
  ASSERT_EQ(put_setting(name, {{"value", "third"}, {"is_sensitive", false}})->status, 201);
  EXPECT_EQ(body_of(get_setting(name)).at("data").at("has_previous"), false);
  EXPECT_EQ(c().Post(("/api/v0/admin/settings/" + name + "/rollback").c_str(), admin_headers(), "",
                     kJson.c_str())->status, 409);

  pqxx::work tx(db);
  auto actions = tx.exec_params(
      "SELECT string_agg(action, ',' ORDER BY seq) FROM secrets.audit_log "
      "WHERE household_id = '00000000-0000-0000-0000-000000000000' AND key = $1", secret_key);
  EXPECT_EQ(actions[0][0].as<std::string>(), "create,update,rollback,rollback,delete,purge,create");
}

TEST_F(SettingsTest, ARollbackNeverShowsASensitiveValueInClear) {
  const std::string name = "it.sens_rollback_" + world().sfx;
  const std::string secret = "sk-was-sensitive-" + world().sfx + "-tail";
  ASSERT_EQ(put_setting(name, {{"value", secret}, {"is_sensitive", true}})->status, 201);
  ASSERT_EQ(put_setting(name, {{"value", "now-public"}, {"is_sensitive", false}})->status, 200);
  EXPECT_EQ(body_of(get_setting(name)).at("data").at("value"), "now-public");
  auto back = c().Post(("/api/v0/admin/settings/" + name + "/rollback").c_str(), admin_headers(), "", kJson.c_str());
  ASSERT_TRUE(back);
  ASSERT_EQ(back->status, 200);
  EXPECT_EQ(back->body.find(secret), std::string::npos);
  EXPECT_EQ(body_of(back).at("data").at("is_sensitive"), true);
  EXPECT_EQ(body_of(back).at("data").at("value"), "sk-\xE2\x80\xA6tail");
  EXPECT_EQ(get_setting(name)->body.find(secret), std::string::npos);
}

class Collector : public pqxx::notification_receiver {
 public:
  Collector(pqxx::connection_base& conn, const std::string& channel)
      : pqxx::notification_receiver(conn, channel) {}
  void operator()(const std::string& payload, int) override { payloads.push_back(payload); }
  std::vector<std::string> payloads;
};

TEST_F(SettingsTest, SavingNotifiesWithTheNameOnly) {
  const std::string name = "it.notified_" + world().sfx;
  auto db = superuser_db();
  Collector collector(db, "pgsecrets_settings");
  db.get_notifs();  // issues the LISTEN
  ASSERT_EQ(put_setting(name, {{"value", "notify-canary-value"}})->status, 201);
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::find(collector.payloads.begin(), collector.payloads.end(), name) == collector.payloads.end() &&
         std::chrono::steady_clock::now() < deadline) {
    db.await_notification(1, 0);
  }
  EXPECT_NE(std::find(collector.payloads.begin(), collector.payloads.end(), name), collector.payloads.end());
  for (const auto& p : collector.payloads) EXPECT_EQ(p.find("notify-canary-value"), std::string::npos);
}

// ------------------------------------------------------------------ restarts

TEST_F(SettingsTest, SavingRestartsARealRuntimeWhichComesBackWithTheNewValue) {
  World& w = world();
  auto first = put_setting(w.fake_key, {{"value", "value-one"}, {"is_sensitive", true}});
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 201) << first->body;
  auto restarts = body_of(first).at("data").at("restarts");
  ASSERT_EQ(restarts.size(), 1u);
  EXPECT_EQ(restarts[0].at("runtime_id"), w.runtime("fake"));
  EXPECT_EQ(restarts[0].at("status"), "ok") << restarts.dump();
  EXPECT_TRUE(restarts[0].at("duration_ms").is_number());
  auto one = runtime_state(w.fake_dir);
  ASSERT_TRUE(one);
  EXPECT_EQ(one->value, "value-one");
  EXPECT_TRUE(process_alive(one->pid));

  auto second = put_setting(w.fake_key, {{"value", "value-two"}, {"is_sensitive", true}});
  ASSERT_TRUE(second);
  ASSERT_EQ(second->status, 200);
  EXPECT_EQ(body_of(second).at("data").at("restarts")[0].at("status"), "ok");
  auto two = runtime_state(w.fake_dir);
  ASSERT_TRUE(two);
  EXPECT_EQ(two->value, "value-two");
  EXPECT_NE(two->pid, one->pid);
  EXPECT_TRUE(process_alive(two->pid));
  for (int i = 0; i < 500 && process_alive(one->pid); ++i) std::this_thread::sleep_for(20ms);
  EXPECT_FALSE(process_alive(one->pid)) << "the old runtime was stopped";

  // The admin sees the last outcome.
  auto runtimes = c().Get("/api/v0/admin/runtimes", admin_headers());
  ASSERT_TRUE(runtimes);
  ASSERT_EQ(runtimes->status, 200);
  bool found = false;
  const json runtimes_body = body_of(runtimes);
  for (const auto& r : runtimes_body.at("data")) {
    if (r.at("id") != w.runtime("fake")) continue;
    found = true;
    EXPECT_EQ(r.at("source"), "config");
    EXPECT_EQ(r.at("last_restart").at("status"), "ok");
    EXPECT_EQ(r.at("last_restart").at("setting"), w.fake_key);
  }
  EXPECT_TRUE(found);
  kill_runtime(w.fake_dir);
}

TEST_F(SettingsTest, AFailingProbeRejectsTheValueAndNothingHappens) {
  World& w = world();
  auto bad = put_setting(w.probed_key, {{"value", "bad-value"}});
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 422);
  EXPECT_EQ(body_of(bad), json({{"statusCode", 422}, {"message", "Validation probe rejected the value"}}));
  EXPECT_EQ(get_setting(w.probed_key)->status, 404) << "nothing stored";
  EXPECT_FALSE(fs::exists(w.dir / "probed-restarted")) << "nothing restarted";

  auto good = put_setting(w.probed_key, {{"value", "good-value"}});
  ASSERT_TRUE(good);
  EXPECT_EQ(good->status, 201);
  EXPECT_TRUE(fs::exists(w.dir / "probed-restarted"));
}

TEST_F(SettingsTest, ACanaryFailureRollsBackAndSparesTheFleet) {
  World& w = world();
  auto first = put_setting(w.canary_key, {{"value", "good-1"}, {"is_sensitive", false}});
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 201) << first->body;
  auto restarts = body_of(first).at("data").at("restarts");
  ASSERT_EQ(restarts.size(), 2u);
  EXPECT_EQ(restarts[0].at("runtime_id"), w.runtime("canary"));
  EXPECT_EQ(restarts[0].at("status"), "ok");
  EXPECT_EQ(restarts[1].at("status"), "ok");
  ASSERT_TRUE(fs::exists(w.dir / "canary-fleet-restarted"));
  fs::remove(w.dir / "canary-fleet-restarted");
  auto before = runtime_state(w.canary_dir);
  ASSERT_TRUE(before);

  auto bad = put_setting(w.canary_key, {{"value", "crash-2"}, {"is_sensitive", false}});
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 409);
  auto body = body_of(bad);
  EXPECT_EQ(body.at("statusCode"), 409);
  EXPECT_EQ(body.at("data").at("rolled_back"), true);
  EXPECT_EQ(body.at("data").at("canary").at("status"), "failed");
  EXPECT_EQ(body.at("data").at("canary_after_rollback").at("status"), "ok");
  EXPECT_EQ(body_of(get_setting(w.canary_key)).at("data").at("value"), "good-1");
  EXPECT_FALSE(fs::exists(w.dir / "canary-fleet-restarted")) << "the fleet was not restarted";
  auto after = runtime_state(w.canary_dir);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->value, "good-1") << "the canary runs the old value again";
  EXPECT_TRUE(process_alive(after->pid));
  kill_runtime(w.canary_dir);
}

TEST_F(SettingsTest, ARestartThatOverrunsIsKilledAndReportedAsTimeout) {
  World& w = world();
  auto start = std::chrono::steady_clock::now();
  auto res = put_setting(w.slow_key, {{"value", "v"}});
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 201);
  auto r = body_of(res).at("data").at("restarts")[0];
  EXPECT_EQ(r.at("status"), "timeout");
  EXPECT_GE(r.at("duration_ms").get<long long>(), 7900);
  EXPECT_LT(took, 20s);
  // Killed, not abandoned: the overrunning command is gone.
  bool gone = false;
  for (int i = 0; i < 500 && !gone; ++i) {
    gone = !process_running({"/bin/sleep", slow_sleep_seconds()});
    if (!gone) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(gone) << "/bin/sleep " << slow_sleep_seconds() << " still runs after the timeout";
}

// ------------------------------------------------------------------ runtimes API

TEST_F(SettingsTest, RegisteringRuntimesIsPolicedAgainstRemoteCodeExecution) {
  World& w = world();
  auto as_app = app_headers(w.app.app_id, w.app.app_key);
  auto post = [&](httplib::Client cl, const json& body, const httplib::Headers& h) {
    return cl.Post("/internal/runtimes", h, body.dump(), kJson.c_str());
  };
  auto cmd = [&](const std::string& id, std::vector<std::string> argv) {
    return json{{"id", id}, {"settings", {"it.whatever"}}, {"restart", {{"command", argv}}}};
  };
  auto url = [&](const std::string& id, const std::string& u) {
    return json{{"id", id}, {"settings", {"it.whatever"}}, {"restart", {{"url", u}}}};
  };
  // The shared process has no SECRETSD_RUNTIME_COMMAND_DIRS: no command runtimes at all.
  EXPECT_EQ(post(client(), cmd(w.runtime("x1"), {"/bin/true"}), as_app)->status, 403);
  // Outside the allowed directory, directly or through "..".
  EXPECT_EQ(post(c(), cmd(w.runtime("x2"), {"/bin/sh", "-c", "id"}), as_app)->status, 403);
  EXPECT_EQ(post(c(), cmd(w.runtime("x3"), {(w.dir / "bin" / ".." / ".." / "bin" / "sh").string()}), as_app)->status, 403);
  EXPECT_EQ(post(c(), cmd(w.runtime("x4"), {"sh"}), as_app)->status, 400);
  EXPECT_EQ(post(c(), cmd(w.runtime("x5"), {(w.dir / "bin" / "missing").string()}), as_app)->status, 403);
  // URLs only on loopback.
  for (const char* bad : {"http://10.0.0.1/restart", "http://localhost.evil.test/", "http://127.0.0.1@evil.test/",
                          "https://127.0.0.1/", "file:///etc/passwd", "http://127.0.0.2/"}) {
    EXPECT_EQ(post(c(), url(w.runtime("x6"), bad), as_app)->status, 403) << bad;
  }
  auto bad_health = url(w.runtime("x7"), "http://127.0.0.1:1/r");
  bad_health["health_url"] = "http://192.168.1.1/health";
  EXPECT_EQ(post(c(), bad_health, as_app)->status, 403);
  // Only apps register; a file runtime's id cannot be taken.
  EXPECT_EQ(post(c(), url(w.runtime("x8"), "http://127.0.0.1:1/r"), {})->status, 401);
  EXPECT_EQ(post(c(), url(w.runtime("x8"), "http://127.0.0.1:1/r"), admin_headers())->status, 403);
  EXPECT_EQ(post(c(), url(w.runtime("fake"), "http://127.0.0.1:1/r"), as_app)->status, 409);
  // Registered once, updated by its owner, refused to another app.
  EXPECT_EQ(post(c(), url(w.runtime("x9"), "http://127.0.0.1:1/r"), as_app)->status, 201);
  EXPECT_EQ(post(c(), url(w.runtime("x9"), "http://localhost:2/r"), as_app)->status, 200);
  // (An app without the grant is refused first, before it learns the id is taken.)
  EXPECT_EQ(post(c(), url(w.runtime("x9"), "http://[::1]:2/r"), app_headers(w.other.app_id, w.other.app_key))->status, 403);
  ASSERT_EQ(c().Put(("/api/v0/admin/apps/" + w.other.app_id + "/settings").c_str(), admin_headers(),
                    R"({"settings":["it.whatever"]})", kJson.c_str())->status, 200);
  EXPECT_EQ(post(c(), url(w.runtime("x9"), "http://[::1]:2/r"), app_headers(w.other.app_id, w.other.app_key))->status, 409);
  EXPECT_EQ(post(c(), json{{"id", "bad id!"}}, as_app)->status, 400);
}

TEST_F(SettingsTest, AnApiRegisteredCommandRuntimeInAnAllowedDirectoryIsRestarted) {
  World& w = world();
  const std::string setting = "it.api_key_" + w.sfx;
  json body = {{"id", w.runtime("api")},
               {"settings", {setting}},
               {"restart", {{"command", {(w.dir / "bin" / "fake_runtime.sh").string(), "restart", w.api_dir.string()}}}}};
  auto reg = c().Post("/internal/runtimes", app_headers(w.app.app_id, w.app.app_key), body.dump(), kJson.c_str());
  ASSERT_TRUE(reg);
  ASSERT_EQ(reg->status, 201) << reg->body;
  EXPECT_EQ(body_of(reg).at("data").at("source"), "api");

  auto put = put_setting(setting, {{"value", "api-value-1"}});
  ASSERT_TRUE(put);
  ASSERT_EQ(put->status, 201);
  EXPECT_EQ(body_of(put).at("data").at("restarts")[0].at("status"), "ok") << put->body;
  auto state = runtime_state(w.api_dir);
  ASSERT_TRUE(state);
  EXPECT_EQ(state->value, "api-value-1");
  kill_runtime(w.api_dir);
}

TEST_F(SettingsTest, LoopbackUrlRuntimesAreCalledAndFailuresReported) {
  World& w = world();
  RestartEndpoint ok(200), broken(500);
  const std::string setting = "it.url_key_" + w.sfx;
  auto as_app = app_headers(w.app.app_id, w.app.app_key);
  for (auto& [id, endpoint] : {std::pair<std::string, RestartEndpoint*>{w.runtime("url-ok"), &ok},
                               std::pair<std::string, RestartEndpoint*>{w.runtime("url-broken"), &broken}}) {
    json body = {{"id", id}, {"settings", {setting}}, {"restart", {{"url", endpoint->url()}}}};
    ASSERT_EQ(c().Post("/internal/runtimes", as_app, body.dump(), kJson.c_str())->status, 201);
  }
  auto put = put_setting(setting, {{"value", "url-secret-value"}});
  ASSERT_TRUE(put);
  ASSERT_EQ(put->status, 201);
  std::map<std::string, json> by_id;
  const json put_body = body_of(put);
  for (const auto& r : put_body.at("data").at("restarts")) by_id[r.at("runtime_id").get<std::string>()] = r;
  EXPECT_EQ(by_id[w.runtime("url-ok")].at("status"), "ok");
  EXPECT_EQ(by_id[w.runtime("url-broken")].at("status"), "failed");
  EXPECT_EQ(by_id[w.runtime("url-broken")].at("message"), "restart URL answered HTTP 500");
  ASSERT_EQ(ok.bodies().size(), 1u);
  EXPECT_EQ(json::parse(ok.bodies()[0]).at("runtime_id"), w.runtime("url-ok"));
  EXPECT_EQ(ok.bodies()[0].find("url-secret-value"), std::string::npos) << "values never travel in a restart call";
}

TEST_F(SettingsTest, RuntimeEnvGoesOnlyToTheRuntimesApp) {
  World& w = world();
  ASSERT_EQ(put_setting(w.fake_key, {{"value", "env-value"}, {"is_sensitive", true}})->status / 100, 2);
  kill_runtime(w.fake_dir);
  EXPECT_EQ(env_value(w.runtime("fake"), w.fake_key), "env-value");

  auto path = "/internal/runtime-env?runtime_id=" + w.runtime("fake");
  auto other = c().Get(path.c_str(), app_headers(w.other.app_id, w.other.app_key));
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 404);
  EXPECT_EQ(c().Get(path.c_str())->status, 401);
  EXPECT_EQ(c().Get(path.c_str(), admin_headers())->status, 403);
  EXPECT_EQ(c().Get("/internal/runtime-env", app_headers(w.app.app_id, w.app.app_key))->status, 400);
  EXPECT_EQ(env_value(w.runtime("no-such-runtime"), w.fake_key), "<status 404>");
  // A runtime in the file without an app_id is nobody's to read.
  EXPECT_EQ(env_value(w.runtime("slow"), w.slow_key), "<status 404>");
}

// Consuming a setting means reading it in clear, so an app registers
// runtimes only for the settings the admin granted it, and a withdrawn
// grant stops runtime-env from returning the value at once.
TEST_F(SettingsTest, AnAppConsumesOnlyTheSettingsTheAdminGrantedIt) {
  World& w = world();
  const std::string setting = "it.granted_llm_key_" + w.sfx;
  const std::string runtime_id = w.runtime("grantee");
  const std::string grants_path = "/api/v0/admin/apps/" + w.other.app_id + "/settings";
  auto as_other = app_headers(w.other.app_id, w.other.app_key);
  auto register_runtime = [&] {
    json body = {{"id", runtime_id}, {"settings", {setting}}, {"restart", {{"url", "http://127.0.0.1:1/r"}}}};
    return c().Post("/internal/runtimes", as_other, body.dump(), kJson.c_str());
  };
  auto grant = [&](const json& names) {
    return c().Put(grants_path.c_str(), admin_headers(), json{{"settings", names}}.dump(), kJson.c_str());
  };
  auto env_of_other = [&]() -> json {
    auto res = c().Get(("/internal/runtime-env?runtime_id=" + runtime_id).c_str(), as_other);
    return res && res->status == 200 ? body_of(res).at("env") : json(res ? res->status : 0);
  };
  ASSERT_EQ(put_setting(setting, {{"value", "sk-granted-value"}, {"is_sensitive", true}})->status / 100, 2);

  // Not granted: refused, and nothing registered.
  auto refused = register_runtime();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 403);
  EXPECT_EQ(body_of(refused).at("message"),
            "This app may not consume setting \"" + setting +
                "\"; the admin grants it with PUT /api/v0/admin/apps/{id}/settings");
  EXPECT_EQ(env_of_other(), json(404));

  // Granted: registered, and its env carries the value.
  auto granted = grant({setting, setting});
  ASSERT_TRUE(granted);
  ASSERT_EQ(granted->status, 200) << granted->body;
  EXPECT_EQ(body_of(granted), (json{{"app_id", w.other.app_id}, {"settings", {setting}}}));
  auto listed = c().Get(grants_path.c_str(), admin_headers());
  ASSERT_TRUE(listed);
  EXPECT_EQ(body_of(listed).at("settings"), json({setting}));
  ASSERT_EQ(register_runtime()->status, 201);
  EXPECT_EQ(env_of_other(), (json{{runtimes::env_var_name(setting), "sk-granted-value"}}));

  // Withdrawn: the runtime stays registered but reads nothing any more.
  ASSERT_EQ(grant(json::array())->status, 200);
  EXPECT_EQ(env_of_other(), json::object());

  // The grants endpoint: admin only, checked input, unknown apps.
  EXPECT_EQ(c().Put(grants_path.c_str(), as_other, R"({"settings":[]})", kJson.c_str())->status, 403);
  EXPECT_EQ(c().Get(grants_path.c_str())->status, 401);
  for (const char* bad : {R"({})", R"({"settings":"x"})", R"({"settings":[1]})", R"({"settings":["bad name"]})", "[]"}) {
    EXPECT_EQ(c().Put(grants_path.c_str(), admin_headers(), bad, kJson.c_str())->status, 400) << bad;
  }
  EXPECT_EQ(c().Put("/api/v0/admin/apps/no-such-app/settings", admin_headers(), R"({"settings":[]})", kJson.c_str())->status, 404);
  EXPECT_EQ(c().Get("/api/v0/admin/apps/Bad!Id/settings", admin_headers())->status, 404);
}

// ------------------------------------------------------------------ relay

class SettingsRelayTest : public SettingsTest {
 protected:
  std::string path(const std::string& node_id) { return "/api/v0/nodes/" + node_id + "/settings-blob"; }
  httplib::Result put_blob(const std::string& node_id, const std::string& blob, httplib::Headers h,
                           const char* type = "application/octet-stream") {
    return c().Put(path(node_id).c_str(), h, blob, type);
  }
  static httplib::Headers with(httplib::Headers h, const std::string& name, const std::string& value) {
    h.emplace(name, value);
    return h;
  }
};

TEST_F(SettingsRelayTest, VersionedWithETagsAndIfMatch) {
  auto owner = register_user("Relay home");
  auto node = create_node(owner.household_id);
  auto node_h = node_headers(node.node_id, node.api_key);
  std::string blob;
  for (int i = 0; i < 256; ++i) blob.push_back(static_cast<char>(i));  // binary, NULs included

  auto none = c().Get(path(node.node_id).c_str(), node_h);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 404);

  EXPECT_EQ(put_blob(node.node_id, blob, node_h, "application/json")->status, 415);
  EXPECT_EQ(put_blob(node.node_id, blob, with(node_h, "If-Match", "\"nope\""))->status, 412);

  auto created = put_blob(node.node_id, blob, with(node_h, "If-None-Match", "*"));
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201) << created->body;
  const std::string etag1 = created->get_header_value("ETag");
  EXPECT_FALSE(etag1.empty());
  EXPECT_EQ(body_of(created).at("data").at("version"), 1);
  EXPECT_EQ(body_of(created).at("data").at("size"), 256);

  EXPECT_EQ(put_blob(node.node_id, "x", with(node_h, "If-None-Match", "*"))->status, 412);
  EXPECT_EQ(put_blob(node.node_id, "x", node_h)->status, 428);
  EXPECT_EQ(put_blob(node.node_id, "x", with(node_h, "If-Match", "\"stale\""))->status, 412);

  std::string blob2 = blob + "v2";
  auto updated = put_blob(node.node_id, blob2, with(auth_header(owner.access_token), "If-Match", etag1));
  ASSERT_TRUE(updated);
  ASSERT_EQ(updated->status, 200);
  const std::string etag2 = updated->get_header_value("ETag");
  EXPECT_NE(etag2, etag1);
  EXPECT_EQ(body_of(updated).at("data").at("version"), 2);
  EXPECT_EQ(put_blob(node.node_id, "x", with(node_h, "If-Match", etag1))->status, 412) << "old ETag is stale";

  auto got = c().Get(path(node.node_id).c_str(), node_h);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->status, 200);
  EXPECT_EQ(got->body, blob2);
  EXPECT_EQ(got->get_header_value("ETag"), etag2);
  EXPECT_EQ(got->get_header_value("Content-Type"), "application/octet-stream");
  auto cached = c().Get(path(node.node_id).c_str(), with(node_h, "If-None-Match", etag2));
  ASSERT_TRUE(cached);
  EXPECT_EQ(cached->status, 304);
}

TEST_F(SettingsRelayTest, SizeIsCapped) {
  auto owner = register_user("Relay big");
  auto node = create_node(owner.household_id);
  auto res = put_blob(node.node_id, std::string((64 << 10) + 1, 'x'), node_headers(node.node_id, node.api_key));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
  auto fits = put_blob(node.node_id, std::string(64 << 10, 'x'), node_headers(node.node_id, node.api_key));
  ASSERT_TRUE(fits);
  EXPECT_EQ(fits->status, 201);
}

TEST_F(SettingsRelayTest, OnlyTheNodeAndItsHouseholdMayUseIt) {
  auto owner = register_user("Relay A");
  auto node = create_node(owner.household_id);
  auto sibling = create_node(owner.household_id);
  auto stranger = register_user("Relay B");
  auto stranger_node = create_node(stranger.household_id);
  ASSERT_EQ(put_blob(node.node_id, "sealed", node_headers(node.node_id, node.api_key))->status, 201);

  auto status_of = [&](const httplib::Headers& h) {
    auto res = c().Get(path(node.node_id).c_str(), h);
    return res ? res->status : 0;
  };
  EXPECT_EQ(status_of(auth_header(owner.access_token)), 200);
  EXPECT_EQ(status_of(node_headers(sibling.node_id, sibling.api_key)), 403);
  EXPECT_EQ(status_of(auth_header(stranger.access_token)), 404);
  EXPECT_EQ(status_of(node_headers(stranger_node.node_id, stranger_node.api_key)), 404);
  EXPECT_EQ(status_of(admin_headers()), 404);
  EXPECT_EQ(status_of(app_headers(world().app.app_id, world().app.app_key)), 404);
  EXPECT_EQ(status_of({}), 401);
  // A node that does not exist looks the same as one of another household.
  auto unknown = c().Get(path("no-such-node-" + world().sfx).c_str(), auth_header(owner.access_token));
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  // Writes follow the same rules.
  EXPECT_EQ(put_blob(node.node_id, "evil", with(auth_header(stranger.access_token), "If-Match", "*"))->status, 404);
  EXPECT_EQ(put_blob(node.node_id, "evil", with(node_headers(sibling.node_id, sibling.api_key), "If-Match", "*"))->status, 403);
}

// Checking a node key takes a pooled connection, so the relay must not be
// holding one already: with a pool of 2, a burst of requests with wrong keys
// used to take both connections and wait for a third (503 for everyone).
TEST_F(SettingsRelayTest, ABurstOfBadKeysCannotTakeThePool) {
  auto small = SecretsdProcess::start({{"SECRETSD_POOL_SIZE", "2"}});
  auto owner = register_user("Relay burst");
  auto node = create_node(owner.household_id);
  constexpr int kRequests = 12;
  std::vector<int> statuses(kRequests, 0);
  std::vector<std::thread> burst;
  for (int i = 0; i < kRequests; ++i) {
    burst.emplace_back([&, i] {
      auto client = small->client();
      auto res = client.Get(path(node.node_id).c_str(), node_headers(node.node_id, "wrong-key-" + std::to_string(i)));
      statuses[i] = res ? res->status : 0;
    });
  }
  for (auto& t : burst) t.join();
  // A request that waited for the pool would get 503 after kPoolWait.
  for (int status : statuses) EXPECT_EQ(status, 401) << "401 expected, not a wait for the pool";
  auto client = small->client();
  auto ok = client.Get(path(node.node_id).c_str(), auth_header(owner.access_token));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 404);  // no blob yet: answered, not 503
}

}  // namespace
}  // namespace secretsd::it
