// The shapes of the ids that name callers and households: checked before
// any lookup, by identity/ and by every feature that takes such an id.
// Pure functions, unit-tested without a server
// (tests/identity/validation_test.cpp).
#pragma once

#include <string_view>

namespace secretsd::identity {

// Canonical 8-4-4-4-12 hex form, either case.
bool is_uuid(std::string_view text);

// Same rules as the CHECK constraints in migrations/0001_auth.sql.
bool is_valid_app_id(std::string_view app_id);    // ^[a-z0-9][a-z0-9._-]{0,63}$
bool is_valid_node_id(std::string_view node_id);  // ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$

}  // namespace secretsd::identity
