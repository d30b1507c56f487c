#include "server/server.h"

#include <functional>
#include <string_view>
#include <utility>

#include "absl/time/clock.h"
#include "core/base/logging.h"
#include "core/base/strings.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "server/http_front_end.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "server/admin_service.h"
#include "server/prediction_service.h"
#include "server/stream_slots.h"

namespace predstore {

namespace {

// Server credentials from PEM files watched for renewal.
std::shared_ptr<grpc::ServerCredentials> TlsCredentials(const ServerOptions::TlsFiles& files) {
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      files.key, files.cert, files.client_ca, files.refresh_seconds);
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (!files.client_ca.empty()) {
    options.watch_root_certs();
    options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  }
  return grpc::experimental::TlsServerCredentials(options);
}

}  // namespace

absl::StatusOr<std::unique_ptr<PredstoreServer>> PredstoreServer::Start(ServerOptions options) {
  auto server = std::unique_ptr<PredstoreServer>(new PredstoreServer());
  server->options_ = std::move(options);
  const ServerOptions& o = server->options_;
  server->metrics_ = std::make_unique<MetricsRegistry>();
  server->requests_ = std::make_unique<RequestObserver>(server->metrics_.get());
  auto store = PredictionStore::Open(o.store);
  if (!store.ok()) return store.status();
  server->store_ = std::move(*store);
  if (!o.model_registry.empty()) {
    auto models = ModelCatalog::Open({o.model_registry, o.scorer_threads});
    if (!models.ok()) return models.status();
    server->models_ = *std::move(models);
  }
  if (!o.fallback.empty() && server->models_ == nullptr) {
    return absl::InvalidArgumentError("fallback bindings need a model registry (--model_registry)");
  }
  if (!o.http_default_model.empty()) {
    if (o.http_listen.empty() || server->models_ == nullptr) {
      return absl::InvalidArgumentError("--http_default_model needs --http_listen and --model_registry");
    }
    absl::StatusOr<ModelReference> reference = ParseModelReference(o.http_default_model);
    if (!reference.ok()) {
      return absl::InvalidArgumentError(StrCat("--http_default_model: ", reference.status().message()));
    }
    if (auto model = server->models_->Resolve(*reference); !model.ok()) {
      return absl::Status(model.status().code(), StrCat("--http_default_model: ", model.status().message()));
    }
  }
  BatchingOptions batching = o.batching;
  batching.metrics = server->metrics_.get();
  server->batcher_ = std::make_unique<ScoringBatcher>(batching);
  if (o.ingest) {
    auto streams = StreamCatalog::Open(o.store.data_dir, o.stream);
    if (!streams.ok()) return streams.status();
    server->streams_ = *std::move(streams);
  }
  if (!o.fallback.empty()) {
    server->fallback_ = std::make_unique<LookupFallback>(server->store_.get(), server->models_.get(), o.fallback);
  }
  AdmissionOptions admission = o.admission;
  admission.metrics = server->metrics_.get();
  server->admission_ = std::make_unique<AdmissionQueue>(admission);
  server->lookups_ = std::make_unique<LookupService>(
      server->store_.get(), server->streams_.get(), server->models_.get(), server->batcher_.get(),
      server->fallback_.get(),
      LookupServiceOptions{.max_batch_keys = o.max_batch_keys,
                           .max_scan_rows = o.max_scan_rows,
                           .metrics = server->metrics_.get(),
                           .admission = server->admission_.get(),
                           .on_behind = o.refresh_interval.count() > 0
                                            ? std::function<void(std::string_view)>(
                                                  [s = server.get()](std::string_view) { s->RequestRefresh(); })
                                            : nullptr});
  server->ingest_ =
      std::make_unique<IngestService>(server->store_.get(), server->streams_.get(), server->fallback_.get());
  const BearerTokens data_tokens(o.data_token.empty() ? std::vector<std::string>()
                                                      : std::vector<std::string>{o.data_token, o.admin_token});
  server->streams_open_ = std::make_unique<StreamSlots>(o.max_concurrent_streams);
  server->predictions_ = std::make_unique<PredictionService>(server->lookups_.get(), server->ingest_.get(),
                                                             server->streams_open_.get(), server->admission_.get(),
                                                             data_tokens);
  server->admin_ = std::make_unique<AdminService>(server->store_.get(), server->models_.get(), server->ingest_.get(),
                                                  server->streams_open_.get(), o.admin_token);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, o.max_streams_per_connection);
  auto milliseconds = [](std::chrono::seconds s) { return static_cast<int>(s.count() * 1000); };
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, milliseconds(o.keepalive.time));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, milliseconds(o.keepalive.timeout));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             milliseconds(o.keepalive.client_ping_interval));
  if (o.keepalive.max_connection_idle.count() > 0) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, milliseconds(o.keepalive.max_connection_idle));
  }
  if (o.keepalive.max_connection_age.count() > 0) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, milliseconds(o.keepalive.max_connection_age));
  }
  builder.SetMaxReceiveMessageSize(o.max_message_bytes);
  builder.AddListeningPort(o.listen_address, o.tls ? TlsCredentials(*o.tls) : grpc::InsecureServerCredentials(),
                           &server->port_);
  builder.RegisterService(server->predictions_.get());
  builder.RegisterService(server->admin_.get());
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(server->requests_->GrpcInterceptorFactory());
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  server->server_ = builder.BuildAndStart();
  if (!server->server_ || server->port_ == 0) {
    return absl::UnavailableError(StrCat("cannot listen on ", o.listen_address, " (address in use or invalid)"));
  }
  // Health by service name, as probes that name one ask (grpc_health_probe
  // -service, Envoy, Kubernetes): "", and each service the server offers.
  for (const char* service : {"", "predstore.v1.Predictions", "predstore.v1.Admin"}) {
    server->server_->GetHealthCheckService()->SetServingStatus(service, true);
  }
  if (!o.http_listen.empty()) {
    HttpServerOptions http_options;
    http_options.listen_address = o.http_listen;
    http_options.max_body_bytes = o.http_max_body_bytes;
    http_options.body_limit_name = "--http_max_body_mb";
    if (o.tls) {
      http_options.tls = HttpTlsFiles{.cert = o.tls->cert,
                                      .key = o.tls->key,
                                      .client_ca = o.tls->client_ca,
                                      .refresh = std::chrono::seconds(o.tls->refresh_seconds)};
    }
    http_options.on_response = [requests = server->requests_.get()](
                                   const HttpRequest& request, HttpResponse* response, std::chrono::nanoseconds elapsed) {
      requests->ObserveHttp(request, response, elapsed);
    };
    server->http_ = std::make_unique<HttpServer>(http_options);
    HttpRouteOptions routes;
    routes.ready = [s = server.get()] {
      std::lock_guard<std::mutex> lock(s->mu_);
      return !s->stopping_;
    };
    routes.default_model = o.http_default_model;
    routes.data_tokens = data_tokens;
    routes.metrics = server->metrics_.get();
    routes.streams = server->streams_open_.get();
    AddHttpRoutes(server->lookups_.get(), std::move(routes), server->http_.get());
    if (absl::Status started = server->http_->Start(); !started.ok()) {
      server->server_->Shutdown();
      return absl::Status(started.code(), StrCat("HTTP front end: ", started.message()));
    }
  }
  if (!o.resp_listen.empty()) {
    RespServerOptions resp_options;
    resp_options.listen_address = o.resp_listen;
    resp_options.io_threads = o.resp_io_threads;
    resp_options.limits.max_command_bytes = static_cast<size_t>(o.max_message_bytes);
    resp_options.limits.max_arguments = o.max_batch_keys + 1;
    resp_options.on_reply = [requests = server->requests_.get()](std::string_view command, std::string_view reply,
                                                                 std::chrono::nanoseconds elapsed) {
      requests->ObserveResp(command, reply, elapsed);
    };
    server->resp_ = std::make_unique<RespServer>(resp_options);
    RespFrontEndOptions front_end;
    front_end.value_format = o.resp_value_format;
    front_end.data_tokens = data_tokens;
    front_end.tables = o.resp_tables;
    front_end.transport = server->resp_.get();
    if (absl::Status started = server->resp_->Start(MakeRespHandler(server->lookups_.get(), std::move(front_end)));
        !started.ok()) {
      if (server->http_) server->http_->Shutdown(std::chrono::steady_clock::now());
      server->server_->Shutdown();
      return absl::Status(started.code(), StrCat("Redis-protocol front end: ", started.message()));
    }
  }
  server->AddCollectedMetrics();
  if (o.refresh_interval.count() > 0) server->watcher_ = std::thread([s = server.get()] { s->WatchManifests(); });
  LogInfo("predstore-server listening on ", o.listen_address.substr(0, o.listen_address.rfind(':')), ":",
          server->port_, ", data in ", o.store.data_dir.string(), ", ", server->store_->Tables().size(), " tables",
          server->models_ ? StrCat(", ", server->models_->Served().size(), " model versions") : "",
          server->http_ ? StrCat("; HTTP on port ", server->http_->port()) : "",
          server->resp_ ? StrCat("; Redis protocol on port ", server->resp_->port()) : "");
  return server;
}

