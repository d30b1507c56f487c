// predstore-server: serves the prediction tables of a data directory over gRPC.
#include <malloc.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>
#include <tuple>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/synchronization/mutex.h"
#include "server/config_file.h"
#include "core/base/file_io.h"
#include "core/base/logging.h"
#include "core/table/shard_hash.h"
#include "server/server.h"

ABSL_FLAG(std::string, config, "",
          "A YAML file of options (option: value, as on the command line; docs/configuration.md); flags given on "
          "the command line override it.");
ABSL_FLAG(bool, print_config, false,
          "Print every option at the value it would run with (defaults, then --config, then flags) as a config "
          "file, and exit.");
ABSL_FLAG(std::string, data_dir, "./predstore-data", "Data directory holding one folder per table.");
ABSL_FLAG(std::string, listen, "127.0.0.1:50051", "host:port to listen on; port 0 picks a free port.");
ABSL_FLAG(std::string, tls_cert, "", "TLS: the server's certificate chain (PEM); with --tls_key. Default: plaintext.");
ABSL_FLAG(std::string, tls_key, "", "TLS: the server's private key (PEM).");
ABSL_FLAG(std::string, tls_client_ca, "",
          "mTLS: clients must present a certificate signed by this CA (PEM); such a client may call Admin without "
          "a token.");
ABSL_FLAG(int32_t, tls_refresh_seconds, 10,
          "TLS: how often the certificate, key and CA files are re-read, so renewed ones are served without a "
          "restart.");
ABSL_FLAG(std::string, http_listen, "",
          "host:port of the HTTP/JSON front end (REST lookups, /ping, /health/live, /health/ready, /version); "
          "empty: none.");
ABSL_FLAG(std::string, http_default_model, "",
          "The model POST /invocations scores with, as MLflow's scoring server does (e.g. "
          "models:/churn/Production); needs --model_registry. Other versions: "
          "/serving-endpoints/<name>/served-models/<version, stage or alias>/invocations.");
ABSL_FLAG(int32_t, http_max_body_mb, 4,
          "Largest HTTP request body in MiB (larger: 413 naming this flag, and the connection closes).");
ABSL_FLAG(std::string, http_port_file, "", "Write the HTTP front end's bound port here once serving.");
ABSL_FLAG(std::string, resp_listen, "",
          "host:port of the Redis-protocol front end (GET, MGET, HGETALL, ... with any Redis client; "
          "docs/serving.md#the-redis-protocol); empty: none.");
ABSL_FLAG(int32_t, resp_io_threads, 2,
          "Event loops (one thread each) of the Redis-protocol front end; a connection stays on one.");
ABSL_FLAG(std::string, resp_port_file, "", "Write the Redis-protocol front end's bound port here once serving.");
ABSL_FLAG(std::string, resp_value_format, "text",
          "How GET answers the value columns over the Redis protocol: text (\"853.07,1066.3375\", in column "
          "order, an empty field for a null) or json ({\"forecast\":853.07,...}).");
ABSL_FLAG(std::string, resp_tables, "",
          "Per-table Redis-protocol settings, ';'-separated: table=T[,prefix=P][,fallback=on|off]. prefix: the "
          "first part of the table's keys instead of its name; fallback=off: a miss stays a miss.");
ABSL_FLAG(bool, allow_insecure_admin, false,
          "Serve the Admin service without --admin_token_file on an address beyond loopback (refused otherwise: "
          "anyone who reaches the port could publish, roll back and ingest).");
ABSL_FLAG(std::string, port_file, "", "If set, the bound port is written to this file once serving.");
ABSL_FLAG(uint64_t, block_cache_mb, 256, "Block cache shared by all tables, in MiB.");
ABSL_FLAG(std::string, shard, "",
          "i/N: of tables sharded N ways (predstore-load --shards), serve shard i only; unsharded tables are served "
          "whole. Empty: no sharded table is served.");
ABSL_FLAG(uint64_t, memory_index_mb, 512,
          "Memory for in-memory copies of whole table parts, answering Lookup/BatchLookup with a hash probe "
          "instead of a RocksDB read; parts that do not fit read RocksDB. 0 turns it off.");
