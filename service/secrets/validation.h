// Reading /api/secrets requests: the JSON shape, the query parameters, the
// HTTP-level bounds (sizes, versions, If-Match), and that every name sent
// to SQL arrives as sent. What makes a key, scope, node id or value type
// valid is the extension's rule alone (secrets.check_key, check_scope,
// normalize_value): the statements apply it, and its marked errors reach
// the client unchanged (api/error.h).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/error.h"
#include "api/request.h"

namespace secretsd::secrets {

using api::ApiError;
using api::Request;
using api::Result;

// A key, scope, node id or value type as sent (the rules of what is valid
// are the extension's); longer is refused before any database work.
inline constexpr std::size_t kMaxNameBytes = 1024;
inline constexpr std::size_t kMaxValueBytes = 64u << 10;
inline constexpr std::size_t kMaxDescriptionBytes = 4096;
inline constexpr int kDefaultPageSize = 50;
inline constexpr int kMaxPageSize = 500;

// The key as sent is printable UTF-8 of at most kMaxNameBytes (what makes
// a key valid is secrets.check_key's rule, applied in the statement).
// Returns the 400 error, or nullopt.
std::optional<ApiError> check_key_text(std::string_view key);

// Which secret a request names besides its key.
struct Scope {
  std::string scope;    // "integration" or "node"
  std::string node_id;  // empty for integration
};

// Who asks: a node gets its own id as the default node_id for scope "node".
struct ScopeDefaults {
  std::string caller_node_id;  // empty unless the caller is a node
};

// scope and node_id from the query string and/or the JSON body (`body` may
// be null). When both name a field they must agree. Without a scope:
// "node" if a node_id is given, else "integration". A node caller asking
// for scope "node" without a node_id means its own node. The pair is not
// judged here (secrets.check_scope does, in the statement).
Result<Scope> read_scope(const Request& req, const nlohmann::json* body,
                                         const ScopeDefaults& defaults);

// GET /api/secrets filters: an optional scope and node_id (node_id implies
// nothing about scope here: it filters rows by node).
struct ListQuery {
  std::string scope;    // empty: any
  std::string node_id;  // empty: any
  int limit = kDefaultPageSize;
  long long offset = 0;
};
Result<ListQuery> read_list_query(const Request& req);

// POST /api/secrets body.
struct CreateRequest {
  std::string key;
  std::string value;
  std::string value_type = "string";
  std::optional<std::string> description;
  Scope scope;
};
Result<CreateRequest> read_create_request(const Request& req,
    const ScopeDefaults& defaults);

// PUT /api/secrets/{key} body: at least one of value and description.
struct UpdateRequest {
  std::optional<std::string> value;
  std::optional<std::string> description;
  Scope scope;
};
Result<UpdateRequest> read_update_request(const Request& req,
    const ScopeDefaults& defaults);

// ---- versions and optimistic concurrency

// ?version=n on GET /api/secrets/{key}: nullopt when absent; else 1..2^31-1.
Result<std::optional<int>> read_version_query(const Request& req);

// POST /api/secrets/{key}/rollback body: {"version": n} plus scope/node_id.
struct RollbackRequest {
  int version = 0;
  Scope scope;
};
Result<RollbackRequest> read_rollback_request(const Request& req,
    const ScopeDefaults& defaults);

// POST /api/secrets/{key}/restore: scope/node_id from the query or an
// optional JSON body (an empty body is fine).
Result<Scope> read_restore_request(const Request& req,
    const ScopeDefaults& defaults);

}  // namespace secretsd::secrets
