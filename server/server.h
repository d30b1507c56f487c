// PredstoreServer assembles a running server: the prediction store, the
// model catalog with its scoring batcher and lookup fallback, core's
// LookupService and IngestService, the Predictions and Admin services over
// them, grpc.health.v1 health checking, server
// reflection, and a watcher that swaps in newly published snapshots and
// newly staged model versions.
// Start/Shutdown/Wait may be called from different threads; Shutdown is
// idempotent.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "core/model/model_catalog.h"
#include "core/model/scoring_batcher.h"
#include "core/serve/admission_queue.h"
#include "core/serve/ingest_service.h"
#include "core/serve/lookup_fallback.h"
#include "core/serve/lookup_service.h"
#include "core/snapshot/prediction_store.h"
#include "core/stream/stream_catalog.h"
#include "core/base/metrics.h"
#include "server/http_server.h"
#include "server/resp_front_end.h"
#include "server/resp_server.h"
#include "server/request_observer.h"

namespace grpc {
class Server;
}

namespace predstore {

class PredictionService;
class AdminService;
class StreamSlots;

struct ServerOptions {
  // host:port to listen on; port 0 picks a free port (see port()).
  // Default "127.0.0.1:50051".
  std::string listen_address = "127.0.0.1:50051";
  StoreOptions store;
  // Keys per BatchLookup; more is RESOURCE_EXHAUSTED. Default 10000.
  uint32_t max_batch_keys = 10000;
  // Rows per Scan call (LookupServiceOptions::max_scan_rows). Default 1M.
  uint64_t max_scan_rows = 1'000'000;
  // Streams open at once across both front ends (LookupStream, Scan and
  // Ingest; HTTP scans); more are RESOURCE_EXHAUSTED / 429. Default 1000.
  uint32_t max_concurrent_streams = 1000;
  // Admission of data-plane calls on every front end (admission_queue.h):
  // calls running at once (0: one per CPU it may use), how long the oldest
  // waiting call may have waited before new ones are refused, and how many
  // may wait. Refused calls are RESOURCE_EXHAUSTED / HTTP 429 / a Redis
  // error. Defaults 0, 5 ms, 10000.
  AdmissionOptions admission;
  // gRPC's HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS: calls one connection
  // may have open in the server; more wait in the client. Bounds what a
  // connection makes the server hold. Default 32.
  int max_streams_per_connection = 32;
  // gRPC connection management: the server pings an idle connection every
  // keepalive_time and closes it when no answer comes within
  // keepalive_timeout; clients may ping as often as client_ping_interval
  // (more often: GOAWAY too_many_pings), calls or not. A connection idle for
  // max_connection_idle, or older than max_connection_age, is closed
  // gracefully (zero: never), so that clients re-resolve and rebalance.
  struct Keepalive {
    std::chrono::seconds time{60};
    std::chrono::seconds timeout{20};
    std::chrono::seconds client_ping_interval{10};
    std::chrono::seconds max_connection_idle{0};
    std::chrono::seconds max_connection_age{0};
  };
  Keepalive keepalive;
  // Largest request message; larger ones are RESOURCE_EXHAUSTED before they
  // are read. Default 4 MiB (gRPC's).
  int max_message_bytes = 4 << 20;
  // Bearer token for the Admin service; empty: no check. Default empty.
  std::string admin_token;
  // Bearer token every data-plane call (the Predictions service, the HTTP
  // front end's lookups and invocations) must carry; the admin token is
  // accepted too. Empty: no check. Health, /ping, /version and /metrics
  // stay open for probes and scrapers. Default empty.
  std::string data_token;
  // TLS for both front ends from PEM files, re-read every
  // `refresh_seconds` so a renewed certificate is served without a restart;
  // with `client_ca`, clients must present a certificate it signed (mTLS).
  // Unset: plaintext.
  struct TlsFiles {
    std::string cert;
    std::string key;
    std::string client_ca;
    unsigned refresh_seconds = 10;
  };
  std::optional<TlsFiles> tls;
  // Largest HTTP request body; larger is 413. Default 4 MiB.
  uint64_t http_max_body_bytes = 4u << 20;
  // host:port of the Redis-protocol front end (resp_front_end.h); empty:
  // none. Its values as text or JSON, and per-table key prefixes and
  // fallback.
  std::string resp_listen;
  // Its event loops, one thread each. Default 2.
  int resp_io_threads = 2;
  RespValueFormat resp_value_format = RespValueFormat::kText;
  std::map<std::string, RespTableOptions, std::less<>> resp_tables;
  // host:port of the HTTP/JSON front end (http_front_end.h); empty: none.
  // It serves TLS (and mTLS) from the same files as gRPC when `tls` is set.
  std::string http_listen;
  // The models:/ URI the HTTP front end's POST /invocations scores with
  // (MLflow's scoring protocol); empty: none. Needs model_registry.
  std::string http_default_model;
  // How often manifests are re-read to pick up published snapshots;
  // zero disables the watcher (the loader's RefreshTables call still works).
  // Default 2 s.
  std::chrono::milliseconds refresh_interval{2000};
  // MLflow registry to serve models from (see ReadRegistry); empty: no
  // models, Predict fails FAILED_PRECONDITION. The watcher re-reads it.
  std::string model_registry;
  // XGBoost threads per scoring call. Default 1.
  int scorer_threads = 1;
  BatchingOptions batching;
  // Tables bound to models for lookups that miss (ParseFallbackBindings).
  std::vector<FallbackBinding> fallback;
  // Accept Admin.Ingest streams into <data_dir>/<table>/stream (read-write:
  // one ingesting server per data directory). Lookups then see the streams.
  bool ingest = false;
  StreamOptions stream;
  // How often superseded stream versions past the retention are swept.
  std::chrono::milliseconds stream_sweep_interval{60000};
  // Time given to in-flight calls at shutdown before they are cancelled.
  // Default 5 s.
  std::chrono::milliseconds shutdown_grace{5000};
};

class PredstoreServer {
 public:
  // Opens the store and starts serving. kUnavailable when the address
  // cannot be bound (in use: port reuse is off).
  static absl::StatusOr<std::unique_ptr<PredstoreServer>> Start(ServerOptions options);
  ~PredstoreServer();