PredstoreServer::~PredstoreServer() {
  Shutdown();
  Wait();
}

void PredstoreServer::WatchManifests() {
  auto next_sweep = std::chrono::steady_clock::now() + options_.stream_sweep_interval;
  auto next_refresh = std::chrono::steady_clock::now() + options_.refresh_interval;
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    stop_cv_.wait_until(lock, next_refresh, [this] { return stopping_ || refresh_requested_; });
    if (stopping_) break;
    const bool requested = std::exchange(refresh_requested_, false);
    const bool due = std::chrono::steady_clock::now() >= next_refresh;
    lock.unlock();
    if (due) {
      RefreshTablesAndModels();
      next_refresh = std::chrono::steady_clock::now() + options_.refresh_interval;
    } else {
      RefreshTables();  // woken early by a call behind a publish: the registry can wait
    }
    // A client whose floor no publish here will reach (its table was
    // recreated) must not turn the watcher into a busy loop.
    if (requested) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (streams_ != nullptr && std::chrono::steady_clock::now() >= next_sweep) {
      next_sweep = std::chrono::steady_clock::now() + options_.stream_sweep_interval;
      absl::StatusOr<uint64_t> swept = streams_->Sweep();
      if (!swept.ok()) LogWarning("sweeping stream versions: ", swept.status().ToString());
    }
    lock.lock();
  }
}

