#include "client/predstore_client.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <thread>

#include "core/base/status_macros.h"
#include "core/base/strings.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"

namespace predstore {

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

namespace {

template <typename Response, typename Call>
absl::StatusOr<Response> Invoke(Call&& call) {
  Response response;
  grpc::Status status = call(&response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

}  // namespace

absl::Status LoadClientTls(const std::string& ca_file, const std::string& cert_file, const std::string& key_file,
                           ClientOptions* options) {
  if (cert_file.empty() != key_file.empty()) {
    return absl::InvalidArgumentError("a client certificate needs its key: give --tls_cert and --tls_key together");
  }
  if (ca_file.empty()) {
    if (!cert_file.empty()) return absl::InvalidArgumentError("--tls_cert needs --tls_ca (the server's CA)");
    return absl::OkStatus();
  }
  auto read = [](const std::string& file, std::string* out) -> absl::Status {
    if (file.empty()) return absl::OkStatus();
    std::ifstream in(file, std::ios::binary);
    if (!in) return absl::NotFoundError(StrCat("cannot read the TLS file ", file));
    out->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    return absl::OkStatus();
  };
  PREDSTORE_RETURN_IF_ERROR(read(ca_file, &options->tls_root_pem));
  PREDSTORE_RETURN_IF_ERROR(read(cert_file, &options->tls_cert_pem));
  return read(key_file, &options->tls_key_pem);
}

std::string ReplicaServiceConfig(bool retry_reads) {
  // Retries: gRPC's own (A6), transparent to callers, throttled when most
  // calls fail (retryThrottling) so that a dead cluster is not hammered.
  std::string retries;
  if (retry_reads) {
    retries = R"(,
  "methodConfig": [{
    "name": [
      {"service": "predstore.v1.Predictions", "method": "Lookup"},
      {"service": "predstore.v1.Predictions", "method": "BatchLookup"},
      {"service": "predstore.v1.Predictions", "method": "Scan"},
      {"service": "predstore.v1.Predictions", "method": "Predict"},
      {"service": "predstore.v1.Predictions", "method": "GetTable"},
      {"service": "predstore.v1.Predictions", "method": "ListTables"},
      {"service": "predstore.v1.Predictions", "method": "ListModels"},
      {"service": "predstore.v1.Predictions", "method": "IngestStatus"}
    ],
    "retryPolicy": {
      "maxAttempts": 5,
      "initialBackoff": "0.01s",
      "maxBackoff": "0.2s",
      "backoffMultiplier": 2,
      "retryableStatusCodes": ["UNAVAILABLE"]
    }
  }],
  "retryThrottling": {"maxTokens": 100, "tokenRatio": 0.1})";
  }
  std::string config = R"({
  "loadBalancingConfig": [{"round_robin": {}}],
  "healthCheckConfig": {"serviceName": "predstore.v1.Predictions"})";
  config.append(retries);
  config.append("\n}\n");
  return config;
}

PredstoreClient::PredstoreClient(ClientOptions options) : options_(std::move(options)) {
  grpc::ChannelArguments arguments;
  arguments.SetMaxReceiveMessageSize(64 << 20);
  arguments.SetServiceConfigJSON(options_.service_config_json.empty() ? ReplicaServiceConfig(options_.retry_reads)
                                                                      : options_.service_config_json);
  if (!options_.retry_reads && options_.service_config_json.empty()) arguments.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, static_cast<int>(options_.max_reconnect_backoff.count()));
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (!options_.tls_root_pem.empty()) {
    grpc::SslCredentialsOptions tls;
    tls.pem_root_certs = options_.tls_root_pem;
    tls.pem_cert_chain = options_.tls_cert_pem;
    tls.pem_private_key = options_.tls_key_pem;
    credentials = grpc::SslCredentials(tls);
  }
  channel_ = grpc::CreateCustomChannel(options_.target, credentials, arguments);
  if (options_.throttle_k >= 1) throttle_ = std::make_unique<AdaptiveThrottle>(options_.throttle_k);
  if (options_.monotonic_reads) floors_ = std::make_unique<internal::VersionFloors>();
  predictions_ = v1::Predictions::NewStub(channel_);
  admin_ = v1::Admin::NewStub(channel_);
}

