// Watches every request of the front ends as it is answered (gRPC and
// HTTP; Redis-protocol commands for metrics only):
// - Metrics, recorded into a MetricsRegistry without a lock on the hot
//   path: predstore_requests_total{front_end, method, code} and
//   predstore_request_duration_seconds{front_end, method}. Counters are
//   created up front, so recording is a table lookup and a relaxed add.
// - Request ids on failures: every failed request is logged as one
//   request_failed event with an id, and its error response carries the
//   same id, so a user's error report leads to its log line. The id is the
//   client's own x-request-id (gRPC metadata or HTTP header; 1 to 64 of
//   A-Z a-z 0-9 . _ : -) or else a new one. gRPC: trailing metadata
//   x-request-id and "(request id ...)" after the status message. HTTP:
//   the X-Request-Id header and, in a JSON object body, a top-level
//   "request_id" member. Successful requests are not touched. Calls the
//   client cancelled are counted but not logged; at most 100 failures a
//   second are logged, and a line says how many were left out.
// gRPC calls are seen by a server interceptor (every method of every
// service, streams when they end); HTTP requests by HttpServer's response
// observer; Redis commands by RespServer's reply observer. Thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "core/base/metrics.h"
#include "grpcpp/support/server_interceptor.h"
#include "server/http_server.h"

namespace predstore {

class RequestObserver {
 public:
  // `registry` must outlive this object.
  explicit RequestObserver(MetricsRegistry* registry);

  // For ServerBuilder::experimental().SetInterceptorCreators; the factory
  // refers to this object, which must outlive the gRPC server.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> GrpcInterceptorFactory();
  // For RespServerOptions::on_reply: counted by command (lower case; an
  // unknown one as "other") and code ("OK", or an error reply's first word:
  // ERR, NOAUTH, WRONGPASS, TRYAGAIN, NOPROTO).
  void ObserveResp(std::string_view command, std::string_view reply, std::chrono::nanoseconds elapsed);
  // For HttpServerOptions::on_response.
  void ObserveHttp(const HttpRequest& request, HttpResponse* response, std::chrono::nanoseconds elapsed);

  // One method's counters (by code) and latency histogram.
  struct Method {
    std::vector<Counter*> by_code;
    Counter* other_code = nullptr;
    Histogram* seconds = nullptr;
  };
  // The gRPC method for "/package.Service/Method" ("other" for unknown).
  const Method& GrpcMethod(std::string_view full_name) const;

 private:
  Method MakeMethod(MetricsRegistry* registry, std::string_view front_end, std::string_view method,
                    const std::vector<std::string>& codes);

  absl::flat_hash_map<std::string, Method> grpc_;
  Method grpc_other_;
  absl::flat_hash_map<std::string, Method> http_;
  absl::flat_hash_map<std::string, Method> resp_;
};

}  // namespace predstore
