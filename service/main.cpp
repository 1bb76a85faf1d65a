// secretsd: configuration from the environment, migrations, then the HTTP
// server until SIGINT/SIGTERM.
//
//   secretsd            apply pending migrations, then serve
//   secretsd migrate    apply pending migrations and exit
#include <pthread.h>
#include <signal.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>
#include <string>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include <pqxx/connection>

#include "api/access.h"
#include "api/router.h"
#include "composition/modules.h"
#include "config/config.h"
#include "db/databases.h"
#include "db/extension_version.h"
#include "db/migrations.h"
#include "events/change_hub.h"
#include "events/module.h"
#include "http/access_log.h"
#include "http/server.h"
#include "metrics/metrics.h"
#include "process/fd_limit.h"
#include "process/hardening.h"

namespace {

using namespace secretsd;

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// Prints warnings; on errors prints them and returns nullopt.
std::optional<Config> load_or_explain() {
  ConfigResult result = load_config(process_environment());
  for (const auto& warning : result.warnings) std::cerr << "secretsd: warning: " << warning << "\n";
  if (!result.ok()) {
    for (const auto& error : result.errors) std::cerr << "secretsd: config error: " << error << "\n";
    std::cerr << "secretsd: refusing to start (see above)\n";
    return std::nullopt;
  }
  return std::move(result.config);
}

// On a dedicated connection, closed before serving starts. The migration
// lock is a session-level advisory lock: behind PgBouncer in transaction
// mode it could be taken on one server connection and left there, so
// SECRETSD_MIGRATION_DATABASE_URL may name the primary itself.
bool migrate(const Config& config) {
  try {
    pqxx::connection conn(config.migration_database_url.empty() ? config.database_url
                                                                : config.migration_database_url);
    if (auto refusal = db::check_extension_version(conn)) {
      std::cerr << "secretsd: refusing to start: " << *refusal << "\n";
      return false;
    }
    auto report = db::apply_migrations(conn, config.migrations_dir);
    std::cerr << "secretsd: migrations: " << report.applied.size() << " applied, "
              << report.already_applied.size() << " already applied\n";
    return true;
  } catch (const std::exception& e) {
    // MigrationError and libpq messages name files, versions and hosts,
    // never credentials.
    std::cerr << "secretsd: migration failed: " << e.what() << "\n";
    return false;
  }
}

http::ServerOptions server_options(const Config& config) {
  http::ServerOptions options;
  options.worker_threads = static_cast<std::size_t>(config.threads);
  options.max_pending_connections = static_cast<std::size_t>(config.queue_limit);
  options.max_body_bytes = config.max_body_bytes;
  options.read_timeout = std::chrono::milliseconds(config.read_timeout_ms);
  options.write_timeout = std::chrono::milliseconds(config.write_timeout_ms);
  options.request_timeout = std::chrono::milliseconds(config.request_timeout_ms);
  return options;
}

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

// Waits for SIGINT/SIGTERM on its own thread and stops the server: no signal
// handler, no global flag. Stopping closes the listening socket at once;
// requests in flight (and connections already accepted) are finished, each
// response saying "Connection: close", and then listen() returns and
// secretsd exits 0. If that takes longer than SECRETSD_SHUTDOWN_TIMEOUT_MS,
// secretsd exits 1 at once, cutting off what is left. main() blocks both signals before any thread
// starts, so only sigwait() ever sees them. A signal that arrives before
// listen() has started is not lost: stop() is repeated until this object is
// destroyed, which happens after listen() returned.
class StopOnSignal {
 public:
  StopOnSignal(http::Server& server, std::chrono::milliseconds timeout)
      : timeout_(timeout), waiter_([this, &server] { wait_then_stop(server); }) {}

  ~StopOnSignal() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    done_changed_.notify_all();
    // Wakes sigwait() if no signal came; harmless (blocked) otherwise.
    pthread_kill(waiter_.native_handle(), SIGTERM);
    waiter_.join();
  }
  StopOnSignal(const StopOnSignal&) = delete;
  StopOnSignal& operator=(const StopOnSignal&) = delete;