ABSL_FLAG(bool, warm_cache, true,
          "Read a newly served snapshot's data into the block cache when it fits, before swapping to it.");
ABSL_FLAG(uint32_t, max_batch_keys, 10000, "Most keys one BatchLookup may ask for (more: RESOURCE_EXHAUSTED).");
ABSL_FLAG(uint64_t, max_scan_rows, 1'000'000,
          "Most rows one Scan call returns: a scan without a limit ends there with a page token; a larger limit is "
          "RESOURCE_EXHAUSTED.");
ABSL_FLAG(uint32_t, max_concurrent_streams, 1000,
          "Most streams open at once across both front ends: gRPC LookupStream, Scan and Ingest calls and HTTP "
          "scans (more: RESOURCE_EXHAUSTED, HTTP 429). Each stream holds at most 16 unsent answers: past that it "
          "stops reading its client's requests until the client reads.");
ABSL_FLAG(int32_t, lookup_workers, 0,
          "Data-plane calls (lookups, batch lookups) that run at once, on the front end's thread when one is free, "
          "else on this many workers; 0: one per CPU the server may use (its affinity mask).");
ABSL_FLAG(int32_t, max_queue_wait_ms, 5,
          "Past capacity: a call waits for a worker only while the oldest waiting call has waited less than this; "
          "after that new calls are refused at once (RESOURCE_EXHAUSTED, HTTP 429 with Retry-After, a Redis error) "
          "instead of queueing until their deadline. Calls whose deadline passes while waiting are dropped.");
ABSL_FLAG(uint32_t, max_queued_calls, 10000, "Most data-plane calls waiting for a worker; more are refused at once.");
ABSL_FLAG(int32_t, max_streams_per_connection, 32,
          "gRPC calls one connection may have open in the server (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS); more "
          "wait in the client.");
ABSL_FLAG(int32_t, keepalive_time_s, 60,
          "gRPC: ping a connection idle this long, and close it when the ping is not answered within "
          "--keepalive_timeout_s.");
ABSL_FLAG(int32_t, keepalive_timeout_s, 20, "gRPC: how long a keepalive ping may go unanswered.");
ABSL_FLAG(int32_t, client_ping_interval_s, 10,
          "gRPC: the shortest interval between keepalive pings a client may send, with or without calls; pinging "
          "more often ends the connection (GOAWAY too_many_pings).");
ABSL_FLAG(int32_t, max_connection_idle_s, 0,
          "gRPC: close a connection that has had no call for this long (0: never).");
ABSL_FLAG(int32_t, max_connection_age_s, 0,
          "gRPC: close connections gracefully at this age, so that clients reconnect and rebalance across replicas "
          "(0: never).");
ABSL_FLAG(int32_t, max_message_mb, 4, "Largest request message in MiB (larger: RESOURCE_EXHAUSTED, unread).");
ABSL_FLAG(std::string, admin_token_file, "",
          "File holding the bearer token the Admin service requires; empty: admin calls are not authenticated.");
ABSL_FLAG(std::string, data_token_file, "",
          "File holding the bearer token every data-plane call (Predictions service, HTTP lookups and invocations) "
          "must carry; the admin token is accepted too. Empty: data-plane calls are not authenticated. Health, "
          "/ping, /version and /metrics stay open.");
ABSL_FLAG(int64_t, refresh_interval_ms, 2000, "How often to look for newly published snapshots; 0 turns it off.");
ABSL_FLAG(std::string, model_registry, "",
          "MLflow registry to serve models from: sqlite:///mlflow.db, a file store folder (mlruns) or file:// URI. "
          "Every version with a stage or an alias is loaded; the registry is re-read every refresh interval.");
ABSL_FLAG(int32_t, scorer_threads, 1, "XGBoost threads per scoring call (0: all cores).");
ABSL_FLAG(uint32_t, batch_max_rows, 256,
          "Most rows scored in one XGBoost call when concurrent Predict/fallback calls are batched; 1 turns batching "
          "off (each call scores on its own gRPC thread).");
ABSL_FLAG(int64_t, batch_max_wait_us, 0,
          "How long a batch waits for more calls before scoring; 0 batches only calls that queued while the scorers "
          "were busy, so a lone call never waits.");
