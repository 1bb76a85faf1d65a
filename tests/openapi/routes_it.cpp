// Route coverage of service/openapi/openapi.json, both ways: every route
// secretsd registers (register_routes(), what main() serves, read back from
// http::Server::routes()) is an operation of the document, and every
// operation of the document is a registered route. The document checked is
// the one compiled into secretsd (openapi::document()); paths are compared
// after metrics::route_template(), the one mapping from httplib patterns to
// OpenAPI templates ("/api/secrets/(.+)" -> "/api/secrets/{key}").
#include <set>
#include <string>
#include <utility>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api/router.h"
#include "composition/modules.h"
#include "config/config.h"
#include "db/databases.h"
#include "events/change_hub.h"
#include "events/module.h"
#include "harness.h"
#include "http/server.h"
#include "metrics/metrics.h"
#include "openapi/document.h"

namespace secretsd::it {
namespace {

using Operation = std::pair<std::string, std::string>;  // method, OpenAPI path

std::set<Operation> served_operations() {
  // Every optional route on: the metrics token set, the web page present.
  const Env env = secretsd_environment({{"SECRETSD_METRICS_TOKEN", "openapi-routes-test-metrics-token-0123456789"}});
  auto loaded = load_config([&env](const std::string& name) -> std::optional<std::string> {
    auto it = env.find(name);
    if (it == env.end()) return std::nullopt;
    return it->second;
  });
  if (!loaded.config) {
    std::string errors;
    for (const auto& e : loaded.errors) errors += " " + e;
    throw std::runtime_error("the test configuration does not load:" + errors);
  }
  Config config = std::move(*loaded.config);
  config.web_dir = std::string(PROJECT_SOURCE_DIR) + "/service/web";
  db::DatabaseOptions database;
  database.primary_url = config.database_url;
  db::Databases databases(database);
  http::Server server;
  events::ChangeHub hub(events::hub_options(config));  // never started: routes are only listed
  composition::Modules modules(config, databases, hub);
  api::Router router(server, modules.authenticator(), composition::Modules::access_policy(config));
  modules.register_routes(router);
  if (!modules.console_available()) throw std::runtime_error("the web page was not registered");
  std::set<Operation> out;
  for (const auto& route : server.routes()) {
    // Every GET route also answers HEAD (http::Server::get); the document
    // lists the GET.
    if (route.method == "HEAD") continue;
    out.insert({route.method, metrics::route_template(route.pattern)});
  }
  return out;
}

std::set<Operation> documented_operations() {
  static const std::set<std::string> kMethods = {"get", "put", "post", "delete", "patch", "options", "head"};
  const auto doc = nlohmann::json::parse(openapi::document());
  std::set<Operation> out;
  for (const auto& [path, item] : doc.at("paths").items()) {
    for (const auto& [method, operation] : item.items()) {
      if (kMethods.count(method) == 0) continue;  // "parameters", "summary", ...
      std::string upper = method;
      for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      out.insert({upper, path});
    }
  }
  return out;
}

std::string names(const std::set<Operation>& ops) {
  std::string out;
  for (const auto& [method, path] : ops) out += "\n  " + method + " " + path;
  return out;
}

class OpenApiRoutesTest : public SecretsdTest {};

TEST_F(OpenApiRoutesTest, EveryServedRouteIsDocumentedAndEveryDocumentedRouteIsServed) {
  const auto served = served_operations();
  const auto documented = documented_operations();
  ASSERT_FALSE(served.empty());

  std::set<Operation> undocumented, unserved;
  for (const auto& op : served) {
    if (documented.count(op) == 0) undocumented.insert(op);
  }
  for (const auto& op : documented) {
    if (served.count(op) == 0) unserved.insert(op);
  }
  EXPECT_TRUE(undocumented.empty()) << "served but not in service/openapi/openapi.json:" << names(undocumented);
  EXPECT_TRUE(unserved.empty()) << "in service/openapi/openapi.json but not served:" << names(unserved);
}

TEST_F(OpenApiRoutesTest, TheDocumentIsServedAsJson) {
  auto c = client();
  auto res = c.Get("/openapi.json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(res->body, std::string(openapi::document()));
  EXPECT_EQ(nlohmann::json::parse(res->body).at("openapi"), "3.1.0");
}

}  // namespace
}  // namespace secretsd::it
