// GET /openapi.json: the API document, public (it describes the API, it
// holds nothing of anyone's).
#pragma once

namespace secretsd {
namespace http {
class Server;
}

void register_openapi_routes(http::Server& server);

}  // namespace secretsd