ABSL_FLAG(int32_t, batch_workers, 2, "Threads scoring batches.");
ABSL_FLAG(uint64_t, max_scoring_queue_rows, 100000,
          "Scoring's own budget: most rows (Predict rows and fallback keys) waiting to be scored; past it new "
          "scoring is refused at once (RESOURCE_EXHAUSTED, HTTP 429, a Redis error) while lookups of stored "
          "predictions go on. Scoring still waiting at its call's deadline is dropped. 0: no limit.");
ABSL_FLAG(std::string, fallback, "",
          "Tables answered by a model on a lookup miss, ';'-separated: "
          "table=T,model=models:/NAME/Production[,features=FEATURES_TABLE][,output=COLUMN][,max_age=24h]"
          "[,cache_ttl=10m].");
ABSL_FLAG(bool, ingest, false,
          "Accept Admin.Ingest streams of events into each table's time-based store (<data_dir>/<table>/stream; "
          "one ingesting server per data directory); lookups then combine streams with snapshots.");
ABSL_FLAG(int64_t, allowed_lateness_s, 600,
          "ingest: events older than a source's newest event time minus this many seconds are not applied but "
          "dead-lettered.");
ABSL_FLAG(int64_t, retention_hours, 168,
          "ingest: superseded stream versions older than this, counted back from the watermark (event time), are "
          "swept away.");
ABSL_FLAG(int32_t, stream_memtable_mb, 64,
          "ingest: MiB of applied events each table's stream keeps in memory before writing them to a file (1 to "
          "1024); a stream holds at most twice this.");
ABSL_FLAG(std::string, dead_letter_file, "",
          "ingest: where late events go (one JSON line each); default <data_dir>/<table>/stream/dead_letter.jsonl.");
ABSL_FLAG(std::string, log_format, "text",
          "How the log on stderr is written: text (\"I 2026-12-06T20:50:24.123Z message\", events as "
          "key=value pairs) or json (one JSON object per line). Failed requests are logged as request_failed events "
          "with the request id their error response carries.");
ABSL_FLAG(int64_t, shutdown_grace_ms, 5000, "On SIGTERM, how long in-flight calls may take to finish.");

namespace {

// The options a config file may set: the server's own flags.
bool IsServerOption(const absl::CommandLineFlag& flag) {
  return flag.Filename().ends_with("server/main.cc") && flag.Name() != "config" && flag.Name() != "print_config";
}

// Whether `address` (host:port) listens on loopback only.
bool IsLoopback(const std::string& address) {
  const std::string host = address.substr(0, address.rfind(':'));
  return host == "localhost" || host.starts_with("127.") || host == "[::1]" || host == "::1";
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Serves precomputed predictions from a data directory built by predstore-load, and registered models.\n"
      "  predstore-server --data_dir=./predstore-data --listen=127.0.0.1:50051\n"
      "  predstore-server --data_dir=./predstore-data --model_registry=sqlite:///mlflow.db \\\n"
      "      --fallback='table=forecasts,model=models:/demand/Production,features=store_features'\n"
      "SIGTERM or SIGINT: health goes NOT_SERVING, in-flight calls finish, then exit. SIGHUP: re-read the "
      "manifests, the model registry and the HTTP TLS files now.");
  // The config file first, so that the command line overrides it.
  if (std::optional<std::string> config = predstore::FlagArgument(argc, argv, "config"); config && !config->empty()) {
    if (absl::Status applied = predstore::ApplyConfigFile(*config, IsServerOption); !applied.ok()) {
      std::fprintf(stderr, "predstore-server: --config: %s\n", std::string(applied.message()).c_str());
      return 2;
    }
  }
  absl::ParseCommandLine(argc, argv);
  if (absl::GetFlag(FLAGS_print_config)) {
    const std::string config = predstore::ConfigFileOfCurrentValues(
        "predstore-server configuration: every option, one per line, as `option: value` (the value as on the "
        "command line). Start with --config=FILE; flags on the command line override the file.",
        IsServerOption);
    std::fwrite(config.data(), 1, config.size(), stdout);
    return 0;
  }
  if (const std::string format = absl::GetFlag(FLAGS_log_format); format == "json") {
    predstore::SetLogFormat(predstore::LogFormat::kJson);
  } else if (format != "text") {
    std::fprintf(stderr, "predstore-server: --log_format=%s: must be text or json\n", format.c_str());
    return 2;
  }
  // Debian's Abseil is built with debug checks: every absl::Mutex lock (gRPC
  // takes several per call) would update a global lock-order graph.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // Blocks of 1 MiB and more (memory-index blocks, stream memtables) come
  // from mmap and go back to the system when freed. glibc would otherwise
  // raise this threshold to the size of the first such block freed, and
  // put the next ones in its heap, where a swap's freed index is held as
  // free memory behind live blocks (docs/benchmarks.md#soak).
  mallopt(M_MMAP_THRESHOLD, 1 << 20);