 private:
  void wait_then_stop(http::Server& server) {
    const sigset_t set = stop_signals();
    int signal = 0;
    sigwait(&set, &signal);
    std::unique_lock<std::mutex> lock(mutex_);
    if (done_) return;
    std::cerr << "secretsd: stopping: no new connections, finishing requests in flight\n";
    const auto deadline = std::chrono::steady_clock::now() + timeout_;
    while (!done_) {
      server.stop();
      if (std::chrono::steady_clock::now() >= deadline) {
        std::cerr << "secretsd: shutdown timeout: exiting with requests still in flight\n";
        std::_Exit(kExitFailure);
      }
      done_changed_.wait_for(lock, std::chrono::milliseconds(100));
    }
  }

  const std::chrono::milliseconds timeout_;

  std::mutex mutex_;
  std::condition_variable done_changed_;
  bool done_ = false;
  std::thread waiter_;  // last: starts after the members it uses
};

db::DatabaseOptions database_options(const Config& config) {
  db::DatabaseOptions options;
  options.primary_url = config.database_url;
  options.replica_url = config.read_database_url;
  options.pool_size = static_cast<std::size_t>(config.pool_size);
  options.read_your_writes = std::chrono::milliseconds(config.read_your_writes_ms);
  return options;
}

// The composition: configuration, the database gateway, the change hub, the
// transport, the modules and the router, each built from what it needs.
int serve(const Config& config) {
  std::cerr << "secretsd: " << describe_config(config) << "\n";
  http::AccessLog access_log(std::cout);
  db::Databases databases(
      database_options(config), [&access_log](const std::string& line) { access_log.write_line(line); },
      [](const char* where) { metrics::global().read(where); });
  std::cerr << "secretsd: open file limit " << raise_open_file_limit() << "\n";
  // Before the server: its streams outlive the workers, and stop after them.
  events::ChangeHub change_hub(events::hub_options(config));
  http::Server server(server_options(config), &access_log);
  server.set_request_observer([](const http::AccessRecord& r) {
    metrics::global().request(r.method, r.route.empty() ? "other" : metrics::route_template(r.route),
                              r.status, r.duration_ms / 1000.0);
  });
  server.set_failure_classifier([](const std::exception& error) {
    return http::Failure{db::is_unavailable(error), db::failure_label(error)};
  });
  composition::Modules modules(config, databases, change_hub);
  api::Router router(server, modules.authenticator(), composition::Modules::access_policy(config));
  modules.register_routes(router);
  if (!modules.console_available()) {
    std::cerr << "secretsd: no web page (SECRETSD_WEB_DIR has no settings.html)\n";
  }

  StopOnSignal stop_on_signal(server, std::chrono::milliseconds(config.shutdown_timeout_ms));
  if (!server.bind(config.bind, config.port)) {
    std::cerr << "secretsd: cannot listen on " << config.bind << ":" << config.port << "\n";
    return kExitFailure;
  }
  std::cerr << "secretsd: listening on " << config.bind << ":" << config.port << "\n";
  change_hub.start();
  server.listen_after_bind();
  change_hub.stop();  // ends every change stream
  std::cerr << "secretsd: stopped\n";
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  if (!secretsd::forbid_core_dumps()) {
    std::cerr << "secretsd: warning: could not disable core dumps\n";
  }
  // Before any thread exists, so every thread inherits the mask.
  const sigset_t signals = stop_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  const bool migrate_only = argc == 2 && std::strcmp(argv[1], "migrate") == 0;
  if (argc > 2 || (argc == 2 && !migrate_only)) {
    std::cerr << "usage: secretsd [migrate]\n";
    return kExitUsage;
  }
  auto config = load_or_explain();
  if (!config) return kExitUsage;
  if (!migrate(*config)) return kExitFailure;
  if (migrate_only) return kExitOk;
  try {
    return serve(*config);
  } catch (const std::exception& e) {
    std::cerr << "secretsd: fatal: " << e.what() << "\n";
    return kExitFailure;
  }
}
