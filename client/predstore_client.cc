#include "client/predstore_client.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <latch>
#include <mutex>
#include <thread>

#include "core/base/status_macros.h"
#include "core/base/strings.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "proto/wire_values.h"

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

struct PredstoreClient::Shards {
  std::vector<std::unique_ptr<v1::Predictions::Stub>> stubs;  // by shard
  std::mutex mu;
  // Null: the table is not sharded. Guarded by mu.
  absl::flat_hash_map<std::string, std::shared_ptr<const internal::ShardedTable>> tables;
};

PredstoreClient::PredstoreClient(PredstoreClient&&) noexcept = default;
PredstoreClient::~PredstoreClient() = default;

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
  if (options_.shard_targets.empty()) {
    channel_ = grpc::CreateCustomChannel(options_.target, credentials, arguments);
  } else {
    // The first shard's channel also carries every call that is not routed.
    shards_ = std::make_unique<Shards>();
    for (const std::string& shard_target : options_.shard_targets) {
      std::shared_ptr<grpc::Channel> channel = grpc::CreateCustomChannel(shard_target, credentials, arguments);
      if (channel_ == nullptr) channel_ = channel;
      shards_->stubs.push_back(v1::Predictions::NewStub(std::move(channel)));
    }
  }
  if (options_.throttle_k >= 1) throttle_ = std::make_unique<AdaptiveThrottle>(options_.throttle_k);
  if (options_.adaptive_concurrency) {
    concurrency_limit_ = std::make_unique<AdaptiveConcurrencyLimit>(*options_.adaptive_concurrency);
  }
  if (options_.monotonic_reads) floors_ = std::make_unique<internal::VersionFloors>();
  predictions_ = v1::Predictions::NewStub(channel_);
  admin_ = v1::Admin::NewStub(channel_);
}

absl::StatusOr<std::shared_ptr<const internal::ShardedTable>> PredstoreClient::ShardedTableOf(
    const std::string& table) const {
  if (shards_ == nullptr) return nullptr;
  {
    std::lock_guard lock(shards_->mu);
    if (auto it = shards_->tables.find(table); it != shards_->tables.end()) return it->second;
  }
  // Every shard target must serve its own shard of the same split.
  std::shared_ptr<const internal::ShardedTable> sharded;
  for (size_t shard = 0; shard < shards_->stubs.size(); ++shard) {
    v1::GetTableRequest request;
    request.set_table(table);
    v1::TableInfo info;
    grpc::ClientContext context;
    Prepare(&context, false);
    grpc::Status status = shards_->stubs[shard]->GetTable(&context, request, &info);
    if (!status.ok()) return FromGrpcStatus(status);
    if (info.shards().count() == 0) {
      if (shard == 0) break;  // not sharded: served whole by every shard's servers
      return absl::FailedPreconditionError(StrCat("table \"", table, "\": shard target ", shard,
                                                  " serves it unsharded, shard target 0 sharded"));
    }
    if (info.shards().count() != shards_->stubs.size() || info.shards().served_shard() != shard) {
      return absl::FailedPreconditionError(StrCat("table \"", table, "\" is sharded ", info.shards().count(),
                                                  " ways and shard target ", shard, " (",
                                                  options_.shard_targets[shard], ") serves shard ",
                                                  info.shards().served_shard(), "; this client has ",
                                                  shards_->stubs.size(), " shard targets, in shard order"));
    }
    if (sharded == nullptr) {
      PREDSTORE_ASSIGN_OR_RETURN(std::unique_ptr<internal::ShardedTable> made, internal::ShardedTable::FromInfo(info));
      sharded = std::move(made);
    }
  }
  std::lock_guard lock(shards_->mu);
  shards_->tables[table] = sharded;
  return sharded;
}

void PredstoreClient::Prepare(grpc::ClientContext* context, bool admin) const {
  context->set_deadline(std::chrono::system_clock::now() + options_.timeout);
  const std::string& token = admin ? options_.admin_token : options_.data_token;
  if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
}