  // Block the signals in every thread; this thread waits for them.
  sigset_t handled_signals;
  sigemptyset(&handled_signals);
  sigaddset(&handled_signals, SIGTERM);
  sigaddset(&handled_signals, SIGINT);
  sigaddset(&handled_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &handled_signals, nullptr);

  predstore::ServerOptions options;
  options.listen_address = absl::GetFlag(FLAGS_listen);
  options.http_listen = absl::GetFlag(FLAGS_http_listen);
  options.http_default_model = absl::GetFlag(FLAGS_http_default_model);
  options.store.data_dir = absl::GetFlag(FLAGS_data_dir);
  options.store.block_cache_bytes = absl::GetFlag(FLAGS_block_cache_mb) << 20;
  options.store.warm_block_cache = absl::GetFlag(FLAGS_warm_cache);
  options.store.memory_index_bytes = absl::GetFlag(FLAGS_memory_index_mb) << 20;
  if (const std::string shard = absl::GetFlag(FLAGS_shard); !shard.empty()) {
    absl::StatusOr<predstore::ShardSpec> spec = predstore::ParseShardSpec(shard);
    if (!spec.ok()) {
      std::fprintf(stderr, "predstore-server: --shard: %s\n", std::string(spec.status().message()).c_str());
      return 2;
    }
    options.store.shard = *spec;
  }
  options.max_batch_keys = absl::GetFlag(FLAGS_max_batch_keys);
  options.max_scan_rows = absl::GetFlag(FLAGS_max_scan_rows);
  options.max_concurrent_streams = absl::GetFlag(FLAGS_max_concurrent_streams);
  if (options.max_concurrent_streams < 1) {
    std::fprintf(stderr, "predstore-server: --max_concurrent_streams must be at least 1\n");
    return 2;
  }
  if (options.max_scan_rows < 1) {
    std::fprintf(stderr, "predstore-server: --max_scan_rows must be at least 1\n");
    return 2;
  }
  if (absl::GetFlag(FLAGS_max_message_mb) < 1 || absl::GetFlag(FLAGS_max_message_mb) > 1024) {
    std::fprintf(stderr, "predstore-server: --max_message_mb must be 1 to 1024\n");
    return 2;
  }
  options.max_message_bytes = absl::GetFlag(FLAGS_max_message_mb) << 20;
  for (auto [flag, name, least] : {std::tuple{&FLAGS_lookup_workers, "lookup_workers", 0},
                                   {&FLAGS_max_queue_wait_ms, "max_queue_wait_ms", 0},
                                   {&FLAGS_max_streams_per_connection, "max_streams_per_connection", 1},
                                   {&FLAGS_keepalive_time_s, "keepalive_time_s", 1},
                                   {&FLAGS_keepalive_timeout_s, "keepalive_timeout_s", 1},
                                   {&FLAGS_client_ping_interval_s, "client_ping_interval_s", 0},
                                   {&FLAGS_max_connection_idle_s, "max_connection_idle_s", 0},
                                   {&FLAGS_max_connection_age_s, "max_connection_age_s", 0}}) {
    if (absl::GetFlag(*flag) < least || absl::GetFlag(*flag) > 1'000'000) {
      std::fprintf(stderr, "predstore-server: --%s must be %d to 1000000\n", name, least);
      return 2;
    }
  }
  options.admission.max_running = absl::GetFlag(FLAGS_lookup_workers);
  options.admission.max_queue_wait = std::chrono::milliseconds(absl::GetFlag(FLAGS_max_queue_wait_ms));
  options.admission.max_queued = absl::GetFlag(FLAGS_max_queued_calls);
  options.admission.max_queue_wait_name = "max_queue_wait_ms";
  options.admission.max_queued_name = "max_queued_calls";
  options.max_streams_per_connection = absl::GetFlag(FLAGS_max_streams_per_connection);
  options.keepalive = {.time = std::chrono::seconds(absl::GetFlag(FLAGS_keepalive_time_s)),
                       .timeout = std::chrono::seconds(absl::GetFlag(FLAGS_keepalive_timeout_s)),
                       .client_ping_interval = std::chrono::seconds(absl::GetFlag(FLAGS_client_ping_interval_s)),
                       .max_connection_idle = std::chrono::seconds(absl::GetFlag(FLAGS_max_connection_idle_s)),
                       .max_connection_age = std::chrono::seconds(absl::GetFlag(FLAGS_max_connection_age_s))};
  if (absl::GetFlag(FLAGS_http_max_body_mb) < 1 || absl::GetFlag(FLAGS_http_max_body_mb) > 1024) {
    std::fprintf(stderr, "predstore-server: --http_max_body_mb must be 1 to 1024\n");
    return 2;
  }
  options.http_max_body_bytes = static_cast<uint64_t>(absl::GetFlag(FLAGS_http_max_body_mb)) << 20;
  options.refresh_interval = std::chrono::milliseconds(absl::GetFlag(FLAGS_refresh_interval_ms));
  options.shutdown_grace = std::chrono::milliseconds(absl::GetFlag(FLAGS_shutdown_grace_ms));
  options.ingest = absl::GetFlag(FLAGS_ingest);
  const int64_t lateness_s = absl::GetFlag(FLAGS_allowed_lateness_s);
  if (lateness_s < 0 || lateness_s > predstore::kMaxAllowedLatenessSeconds) {
    std::fprintf(stderr, "predstore-server: --allowed_lateness_s=%lld: must be 0 to %lld (100 years)\n",
                 static_cast<long long>(lateness_s), static_cast<long long>(predstore::kMaxAllowedLatenessSeconds));
    return 2;
  }
  options.stream.allowed_lateness = std::chrono::seconds(lateness_s);
  options.stream.retention = std::chrono::hours(absl::GetFlag(FLAGS_retention_hours));
  options.stream.dead_letter_file = absl::GetFlag(FLAGS_dead_letter_file);
  const int32_t stream_memtable_mb = absl::GetFlag(FLAGS_stream_memtable_mb);
  if (stream_memtable_mb < static_cast<int32_t>(predstore::kMinStreamMemtableBytes >> 20) ||
      stream_memtable_mb > static_cast<int32_t>(predstore::kMaxStreamMemtableBytes >> 20)) {
    std::fprintf(stderr, "predstore-server: --stream_memtable_mb=%d: must be 1 to 1024\n", stream_memtable_mb);
    return 2;
  }
  options.stream.memtable_bytes = static_cast<uint64_t>(stream_memtable_mb) << 20;
  options.model_registry = absl::GetFlag(FLAGS_model_registry);
  options.scorer_threads = absl::GetFlag(FLAGS_scorer_threads);
  options.batching.max_batch_rows = absl::GetFlag(FLAGS_batch_max_rows);
  options.batching.max_wait = std::chrono::microseconds(absl::GetFlag(FLAGS_batch_max_wait_us));
  options.batching.workers = absl::GetFlag(FLAGS_batch_workers);
  options.batching.max_queued_rows = absl::GetFlag(FLAGS_max_scoring_queue_rows);
  options.batching.max_queued_rows_name = "max_scoring_queue_rows";
  if (std::string spec = absl::GetFlag(FLAGS_fallback); !spec.empty()) {
    auto bindings = predstore::ParseFallbackBindings(spec);
    if (!bindings.ok()) {
      std::fprintf(stderr, "predstore-server: --fallback: %s\n", std::string(bindings.status().message()).c_str());
      return 2;
    }
    options.fallback = *std::move(bindings);
  }
  for (auto [flag, token] : {std::pair{&FLAGS_admin_token_file, &options.admin_token},
                              std::pair{&FLAGS_data_token_file, &options.data_token}}) {
    const std::string token_file = absl::GetFlag(*flag);
    if (token_file.empty()) continue;
    absl::StatusOr<std::string> read = predstore::ReadTokenFile(token_file);
    if (!read.ok()) {
      std::fprintf(stderr, "predstore-server: --%s: %s\n", absl::GetFlagReflectionHandle(*flag).Name().data(),
                   std::string(read.status().message()).c_str());
      return 2;
    }
    *token = *std::move(read);
  }

