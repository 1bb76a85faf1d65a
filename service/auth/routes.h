// Authentication endpoints: /api/v0/auth/*, /api/v0/users/*, /internal/*
// and the admin credential endpoints under /api/v0/admin/.
#pragma once

namespace secretsd {
struct App;
namespace http {
class Server;
}

void register_auth_routes(http::Server& server, App& app);

}  // namespace secretsd
