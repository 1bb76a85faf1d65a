// Authentication endpoints: /api/v0/auth/*, /api/v0/users/*, /internal/*
// and the admin credential endpoints under /api/v0/admin/.
#pragma once

namespace secretsd {

class Router;

void register_auth_routes(Router& router);

}  // namespace secretsd
