// PredstoreClient: a small blocking client over the predstore.v1 stubs, for
// applications, the CLI, tests and benchmarks. One client may be shared by
// many threads (gRPC channels and stubs are thread-safe).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "client/adaptive_throttle.h"
#include "client/concurrency_limit.h"
#include "client/sharded_table.h"
#include "predstore/v1/predstore.grpc.pb.h"

namespace predstore {

struct ClientOptions {
  // Any gRPC target: host:port, dns:///predstore.ns.svc:50051 (every
  // address the name resolves to), ipv4:10.0.0.1:50051,10.0.0.2:50051.
  // Required.
  std::string target;
  // Bearer token sent with Admin calls; empty: none. Default empty.
  std::string admin_token;
  // Bearer token sent with Predictions calls (a server started with
  // --data_token_file); empty: none. Default empty.
  std::string data_token;
  // Deadline of each call. Default 10 s.
  std::chrono::milliseconds timeout{10000};
  // TLS (see LoadClientTls): the CA that signed the server's certificate,
  // and for mTLS the client's own certificate chain and key, all PEM. No
  // CA: plaintext.
  std::string tls_root_pem;
  std::string tls_cert_pem;
  std::string tls_key_pem;
  // Adaptive throttling (adaptive_throttle.h) of Lookup, BatchLookup and
  // Predict: with k >= 1, once the server refuses calls (RESOURCE_EXHAUSTED,
  // UNAVAILABLE, DEADLINE_EXCEEDED), this client refuses a share of its
  // next ones itself, at once, with kResourceExhausted, until the server
  // accepts again. 2 is the usual choice. 0: off. Default 0.
  double throttle_k = 0;
  // An adaptive limit on Lookup, BatchLookup and Predict calls in flight
  // (concurrency_limit.h): past it a call is refused locally, at once,
  // with kResourceExhausted, instead of waiting in gRPC's queue for a
  // stream of a server at capacity. The limit follows the server's
  // latency: it shrinks when answers slow down or are refused and grows
  // while they are as fast as the baseline. Its `tolerance` trades latency
  // for throughput under overload (docs/serving.md). One limit for the
  // whole client (every replica). Default: none.
  std::optional<AdaptiveConcurrencyLimit::Options> adaptive_concurrency;
  // Replicas. Calls are spread round robin over every address of the
  // target that answers grpc.health.v1 as SERVING for
  // predstore.v1.Predictions (a draining replica leaves the rotation).
  // With retry_reads, reads (Lookup, BatchLookup, Scan until its first
  // answer, Predict, GetTable, ListTables, ListModels, IngestStatus) that
  // fail UNAVAILABLE are retried, up to 4 more times, on the next replica.
  // Default true.
  bool retry_reads = true;
  // Monotonic reads: once answered from version N of a table, this client
  // never gets an answer from an older version of it (except one an
  // operator rolled back to): Lookup, BatchLookup and Scan carry the
  // highest version seen as min_version, and a replica that has not seen
  // it yet refuses (UNAVAILABLE, retried on another replica with
  // retry_reads). Default true.
  bool monotonic_reads = true;
  // The longest a replica that went away waits before the client tries to
  // reconnect to it (gRPC's backoff starts at 1 s and grows 1.6x per
  // failed attempt up to this). Default 5 s.
  std::chrono::milliseconds max_reconnect_backoff{5000};
  // Shards (docs/scale-out.md#shards): one gRPC target per shard, in shard
  // order, each naming that shard's replicas; `target` is then unused.
  // Lookups of a sharded table go to their key's shard, a BatchLookup is
  // split by shard, sent in parallel and merged back in request order, a
  // Scan fans out to every shard and is merged in key order; the shards'
  // answers come from one version (a shard behind is asked again with
  // min_version). Other tables and calls go to the first target. A table's
  // shard map is read once (GetTable on every shard); a table sharded
  // another number of ways is kFailedPrecondition. Empty: unsharded.
  std::vector<std::string> shard_targets;
  // A gRPC service config (JSON) used instead of the one the two options
  // above build. Empty: theirs.
  std::string service_config_json;
};

// The service config ClientOptions' replica settings give (JSON).
std::string ReplicaServiceConfig(bool retry_reads);

// Fills `options`' TLS fields from PEM files (the CA; the certificate and
// key together or neither). kNotFound naming a file that cannot be read;
// kInvalidArgument for a certificate without its key.
absl::Status LoadClientTls(const std::string& ca_file, const std::string& cert_file, const std::string& key_file,
                           ClientOptions* options);


// A gRPC status as an absl::Status with the same code and message.
absl::Status FromGrpcStatus(const grpc::Status& status);

// One long-lived bidirectional call. Write and Read may be called from two
// different threads (one writer, one reader).
template <typename Request, typename Response>
class BidiStream {
 public:
  // False when the stream is broken (then Finish tells why).
  bool Write(const Request& request) { return stream_->Write(request); }
  // False when no answer will come any more.
  bool Read(Response* response) { return stream_->Read(response); }
  // Ends the writing side; Read then drains the remaining answers.
  void WritesDone() { stream_->WritesDone(); }
  // The stream's final status. REQUIRES: Read has returned false.
  absl::Status Finish() { return FromGrpcStatus(stream_->Finish()); }

