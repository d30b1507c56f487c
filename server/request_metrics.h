// Request metrics of both front ends, recorded into a MetricsRegistry
// without a lock on the hot path: predstore_requests_total{front_end,
// method, code} and predstore_request_duration_seconds{front_end, method}.
// gRPC calls are counted by a server interceptor (every method of every
// service, streams when they end); HTTP requests by HttpServer's response
// observer. Counters are created up front, so recording is a table lookup
// and a relaxed atomic add. Thread-safe.
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

class RequestMetrics {
 public:
  // `registry` must outlive this object.
  explicit RequestMetrics(MetricsRegistry* registry);

  // For ServerBuilder::experimental().SetInterceptorCreators; the factory
  // refers to this object, which must outlive the gRPC server.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> GrpcInterceptorFactory();
  // For HttpServerOptions::on_response.
  void RecordHttp(const HttpRequest& request, int status, std::chrono::nanoseconds elapsed);

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
};

}  // namespace predstore
