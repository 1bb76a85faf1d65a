// The route table: every route secretsd serves is registered through
// its module's register_routes() with who may call it (api/router.h),
// through the composition main() serves (composition/modules.h). These tests
// pin the declarations, so that a route made public, or opened to the wrong
// kind of caller, fails here rather than in a penetration test. No database:
// nothing opens a connection until a request needs one.
#include "composition/modules.h"

#include <map>
#include <regex>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "api/router.h"
#include "db/databases.h"
#include "events/change_hub.h"
#include "events/module.h"
#include "http/server.h"

namespace secretsd {
namespace {

const std::string kSecret = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

Config test_config() {
  std::map<std::string, std::string> env = {
      {"AUTH_SECRET_KEY", kSecret},
      {"ADMIN_API_KEY", "Zx8mQ2vR7tLk4pW9nB3cF6hJ1sD5gA0eYuIoPqRsTvW"},
      {"SECRETSD_METRICS_TOKEN", "metrics-token-metrics-token-metrics-token"},
      {"DATABASE_URL", "host=/nonexistent dbname=none"},
  };
  auto result = load_config([env](const std::string& name) -> std::optional<std::string> {
    auto it = env.find(name);
    if (it == env.end()) return std::nullopt;
    return it->second;
  });
  if (!result.config) throw std::runtime_error("test configuration refused");
  result.config->web_dir = "service/web-missing-on-purpose";
  return std::move(*result.config);
}

db::DatabaseOptions database_options(const Config& config) {
  db::DatabaseOptions options;
  options.primary_url = config.database_url;
  return options;
}

struct RouteTable {
  Config config = test_config();
  db::Databases databases{database_options(config)};
  http::Server server;
  events::ChangeHub hub{events::hub_options(config)};  // never started
  composition::Modules modules{config, databases, hub};
  api::Router router{server, modules.authenticator(), composition::Modules::access_policy(config)};
  bool page = (modules.register_routes(router), modules.console_available());
};

using api::Access;
using api::Router;

std::string name_of(const Router::Route& r) { return r.method + " " + r.pattern; }

TEST(RouteTable, EveryRouteIsRegisteredOnce) {
  RouteTable t;
  std::set<std::string> seen;
  for (const auto& r : t.router.routes()) {
    EXPECT_TRUE(seen.insert(name_of(r)).second) << name_of(r) << " registered twice";
  }
  EXPECT_GT(seen.size(), 30u);
}

// The only routes anyone may call without credentials.
TEST(RouteTable, OnlyTheseRoutesArePublic) {
  RouteTable t;
  const std::set<std::string> expected = {
      "GET /health",
      "GET /ready",
      "GET /openapi.json",
      "POST /api/v0/auth/register",
      "POST /api/v0/auth/login",
      "POST /api/v0/auth/refresh",
      "POST /api/v0/auth/logout",
  };
  std::set<std::string> open;
  for (const auto& r : t.router.routes()) {
    if (r.access == Access::Public) open.insert(name_of(r));
  }
  EXPECT_EQ(open, expected);
}

// Each family of paths admits one kind of caller.
TEST(RouteTable, EachPathFamilyAdmitsItsCaller) {
  RouteTable t;
  const std::vector<std::pair<std::regex, Access>> families = {
      {std::regex("/api/secrets(/.*)?"), Access::Household},
      {std::regex("/api/v0/admin/.*"), Access::Admin},
      {std::regex("/internal/.*"), Access::App},
      {std::regex("/api/v0/users/.*|/api/v0/households/.*"), Access::User},
      {std::regex("/api/v0/nodes/.*"), Access::AnyCaller},
      {std::regex("/metrics"), Access::Metrics},
  };
  for (const auto& r : t.router.routes()) {
    for (const auto& [family, access] : families) {
      if (std::regex_match(r.pattern, family)) {
        EXPECT_EQ(access_name(r.access), std::string(access_name(access))) << name_of(r);
      }
    }
  }
}

}  // namespace
}  // namespace secretsd
