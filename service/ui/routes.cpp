#include "ui/routes.h"

#include <filesystem>
#include <optional>
#include <fstream>
#include <sstream>

#include "auth/router.h"

namespace secretsd {
namespace {

// Only this origin's script, style and API: the page never loads anything
// from another host, and cannot be framed.
constexpr const char* kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

std::optional<std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace

bool register_ui_routes(Router& router, const std::string& web_dir) {
  // Read once at start: the page is small and never changes while running.
  auto page = read_file(std::filesystem::path(web_dir) / "settings.html");
  if (!page) return false;
  router.get("/settings", Access::Public, [html = std::move(*page)](http::Exchange& ex, const Caller&) {
    ex.res.set_header("Content-Security-Policy", kContentSecurityPolicy);
    ex.res.set_header("X-Frame-Options", "DENY");
    ex.res.set_header("Referrer-Policy", "no-referrer");
    ex.res.set_content(html, "text/html; charset=utf-8");
  });
  return router.mount_static("/static", web_dir);
}

}  // namespace secretsd
