// The settings relay (README.md in this folder; reference:
// security-model.md, "Settings sync between mobile and node is end-to-end
// encrypted (K2) ... The command center transports the encrypted blob but
// cannot read it"):
//
//   PUT /api/v0/nodes/{node_id}/settings-blob   Content-Type: application/octet-stream
//   GET /api/v0/nodes/{node_id}/settings-blob
//
// The blob is opaque bytes, never parsed or logged. Versioned with a strong,
// random ETag: replacing a blob needs If-Match with the current ETag (412
// when stale, 428 when absent); a first PUT may send If-None-Match: * (412
// if one exists by then). GET honours If-None-Match (304).
//
// Who: the node itself (X-API-Key) and any user of the node's household.
// Another node of the same household gets 403 (it may know its siblings
// exist; the blob is encrypted for this node alone); everyone else —
// users and nodes of other households, apps, the admin — gets 404 whether
// or not the node exists, so node ids do not leak across households.
#pragma once

#include <cstddef>

#include "api/router.h"
#include "config/config.h"
#include "db/databases.h"

namespace secretsd::relay {

struct RelayOptions {
  // Blobs above this are refused with 413. The server's body cap applies first.
  std::size_t blob_max_bytes = 64u << 10;

  // SECRETSD_SETTINGS_BLOB_MAX_BYTES as load_config parsed it.
  static RelayOptions from(const Config& config);
};

class RelayModule {
 public:
  // Opens no database connection.
  RelayModule(db::Databases& databases, RelayOptions options);

  // Both routes admit any caller (api::Access::AnyCaller); the handlers
  // answer 404 unless it is the node or a user of its household.
  void register_routes(api::Router& router);

 private:
  api::Reply put_blob(const api::Request& req, const api::Caller& caller);
  api::Reply get_blob(const api::Request& req, const api::Caller& caller);

  db::Databases& databases_;
  const RelayOptions options_;
};

}  // namespace secretsd::relay
