// secretsctl rotate: rewraps rows onto the active key version, one batch
// (one transaction) at a time, until none is left. Resumable: stopping at
// any point leaves every row readable, and the next run picks up the rest.
#include <algorithm>
#include <chrono>
#include <optional>
#include <csignal>
#include <iostream>
#include <sstream>
#include <thread>
#include <unistd.h>

#include <pqxx/nontransaction>
#include <pqxx/transaction>

#include "secretsctl/commands.h"
#include "secretsctl/db.h"
#include "secretsctl/errors.h"

namespace secretsctl {
namespace {

constexpr const char* kRotateUsage = R"(usage: secretsctl rotate [--batch N] [--sleep-ms M] [--database URL]

Rewraps every secret that is not encrypted under the active key version
(see 'secretsctl keys status'), calling the extension's one-batch rotation
function until it returns 0. Each batch is its own transaction; a progress
bar goes to stderr. Ctrl-C (SIGINT) stops after the current batch (a
second Ctrl-C aborts at once, rolling that batch back); run the command
again to resume. Once it is done, old versions can be retired
with 'secretsctl keys retire VERSION'.

options:
  --batch N        rows per batch/transaction, 1 to 100000 (default 1000)
  --sleep-ms M     pause between batches, 0 to 600000 ms (default 0), to spare a busy server
  --database URL   connection (default: DATABASE_URL, else libpq's PG* variables)
  -h, --help       this help

exit codes: 0 every row is on the active version, 1 failed or rows left that
cannot be rewrapped, 2 usage, 130 interrupted (run again to resume)
)";

// The one piece of global mutable state in secretsctl: set by the SIGINT
// handler and read between batches. volatile sig_atomic_t is the only type
// a signal handler may portably write.
volatile std::sig_atomic_t g_interrupted = 0;

extern "C" void on_sigint(int) { g_interrupted = 1; }

// Installs on_sigint for its lifetime, restoring the previous action after.
// SA_RESETHAND: a second Ctrl-C kills at once (the open batch rolls back).
// Installed even when SIGINT was ignored (as for a background job of a
// non-interactive shell), so that `kill -INT` always stops cleanly.
class SigintGuard {
 public:
  SigintGuard() {
    g_interrupted = 0;
    struct sigaction action {};
    action.sa_handler = on_sigint;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESETHAND;
    ::sigaction(SIGINT, &action, &previous_);
  }
  SigintGuard(const SigintGuard&) = delete;
  SigintGuard& operator=(const SigintGuard&) = delete;
  ~SigintGuard() { ::sigaction(SIGINT, &previous_, nullptr); }

 private:
  struct sigaction previous_ {};
};

// The extension's one-batch rotation function: secrets.rotate(batch_size
// int) returns the number of values it rewrapped (current and history
// rows), 0 when none is left. Other names are accepted for older drafts.
std::string find_rotate_function(pqxx::connection& conn) {
  for (const char* name : {"secrets.rotate", "secrets.rotate_keys", "secrets.rotate_batch", "secrets.rewrap"}) {
    if (function_exists(conn, std::string(name) + "(integer)")) return name;
  }
  throw failure("this database's pgsecrets has no secrets.rotate(batch_size int); upgrade the extension "
                "(ALTER EXTENSION pgsecrets UPDATE)");
}

struct Pending {
  std::optional<std::uint32_t> active;
  long long rows = 0;        // rows on a loaded, non-active version: to rewrap
  long long unreadable = 0;  // rows on a version the server has not loaded
};

// secrets.rotation_status() when the extension has it, else key_status().
Pending pending_rows(pqxx::connection& conn) {
  const bool has_rotation_status = function_exists(conn, "secrets.rotation_status()");
  pqxx::nontransaction tx(conn);
  Pending p;
  if (has_rotation_status) {
    const auto r = tx.exec("SELECT active_key_version, rows_to_rewrap, rows_unreadable FROM secrets.rotation_status()");
    if (!r[0][0].is_null()) p.active = r[0][0].as<std::uint32_t>();
    p.rows = r[0][1].as<long long>();
    p.unreadable = r[0][2].as<long long>();
    return p;
  }
  for (const auto& row : tx.exec("SELECT key_version, active, loaded, rows FROM secrets.key_status()")) {
    if (row[1].as<bool>()) p.active = row[0].as<std::uint32_t>();
    else if (row[2].as<bool>()) p.rows += row[3].as<long long>();
    else p.unreadable += row[3].as<long long>();
  }
  return p;
}

std::string unreadable_warning(long long n) {
  return std::to_string(n) + " row(s) are encrypted under key versions the server has not loaded; "
         "they cannot be rewrapped until their keys are back in the key file (see 'secretsctl keys status')";
}

long long run_batch(pqxx::connection& conn, const std::string& function, long long batch) {
  pqxx::work tx(conn, "rotate batch");
  const auto r = tx.exec_params("SELECT " + function + "($1::int)", batch);
  tx.commit();
  return (r.empty() || r[0][0].is_null()) ? 0 : r[0][0].as<long long>();
}

// A progress bar on stderr: redrawn in place on a terminal, else one line
// at most every two seconds.
class Progress {
 public:
  explicit Progress(long long total) : total_(total), tty_(::isatty(STDERR_FILENO) == 1) {}

