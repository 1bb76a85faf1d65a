// Small request helpers shared by the /api/secrets integration tests.
#pragma once

#include <string>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "harness.h"

namespace secretsd::it::secrets_api {

inline httplib::Result post_json(httplib::Client& c, const std::string& path,
                                 const nlohmann::json& body, const httplib::Headers& headers) {
  return c.Post(path.c_str(), headers, body.dump(), "application/json");
}

inline httplib::Result put_json(httplib::Client& c, const std::string& path,
                                const nlohmann::json& body, const httplib::Headers& headers) {
  return c.Put(path.c_str(), headers, body.dump(), "application/json");
}

// The reference's error shape, exactly.
inline nlohmann::json error_body(int status, const std::string& message) {
  return {{"statusCode", status}, {"message", message}};
}

// Everything about secrets.secrets that a request could change, as the
// superuser sees it (every household).
inline std::string secrets_snapshot() {
  auto conn = superuser_db();
  pqxx::nontransaction tx(conn);
  auto row = tx.exec1(
      "SELECT count(*)::text || '|' || coalesce(max(updated_at)::text, '') || '|' ||"
      " coalesce(string_agg(md5(value::text) || md5(coalesce(description, '')) || version,"
      " ',' ORDER BY household_id, id), '') FROM secrets.secrets");
  return row[0].as<std::string>();
}

}  // namespace secretsd::it::secrets_api