void PredstoreServer::RequestRefresh() {
  // Calls behind a publish arrive in bursts: the first one wakes the watcher.
  if (refresh_pending_.exchange(true, std::memory_order_relaxed)) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    refresh_requested_ = true;
  }
  stop_cv_.notify_all();
}

void PredstoreServer::RefreshTables() {
  refresh_pending_.store(false, std::memory_order_relaxed);
  auto refreshed = store_->Refresh("");
  if (!refreshed.ok()) LogWarning("refreshing tables: ", refreshed.status().ToString());
}

void PredstoreServer::RefreshTablesAndModels() {
  RefreshTables();
  if (models_ != nullptr) {
    absl::StatusOr<ModelReloadSummary> reloaded = models_->Reload();
    if (!reloaded.ok()) LogWarning("reloading models: ", reloaded.status().ToString());
  }
}

void PredstoreServer::Reload() {
  LogInfo("reloading: manifests, the model registry", http_ && options_.tls ? ", the HTTP TLS files" : "");
  if (http_) http_->ReloadTlsFiles();
  RefreshTablesAndModels();
}

void PredstoreServer::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (!server_) return;
  LogInfo("shutting down: health NOT_SERVING, finishing in-flight calls");
  server_->GetHealthCheckService()->SetServingStatus(false);
  // The front ends stop taking calls at once and drain side by side,
  // within the one grace period.
  std::thread grpc_drain(
      [this] { server_->Shutdown(std::chrono::system_clock::now() + options_.shutdown_grace); });
  std::thread resp_drain([this] {
    if (resp_) resp_->Shutdown(std::chrono::steady_clock::now() + options_.shutdown_grace);
  });
  if (http_) http_->Shutdown(std::chrono::steady_clock::now() + options_.shutdown_grace);
  resp_drain.join();
  grpc_drain.join();
}