 private:
  friend class PredstoreClient;
  BidiStream() = default;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<Request, Response>> stream_;
};

// Predictions.LookupStream: answers carry the id of their request and may
// arrive in another order.
using LookupStream = BidiStream<v1::StreamLookupRequest, v1::StreamLookupResponse>;
// Admin.Ingest: one ack per batch, in order.
using IngestStream = BidiStream<v1::IngestRequest, v1::IngestAck>;

namespace internal {

// Per table, the highest snapshot version a client was answered from.
// Thread-safe.
class VersionFloors {
 public:
  // 0 for a table never answered.
  uint64_t Get(const std::string& table) const;
  // Raises the floor of `table` to `version` (a lower one changes nothing).
  void Raise(const std::string& table, uint64_t version);

 private:
  mutable std::shared_mutex mu_;
  absl::flat_hash_map<std::string, uint64_t> floors_;  // guarded by mu_
};

}  // namespace internal

class PredstoreClient {
 public:
  // Creates the channel; does not connect until the first call.
  explicit PredstoreClient(ClientOptions options);
  PredstoreClient(PredstoreClient&&) noexcept;
  ~PredstoreClient();

  // Each call returns the server's answer, or its status converted to
  // absl::Status with the same code and message (kUnavailable when the
  // server cannot be reached).
  absl::StatusOr<v1::LookupResponse> Lookup(const v1::LookupRequest& request) const;
  absl::StatusOr<v1::BatchLookupResponse> BatchLookup(const v1::BatchLookupRequest& request) const;
  // Opens a LookupStream (no deadline: it lives until WritesDone/Finish).
  std::unique_ptr<LookupStream> OpenLookupStream() const;
  // Opens an Admin.Ingest stream (no deadline), with the admin token.
  std::unique_ptr<IngestStream> OpenIngestStream() const;
  absl::StatusOr<v1::IngestStatusResponse> IngestStatus(const std::string& table) const;
  // Streams a scan, calling on_message for each answer message in order.
  // The call's deadline is the client's timeout.
  absl::Status Scan(const v1::ScanRequest& request,
                    const std::function<void(const v1::ScanResponse&)>& on_message) const;
  absl::StatusOr<v1::ListTablesResponse> ListTables() const;
  absl::StatusOr<v1::TableInfo> GetTable(const std::string& table) const;
  absl::StatusOr<v1::RefreshTablesResponse> RefreshTables(const std::string& table) const;
  absl::StatusOr<v1::TableInfo> Rollback(const std::string& table, uint64_t to_version) const;
  absl::StatusOr<v1::PredictResponse> Predict(const v1::PredictRequest& request) const;
  absl::StatusOr<v1::ListModelsResponse> ListModels() const;
  // Admin: re-read the model registry now.
  absl::StatusOr<v1::ReloadModelsResponse> ReloadModels() const;
  // grpc.health.v1 Check of the whole server (`service` empty) or of one
  // service ("predstore.v1.Predictions"): true when SERVING; an unknown
  // service name is kNotFound.
  absl::StatusOr<bool> IsServing(const std::string& service = "") const;

  // Waits until the server answers health checks as SERVING, or `timeout`
  // passes (kDeadlineExceeded).
  absl::Status WaitUntilServing(std::chrono::milliseconds timeout) const;

 private:
  struct Shards;  // the shards' stubs and the sharded tables seen

  void Prepare(grpc::ClientContext* context, bool admin) const;
  // The table's shard map when it is sharded and this client has shard
  // targets; null for any other table.
  absl::StatusOr<std::shared_ptr<const internal::ShardedTable>> ShardedTableOf(const std::string& table) const;
  // Splits the batch by shard, asks the shards in parallel (again, with
  // min_version, those behind the newest version answered), and merges.
  grpc::Status ShardedBatchLookup(const internal::ShardedTable& table, const v1::BatchLookupRequest& request,
                                  v1::BatchLookupResponse* response) const;
  // Scans every shard (again, with min_version, when their first answers
  // name different versions) and merges their rows in key order.
  absl::Status ShardedScan(const internal::ShardedTable& table, const v1::ScanRequest& request,
                           const std::function<void(const v1::ScanResponse&)>& on_message) const;
  // Runs a data-plane call through the throttle and the concurrency limit
  // (those there are).
  template <typename Response, typename Call>
  absl::StatusOr<Response> Throttled(Call&& call) const;

  // Sends `table`'s floor (monotonic_reads) with the call as the
  // kMinVersionMetadata header when it is above what the request asks:
  // the request itself is not copied to raise its min_version.
  void CarryFloor(const std::string& table, uint64_t requested, grpc::ClientContext* context) const;

  ClientOptions options_;
  std::unique_ptr<AdaptiveThrottle> throttle_;      // null: throttle_k = 0
  std::unique_ptr<AdaptiveConcurrencyLimit> concurrency_limit_;  // null: no adaptive_concurrency
  std::unique_ptr<internal::VersionFloors> floors_;  // null: monotonic_reads off
  std::unique_ptr<Shards> shards_;                  // null: no shard_targets
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Predictions::Stub> predictions_;
  std::unique_ptr<v1::Admin::Stub> admin_;
};

}  // namespace predstore