template <typename Response, typename Call>
absl::StatusOr<Response> PredstoreClient::Throttled(Call&& call) const {
  if (throttle_ == nullptr && concurrency_limit_ == nullptr) return Invoke<Response>(std::forward<Call>(call));
  if (throttle_ != nullptr && !throttle_->Admit()) {
    return absl::ResourceExhaustedError(
        "refused by this client's adaptive throttle: the server has been refusing calls; retry with backoff");
  }
  if (concurrency_limit_ != nullptr && !concurrency_limit_->TryAcquire()) {
    return absl::ResourceExhaustedError(StrCat(
        "refused by this client's adaptive concurrency limit: ", concurrency_limit_->InFlight(),
        " calls in flight are as many as the server's latency allows now; retry with backoff"));
  }
  const auto started = std::chrono::steady_clock::now();
  Response response;
  grpc::Status status = call(&response);
  if (throttle_ != nullptr) throttle_->Record(status.error_code());
  if (concurrency_limit_ != nullptr) {
    concurrency_limit_->Release(std::chrono::steady_clock::now() - started, status.error_code());
  }
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

namespace internal {

uint64_t VersionFloors::Get(const std::string& table) const {
  std::shared_lock lock(mu_);
  auto it = floors_.find(table);
  return it == floors_.end() ? 0 : it->second;
}

void VersionFloors::Raise(const std::string& table, uint64_t version) {
  if (version == 0 || Get(table) >= version) return;
  std::lock_guard lock(mu_);
  uint64_t& floor = floors_[table];
  floor = std::max(floor, version);
}

}  // namespace internal

void PredstoreClient::CarryFloor(const std::string& table, uint64_t requested, grpc::ClientContext* context) const {
  if (floors_ == nullptr) return;
  const uint64_t floor = floors_->Get(table);
  if (floor > requested) context->AddMetadata(kMinVersionMetadata, std::to_string(floor));
}

absl::StatusOr<v1::LookupResponse> PredstoreClient::Lookup(const v1::LookupRequest& request) const {
  v1::Predictions::Stub* stub = predictions_.get();
  if (shards_ != nullptr) {
    PREDSTORE_ASSIGN_OR_RETURN(std::shared_ptr<const internal::ShardedTable> sharded, ShardedTableOf(request.table()));
    // A key that does not convert goes to shard 0, whose server names the problem.
    absl::StatusOr<uint32_t> shard = sharded ? sharded->ShardOf(request.key()) : 0;
    stub = shards_->stubs[shard.ok() ? *shard : 0].get();
  }
  absl::StatusOr<v1::LookupResponse> answer = Throttled<v1::LookupResponse>([&](v1::LookupResponse* response) {
    grpc::ClientContext context;
    Prepare(&context, false);
    CarryFloor(request.table(), request.min_version(), &context);
    return stub->Lookup(&context, request, response);
  });
  if (answer.ok() && floors_) floors_->Raise(request.table(), answer->snapshot_version());
  return answer;
}

absl::StatusOr<v1::BatchLookupResponse> PredstoreClient::BatchLookup(const v1::BatchLookupRequest& request) const {
  if (shards_ != nullptr) {
    PREDSTORE_ASSIGN_OR_RETURN(std::shared_ptr<const internal::ShardedTable> sharded, ShardedTableOf(request.table()));
    if (sharded != nullptr) {
      absl::StatusOr<v1::BatchLookupResponse> merged =
          Throttled<v1::BatchLookupResponse>([&](v1::BatchLookupResponse* response) {
            return ShardedBatchLookup(*sharded, request, response);
          });
      if (merged.ok() && floors_) floors_->Raise(request.table(), merged->snapshot_version());
      return merged;
    }
  }
  absl::StatusOr<v1::BatchLookupResponse> answer =
      Throttled<v1::BatchLookupResponse>([&](v1::BatchLookupResponse* response) {
        grpc::ClientContext context;
        Prepare(&context, false);
        CarryFloor(request.table(), request.min_version(), &context);
        return predictions_->BatchLookup(&context, request, response);
      });
  if (answer.ok() && floors_) floors_->Raise(request.table(), answer->snapshot_version());
  return answer;
}

absl::Status PredstoreClient::Scan(const v1::ScanRequest& request,
                                   const std::function<void(const v1::ScanResponse&)>& on_message) const {
  if (shards_ != nullptr) {
    PREDSTORE_ASSIGN_OR_RETURN(std::shared_ptr<const internal::ShardedTable> sharded, ShardedTableOf(request.table()));
    if (sharded != nullptr) return ShardedScan(*sharded, request, on_message);
  }
  grpc::ClientContext context;
  Prepare(&context, false);
  CarryFloor(request.table(), request.min_version(), &context);
  std::unique_ptr<grpc::ClientReader<v1::ScanResponse>> reader = predictions_->Scan(&context, request);
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


grpc::Status PredstoreClient::ShardedBatchLookup(const internal::ShardedTable& table,
                                                 const v1::BatchLookupRequest& request,
                                                 v1::BatchLookupResponse* response) const {
  absl::StatusOr<std::vector<internal::ShardedTable::SubBatch>> split = table.Split(request);
  if (!split.ok()) {
    // Keys that do not convert: shard 0's server names the problem.
    grpc::ClientContext context;
    Prepare(&context, false);
    grpc::Status status = shards_->stubs[0]->BatchLookup(&context, request, response);
    if (!status.ok()) return status;
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::string(split.status().message()));
  }
  std::vector<internal::ShardedTable::SubBatch>& subs = *split;
  const uint64_t floor = floors_ ? floors_->Get(request.table()) : 0;
  for (internal::ShardedTable::SubBatch& sub : subs) {
    sub.request.set_min_version(std::max(sub.request.min_version(), floor));
  }
  std::vector<v1::BatchLookupResponse> answers(subs.size());
  std::vector<size_t> asking(subs.size());
  for (size_t i = 0; i < subs.size(); ++i) asking[i] = i;
  constexpr int kRounds = 3;
  for (int round = 1;; ++round) {
    std::vector<grpc::Status> statuses(asking.size());
    std::vector<grpc::ClientContext> contexts(asking.size());
    std::latch answered(static_cast<std::ptrdiff_t>(asking.size()));
    for (size_t a = 0; a < asking.size(); ++a) {
      const size_t i = asking[a];
      Prepare(&contexts[a], false);
      answers[i].Clear();
      shards_->stubs[subs[i].shard]->async()->BatchLookup(&contexts[a], &subs[i].request, &answers[i],
                                                          [&statuses, &answered, a](grpc::Status status) {
                                                            statuses[a] = std::move(status);
                                                            answered.count_down();
                                                          });
    }
    answered.wait();
    for (const grpc::Status& status : statuses) {
      if (!status.ok()) return status;
    }
    uint64_t newest = 0;
    for (const v1::BatchLookupResponse& answer : answers) newest = std::max(newest, answer.snapshot_version());
    asking.clear();
    for (size_t i = 0; i < subs.size(); ++i) {
      if (answers[i].snapshot_version() == newest) continue;
      subs[i].request.set_min_version(newest);
      asking.push_back(i);
    }
    if (asking.empty()) break;
    if (round == kRounds) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          StrCat("the shards of table \"", request.table(), "\" kept answering from different "
                                 "versions (publishes are reaching them); retry"));
    }
  }
  *response = table.Merge(request, subs, answers);
  return grpc::Status::OK;
}

