// The route table: every route secretsd serves is registered through
// register_routes() with who may call it (api/router.h). These tests pin
// the declarations, so that a route made public, or opened to the wrong kind
// of caller, fails here rather than in a penetration test. No database: the
// App opens no connection until a request needs one.
#include "routes.h"

#include <map>
#include <regex>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "app.h"
#include "api/router.h"
#include "events/change_hub.h"
#include "events/routes.h"
#include "http/server.h"

namespace secretsd {
namespace {

const std::string kSecret = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

std::unique_ptr<App> test_app() {
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
  return make_app(std::move(*result.config));
}

struct RouteTable {
  std::unique_ptr<App> app = test_app();
  http::Server server;
  events::ChangeHub hub{hub_options(app->config)};  // never started
  Router router{server, *app};
  bool page = register_routes(router, hub, "service/web-missing-on-purpose");
};

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