void PredstoreClient::Prepare(grpc::ClientContext* context, bool admin) const {
  context->set_deadline(std::chrono::system_clock::now() + options_.timeout);
  const std::string& token = admin ? options_.admin_token : options_.data_token;
  if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
}

template <typename Response, typename Call>
absl::StatusOr<Response> PredstoreClient::Throttled(Call&& call) const {
  if (throttle_ == nullptr) return Invoke<Response>(std::forward<Call>(call));
  if (!throttle_->Admit()) {
    return absl::ResourceExhaustedError(
        "refused by this client's adaptive throttle: the server has been refusing calls; retry with backoff");
  }
  Response response;
  grpc::Status status = call(&response);
  throttle_->Record(status.error_code());
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

namespace internal {

uint64_t VersionFloors::Get(const std::string& table) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = floors_.find(table);
  return it == floors_.end() ? 0 : it->second;
}

void VersionFloors::Raise(const std::string& table, uint64_t version) {
  if (version == 0 || Get(table) >= version) return;
  absl::MutexLock lock(&mu_);
  uint64_t& floor = floors_[table];
  floor = std::max(floor, version);
}

}  // namespace internal

template <typename Request>
std::unique_ptr<Request> PredstoreClient::WithFloor(const Request& request) const {
  if (floors_ == nullptr) return nullptr;
  const uint64_t floor = floors_->Get(request.table());
  if (floor <= request.min_version()) return nullptr;
  auto raised = std::make_unique<Request>(request);
  raised->set_min_version(floor);
  return raised;
}

absl::StatusOr<v1::LookupResponse> PredstoreClient::Lookup(const v1::LookupRequest& request) const {
  std::unique_ptr<v1::LookupRequest> raised = WithFloor(request);
  absl::StatusOr<v1::LookupResponse> answer = Throttled<v1::LookupResponse>([&](v1::LookupResponse* response) {
    grpc::ClientContext context;
    Prepare(&context, false);
    return predictions_->Lookup(&context, raised ? *raised : request, response);
  });
  if (answer.ok() && floors_) floors_->Raise(request.table(), answer->snapshot_version());
  return answer;
}

absl::StatusOr<v1::BatchLookupResponse> PredstoreClient::BatchLookup(const v1::BatchLookupRequest& request) const {
  std::unique_ptr<v1::BatchLookupRequest> raised = WithFloor(request);
  absl::StatusOr<v1::BatchLookupResponse> answer =
      Throttled<v1::BatchLookupResponse>([&](v1::BatchLookupResponse* response) {
        grpc::ClientContext context;
        Prepare(&context, false);
        return predictions_->BatchLookup(&context, raised ? *raised : request, response);
      });
  if (answer.ok() && floors_) floors_->Raise(request.table(), answer->snapshot_version());
  return answer;
}

absl::Status PredstoreClient::Scan(const v1::ScanRequest& request,
                                   const std::function<void(const v1::ScanResponse&)>& on_message) const {
  std::unique_ptr<v1::ScanRequest> raised = WithFloor(request);
  grpc::ClientContext context;
  Prepare(&context, false);
  std::unique_ptr<grpc::ClientReader<v1::ScanResponse>> reader =
      predictions_->Scan(&context, raised ? *raised : request);
  v1::ScanResponse response;
  uint64_t version = 0;
  while (reader->Read(&response)) {
    version = response.snapshot_version();
    on_message(response);
  }
  absl::Status status = FromGrpcStatus(reader->Finish());
  if (status.ok() && floors_) floors_->Raise(request.table(), version);
  return status;
}


std::unique_ptr<LookupStream> PredstoreClient::OpenLookupStream() const {
  auto stream = std::unique_ptr<LookupStream>(new LookupStream());
  if (!options_.data_token.empty()) stream->context_.AddMetadata("authorization", "Bearer " + options_.data_token);
  stream->stream_ = predictions_->LookupStream(&stream->context_);
  return stream;
}

std::unique_ptr<IngestStream> PredstoreClient::OpenIngestStream() const {
  auto stream = std::unique_ptr<IngestStream>(new IngestStream());
  if (!options_.admin_token.empty()) {
    stream->context_.AddMetadata("authorization", "Bearer " + options_.admin_token);
  }
  stream->stream_ = admin_->Ingest(&stream->context_);
  return stream;
}

