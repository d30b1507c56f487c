// predstore-cli: query and administer a running predstore-server.
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "client/cli_commands.h"
#include "client/command_line.h"
#include "core/base/file_io.h"

namespace {

constexpr char kDescription[] =
    "Queries and administers a running predstore server. The connection flags (--server, --output,\n"
    "--timeout_ms, --admin_token_file, --data_token_file, --tls_*) go before or after the command;\n"
    "`predstore-cli <command> --help` lists a command's own flags.\n"
    "Exit status: 0 on success, 1 on a failed call, 2 on bad usage.";

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "predstore-cli: %s: %s\n", absl::StatusCodeToString(status.code()).c_str(),
               std::string(status.message()).c_str());
  return 1;
}

// `load` and `drop-partition` (argv[command]) hand over to predstore-load
// installed beside this program (the loader writes the data directory; see
// its --help). Of the connection flags given before the command, --server
// (the server to tell), --admin_token_file and the --tls_* files follow it
// unless it sets them itself; the others mean nothing to the loader.
int ExecLoader(int argc, char** argv, int command) {
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe");
  std::string loader = (self.parent_path() / "predstore-load").string();
  if (access(loader.c_str(), X_OK) != 0) loader = (self.parent_path().parent_path() / "loader" / "predstore-load").string();
  std::vector<std::string> args = {loader};
  for (int i = command; i < argc; ++i) args.push_back(argv[i]);
  auto given_after = [&](const std::string& name) {
    for (int i = command + 1; i < argc; ++i) {
      if (std::string_view(argv[i]) == name || std::string_view(argv[i]).starts_with(name + "=")) return true;
    }
    return false;
  };
  for (int i = 1; i < command; ++i) {
    std::string flag = argv[i];
    if (flag.find('=') == std::string::npos && i + 1 < command) flag += "=" + std::string(argv[++i]);
    const std::string name = flag.substr(0, flag.find('='));
    const bool connection = name == "--server" || name == "--admin_token_file" || name == "--tls_ca" ||
                            name == "--tls_cert" || name == "--tls_key";
    if (connection && !given_after(name)) args.push_back(flag);
  }
  std::vector<char*> pointers;
  for (std::string& arg : args) pointers.push_back(arg.data());
  pointers.push_back(nullptr);
  execv(loader.c_str(), pointers.data());
  std::fprintf(stderr, "predstore-cli: cannot run %s: %s\n", loader.c_str(), std::strerror(errno));
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.starts_with("-")) {  // a connection flag, and its value
      if (arg.find('=') == std::string::npos) ++i;
      continue;
    }
    if (arg == "load" || arg == "drop-partition") return ExecLoader(argc, argv, i);
    break;
  }
  CLI::App app(kDescription, "predstore-cli");
  app.option_defaults()->always_capture_default();
  app.require_subcommand(1, 1);
  app.fallthrough();  // the connection flags may follow the command
  predstore::ClientOptions options;
  options.target = "127.0.0.1:50051";
  std::string output = "jsonl", admin_token_file, data_token_file;
  int64_t timeout_ms = 10000;
  app.add_option("--server", options.target,
                 "The predstore server: host:port, or any gRPC target naming replicas "
                 "(dns:///predstore.ns.svc:50051, ipv4:10.0.0.1:50051,10.0.0.2:50051); reads go round robin to "
                 "the healthy ones.");
  app.add_option("--shard_server", options.shard_targets,
                 "One shard's servers as a gRPC target; repeat once per shard, in shard order (or separate the "
                 "targets with ';'). Lookups, batches and scans of sharded tables are routed to and merged from the "
                 "shards; other calls go to the first. Replaces --server.")
      ->delimiter(';');
  app.add_flag("!--no_retries", options.retry_reads,
               "Do not retry reads that fail UNAVAILABLE on another replica (by default up to 4 more times).");
  app.add_option("--output", output, "Output format: jsonl or table.");
  app.add_option("--timeout_ms", timeout_ms, "Deadline of each call, in milliseconds.");
  app.add_option("--admin_token_file", admin_token_file, "File holding the admin bearer token (admin commands).");
  app.add_option("--data_token_file", data_token_file,
                 "File holding the data-plane bearer token (a server started with --data_token_file).");
  std::string tls_ca, tls_cert, tls_key;
  app.add_option("--tls_ca", tls_ca, "TLS: the CA that signed the server's certificate (PEM).");
  app.add_option("--tls_cert", tls_cert, "mTLS: this client's certificate chain (PEM), with --tls_key.");
  app.add_option("--tls_key", tls_key, "mTLS: this client's private key (PEM).");

  // Every command runs against a client made from the connection flags.
  std::function<absl::Status(const predstore::PredstoreClient&, predstore::OutputFormat)> run;
  auto add = [&](const char* name, const char* help) { return app.add_subcommand(name, help); };
  std::string table;
  auto add_table = [&](CLI::App* command, bool required = true) {
    CLI::Option* option = command->add_option("--table", table, "The table.");
    if (required) option->required();
  };

  add("tables", "List served tables.")->callback([&] {
    run = [&](const auto& client, auto format) { return predstore::ListTablesCommand(client, format, std::cout); };
  });
  CLI::App* partitions = add("partitions", "List the partitions of a table's active version.");
  add_table(partitions);
  partitions->callback([&] {
    run = [&](const auto& client, auto format) {
      return predstore::PartitionsCommand(client, table, format, std::cout);
    };
  });

  CLI::App* lookup = add("lookup", "Look up one key: lookup --table=T col=value [col=value...].");
  add_table(lookup);
  std::vector<std::string> assignments, features;
  bool no_fallback = false;
  std::string as_of;
  lookup->add_option("KEY", assignments, "The key, one column=value per key column.");
  lookup->add_option("--features", features,
                     "Just-in-time features for the table's fallback model, name=value,name=value.")
      ->delimiter(',')
      ->allow_extra_args(false);
  lookup->add_flag("--no_fallback", no_fallback, "Answer from stored predictions only.");
  lookup->add_option("--as_of", as_of,
                     "The prediction in force at this time (RFC 3339, e.g. 2026-11-26T10:00:00Z, or microseconds).");
  lookup->callback([&] {
    run = [&](const auto& client, auto format) {
      return predstore::LookupCommand(client, table, assignments, features, no_fallback, as_of, format, std::cout);
    };
  });

  uint32_t batch_size = 1000;
  std::string keys_path = "-";
  CLI::App* batch_lookup = add("batch-lookup", "Look up many keys (JSON Lines or CSV with a header).");
  add_table(batch_lookup);
  batch_lookup->add_option("--keys", keys_path, "File of keys (JSON Lines or CSV with a header); - reads stdin.");
  batch_lookup->add_option("--batch_size", batch_size, "Keys per BatchLookup call.");
  batch_lookup->callback([&] {
    run = [&](const auto& client, auto format) -> absl::Status {
      std::ifstream file;
      if (keys_path != "-") {
        file.open(keys_path);
        if (!file) return absl::NotFoundError("cannot open keys file " + keys_path);
      }
      return predstore::BatchLookupCommand(client, table, keys_path == "-" ? std::cin : file, batch_size, format,
                                           std::cout);
    };
  });

  std::vector<std::string> where;
  uint64_t limit = 0;
  std::string page_token;
  bool stats = false;
  CLI::App* scan = add("scan", "Stream the rows inside a box of key ranges.");
  add_table(scan);
  scan->add_option("--where", where,
                   "A range of one key column, repeatable: 'col between A and B', 'col = V', 'col >= V' or "
                   "'col <= V'.")
      ->allow_extra_args(false);
  scan->add_option("--limit", limit, "Most rows to return; 0 means all.");
  scan->add_option("--page_token", page_token, "Resume from the token an earlier scan printed.");
  scan->add_flag("--stats", stats, "Print the scan's statistics to stderr.");
  scan->callback([&] {
    run = [&](const auto& client, auto format) {
      return predstore::ScanCommand(client, table, where, limit, page_token, stats, format, std::cout, std::cerr);
    };
  });

  uint64_t to_version = 0;
  CLI::App* rollback = add("rollback", "Admin: serve an older kept version.");
  add_table(rollback);
  rollback->add_option("--to_version", to_version, "Version to make active; 0 means the previous one.");
  rollback->callback([&] {
    run = [&](const auto& client, auto) { return predstore::RollbackCommand(client, table, to_version, std::cout); };
  });
  CLI::App* refresh = add("refresh", "Admin: pick up newly published snapshots now.");
  add_table(refresh, /*required=*/false);
  refresh->callback([&] {
    run = [&](const auto& client, auto) { return predstore::RefreshCommand(client, table, std::cout); };
  });

  std::string model;
  std::string output_kind = "probability";
  CLI::App* predict = add("predict", "Score one row with a registered model: predict --model=URI f0=1.5 f1=2.");
  predict->add_option("--model", model, "models:/NAME/STAGE, models:/NAME/VERSION or models:/NAME@ALIAS.")
      ->required();
  predict->add_option("--output_kind", output_kind,
                      "probability (predict_proba, a regressor's value), label (the class, as MLflow's pyfunc "
                      "gives it for a classifier) or margin.");
  predict->add_option("FEATURE", assignments, "The row, one name=value per feature.");
  predict->callback([&] {
    run = [&](const auto& client, auto) {
      return predstore::PredictCommand(client, model, output_kind, assignments, std::cout);
    };
  });
  add("models", "List served model versions and their stages and aliases.")->callback([&] {
    run = [&](const auto& client, auto format) {
      return predstore::ModelsCommand(client, format, std::cout, std::cerr);
    };
  });
  add("reload-models", "Admin: re-read the model registry now.")->callback([&] {
    run = [&](const auto& client, auto) { return predstore::ReloadModelsCommand(client, std::cout); };
  });

  std::string source, events_path = "-";
  CLI::App* ingest = add("ingest", "Admin: stream events from a JSON Lines file into a table.");
  add_table(ingest);
  ingest->add_option("--source", source, "The producer's name (each has its own sequence and watermark).")
      ->required();
  ingest->add_option("--events", events_path, "JSON Lines file of events; - reads stdin.");
  ingest->add_option("--batch_size", batch_size, "Events per Ingest batch.");
  ingest->callback([&] {
    run = [&](const auto& client, auto) -> absl::Status {
      std::ifstream file;
      if (events_path != "-") {
        file.open(events_path);
        if (!file) return absl::NotFoundError("cannot open events file " + events_path);
      }
      return predstore::IngestCommand(client, table, source, events_path == "-" ? std::cin : file, batch_size,
                                      std::cout);
    };
  });
  CLI::App* ingest_status = add("ingest-status", "Sources of a table's stream: position, counts, watermark, lag.");
  add_table(ingest_status);
  ingest_status->callback([&] {
    run = [&](const auto& client, auto) { return predstore::IngestStatusCommand(client, table, std::cout); };
  });
  std::string health_service;
  CLI::App* health = add("health", "Print SERVING or NOT_SERVING (then exit 1, for container health checks).");
  health->add_option("--service", health_service,
                     "The service to ask about (predstore.v1.Predictions, predstore.v1.Admin); default: the server.");
  health->callback([&] {
    run = [&](const auto& client, auto) -> absl::Status {
      auto serving = client.IsServing(health_service);
      if (!serving.ok()) return serving.status();
      std::cout << (*serving ? "SERVING" : "NOT_SERVING") << "\n";
      return *serving ? absl::OkStatus() : absl::UnavailableError("the server is not serving (shutting down)");
    };
  });
  // Listed for --help; main() hands them to predstore-load before parsing.
  add("load", "Run predstore-load load (see predstore-load load --help).");
  add("drop-partition", "Run predstore-load drop-partition (see its --help).");

  if (std::optional<int> exit = predstore::ParseCommandLine(app, argc, argv)) return *exit;
  auto format = predstore::ParseOutputFormat(output);
  if (!format.ok()) return Fail(format.status());
  options.timeout = std::chrono::milliseconds(timeout_ms);
  if (auto tls = predstore::LoadClientTls(tls_ca, tls_cert, tls_key, &options); !tls.ok()) return Fail(tls);
  for (auto [file, token] : {std::pair{&admin_token_file, &options.admin_token},
                              std::pair{&data_token_file, &options.data_token}}) {
    if (file->empty()) continue;
    absl::StatusOr<std::string> read = predstore::ReadTokenFile(*file);
    if (!read.ok()) return Fail(read.status());
    *token = *std::move(read);
  }
  predstore::PredstoreClient client(options);
  absl::Status status = run(client, *format);
  if (!status.ok()) return Fail(status);
  return 0;
}