  const std::string tls_cert = absl::GetFlag(FLAGS_tls_cert), tls_key = absl::GetFlag(FLAGS_tls_key);
  const std::string tls_client_ca = absl::GetFlag(FLAGS_tls_client_ca);
  if (!tls_cert.empty() || !tls_key.empty() || !tls_client_ca.empty()) {
    if (tls_cert.empty() || tls_key.empty()) {
      std::fprintf(stderr, "predstore-server: TLS needs both --tls_cert and --tls_key\n");
      return 2;
    }
    for (const std::string& file : {tls_cert, tls_key, tls_client_ca}) {
      if (!file.empty() && !std::ifstream(file)) {
        std::fprintf(stderr, "predstore-server: cannot read the TLS file %s\n", file.c_str());
        return 2;
      }
    }
    const auto refresh_seconds = static_cast<unsigned>(std::max(1, absl::GetFlag(FLAGS_tls_refresh_seconds)));
    options.tls = predstore::ServerOptions::TlsFiles{tls_cert, tls_key, tls_client_ca, refresh_seconds};
  }
  // A client certificate (mTLS) authenticates Admin calls as a token does.
  const bool admin_guarded = !options.admin_token.empty() || !tls_client_ca.empty();
  if (!admin_guarded && !IsLoopback(options.listen_address) && !absl::GetFlag(FLAGS_allow_insecure_admin)) {
    std::fprintf(stderr,
                 "predstore-server: --listen=%s reaches beyond this machine, and the Admin service would be open "
                 "to anyone: give --admin_token_file (or --allow_insecure_admin to accept that)\n",
                 options.listen_address.c_str());
    return 2;
  }