absl::Status PredstoreClient::ShardedScan(const internal::ShardedTable& table, const v1::ScanRequest& request,
                                          const std::function<void(const v1::ScanResponse&)>& on_message) const {
  // One open scan per shard and the rows of its current message.
  struct ShardStream {
    grpc::ClientContext context;
    std::unique_ptr<grpc::ClientReader<v1::ScanResponse>> reader;
    v1::ScanResponse message;
    int next_row = 0;
    bool open = true;          // more messages may come
    std::string order_key;     // of message.rows(next_row)
  };
  const size_t shard_count = shards_->stubs.size();
  std::vector<std::unique_ptr<ShardStream>> streams;
  v1::ScanRequest asked = request;
  asked.set_min_version(std::max(asked.min_version(), floors_ ? floors_->Get(request.table()) : 0));
  auto finish_all = [&] {
    for (auto& s : streams) {
      if (!s->open) continue;
      s->context.TryCancel();
      while (s->reader->Read(&s->message)) {
      }
      s->reader->Finish().IgnoreError();
    }
  };
  // The first message of every shard names its version: start again, with
  // min_version, until they agree.
  uint64_t version = 0;
  for (int round = 1;; ++round) {
    streams.clear();
    uint64_t newest = 0, oldest = UINT64_MAX;
    for (size_t shard = 0; shard < shard_count; ++shard) {
      auto s = std::make_unique<ShardStream>();
      Prepare(&s->context, false);
      s->reader = shards_->stubs[shard]->Scan(&s->context, asked);
      if (!s->reader->Read(&s->message)) {
        s->open = false;
        absl::Status status = FromGrpcStatus(s->reader->Finish());
        finish_all();
        return status.ok() ? absl::InternalError(StrCat("shard ", shard, " ended its scan without an answer"))
                           : status;
      }
      newest = std::max(newest, s->message.snapshot_version());
      oldest = std::min(oldest, s->message.snapshot_version());
      streams.push_back(std::move(s));
    }
    if (newest == oldest) {
      version = newest;
      break;
    }
    finish_all();
    if (round == 3) {
      return absl::UnavailableError(StrCat("the shards of table \"", request.table(), "\" kept answering from "
                                           "different versions (publishes are reaching them); retry"));
    }
    asked.set_min_version(newest);
  }

  v1::ScanResponse out;
  out.set_snapshot_version(version);
  *out.mutable_key_columns() = streams[0]->message.key_columns();
  *out.mutable_value_columns() = streams[0]->message.value_columns();
  v1::ScanStats stats;
  auto add_stats = [&](const v1::ScanStats& s) {
    stats.set_keys_examined(stats.keys_examined() + s.keys_examined());
    stats.set_rows_returned(stats.rows_returned() + s.rows_returned());
    stats.set_seeks(stats.seeks() + s.seeks());
    stats.set_data_blocks_read(stats.data_blocks_read() + s.data_blocks_read());
    stats.set_data_blocks_cached(stats.data_blocks_cached() + s.data_blocks_cached());
    stats.set_partitions_visited(stats.partitions_visited() + s.partitions_visited());
    stats.set_elapsed_micros(std::max(stats.elapsed_micros(), s.elapsed_micros()));
  };
  // Moves stream `s` to its next row (reading messages as needed); false
  // when it has none. A shard that stopped at its row limit stops the
  // merge there (`limited`): rows of other shards past it may precede its
  // unread ones.
  bool limited = false;
  auto advance = [&](ShardStream& s) -> absl::Status {
    while (s.next_row >= s.message.rows_size()) {
      if (s.message.has_stats()) add_stats(s.message.stats());
      if (!s.message.next_page_token().empty()) limited = true;
      if (!s.open || !s.reader->Read(&s.message)) {
        if (s.open) {
          s.open = false;
          PREDSTORE_RETURN_IF_ERROR(FromGrpcStatus(s.reader->Finish()));
        }
        s.message.Clear();
        s.next_row = 0;
        return absl::OkStatus();
      }
      s.next_row = 0;
    }
    PREDSTORE_ASSIGN_OR_RETURN(s.order_key, table.OrderKey(s.message.rows(s.next_row)));
    return absl::OkStatus();
  };
  auto has_row = [](const ShardStream& s) { return s.next_row < s.message.rows_size(); };
  absl::Status status;
  for (auto& s : streams) {
    if (status.ok()) status = advance(*s);
  }
  const uint64_t limit = request.limit();
  uint64_t emitted = 0;
  std::string last_key;
  constexpr int kRowsPerMessage = 1000;
  while (status.ok() && !limited && (limit == 0 || emitted < limit)) {
    ShardStream* first = nullptr;
    for (auto& s : streams) {
      if (has_row(*s) && (first == nullptr || s->order_key < first->order_key)) first = s.get();
    }
    if (first == nullptr) break;
    *out.add_rows() = first->message.rows(first->next_row);
    last_key = first->order_key;
    ++emitted;
    ++first->next_row;
    status = advance(*first);
    if (out.rows_size() == kRowsPerMessage) {
      on_message(out);
      out.Clear();
      out.set_snapshot_version(version);
    }
  }
  const bool more = std::any_of(streams.begin(), streams.end(), [&](const auto& s) { return has_row(*s) || s->open; });
  finish_all();
  if (!status.ok()) return status;
  if ((limited || more) && !last_key.empty()) out.set_next_page_token(last_key);
  stats.set_rows_returned(emitted);
  *out.mutable_stats() = stats;
  on_message(out);
  if (floors_) floors_->Raise(request.table(), version);
  return absl::OkStatus();
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
