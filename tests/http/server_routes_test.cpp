// http::Server::routes(): what the OpenAPI route-coverage test reads.
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "http/server.h"

namespace secretsd::http {
namespace {

std::vector<std::string> listed(const Server& server) {
  std::vector<std::string> out;
  for (const auto& r : server.routes()) out.push_back(r.method + " " + r.pattern);
  return out;
}

TEST(HttpServerRoutes, ListsEveryRegisteredRouteAsRegistered) {
  Server server;
  const RouteHandler noop = [](Exchange&) {};
  server.get("/a/([^/]+)", noop).post("/a", noop).put("/a/(.+)", noop).patch("/p", noop);
  server.del("/a/(.+)", noop).options("/o", noop);
  ASSERT_TRUE(server.mount_static("/static", std::filesystem::temp_directory_path().string()));
  EXPECT_FALSE(server.mount_static("/missing", "/nonexistent/http-server-routes-test"));
  const std::vector<std::string> expected = {
      "GET /a/([^/]+)", "HEAD /a/([^/]+)", "POST /a",        "PUT /a/(.+)",      "PATCH /p",
      "DELETE /a/(.+)", "OPTIONS /o",      "GET /static/(.+)", "HEAD /static/(.+)"};
  EXPECT_EQ(listed(server), expected);
}

}  // namespace
}  // namespace secretsd::http
