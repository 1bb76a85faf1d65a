// The settings web page: GET /settings (the HTML) and /static/* (its
// script and stylesheet), from SECRETSD_WEB_DIR (default "service/web"
// relative to the working directory). Nothing is served when the folder is
// missing, so an API-only deployment needs no files.
#pragma once

#include <string>

namespace secretsd {

class Router;

// Returns false (and registers nothing) when `web_dir` holds no settings.html.
bool register_ui_routes(Router& router, const std::string& web_dir);

}  // namespace secretsd
