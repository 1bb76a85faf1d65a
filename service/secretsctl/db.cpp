#include "secretsctl/db.h"

#include <cstdlib>
#include <iostream>
#include <sstream>

#include <libpq-fe.h>
#include <pqxx/except>
#include <pqxx/nontransaction>

#include "secretsctl/errors.h"

namespace secretsctl {
namespace {

std::string trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

std::optional<std::string> show_setting(pqxx::connection& conn, const std::string& name) {
  pqxx::nontransaction tx(conn);
  const auto r = tx.exec_params("SELECT current_setting($1, true)", name);
  if (r.empty() || r[0][0].is_null()) return std::nullopt;
  std::string value = r[0][0].as<std::string>();
  if (value.empty()) return std::nullopt;
  return value;
}

}  // namespace

std::string connection_string(const Args& args) {
  if (auto url = args.value("database")) return *url;
  if (const char* env = std::getenv("DATABASE_URL"); env != nullptr && *env != '\0') return env;
  return "";
}

// libpq quotes a malformed connection string, or the piece it could not
// parse, in its error; that piece may be the password. A string libpq cannot
// parse is therefore reported without libpq's words, and the password of
// one it can parse is cut out of them.
std::string connection_error(const std::string& conninfo, std::string message) {
  char* parse_error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &parse_error);
  if (options == nullptr) {
    if (parse_error != nullptr) PQfreemem(parse_error);
    return "the connection string is not valid (not shown: it may hold a password)";
  }
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val == nullptr || std::string(o->keyword) != "password" || *o->val == '\0') continue;
    const std::string password = o->val;
    for (auto at = message.find(password); at != std::string::npos; at = message.find(password, at)) {
      message.replace(at, password.size(), "<password>");
    }
  }
  PQconninfoFree(options);
  return message;
}

std::unique_ptr<pqxx::connection> connect(const Args& args) {
  const std::string conninfo = connection_string(args);
  try {
    return std::make_unique<pqxx::connection>(conninfo);
  } catch (const std::exception& e) {
    throw failure("cannot connect to the database: " + trim(connection_error(conninfo, e.what())));
  }
}

std::unique_ptr<pqxx::connection> try_connect(const Args& args, const std::string& why_it_matters) {
  try {
    return connect(args);
  } catch (const CliError& e) {
    std::cerr << "secretsctl: warning: " << e.what() << "\n  " << why_it_matters << "\n";
    return nullptr;
  }
}

bool is_superuser(pqxx::connection& conn) {
  pqxx::nontransaction tx(conn);
  return tx.exec("SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user")[0][0].as<bool>();
}

std::optional<std::string> server_key_file(pqxx::connection& conn) {
  return show_setting(conn, "pgsecrets.key_file");
}

bool server_uses_key_command(pqxx::connection& conn) {
  return show_setting(conn, "pgsecrets.key_command").has_value();
}

void reload_config(pqxx::connection& conn) {
  pqxx::nontransaction tx(conn);
  tx.exec("SELECT pg_catalog.pg_reload_conf()");
}

bool function_exists(pqxx::connection& conn, const std::string& signature) {
  pqxx::nontransaction tx(conn);
  return !tx.exec_params("SELECT pg_catalog.to_regprocedure($1)", signature)[0][0].is_null();
}

std::string server_message(const std::exception& error) {
  std::istringstream lines(error.what());
  std::string line;
  std::string out;
  bool first = true;
  while (std::getline(lines, line)) {
    if (first) {
      for (const char* prefix : {"ERROR:  ", "FATAL:  "}) {
        if (line.rfind(prefix, 0) == 0) line.erase(0, std::string(prefix).size());
      }
      out = line;
      first = false;
    } else if (line.rfind("DETAIL:", 0) == 0 || line.rfind("HINT:", 0) == 0) {
      out += "\n  " + line;
    }
  }
  return out;
}

}  // namespace secretsctl
