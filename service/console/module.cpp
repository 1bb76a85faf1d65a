#include "console/module.h"

#include <filesystem>
#include <optional>
#include <fstream>
#include <sstream>

#include "api/router.h"

namespace secretsd::console {
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

ConsoleModule::ConsoleModule(const std::string& web_dir)
    : web_dir_(web_dir), page_(read_file(std::filesystem::path(web_dir) / "settings.html")) {}

void ConsoleModule::register_routes(api::Router& router) {
  if (!page_) return;
  router.get("/settings", api::Access::Public, [html = *page_](const api::Request&, const api::Caller&) {
    return api::Reply::text(200, html, "text/html; charset=utf-8")
        .with_header("Content-Security-Policy", kContentSecurityPolicy)
        .with_header("X-Frame-Options", "DENY")
        .with_header("Referrer-Policy", "no-referrer");
  });
  router.mount_static("/static", web_dir_);
}

}  // namespace secretsd::console
