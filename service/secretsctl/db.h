// secretsctl's database access: one libpqxx connection as a superuser (a
// DBA tool), from --database URL, DATABASE_URL, or libpq's PG* variables.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <pqxx/pqxx>

#include "secretsctl/args.h"

namespace secretsctl {

// --database, else $DATABASE_URL, else "" (libpq then reads PGHOST, PGPORT,
// PGUSER, PGDATABASE, ...).
std::string connection_string(const Args& args);

// Connects; throws CliError(kExitFailure) "cannot connect to the database: ..."
std::unique_ptr<pqxx::connection> connect(const Args& args);

// Like connect() but returns nullptr, after a warning on stderr saying
// `why_it_matters`, when the database cannot be reached.
std::unique_ptr<pqxx::connection> try_connect(const Args& args, const std::string& why_it_matters);

// True if the session's role is a superuser.
bool is_superuser(pqxx::connection& conn);

// SHOW pgsecrets.key_file (superuser-only); nullopt when empty or unknown
// (the extension is not loaded).
std::optional<std::string> server_key_file(pqxx::connection& conn);

// True when pgsecrets.key_command is set: the server does not read the file.
bool server_uses_key_command(pqxx::connection& conn);

// SELECT pg_reload_conf().
void reload_config(pqxx::connection& conn);

// to_regprocedure(signature) IS NOT NULL, e.g. "secrets.rotate(integer)".
bool function_exists(pqxx::connection& conn, const std::string& signature);

// The first line of a libpq error ("ERROR:  " removed) plus DETAIL/HINT
// lines: server messages of pgsecrets never contain values or keys.
std::string server_message(const std::exception& error);

}  // namespace secretsctl
