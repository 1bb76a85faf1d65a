#include "relay/module.h"

#include <optional>
#include <string>

#include <pqxx/pqxx>

#include "db/tx.h"

namespace secretsd::relay {
namespace {

constexpr const char* kContentType = "application/octet-stream";

// The {node_id} path segment when `caller` may use its blob; else the
// refusal (404 to anyone outside the node's household, 403 to a sibling node).
std::string authorized_node(const api::Request& req, const api::Caller& caller, db::Lease& lease) {
  const std::string node_id = req.path_capture(1);
  if (caller.kind != api::CallerKind::User && caller.kind != api::CallerKind::Node) {
    throw api::ApiError(404, "Not found");
  }
  auto rows = db::with_tx(lease, [&](pqxx::work& tx) {
    return tx.exec_params(
        "SELECT household_id::text FROM secretsd.nodes WHERE node_id = $1 AND revoked_at IS NULL",
        node_id);
  });
  const bool same_household =
      !rows.empty() && !caller.household_id.empty() && rows[0][0].as<std::string>() == caller.household_id;
  if (!same_household) throw api::ApiError(404, "Not found");
  if (caller.kind == api::CallerKind::Node && caller.node_id != node_id) {
    throw api::ApiError(403, "Only the node itself and its household's users may use its settings blob");
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

RelayOptions RelayOptions::from(const Config& config) {
  RelayOptions options;
  options.blob_max_bytes = config.settings_blob_max_bytes;
  return options;
}

RelayModule::RelayModule(db::Databases& databases, RelayOptions options)
    : databases_(databases), options_(options) {}

void RelayModule::register_routes(api::Router& router) {
  const std::string blob = "/api/v0/nodes/([^/]+)/settings-blob";
  // Any caller; the relay answers 404 unless it is the node or its household.
  router.put(blob, api::Access::AnyCaller,
             [this](const api::Request& req, const api::Caller& caller) { return put_blob(req, caller); });
  router.get(blob, api::Access::AnyCaller,
             [this](const api::Request& req, const api::Caller& caller) { return get_blob(req, caller); });
}

// The route authenticated the caller before this leases: checking a node key
// leases a connection of its own, and holding one while waiting for another
// would let a burst of requests (even with bad keys) take the whole pool.
api::Reply RelayModule::put_blob(const api::Request& req, const api::Caller& caller) {
  db::Lease lease = databases_.primary();
  const std::string node_id = authorized_node(req, caller, lease);

  const std::string type = req.header("Content-Type");
  if (type.compare(0, std::char_traits<char>::length(kContentType), kContentType) != 0) {
    return api::Reply::error({415, "Content-Type must be application/octet-stream"});
  }
  const std::string& body = req.body();
  if (body.empty()) return api::Reply::error({400, "The settings blob must not be empty"});
  if (body.size() > options_.blob_max_bytes) {
    return api::Reply::error({413, "The settings blob is too large"});
  }
  const bool has_if_match = req.has_header("If-Match");
  const std::string if_match = trimmed(req.header("If-Match"));
  const bool if_none_match_any = trimmed(req.header("If-None-Match")) == "*";

  PutResult r = db::with_tx(lease, [&](pqxx::work& tx) {
    PutResult out;
    const pqxx::binarystring blob(body);
    auto current = tx.exec_params(
        "SELECT etag FROM secretsd.node_settings_blobs WHERE node_id = $1 FOR UPDATE", node_id);
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
          node_id, blob, caller.actor());
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
          node_id, blob, caller.actor());
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
  if (r.status >= 400) return api::Reply::error({r.status, r.message});
  return api::Reply::json(r.status, {{"data",
                                      {{"node_id", node_id},
                                       {"version", r.version},
                                       {"etag", r.etag},
                                       {"size", body.size()},
                                       {"updated_at", r.updated_at}}}})
      .with_header("ETag", r.etag);
}

api::Reply RelayModule::get_blob(const api::Request& req, const api::Caller& caller) {
  db::Lease lease = databases_.primary();
  const std::string node_id = authorized_node(req, caller, lease);
  auto rows = db::with_tx(lease, [&](pqxx::work& tx) {
    return tx.exec_params(
        "SELECT blob, etag, version FROM secretsd.node_settings_blobs WHERE node_id = $1",
        node_id);
  });
  if (rows.empty()) return api::Reply::error({404, "No settings blob for this node"});
  const std::string etag = rows[0]["etag"].as<std::string>();
  const std::string version = rows[0]["version"].as<std::string>();
  if (list_matches(req.header("If-None-Match"), etag)) {
    api::Reply not_modified;  // no body, no content type
    not_modified.status = 304;
    return not_modified.with_header("ETag", etag).with_header("X-Settings-Blob-Version", version);
  }
  const pqxx::binarystring blob(rows[0]["blob"]);
  return api::Reply::text(200, blob.str(), kContentType)
      .with_header("ETag", etag)
      .with_header("X-Settings-Blob-Version", version);
}

}  // namespace secretsd::relay
