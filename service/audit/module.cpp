#include "audit/module.h"

#include <optional>
#include <string>

#include <nlohmann/json.hpp>
#include <pqxx/except>
#include <pqxx/transaction>

#include "admin_audit/admin_audit.h"
#include "api/error.h"
#include "api/readers.h"
#include "api/router.h"
#include "db/databases.h"
#include "db/tx.h"

namespace secretsd::audit {
namespace {

using api::ApiError;
using nlohmann::json;

constexpr long long kDefaultLimit = 100;
constexpr long long kMaxLimit = 1000;

// The filters both audits share, read once: actor, action, since, until,
// cursor (the seq to continue below) and limit.
struct Query {
  std::optional<std::string> actor;
  std::optional<std::string> action;
  std::optional<std::string> since;
  std::optional<std::string> until;
  std::optional<long long> cursor;
  long long limit = kDefaultLimit;
};

std::optional<long long> count_param(const api::Request& req, const std::string& name,
                                     long long min, long long max) {
  auto text = api::query_param(req, name).value();
  if (!text) return std::nullopt;
  auto n = api::parse_count(*text);
  if (!n || *n < min || *n > max) {
    throw ApiError(400, name + " must be an integer from " + std::to_string(min) + " to " +
                            std::to_string(max));
  }
  return n;
}

Query read_query(const api::Request& req) {
  Query q;
  q.actor = api::query_param(req, "actor").value();
  q.action = api::query_param(req, "action").value();
  q.since = api::timestamp_param(req, "since").value();
  q.until = api::timestamp_param(req, "until").value();
  q.cursor = count_param(req, "cursor", 1, 999999999999999999LL);
  q.limit = count_param(req, "limit", 1, kMaxLimit).value_or(kDefaultLimit);
  for (const auto* text : {&q.actor, &q.action}) {
    if (*text && ((*text)->empty() || (*text)->size() > 320)) {
      throw ApiError(400, std::string(text == &q.actor ? "actor" : "action") +
                              " must be 1 to 320 characters");
    }
  }
  return q;
}

// libpqxx 6.4 has no std::optional parameters: a null const char* is SQL NULL.
const char* or_null(const std::optional<std::string>& value) {
  return value ? value->c_str() : nullptr;
}

// An actor filter may name a person by email: it becomes "user:<id>" (a
// name that matches nobody when there is no such person).
std::optional<std::string> actor_filter(pqxx::transaction_base& tx,
                                        const std::optional<std::string>& actor) {
  if (!actor || actor->find('@') == std::string::npos) return actor;
  auto rows = tx.exec_params(
      "SELECT 'user:' || id FROM secretsd.users WHERE lower(email) = lower($1)", *actor);
  return rows.empty() ? std::string("user:none") : rows[0][0].as<std::string>();
}

// The people behind "user:<id>" actors, by email and display name.
json people_of(pqxx::transaction_base& tx, const json& actors) {
  json people = json::object();
  auto rows = tx.exec_params(
      "SELECT 'user:' || u.id, u.email, u.display_name FROM secretsd.users u "
      " WHERE 'user:' || u.id IN (SELECT jsonb_array_elements_text($1::jsonb))",
      actors.dump());
  for (const auto& row : rows) {
    people[row[0].as<std::string>()] = {
        {"email", row[1].as<std::string>()},
        {"display_name", row[2].is_null() ? json(nullptr) : json(row[2].as<std::string>())}};
  }
  return people;
}

// Adds "person" (email, display name) to each entry whose actor is a user.
void name_people(pqxx::transaction_base& tx, json& entries) {
  json actors = json::array();
  for (const auto& e : entries) actors.push_back(e["actor"]);
  const json people = people_of(tx, actors);
  for (auto& e : entries) {
    auto it = people.find(e["actor"].get<std::string>());
    e["person"] = it == people.end() ? json(nullptr) : *it;
  }
}

json page(json entries, long long limit, const char* seq_field, json chain) {
  json next = nullptr;
  if (static_cast<long long>(entries.size()) == limit && !entries.empty()) {
    next = std::to_string(entries.back()[seq_field].get<long long>());
  }
  return {{"entries", std::move(entries)}, {"next_cursor", next}, {"chain", std::move(chain)}};
}

json household_audit_page(db::Databases& databases, const Query& q,
                          const std::optional<std::string>& key, const api::Caller& caller) {
  return databases.write_tx(api::household_context(caller), [&](db::Session& s) {
    auto& tx = s.tx();
    const auto actor = actor_filter(tx, q.actor);
    const std::optional<std::string> cursor =
        q.cursor ? std::optional<std::string>(std::to_string(*q.cursor)) : std::nullopt;
    auto rows = tx.exec_params(
        "SELECT seq, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), actor, "
        "       action, scope, node_id, key, version, detail::text "
        "  FROM secrets.audit_entries($1, $2, $3, $4::timestamptz, $5::timestamptz, $6::bigint, $7)",
        or_null(actor), or_null(key), or_null(q.action), or_null(q.since), or_null(q.until),
        or_null(cursor), static_cast<int>(q.limit));
    json entries = json::array();
    for (const auto& row : rows) {
      entries.push_back({{"seq", row[0].as<long long>()},
                         {"at", row[1].as<std::string>()},
                         {"actor", row[2].as<std::string>()},
                         {"action", row[3].as<std::string>()},
                         {"scope", row[4].is_null() ? json(nullptr) : json(row[4].as<std::string>())},
                         {"node_id", row[5].is_null() ? json(nullptr) : json(row[5].as<std::string>())},
                         {"key", row[6].is_null() ? json(nullptr) : json(row[6].as<std::string>())},
                         {"version", row[7].is_null() ? json(nullptr) : json(row[7].as<int>())},
                         {"detail", row[8].is_null() ? json(nullptr) : json::parse(row[8].as<std::string>())}});
    }
    name_people(tx, entries);
    auto broken = tx.exec("SELECT seq FROM secrets.verify_audit_chain() ORDER BY seq LIMIT 1");
    json chain = {{"verified", broken.empty()},
                  {"first_broken_seq", broken.empty() ? json(nullptr) : json(broken[0][0].as<long long>())}};
    return page(std::move(entries), q.limit, "seq", std::move(chain));
  });
}


}  // namespace

AuditModule::AuditModule(db::Databases& databases) : databases_(databases) {}

void AuditModule::register_routes(api::Router& router) {
  router.get("/api/audit", api::Access::Household,
             [this](const api::Request& req, const api::Caller& caller) {
               return household_audit(req, caller);
             });
  router.get("/api/v0/admin/audit", api::Access::Admin,
             [this](const api::Request& req, const api::Caller& caller) {
               return admin_audit(req, caller);
             });
}

// The extension decides who may see it (SE009 for a role without the
// audit right: 403); `key` filters one secret.
api::Reply AuditModule::household_audit(const api::Request& req, const api::Caller& caller) {
  const Query q = read_query(req);
  const auto key = api::query_param(req, "key").value();
  // The extension's refusals (SE009: a role without the audit right) are
  // mapped like every other SQLSTATE.
  try {
    return api::Reply::data(household_audit_page(databases_, q, key, caller));
  } catch (const pqxx::sql_error& error) {
    throw api::from_sql_error(error);
  }
}


api::Reply AuditModule::admin_audit(const api::Request& req, const api::Caller&) {
  const Query q = read_query(req);
  auto lease = databases_.primary();
  const json body = db::with_tx(lease, [&](pqxx::work& tx) {
    admin_audit::Filter filter;
    filter.actor = actor_filter(tx, q.actor);
    filter.action = q.action;
    filter.since = q.since;
    filter.until = q.until;
    filter.before_seq = q.cursor;
    filter.limit = static_cast<int>(q.limit);
    json entries = json::array();
    for (const auto& e : admin_audit::list(tx, filter)) {
      entries.push_back({{"seq", e.seq},
                         {"at", e.at},
                         {"actor", e.actor},
                         {"action", e.action},
                         {"target", e.target},
                         {"detail", e.detail}});
    }
    name_people(tx, entries);
    const auto broken = admin_audit::first_broken_entry(tx);
    json chain = {{"verified", !broken},
                  {"first_broken_seq", broken ? json(*broken) : json(nullptr)}};
    return page(std::move(entries), q.limit, "seq", std::move(chain));
  });
  return api::Reply::data(body);
}

}  // namespace secretsd::audit
