#include "server/request_observer.h"

#include <algorithm>
#include <cctype>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <random>

#include "core/base/logging.h"
#include "core/base/strings.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/server_context.h"

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

// The Redis-protocol commands counted by name, and the codes they answer.
constexpr std::string_view kRespCommands[] = {"get",  "mget",   "exists", "hget", "hmget", "hgetall",
                                              "scan", "dbsize", "ping",   "echo", "select", "quit",
                                              "hello", "auth",  "client", "info", "command"};
const std::vector<std::string>& RespCodes() {
  static const auto* codes = new std::vector<std::string>{"OK", "ERR", "NOAUTH", "WRONGPASS", "TRYAGAIN", "NOPROTO"};
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

// The client's request id when it is one we can echo safely, else empty.
std::string_view ClientRequestId(std::string_view id) {
  if (id.empty() || id.size() > 64) return {};
  for (const char c : id) {
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                         c == '_' || c == ':' || c == '-';
    if (!allowed) return {};
  }
  return id;
}

// A new id: 16 hex digits, a random per-process prefix and a counter, so
// ids do not repeat across restarts or replicas.
std::string NewRequestId() {
  static const uint64_t prefix = std::random_device()() & 0xffffffffu;
  static std::atomic<uint32_t> counter{0};
  char id[17];
  std::snprintf(id, sizeof id, "%08llx%08x", static_cast<unsigned long long>(prefix),
                counter.fetch_add(1, std::memory_order_relaxed));
  return id;
}

// Logs one failed request, at most kMaxPerSecond a second; the next line
// logged after a busy second says how many were left out. Messages are cut
// at kMaxMessageBytes.
void LogFailedRequest(bool server_fault, std::string_view front_end, std::string_view method, std::string_view code,
                      std::string_view request_id, std::string_view message, std::chrono::nanoseconds elapsed) {
  constexpr int kMaxPerSecond = 100;
  constexpr size_t kMaxMessageBytes = 2000;
  static std::mutex mu;
  static int64_t second = 0;
  static int logged_this_second = 0;
  static uint64_t left_out = 0;
  uint64_t left_out_before = 0;
  {
    const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
    std::lock_guard<std::mutex> lock(mu);
    if (now != second) {
      second = now;
      logged_this_second = 0;
    }
    if (logged_this_second == kMaxPerSecond) {
      ++left_out;
      return;
    }
    ++logged_this_second;
    left_out_before = std::exchange(left_out, 0);
  }
  const std::string duration_ms = StrCat(std::chrono::duration<double, std::milli>(elapsed).count());
  const std::string left_out_text = StrCat(left_out_before);
  std::string cut;
  if (message.size() > kMaxMessageBytes) {
    cut = StrCat(message.substr(0, kMaxMessageBytes), "... (", message.size() - kMaxMessageBytes, " more bytes)");
    message = cut;
  }
  LogEvent(server_fault ? LogLevel::kWarning : LogLevel::kInfo, "request_failed",
           {{"front_end", front_end},
            {"method", method},
            {"code", code},
            {"request_id", request_id},
            {"message", message},
            {"duration_ms", duration_ms, true},
            {"earlier_failures_not_logged", left_out_text, true}});
}

// Whether a gRPC code says the server (not the request) failed.
bool IsServerFault(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNKNOWN || code == grpc::StatusCode::INTERNAL ||
         code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DATA_LOSS ||
         code == grpc::StatusCode::DEADLINE_EXCEEDED || code == grpc::StatusCode::UNIMPLEMENTED;
}

class CallInterceptor final : public grpc::experimental::Interceptor {
 public:
  CallInterceptor(grpc::experimental::ServerRpcInfo* info, const RequestObserver::Method* method)
      : info_(info), method_(method), started_(std::chrono::steady_clock::now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      const grpc::Status status = methods->GetSendStatus();
      // A call the client gave up on ends as CANCELLED whatever the handler
      // says (the default health service's Watch says UNKNOWN "OnCancel()"
      // each time a client with client-side health checking disconnects).
      const bool cancelled = !status.ok() && info_->server_context()->IsCancelled();
      const int code =
          static_cast<int>(cancelled ? grpc::StatusCode::CANCELLED : status.error_code());
      Counter* counter = code >= 0 && static_cast<size_t>(code) < method_->by_code.size() ? method_->by_code[code]
                                                                                          : method_->other_code;
      counter->Add();
      const auto elapsed = std::chrono::steady_clock::now() - started_;
      method_->seconds->Observe(std::chrono::duration<double>(elapsed).count());
      if (!status.ok() && !cancelled && status.error_code() != grpc::StatusCode::CANCELLED) {
        Identify(methods, status, elapsed);
      }
    }
    methods->Proceed();
  }

 private:
  // Gives the failed call its request id: in the trailers, after the
  // message, and in the log.
  void Identify(grpc::experimental::InterceptorBatchMethods* methods, const grpc::Status& status,
                std::chrono::nanoseconds elapsed) {
    std::string id;
    const auto& client_metadata = info_->server_context()->client_metadata();
    if (auto sent = client_metadata.find("x-request-id"); sent != client_metadata.end()) {
      id = std::string(ClientRequestId(std::string_view(sent->second.data(), sent->second.size())));
    }
    if (id.empty()) id = NewRequestId();
    const std::string& code = GrpcCodes()[std::min<size_t>(status.error_code(), GrpcCodes().size() - 1)];
    LogFailedRequest(IsServerFault(status.error_code()), "grpc", info_->method(), code, id, status.error_message(),
                     elapsed);
    methods->GetSendTrailingMetadata()->emplace("x-request-id", id);
    methods->ModifySendStatus(grpc::Status(status.error_code(),
                                           StrCat(status.error_message(), " (request id ", id, ")"),
                                           status.error_details()));
  }

  grpc::experimental::ServerRpcInfo* info_;
  const RequestObserver::Method* method_;
  const std::chrono::steady_clock::time_point started_;
};

class InterceptorFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit InterceptorFactory(const RequestObserver* observer) : observer_(observer) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override {
    return new CallInterceptor(info, &observer_->GrpcMethod(info->method()));
  }

 private:
  const RequestObserver* observer_;
};

}  // namespace

RequestObserver::RequestObserver(MetricsRegistry* registry) {
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
  for (std::string_view command : kRespCommands) {
    resp_.emplace(std::string(command), MakeMethod(registry, "resp", command, RespCodes()));
  }
  resp_.emplace("other", MakeMethod(registry, "resp", "other", RespCodes()));
}

RequestObserver::Method RequestObserver::MakeMethod(MetricsRegistry* registry, std::string_view front_end,
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

const RequestObserver::Method& RequestObserver::GrpcMethod(std::string_view full_name) const {
  auto it = grpc_.find(ToAbsl(full_name));
  return it == grpc_.end() ? grpc_other_ : it->second;
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> RequestObserver::GrpcInterceptorFactory() {
  return std::make_unique<InterceptorFactory>(this);
}

void RequestObserver::ObserveResp(std::string_view command, std::string_view reply,
                                  std::chrono::nanoseconds elapsed) {
  char lower[16];
  const bool fits = command.size() < sizeof lower;
  for (size_t i = 0; fits && i < command.size(); ++i) {
    lower[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(command[i])));
  }
  auto it = fits ? resp_.find(absl::string_view(lower, command.size())) : resp_.end();
  const Method& method = it == resp_.end() ? resp_.find("other")->second : it->second;
  size_t code = 0;  // OK
  if (reply.starts_with('-')) {
    const std::string_view word = reply.substr(1, reply.find_first_of(" \r", 1) - 1);
    const auto& codes = RespCodes();
    code = std::find(codes.begin(), codes.end(), word) - codes.begin();
  }
  (code < method.by_code.size() ? method.by_code[code] : method.other_code)->Add();
  method.seconds->Observe(std::chrono::duration<double>(elapsed).count());
}

void RequestObserver::ObserveHttp(const HttpRequest& request, HttpResponse* response,
                                  std::chrono::nanoseconds elapsed) {
  const std::string_view method_name = HttpMethodOf(request);
  const Method& method = http_.find(ToAbsl(method_name))->second;
  const int status = response->status;
  const int* at = std::find(std::begin(kHttpStatuses), std::end(kHttpStatuses), status);
  (at == std::end(kHttpStatuses) ? method.other_code : method.by_code[at - std::begin(kHttpStatuses)])->Add();
  method.seconds->Observe(std::chrono::duration<double>(elapsed).count());
  if (status < 400 || status == 499) return;

  std::string id(ClientRequestId(request.header("x-request-id")));
  if (id.empty()) id = NewRequestId();
  LogFailedRequest(status >= 500, "http", StrCat(request.method(), " ", request.path()), StrCat(status), id,
                   response->body, elapsed);
  response->headers.emplace_back("X-Request-Id", id);
  std::string& body = response->body;
  const size_t close = body.find_last_not_of(" \r\n");
  const bool json_object = response->content_type.starts_with("application/json") && !body.empty() &&
                           body.front() == '{' && close != std::string::npos && body[close] == '}' && close > 1;
  if (json_object) body.insert(close, StrCat(",\"request_id\":\"", id, "\""));
}

}  // namespace predstore
