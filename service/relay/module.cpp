#include "settings/relay.h"

#include <chrono>
#include <optional>
#include <string>

#include <pqxx/pqxx>

#include "app.h"
#include "db/tx.h"
#include "http/json_io.h"

namespace secretsd::settings {
namespace {

constexpr const char* kContentType = "application/octet-stream";

// The {node_id} path segment and whether `caller` may use its blob; the
// error already sent otherwise.
std::optional<std::string> authorized_node(http::Exchange& ex, const Caller& caller, db::Lease& lease) {
  const std::string node_id = ex.req.matches[1].str();
  if (caller.kind != CallerKind::User && caller.kind != CallerKind::Node) {
    http::error_response(ex.res, 404, "Not found");
    return std::nullopt;
  }
  auto rows = db::with_tx(lease, [&](pqxx::work& tx) {
    return tx.exec_params(
        "SELECT household_id::text FROM secretsd.nodes WHERE node_id = $1 AND revoked_at IS NULL",
        node_id);
  });
  const bool same_household =
      !rows.empty() && !caller.household_id.empty() && rows[0][0].as<std::string>() == caller.household_id;
  if (!same_household) {
    http::error_response(ex.res, 404, "Not found");
    return std::nullopt;
  }
  if (caller.kind == CallerKind::Node && caller.node_id != node_id) {
    http::error_response(ex.res, 403, "Only the node itself and its household's users may use its settings blob");
    return std::nullopt;
  }
  return node_id;
}

// True when a comma-separated If-Match / If-None-Match list names `etag`
// (strong comparison: a weak W/"..." never matches).
bool list_matches(const std::string& header, const std::string& etag) {
  std::size_t pos = 0;
  while (pos <= header.size()) {
    std::size_t comma = header.find(',', pos);
    if (comma == std::string::npos) comma = header.size();
    std::string item = header.substr(pos, comma - pos);
    const auto first = item.find_first_not_of(" \t");
    const auto last = item.find_last_not_of(" \t");
    if (first != std::string::npos && item.substr(first, last - first + 1) == etag) return true;
    pos = comma + 1;
  }
  return false;
}

std::string trimmed(const std::string& s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

struct PutResult {
  int status = 0;
  const char* message = "";
  std::string etag;
  long long version = 0;
  std::string updated_at;
};

PutResult refused(int status, const char* message) {
  PutResult r;
  r.status = status;
  r.message = message;
  return r;
}

}  // namespace

// The route authenticated the caller before this leases: checking a node key
// leases a connection of its own, and holding one while waiting for another
// would let a burst of requests (even with bad keys) take the whole pool.
void put_settings_blob(http::Exchange& ex, App& app, const Caller& caller, std::size_t max_bytes) {
  db::Lease lease = app.pool->acquire();
  auto node_id = authorized_node(ex, caller, lease);
  if (!node_id) return;

  const std::string type = ex.req.get_header_value("Content-Type");
  if (type.compare(0, std::char_traits<char>::length(kContentType), kContentType) != 0) {
    http::error_response(ex.res, 415, "Content-Type must be application/octet-stream");
    return;
  }
  if (ex.body.empty()) {
    http::error_response(ex.res, 400, "The settings blob must not be empty");
    return;
  }
  if (ex.body.size() > max_bytes) {
    http::error_response(ex.res, 413, "The settings blob is too large");
    return;
  }
  const bool has_if_match = ex.req.has_header("If-Match");
  const std::string if_match = trimmed(ex.req.get_header_value("If-Match"));
  const bool if_none_match_any = trimmed(ex.req.get_header_value("If-None-Match")) == "*";

  PutResult r = db::with_tx(lease, [&](pqxx::work& tx) {
    PutResult out;
    const pqxx::binarystring blob(ex.body);
    auto current = tx.exec_params(
        "SELECT etag FROM secretsd.node_settings_blobs WHERE node_id = $1 FOR UPDATE", *node_id);
    pqxx::result written;
    if (!current.empty()) {
      const std::string etag = current[0][0].as<std::string>();
      if (if_none_match_any) {
        return refused(412, "A settings blob already exists for this node");
      }
      if (!has_if_match) {
        return refused(428, "If-Match with the current ETag is required to replace the settings blob");
      }
      if (if_match != "*" && !list_matches(if_match, etag)) {
        return refused(412, "The settings blob has changed since that ETag");
      }
      written = tx.exec_params(
          "UPDATE secretsd.node_settings_blobs SET blob = $2, version = version + 1, "
          "  etag = '\"' || replace(gen_random_uuid()::text, '-', '') || '\"', "
          "  updated_at = now(), updated_by = $3 "
          "WHERE node_id = $1 RETURNING etag, version, "
          "  to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')",
          *node_id, blob, caller.actor());
      out.status = 200;
    } else {
      if (has_if_match) {
        return refused(412, "There is no settings blob for this node yet");
      }
      // A concurrent first PUT may win between the SELECT and here.
      written = tx.exec_params(
          "INSERT INTO secretsd.node_settings_blobs (node_id, household_id, blob, version, etag, updated_by) "
          "SELECT $1, n.household_id, $2, 1, '\"' || replace(gen_random_uuid()::text, '-', '') || '\"', $3 "
          "FROM secretsd.nodes n WHERE n.node_id = $1 "
          "ON CONFLICT (node_id) DO NOTHING RETURNING etag, version, "
          "  to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')",
          *node_id, blob, caller.actor());
      if (written.empty()) {
        return refused(412, "A settings blob already exists for this node");
      }
      out.status = 201;
    }
    out.etag = written[0][0].as<std::string>();
    out.version = written[0][1].as<long long>();
    out.updated_at = written[0][2].as<std::string>();
    return out;
  });
  if (r.status >= 400) {
    http::error_response(ex.res, r.status, r.message);
    return;
  }
  ex.res.set_header("ETag", r.etag);
  http::json_response(ex.res, r.status,
                      {{"data",
                        {{"node_id", *node_id},
                         {"version", r.version},
                         {"etag", r.etag},
                         {"size", ex.body.size()},
                         {"updated_at", r.updated_at}}}});
}

void get_settings_blob(http::Exchange& ex, App& app, const Caller& caller) {
  db::Lease lease = app.pool->acquire();
  auto node_id = authorized_node(ex, caller, lease);
  if (!node_id) return;
  auto rows = db::with_tx(lease, [&](pqxx::work& tx) {
    return tx.exec_params(
        "SELECT blob, etag, version FROM secretsd.node_settings_blobs WHERE node_id = $1",
        *node_id);
  });
  if (rows.empty()) {
    http::error_response(ex.res, 404, "No settings blob for this node");
    return;
  }
  const std::string etag = rows[0]["etag"].as<std::string>();
  ex.res.set_header("ETag", etag);
  ex.res.set_header("X-Settings-Blob-Version", rows[0]["version"].as<std::string>());
  if (list_matches(ex.req.get_header_value("If-None-Match"), etag)) {
    ex.res.status = 304;
    return;
  }
  const pqxx::binarystring blob(rows[0]["blob"]);
  ex.res.status = 200;
  ex.res.set_content(blob.str(), kContentType);
}

}  // namespace secretsd::settings