  // The bound port, and the HTTP front end's (0 without one).
  int port() const { return port_; }
  int http_port() const;
  int resp_port() const;
  PredictionStore& store() { return *store_; }
  // Null when the server runs without a model registry.
  ModelCatalog* models() { return models_.get(); }

  // Health goes NOT_SERVING, new calls are refused, in-flight calls (gRPC
  // and HTTP) get shutdown_grace to finish, the watcher stops.
  void Shutdown();
  // Re-reads now what is otherwise re-read on timers (for SIGHUP): the
  // manifests, the model registry, and the HTTP front end's TLS files (at
  // its next connection). gRPC's TLS files are re-read by gRPC every
  // --tls_refresh_seconds, whatever happens here. Any thread.
  void Reload();
  // Blocks until the server has shut down.
  void Wait();

 private:
  PredstoreServer() = default;
  void WatchManifests();
  // Re-reads the manifests (and the model registry), logging what fails.
  void RefreshTables();
  void RefreshTablesAndModels();
  // Wakes the watcher to refresh now (a call asked for a version this
  // server has not seen). Any thread; never blocks on I/O.
  void RequestRefresh();

  // Adds the gauges read at scrape time: tables, models, the block cache
  // and memory indexes, stream sources, the process.
  void AddCollectedMetrics();
  void AddStreamMetrics();

  ServerOptions options_;
  std::unique_ptr<MetricsRegistry> metrics_;
  std::unique_ptr<RequestObserver> requests_;
  std::unique_ptr<PredictionStore> store_;
  std::unique_ptr<ModelCatalog> models_;  // null without a registry
  std::unique_ptr<ScoringBatcher> batcher_;
  std::unique_ptr<LookupFallback> fallback_;
  std::unique_ptr<StreamCatalog> streams_;  // null without ingestion
  std::unique_ptr<LookupService> lookups_;
  std::unique_ptr<AdmissionQueue> admission_;
  std::unique_ptr<IngestService> ingest_;
  std::unique_ptr<StreamSlots> streams_open_;  // before the services that hold its slots
  std::unique_ptr<PredictionService> predictions_;
  std::unique_ptr<AdminService> admin_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<HttpServer> http_;  // null without --http_listen
  std::unique_ptr<RespServer> resp_;  // null without --resp_listen
  int port_ = 0;
  std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  bool refresh_requested_ = false;          // guarded by mu_
  std::atomic<bool> refresh_pending_{false};  // a request not yet served by a refresh
  std::thread watcher_;
};

}  // namespace predstore