  void update(long long done, bool final = false) {
    const auto now = std::chrono::steady_clock::now();
    if (!tty_ && !final && now - last_ < std::chrono::seconds(2)) return;
    last_ = now;
    const long long total = std::max(total_, done);
    const int percent = total == 0 ? 100 : static_cast<int>(done * 100 / total);
    constexpr int kWidth = 30;
    const int filled = percent * kWidth / 100;
    std::ostringstream line;
    line << "rotate [" << std::string(filled, '#') << std::string(kWidth - filled, '-') << "] " << done << "/"
         << total << " rows " << percent << "%";
    std::cerr << (tty_ ? "\r" : "") << line.str() << (tty_ ? "" : "\n") << std::flush;
    drawn_ = true;
  }
  void finish() {
    if (tty_ && drawn_) std::cerr << "\n";
  }

 private:
  long long total_;
  bool tty_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_{};
};

void interruptible_sleep(long long ms) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (g_interrupted == 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min<long long>(ms, 50)));
  }
}

}  // namespace

int cmd_rotate(const Words& argv) {
  const Args args = parse_args(argv, {"rotate", {"batch", "sleep-ms", "database"}, {}});
  if (args.has("help")) return print_help(kRotateUsage);
  if (!args.positionals.empty()) throw usage_error("unexpected argument '" + args.positionals[0] + "' for 'rotate'");
  const long long batch = parse_int(args.value("batch").value_or("1000"), "--batch", 1, 100000);
  const long long sleep_ms = parse_int(args.value("sleep-ms").value_or("0"), "--sleep-ms", 0, 600000);

  auto conn = connect(args);
  const std::string function = find_rotate_function(*conn);
  const Pending before = pending_rows(*conn);
  if (!before.active) throw failure("the server has no active key loaded; see 'secretsctl keys status'");
  if (before.unreadable > 0) std::cerr << "secretsctl: warning: " << unreadable_warning(before.unreadable) << "\n";
  if (before.rows == 0) {
    if (before.unreadable > 0) throw failure(unreadable_warning(before.unreadable));
    std::cout << "nothing to do: every row is on key version " << *before.active << "\n";
    return kExitOk;
  }
  std::cerr << "rewrapping " << before.rows << " row(s) onto key version " << *before.active << " in batches of "
            << batch << " (Ctrl-C stops after the current batch; twice aborts it)\n";

  SigintGuard sigint;
  Progress progress(before.rows);
  long long done = 0;
  bool finished = false;  // the last batch found nothing: a Ctrl-C during it changes nothing
  for (;;) {
    const long long n = run_batch(*conn, function, batch);
    done += n;
    progress.update(done, n == 0);
    if (n == 0) {
      finished = true;
      break;
    }
    if (g_interrupted != 0) break;
    if (sleep_ms > 0) interruptible_sleep(sleep_ms);
    if (g_interrupted != 0) break;
  }
  progress.finish();
  if (!finished) {
    std::cerr << "interrupted; run again to resume (" << done << " row(s) rewrapped so far)\n";
    return kExitInterrupted;
  }

  const Pending after = pending_rows(*conn);
  if (after.unreadable > 0) throw failure(unreadable_warning(after.unreadable));
  if (after.rows > 0) {
    throw failure(std::to_string(after.rows) + " row(s) are still not on key version " +
                  std::to_string(after.active.value_or(0)) +
                  " and the rotation function rewraps no more (are their key versions loaded? see "
                  "'secretsctl keys status')");
  }
  std::cout << "done: " << done << " row(s) rewrapped; every row is on key version " << after.active.value_or(0)
            << "\n";
  return kExitOk;
}

}  // namespace secretsctl
