// The HTTP/JSON front end: routes on an HttpServer that answer through
// core's LookupService, the same answer path as gRPC. Requests and answers
// are the gRPC messages in protobuf's JSON mapping (JsonStringToMessage /
// MessageToJsonString), so REST and gRPC share one contract; errors are
// {"error":{"code":<http status>,"message":...}} with the status mapped
// from the gRPC code (400, 404, 409, 413, 429, 503, ...).
//
// Routes: GET /ping, /health, /health/live, /health/ready, /version;
// GET /v1/tables, GET /v1/tables/<table>; POST /v1/tables/<table>:lookup
// and /v1/tables/<table>:batchLookup (row or columnar form).
#pragma once

#include <functional>

#include "core/serve/lookup_service.h"
#include "server/http_server.h"

namespace predstore {

// Adds the routes to `http` (before its Start). `lookups` must outlive it;
// `ready` says whether the server is ready to answer (/health/ready, 503
// when not), called from io threads.
void AddHttpRoutes(const LookupService* lookups, std::function<bool()> ready, HttpServer* http);

// The HTTP status of a gRPC / absl status code.
int HttpStatusOf(absl::StatusCode code);

}  // namespace predstore