void PredstoreServer::AddCollectedMetrics() {
  const LookupService* lookups = lookups_.get();
  auto per_table = [lookups](auto value) {
    return [lookups, value] {
      MetricSamples samples;
      for (const auto& snapshot : lookups->Tables()) samples.push_back({{{"table", snapshot->table()}}, value(*snapshot)});
      return samples;
    };
  };
  metrics_->AddCollected("predstore_table_snapshot_version", "The active snapshot version of each table.", "gauge",
                         per_table([](const TableSnapshot& t) { return static_cast<double>(t.version()); }));
  metrics_->AddCollected(
      "predstore_table_snapshot_age_seconds", "Seconds since the active snapshot of each table was published.",
      "gauge", per_table([](const TableSnapshot& t) {
        return static_cast<double>(absl::ToUnixMicros(absl::Now()) - t.info().created_at_micros) / 1e6;
      }));
  metrics_->AddCollected("predstore_table_rows", "Rows in the active snapshot of each table.", "gauge",
                         per_table([](const TableSnapshot& t) { return static_cast<double>(t.info().row_count); }));
  metrics_->AddCollected("predstore_table_partitions", "Partitions (parts) in the active snapshot of each table.",
                         "gauge", per_table([](const TableSnapshot& t) { return static_cast<double>(t.info().parts.size()); }));
  if (const ModelCatalog* models = models_.get()) {
    metrics_->AddCollected("predstore_models_loaded", "Model versions loaded and served.", "gauge", [models] {
      return MetricSamples{{{}, static_cast<double>(models->Served().size())}};
    });
    metrics_->AddCollected("predstore_model_load_errors", "Model versions the registry asks for that failed to load.",
                           "gauge", [models] {
                             return MetricSamples{{{}, static_cast<double>(models->LastErrors().size())}};
                           });
  }
  const StreamSlots* streams_open = streams_open_.get();
  metrics_->AddCollected("predstore_streams_open",
                         "Streams open across both front ends (LookupStream, Scan, Ingest, HTTP scans).", "gauge",
                         [streams_open] { return MetricSamples{{{}, static_cast<double>(streams_open->open())}}; });
  metrics_->AddCollected("predstore_streams_limit", "Most streams open at once (--max_concurrent_streams).", "gauge",
                         [streams_open] { return MetricSamples{{{}, static_cast<double>(streams_open->limit())}}; });
  const PredictionStore* store = store_.get();
  auto block_cache = [store](uint64_t PredictionStore::BlockCacheReading::*field) {
    return [store, field] { return MetricSamples{{{}, static_cast<double>(store->block_cache_reading().*field)}}; };
  };
  metrics_->AddCollected("predstore_block_cache_hits_total", "Block reads answered by RocksDB's block cache.",
                         "counter", block_cache(&PredictionStore::BlockCacheReading::hits));
  metrics_->AddCollected("predstore_block_cache_misses_total", "Block reads that missed RocksDB's block cache.",
                         "counter", block_cache(&PredictionStore::BlockCacheReading::misses));
  metrics_->AddCollected("predstore_block_cache_usage_bytes", "Bytes held in RocksDB's block cache.", "gauge",
                         block_cache(&PredictionStore::BlockCacheReading::usage_bytes));
  metrics_->AddCollected("predstore_block_cache_capacity_bytes", "Capacity of RocksDB's block cache.", "gauge",
                         block_cache(&PredictionStore::BlockCacheReading::capacity_bytes));
  metrics_->AddCollected("predstore_memory_index_bytes", "Bytes of table parts copied into memory indexes.", "gauge",
                         [store] { return MetricSamples{{{}, static_cast<double>(store->memory_index_bytes_in_use())}}; });
  if (ingest_->takes_streams()) AddStreamMetrics();
  metrics_->AddCollected("predstore_process_resident_memory_bytes", "Resident memory of the server process.", "gauge",
                         [] { return MetricSamples{{{}, static_cast<double>(ProcessResidentBytes())}}; });
  if (ProcessHeap().has_value()) {
    metrics_->AddCollected("predstore_heap_allocated_bytes",
                           "Bytes the C allocator has handed out and not had back (mallinfo2).", "gauge",
                           [] { return MetricSamples{{{}, static_cast<double>(ProcessHeap()->allocated_bytes)}}; });
    metrics_->AddCollected("predstore_heap_free_held_bytes",
                           "Free bytes the C allocator holds instead of returning them to the system (mallinfo2).",
                           "gauge", [] { return MetricSamples{{{}, static_cast<double>(ProcessHeap()->free_held_bytes)}}; });
  }
  metrics_->AddCollected("predstore_process_open_fds", "Open file descriptors of the server process.", "gauge",
                         [] { return MetricSamples{{{}, static_cast<double>(ProcessOpenFiles())}}; });
}