absl::StatusOr<v1::IngestStatusResponse> PredstoreClient::IngestStatus(const std::string& table) const {
  v1::IngestStatusRequest request;
  request.set_table(table);
  return Invoke<v1::IngestStatusResponse>([&](v1::IngestStatusResponse* response) {
    grpc::ClientContext context;
    Prepare(&context, false);
    return predictions_->IngestStatus(&context, request, response);
  });
}

absl::StatusOr<v1::ListTablesResponse> PredstoreClient::ListTables() const {
  return Invoke<v1::ListTablesResponse>([&](v1::ListTablesResponse* response) {
    grpc::ClientContext context;
    Prepare(&context, false);
    return predictions_->ListTables(&context, v1::ListTablesRequest(), response);
  });
}

absl::StatusOr<v1::TableInfo> PredstoreClient::GetTable(const std::string& table) const {
  v1::GetTableRequest request;
  request.set_table(table);
  return Invoke<v1::TableInfo>([&](v1::TableInfo* response) {
    grpc::ClientContext context;
    Prepare(&context, false);
    return predictions_->GetTable(&context, request, response);
  });
}

absl::StatusOr<v1::RefreshTablesResponse> PredstoreClient::RefreshTables(const std::string& table) const {
  v1::RefreshTablesRequest request;
  request.set_table(table);
  return Invoke<v1::RefreshTablesResponse>([&](v1::RefreshTablesResponse* response) {
    grpc::ClientContext context;
    Prepare(&context, true);
    return admin_->RefreshTables(&context, request, response);
  });
}

absl::StatusOr<v1::TableInfo> PredstoreClient::Rollback(const std::string& table, uint64_t to_version) const {
  v1::RollbackRequest request;
  request.set_table(table);
  request.set_to_version(to_version);
  return Invoke<v1::TableInfo>([&](v1::TableInfo* response) {
    grpc::ClientContext context;
    Prepare(&context, true);
    return admin_->Rollback(&context, request, response);
  });
}

absl::StatusOr<v1::PredictResponse> PredstoreClient::Predict(const v1::PredictRequest& request) const {
  return Throttled<v1::PredictResponse>([&](v1::PredictResponse* response) {
    grpc::ClientContext context;
    Prepare(&context, false);
    return predictions_->Predict(&context, request, response);
  });
}

absl::StatusOr<v1::ListModelsResponse> PredstoreClient::ListModels() const {
  return Invoke<v1::ListModelsResponse>([&](v1::ListModelsResponse* response) {
    grpc::ClientContext context;
    Prepare(&context, false);
    return predictions_->ListModels(&context, v1::ListModelsRequest(), response);
  });
}

absl::StatusOr<v1::ReloadModelsResponse> PredstoreClient::ReloadModels() const {
  return Invoke<v1::ReloadModelsResponse>([&](v1::ReloadModelsResponse* response) {
    grpc::ClientContext context;
    Prepare(&context, true);
    return admin_->ReloadModels(&context, v1::ReloadModelsRequest(), response);
  });
}

absl::StatusOr<bool> PredstoreClient::IsServing(const std::string& service) const {
  auto stub = grpc::health::v1::Health::NewStub(channel_);
  grpc::ClientContext context;
  Prepare(&context, false);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = stub->Check(&context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
}

absl::Status PredstoreClient::WaitUntilServing(std::chrono::milliseconds timeout) const {
  auto deadline = std::chrono::system_clock::now() + timeout;
  while (std::chrono::system_clock::now() < deadline) {
    if (channel_->WaitForConnected(deadline)) {
      auto serving = IsServing();
      if (serving.ok() && *serving) return absl::OkStatus();
      // Connected but not yet serving: wait for the channel to change state.
      channel_->WaitForStateChange(channel_->GetState(false), std::min(deadline, std::chrono::system_clock::now() +
                                                                                      std::chrono::milliseconds(50)));
    }
  }
  return absl::DeadlineExceededError("the server did not become SERVING in time");
}

}  // namespace predstore
