// predstore-server: serves the prediction tables of a data directory over gRPC.
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "core/logging.h"
#include "client/predstore_client.h"
#include "server/server.h"

ABSL_FLAG(std::string, data_dir, "./predstore-data", "Data directory holding one folder per table.");
ABSL_FLAG(std::string, listen, "127.0.0.1:50051", "host:port to listen on; port 0 picks a free port.");
ABSL_FLAG(std::string, port_file, "", "If set, the bound port is written to this file once serving.");
ABSL_FLAG(uint64_t, block_cache_mb, 256, "Block cache shared by all tables, in MiB.");
ABSL_FLAG(bool, warm_cache, true,
          "Read a newly served snapshot's data into the block cache when it fits, before swapping to it.");
ABSL_FLAG(uint32_t, max_batch_keys, 10000, "Most keys one BatchLookup may ask for (more: RESOURCE_EXHAUSTED).");
ABSL_FLAG(std::string, admin_token_file, "",
          "File holding the bearer token the Admin service requires; empty: admin calls are not authenticated.");
ABSL_FLAG(int64_t, refresh_interval_ms, 2000, "How often to look for newly published snapshots; 0 turns it off.");
ABSL_FLAG(int64_t, shutdown_grace_ms, 5000, "On SIGTERM, how long in-flight calls may take to finish.");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Serves precomputed predictions from a data directory built by predstore-load.\n"
      "  predstore-server --data_dir=./predstore-data --listen=127.0.0.1:50051\n"
      "SIGTERM or SIGINT: health goes NOT_SERVING, in-flight calls finish, then exit.");
  absl::ParseCommandLine(argc, argv);

  // Block the stop signals in every thread; this thread waits for them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  predstore::ServerOptions options;
  options.listen_address = absl::GetFlag(FLAGS_listen);
  options.store.data_dir = absl::GetFlag(FLAGS_data_dir);
  options.store.block_cache_bytes = absl::GetFlag(FLAGS_block_cache_mb) << 20;
  options.store.warm_block_cache = absl::GetFlag(FLAGS_warm_cache);
  options.max_batch_keys = absl::GetFlag(FLAGS_max_batch_keys);
  options.refresh_interval = std::chrono::milliseconds(absl::GetFlag(FLAGS_refresh_interval_ms));
  options.shutdown_grace = std::chrono::milliseconds(absl::GetFlag(FLAGS_shutdown_grace_ms));
  if (std::string token_file = absl::GetFlag(FLAGS_admin_token_file); !token_file.empty()) {
    auto token = predstore::ReadAdminToken(token_file);
    if (!token.ok()) {
      std::fprintf(stderr, "predstore-server: %s\n", std::string(token.status().message()).c_str());
      return 2;
    }
    options.admin_token = *token;
  }

  auto server = predstore::PredstoreServer::Start(options);
  if (!server.ok()) {
    std::fprintf(stderr, "predstore-server: %s\n", std::string(server.status().message()).c_str());
    return 1;
  }
  if (std::string port_file = absl::GetFlag(FLAGS_port_file); !port_file.empty()) {
    std::string temp = port_file + ".tmp";
    std::ofstream(temp) << (*server)->port() << "\n";
    std::rename(temp.c_str(), port_file.c_str());
  }

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  predstore::LogInfo("received ", signal_number == SIGTERM ? "SIGTERM" : "SIGINT");
  (*server)->Shutdown();
  (*server)->Wait();
  return 0;
}
