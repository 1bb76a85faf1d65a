// The settings relay (reference: security-model.md, "Settings sync between
// mobile and node is end-to-end encrypted (K2) ... The command center
// transports the encrypted blob but cannot read it"):
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

#include "auth/identity.h"
#include "http/server.h"

namespace secretsd {
struct App;
}

namespace secretsd::settings {

void put_settings_blob(http::Exchange& ex, App& app, const Caller& caller, std::size_t max_bytes);
void get_settings_blob(http::Exchange& ex, App& app, const Caller& caller);

}  // namespace secretsd::settings
