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

// A key no other test uses: stem + "_" + a suffix unique in this binary,
// with the suffix's '-' turned into '_' so it passes the key rule.
inline std::string unique_key(const std::string& stem) {
  std::string k = stem + "_" + unique_suffix();
  for (char& ch : k) {
    if (ch == '-') ch = '_';
  }
  return k;
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
      " coalesce(string_agg(md5(value::text) || md5(coalesce(description, '')) || version"
      " || coalesce(deleted_at::text, '-') || coalesce(deleted_by, '-'),"
      " ',' ORDER BY household_id, id), '') FROM secrets.secrets");
  return row[0].as<std::string>();
}

}  // namespace secretsd::it::secrets_api
