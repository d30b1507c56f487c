// The HTTP/JSON front end: routes on an HttpServer that answer through
// core's LookupService, the same answer path as gRPC. Requests and answers
// are the gRPC messages in protobuf's JSON mapping (JsonStringToMessage /
// MessageToJsonString), so REST and gRPC share one contract; errors are
// {"error":{"code":<http status>,"message":...}} with the status mapped
// from the gRPC code (400, 404, 409, 413, 429, 503, ...).
//
// Routes: GET /ping, /health, /health/live, /health/ready, /version, /metrics;
// GET /v1/tables, GET /v1/tables/<table>; POST /v1/tables/<table>:lookup,
// /v1/tables/<table>:batchLookup (row or columnar form) and
// /v1/tables/<table>:scan (JSON Lines, one ScanResponse per line, streamed
// through ScanPages as the gRPC Scan is).
//
// With data tokens, the lookup and invocation routes answer 401 (with
// WWW-Authenticate: Bearer) unless the request carries one.
//
// MLflow's scoring protocol (core/serve/mlflow_protocol.h), answered with
// MLflow's own response and error shapes ({"predictions": ...},
// {"error_code": ..., "message": ...}; 415 for other content types):
//   POST /invocations                        the default model
//   POST /serving-endpoints/<name>/invocations
//                                            models:/<name>/Production
//   POST /serving-endpoints/<name>/served-models/<version|stage|alias|latest>/invocations
//                                            that version of <name>
#pragma once

#include <functional>
#include <string>

#include "core/base/metrics.h"
#include "core/serve/lookup_service.h"
#include "server/bearer_auth.h"
#include "server/http_server.h"
#include "server/stream_slots.h"

namespace predstore {

struct HttpRouteOptions {
  // Whether the server is ready to answer (/health/ready, 503 when not);
  // called from io threads.
  std::function<bool()> ready;
  // The models:/ URI POST /invocations scores with; empty: that route
  // answers 404 saying how to set it (--http_default_model).
  std::string default_model;
  // GET /metrics answers its Prometheus text; null: no /metrics.
  const MetricsRegistry* metrics = nullptr;
  // The lookup and invocation routes need "Authorization: Bearer <one of
  // them>" (401 with WWW-Authenticate otherwise); none: no check. /ping,
  // /health*, /version and /metrics are always open.
  BearerTokens data_tokens{{}};
  // Each scan holds one of these while it streams (429 when none is free).
  // REQUIRED; must outlive the server.
  StreamSlots* streams = nullptr;
};

// Adds the routes to `http` (before its Start). `lookups` must outlive it.
void AddHttpRoutes(const LookupService* lookups, HttpRouteOptions options, HttpServer* http);

// The HTTP status of a gRPC / absl status code.
int HttpStatusOf(absl::StatusCode code);

}  // namespace predstore
