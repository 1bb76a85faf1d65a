// Records every response a test client receives, for the OpenAPI check
// (tests/openapi/validate_responses.mjs): when PGSECRETS_OPENAPI_RECORD names
// a file, each exchange is appended to it as one JSON line
// {method, path, status, content_type, body}. scripts/test.sh points it into
// its temporary folder and deletes it; without the variable nothing is written.
#pragma once

#include <httplib.h>

namespace secretsd::it {

void record_responses(httplib::Client& client);

}  // namespace secretsd::it
