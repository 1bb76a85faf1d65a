// JSON request bodies: http::parse_json_object (every route's parser), the
// typed field getters, and the request structs the secrets routes read
// (create, update, rollback, restore) and the runtime registration body.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <httplib.h>

#include "api/readers.h"
#include "api/request.h"
#include "http/json_io.h"
#include "secrets/validation.h"
#include "runtimes/runtimes.h"

using namespace secretsd;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);

  if (auto doc = http::parse_json_object(body)) {
    if (!doc->is_object()) std::abort();
    // Every accepted document must dump without throwing (json_io's promise).
    try {
      (void)doc->dump();
    } catch (...) {
      std::abort();
    }
    for (const char* key : {"key", "value", "version", "scope", "node_id", "description"}) {
      (void)http::get_string_field(*doc, key);
      (void)http::get_bool_field(*doc, key);
      (void)http::get_int_field(*doc, key);
    }
    (void)runtimes::parse_runtime(*doc, /*trusted=*/false, {"/nonexistent-fuzz-dir"});
    (void)runtimes::parse_runtime(*doc, /*trusted=*/true, {});
  }

  httplib::Request raw;
  const std::string body_text(body);
  const api::Request req(raw, body_text);
  const secrets::ScopeDefaults user{};
  const secrets::ScopeDefaults node{"node-1"};
  (void)secrets::read_create_request(req, user);
  (void)secrets::read_update_request(req, node);
  (void)secrets::read_rollback_request(req, user);
  (void)secrets::read_restore_request(req, node);
  (void)api::json_body(req);
  (void)api::optional_json_body(req);
  return 0;
}
