#include "metrics/metrics.h"

#include <gtest/gtest.h>

namespace secretsd::metrics {
namespace {

TEST(Metrics, RouteTemplatesNameTheirPlaceholders) {
  EXPECT_EQ(route_template("/api/secrets"), "/api/secrets");
  EXPECT_EQ(route_template("/api/secrets/([^/]+)"), "/api/secrets/{key}");
  EXPECT_EQ(route_template("/api/secrets/([^/]+)/versions"), "/api/secrets/{key}/versions");
  EXPECT_EQ(route_template("/api/v0/admin/apps/([^/]+)/rotate"), "/api/v0/admin/apps/{app_id}/rotate");
  EXPECT_EQ(route_template("/api/v0/nodes/([^/]+)/settings-blob"),
            "/api/v0/nodes/{node_id}/settings-blob");
  EXPECT_EQ(route_template(R"(/api/v0/users/([^/()]+))"), "/api/v0/users/{user_id}");
  EXPECT_EQ(route_template("/x/((a)|(b))"), "/x/{id}");
  EXPECT_EQ(route_template("/static/(.+)"), "/static/{path}");  // the static mount
}

TEST(Metrics, UnknownMethodsAreOther) {
  EXPECT_EQ(method_label("GET"), "GET");
  EXPECT_EQ(method_label("DELETE"), "DELETE");
  EXPECT_EQ(method_label("SECRET_VALUE"), "other");
}

TEST(Metrics, EscapesLabelValues) { EXPECT_EQ(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd"); }

TEST(Metrics, RendersCountersAndCumulativeHistograms) {
  Registry r;
  r.request("GET", "/api/secrets/{key}", 200, 0.004);
  r.request("GET", "/api/secrets/{key}", 200, 0.2);
  r.request("GET", "/api/secrets/{key}", 404, 20);
  r.auth_failure("invalid");
  r.rate_limit_refused("login_account");
  r.restart_outcome("ok");
  const std::string text = r.render();
  EXPECT_NE(text.find("secretsd_http_requests_total{method=\"GET\",route=\"/api/secrets/{key}\","
                      "status=\"200\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("le=\"0.005\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("le=\"0.25\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("le=\"10\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("secretsd_auth_failures_total{kind=\"invalid\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("secretsd_rate_limited_total{limit=\"login_account\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("secretsd_runtime_restarts_total{outcome=\"ok\"} 1\n"), std::string::npos);
}

}  // namespace
}  // namespace secretsd::metrics
