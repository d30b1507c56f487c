#include "server/request_metrics.h"

#include <algorithm>

#include "core/base/strings.h"
#include "google/protobuf/descriptor.h"

namespace predstore {
namespace {

constexpr std::string_view kRequests = "predstore_requests_total";
constexpr std::string_view kRequestsHelp = "Requests answered, by front end, method and status code.";
constexpr std::string_view kSeconds = "predstore_request_duration_seconds";
constexpr std::string_view kSecondsHelp = "Time from a request's arrival to its answer, by front end and method.";

// gRPC's status codes by number, as gRPC names them.
const std::vector<std::string>& GrpcCodes() {
  static const auto* codes = new std::vector<std::string>{
      "OK",        "CANCELLED",         "UNKNOWN",  "INVALID_ARGUMENT",    "DEADLINE_EXCEEDED", "NOT_FOUND",
      "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
      "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"};
  return *codes;
}

// The HTTP statuses the front end and its transport give; others count
// under code="other".
constexpr int kHttpStatuses[] = {200, 400, 401, 403, 404, 405, 408, 409, 413, 415, 429, 431, 499, 500, 501, 503, 504};

const std::vector<std::string>& HttpCodes() {
  static const auto* codes = [] {
    auto* out = new std::vector<std::string>();
    for (int status : kHttpStatuses) out->push_back(std::to_string(status));
    return out;
  }();
  return *codes;
}

// The method name an HTTP request is counted under.
std::string_view HttpMethodOf(const HttpRequest& request) {
  const std::string_view path = request.path();
  if (path.starts_with("/v1/tables")) {
    if (path.ends_with(":lookup")) return "lookup";
    if (path.ends_with(":batchLookup")) return "batchLookup";
    if (path.ends_with(":scan")) return "scan";
    return "tables";
  }
  if (path == "/invocations" || path.starts_with("/serving-endpoints/")) return "invocations";
  if (path == "/ping" || path.starts_with("/health")) return "health";
  if (path == "/metrics") return "metrics";
  if (path == "/version") return "version";
  return "other";
}

class CallInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit CallInterceptor(const RequestMetrics::Method* method)
      : method_(method), started_(std::chrono::steady_clock::now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      const int code = static_cast<int>(methods->GetSendStatus().error_code());
      Counter* counter = code >= 0 && static_cast<size_t>(code) < method_->by_code.size() ? method_->by_code[code]
                                                                                          : method_->other_code;
      counter->Add();
      method_->seconds->Observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count());
    }
    methods->Proceed();
  }

 private:
  const RequestMetrics::Method* method_;
  const std::chrono::steady_clock::time_point started_;
};

class InterceptorFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit InterceptorFactory(const RequestMetrics* metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override {
    return new CallInterceptor(&metrics_->GrpcMethod(info->method()));
  }

 private:
  const RequestMetrics* metrics_;
};

}  // namespace

RequestMetrics::RequestMetrics(MetricsRegistry* registry) {
  const google::protobuf::DescriptorPool* pool = google::protobuf::DescriptorPool::generated_pool();
  for (const char* service_name : {"predstore.v1.Predictions", "predstore.v1.Admin"}) {
    const google::protobuf::ServiceDescriptor* service = pool->FindServiceByName(service_name);
    if (service == nullptr) continue;
    for (int i = 0; i < service->method_count(); ++i) {
      const std::string full = "/" + service->full_name() + "/" + service->method(i)->name();
      grpc_.emplace(full, MakeMethod(registry, "grpc", full.substr(1), GrpcCodes()));
    }
  }
  grpc_other_ = MakeMethod(registry, "grpc", "other", GrpcCodes());
  for (std::string_view method : {"lookup", "batchLookup", "scan", "tables", "invocations", "health", "metrics", "version",
                                  "other"}) {
    http_.emplace(std::string(method), MakeMethod(registry, "http", method, HttpCodes()));
  }
}

RequestMetrics::Method RequestMetrics::MakeMethod(MetricsRegistry* registry, std::string_view front_end,
                                                  std::string_view method, const std::vector<std::string>& codes) {
  Method out;
  const std::string end(front_end), name(method);
  for (const std::string& code : codes) {
    out.by_code.push_back(registry->GetCounter(kRequests, kRequestsHelp, {{"front_end", end}, {"method", name},
                                                                           {"code", code}}));
  }
  out.other_code =
      registry->GetCounter(kRequests, kRequestsHelp, {{"front_end", end}, {"method", name}, {"code", "other"}});
  out.seconds = registry->GetHistogram(kSeconds, kSecondsHelp, {{"front_end", end}, {"method", name}},
                                       LatencySecondsBuckets());
  return out;
}

const RequestMetrics::Method& RequestMetrics::GrpcMethod(std::string_view full_name) const {
  auto it = grpc_.find(ToAbsl(full_name));
  return it == grpc_.end() ? grpc_other_ : it->second;
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> RequestMetrics::GrpcInterceptorFactory() {
  return std::make_unique<InterceptorFactory>(this);
}

void RequestMetrics::RecordHttp(const HttpRequest& request, int status, std::chrono::nanoseconds elapsed) {
  const Method& method = http_.find(ToAbsl(HttpMethodOf(request)))->second;
  const int* at = std::find(std::begin(kHttpStatuses), std::end(kHttpStatuses), status);
  (at == std::end(kHttpStatuses) ? method.other_code : method.by_code[at - std::begin(kHttpStatuses)])->Add();
  method.seconds->Observe(std::chrono::duration<double>(elapsed).count());
}

}  // namespace predstore