  options.resp_listen = absl::GetFlag(FLAGS_resp_listen);
  options.resp_io_threads = absl::GetFlag(FLAGS_resp_io_threads);
  if (options.resp_io_threads < 1 || options.resp_io_threads > 256) {
    std::fprintf(stderr, "predstore-server: --resp_io_threads must be 1 to 256\n");
    return 2;
  }
  if (const std::string format = absl::GetFlag(FLAGS_resp_value_format); format == "json") {
    options.resp_value_format = predstore::RespValueFormat::kJson;
  } else if (format != "text") {
    std::fprintf(stderr, "predstore-server: --resp_value_format=%s: must be text or json\n", format.c_str());
    return 2;
  }
  if (auto tables = predstore::ParseRespTableOptions(absl::GetFlag(FLAGS_resp_tables)); tables.ok()) {
    options.resp_tables = *std::move(tables);
  } else {
    std::fprintf(stderr, "predstore-server: --resp_tables: %s\n", std::string(tables.status().message()).c_str());
    return 2;
  }

  auto server = predstore::PredstoreServer::Start(options);
  if (!server.ok()) {
    std::fprintf(stderr, "predstore-server: %s\n", std::string(server.status().message()).c_str());
    return 1;
  }
  auto write_port = [](const std::string& port_file, int port) {
    if (port_file.empty()) return;
    std::string temp = port_file + ".tmp";
    std::ofstream(temp) << port << "\n";
    std::rename(temp.c_str(), port_file.c_str());
  };
  // Before --port_file, which says "ready".
  write_port(absl::GetFlag(FLAGS_http_port_file), (*server)->http_port());
  write_port(absl::GetFlag(FLAGS_resp_port_file), (*server)->resp_port());
  write_port(absl::GetFlag(FLAGS_port_file), (*server)->port());

  int signal_number = 0;
  while (sigwait(&handled_signals, &signal_number) == 0 && signal_number == SIGHUP) (*server)->Reload();
  predstore::LogInfo("received ", signal_number == SIGTERM ? "SIGTERM" : "SIGINT");
  (*server)->Shutdown();
  (*server)->Wait();
  return 0;
}