void PredstoreServer::AddStreamMetrics() {
  // Each family reads every source's committed state at scrape time.
  auto per_source = [lookups = lookups_.get(), ingest = ingest_.get()](auto value) {
    return [lookups, ingest, value] {
      MetricSamples samples;
      const int64_t now_micros = absl::ToUnixMicros(absl::Now());
      for (const auto& snapshot : lookups->Tables()) {
        absl::StatusOr<IngestStatusAnswer> status = ingest->Status(snapshot->table());
        if (!status.ok()) continue;
        for (const auto& [source, state] : status->sources) {
          if (std::optional<double> v = value(state, now_micros)) {
            samples.push_back({{{"table", snapshot->table()}, {"source", source}}, *v});
          }
        }
      }
      return samples;
    };
  };
  auto count = [](uint64_t SourceState::*field) {
    return [field](const SourceState& state, int64_t) { return std::optional<double>(state.*field); };
  };
  metrics_->AddCollected("predstore_stream_events_applied_total", "Stream events applied, by table and source.",
                         "counter", per_source(count(&SourceState::applied)));
  metrics_->AddCollected("predstore_stream_events_late_total",
                         "Stream events older than the watermark, dead-lettered, by table and source.", "counter",
                         per_source(count(&SourceState::late)));
  metrics_->AddCollected("predstore_stream_events_duplicate_total",
                         "Stream events already stored (replays), by table and source.", "counter",
                         per_source(count(&SourceState::duplicates)));
  metrics_->AddCollected("predstore_stream_memtable_bytes",
                         "Bytes of applied stream events held in memory (RocksDB's memtables), by table; at most twice "
                         "--stream_memtable_mb.",
                         "gauge", [lookups = lookups_.get(), streams = streams_.get()] {
                           MetricSamples samples;
                           for (const auto& snapshot : lookups->Tables()) {
                             if (const StreamStore* stream = streams->Find(snapshot->table())) {
                               samples.push_back({{{"table", snapshot->table()}},
                                                  static_cast<double>(stream->memtable_bytes_in_use())});
                             }
                           }
                           return samples;
                         });
  metrics_->AddCollected(
      "predstore_stream_watermark_lag_seconds",
      "Seconds between now and each source's watermark (its newest event time minus the allowed lateness).", "gauge",
      per_source([](const SourceState& state, int64_t now_micros) -> std::optional<double> {
        if (state.watermark_micros == INT64_MIN) return std::nullopt;  // no event yet
        return static_cast<double>(now_micros - state.watermark_micros) / 1e6;
      }));
}

int PredstoreServer::http_port() const { return http_ ? http_->port() : 0; }

int PredstoreServer::resp_port() const { return resp_ ? resp_->port() : 0; }

void PredstoreServer::Wait() {
  if (server_) server_->Wait();
  if (watcher_.joinable()) watcher_.join();
}

}  // namespace predstore
