// predstore-cli: query and administer a running predstore-server.
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "client/cli_commands.h"
#include "core/base/file_io.h"

ABSL_FLAG(std::string, server, "127.0.0.1:50051", "host:port of the predstore server.");
ABSL_FLAG(std::string, table, "", "Table to query or administer.");
ABSL_FLAG(std::string, output, "jsonl", "Output format: jsonl or table.");
ABSL_FLAG(std::string, keys, "-", "batch-lookup: file of keys (JSON Lines or CSV with a header); - reads stdin.");
ABSL_FLAG(uint32_t, batch_size, 1000, "batch-lookup: keys per BatchLookup call.");
ABSL_FLAG(uint64_t, limit, 0, "scan: most rows to return; 0 means all.");
ABSL_FLAG(std::string, page_token, "", "scan: resume from the token an earlier scan printed.");
ABSL_FLAG(bool, stats, false, "scan: print the scan's statistics to stderr.");
ABSL_FLAG(uint64_t, to_version, 0, "rollback: version to make active; 0 means the previous one.");
ABSL_FLAG(std::string, model, "", "predict: models:/NAME/STAGE, models:/NAME/VERSION or models:/NAME@ALIAS.");
ABSL_FLAG(std::vector<std::string>, features, {},
          "lookup: just-in-time features for the table's fallback model, name=value,name=value.");
ABSL_FLAG(bool, no_fallback, false, "lookup: answer from stored predictions only.");
ABSL_FLAG(std::string, as_of, "",
          "lookup: the prediction in force at this time (RFC 3339, e.g. 2026-11-26T10:00:00Z, or microseconds).");
ABSL_FLAG(std::string, source, "", "ingest: the producer's name (each has its own sequence and watermark).");
ABSL_FLAG(std::string, events, "-", "ingest: JSON Lines file of events; - reads stdin.");
ABSL_FLAG(std::string, admin_token_file, "", "File holding the admin bearer token (rollback, refresh).");
ABSL_FLAG(int64_t, timeout_ms, 10000, "Deadline of each call, in milliseconds.");

namespace {

constexpr char kUsage[] =
    "Queries and administers a predstore server.\n"
    "  predstore-cli tables                                   list served tables\n"
    "  predstore-cli lookup --table=T col=value [col=value...] one key\n"
    "  predstore-cli batch-lookup --table=T --keys=keys.jsonl  many keys (JSON Lines or CSV; - for stdin)\n"
    "  predstore-cli scan --table=T --where='col between A and B' [--where='col = V' ...] [--limit=N] [--stats]\n"
    "                                                         rows in a box, in key order (also >=, <=)\n"
    "  predstore-cli rollback --table=T [--to_version=N]       admin: serve an older kept version\n"
    "  predstore-cli refresh [--table=T]                       admin: pick up newly published snapshots\n"
    "  predstore-cli lookup --table=T col=value ... --features=f0=1.5,f1=2  fallback features for a miss\n"
    "  predstore-cli predict --model=models:/NAME/Production f0=1.5 f1=2  score one row with a registered model\n"
    "  predstore-cli models                                   served model versions and their stages/aliases\n"
    "  predstore-cli ingest --table=T --source=S --events=events.jsonl  admin: stream events into a table\n"
    "  predstore-cli ingest-status --table=T                  sources: position, counts, watermark, lag\n"
    "  predstore-cli lookup --table=T col=value ... --as_of=2026-11-26T10:00:00Z  the prediction in force then\n"
    "  predstore-cli reload-models                            admin: re-read the model registry now\n"
    "  predstore-cli health                                    SERVING or NOT_SERVING\n"
    "  predstore-cli partitions --table=T                     partitions of the active version\n"
    "  predstore-cli load ...                                  runs predstore-load load ... (see its --help)\n"
    "  predstore-cli drop-partition ...                        runs predstore-load drop-partition ...\n"
    "Common flags: --server=host:port --output=jsonl|table --timeout_ms=N --admin_token_file=F";

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "predstore-cli: %s: %s\n", absl::StatusCodeToString(status.code()).c_str(),
               std::string(status.message()).c_str());
  return 1;
}

// `load` and `drop-partition` hand over to predstore-load installed beside
// this program (the loader writes the data directory; see its --help).
int ExecLoader(int argc, char** argv) {
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe");
  std::string loader = (self.parent_path() / "predstore-load").string();
  if (access(loader.c_str(), X_OK) != 0) loader = (self.parent_path().parent_path() / "loader" / "predstore-load").string();
  std::vector<char*> args = {const_cast<char*>(loader.c_str())};
  for (int i = 1; i < argc; ++i) args.push_back(argv[i]);
  args.push_back(nullptr);
  execv(loader.c_str(), args.data());
  std::fprintf(stderr, "predstore-cli: cannot run %s: %s\n", loader.c_str(), std::strerror(errno));
  return 1;
}

// Removes every --where=CLAUSE / --where CLAUSE from argv (a repeated flag,
// whose clauses contain spaces and commas) and returns the clauses.
std::vector<std::string> TakeWhereClauses(int* argc, char** argv) {
  std::vector<std::string> clauses;
  int kept = 1;
  for (int i = 1; i < *argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--where=", 0) == 0) {
      clauses.push_back(arg.substr(8));
    } else if (arg == "--where" && i + 1 < *argc) {
      clauses.push_back(argv[++i]);
    } else {
      argv[kept++] = argv[i];
    }
  }
  *argc = kept;
  return clauses;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("-", 0) == 0) continue;  // a flag
    if (arg == "load" || arg == "drop-partition") return ExecLoader(argc, argv);
    break;
  }
  std::vector<std::string> where = TakeWhereClauses(&argc, argv);
  absl::SetProgramUsageMessage(kUsage);
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() < 2) {
    std::fprintf(stderr, "%s\n", kUsage);
    return 2;
  }
  std::string command = positional[1];
  std::vector<std::string> args(positional.begin() + 2, positional.end());

  auto format = predstore::ParseOutputFormat(absl::GetFlag(FLAGS_output));
  if (!format.ok()) return Fail(format.status());
  predstore::ClientOptions options;
  options.target = absl::GetFlag(FLAGS_server);
  options.timeout = std::chrono::milliseconds(absl::GetFlag(FLAGS_timeout_ms));
  if (std::string token_file = absl::GetFlag(FLAGS_admin_token_file); !token_file.empty()) {
    auto token = predstore::ReadTokenFile(token_file);
    if (!token.ok()) return Fail(token.status());
    options.admin_token = *token;
  }
  predstore::PredstoreClient client(options);
  std::string table = absl::GetFlag(FLAGS_table);
  auto need_table = [&]() {
    return table.empty() ? absl::InvalidArgumentError(command + " needs --table") : absl::OkStatus();
  };

  absl::Status status;
  if (command == "tables") {
    status = predstore::ListTablesCommand(client, *format, std::cout);
  } else if (command == "partitions") {
    status = need_table();
    if (status.ok()) status = predstore::PartitionsCommand(client, table, *format, std::cout);
  } else if (command == "lookup") {
    status = need_table();
    if (status.ok()) {
      status = predstore::LookupCommand(client, table, args, absl::GetFlag(FLAGS_features),
                                        absl::GetFlag(FLAGS_no_fallback), absl::GetFlag(FLAGS_as_of), *format,
                                        std::cout);
    }
  } else if (command == "ingest") {
    status = need_table();
    std::string events_path = absl::GetFlag(FLAGS_events);
    std::ifstream file;
    if (status.ok() && events_path != "-") {
      file.open(events_path);
      if (!file) status = absl::NotFoundError("cannot open events file " + events_path);
    }
    if (status.ok()) {
      status = predstore::IngestCommand(client, table, absl::GetFlag(FLAGS_source), events_path == "-" ? std::cin : file,
                                        absl::GetFlag(FLAGS_batch_size), std::cout);
    }
  } else if (command == "ingest-status") {
    status = need_table();
    if (status.ok()) status = predstore::IngestStatusCommand(client, table, std::cout);
  } else if (command == "predict") {
    status = predstore::PredictCommand(client, absl::GetFlag(FLAGS_model), args, std::cout);
  } else if (command == "models") {
    status = predstore::ModelsCommand(client, *format, std::cout, std::cerr);
  } else if (command == "reload-models") {
    status = predstore::ReloadModelsCommand(client, std::cout);
  } else if (command == "batch-lookup") {
    status = need_table();
    std::string keys_path = absl::GetFlag(FLAGS_keys);
    std::ifstream file;
    if (status.ok() && keys_path != "-") {
      file.open(keys_path);
      if (!file) status = absl::NotFoundError("cannot open keys file " + keys_path);
    }
    if (status.ok()) {
      status = predstore::BatchLookupCommand(client, table, keys_path == "-" ? std::cin : file,
                                             absl::GetFlag(FLAGS_batch_size), *format, std::cout);
    }
  } else if (command == "scan") {
    status = need_table();
    if (status.ok()) {
      status = predstore::ScanCommand(client, table, where, absl::GetFlag(FLAGS_limit), absl::GetFlag(FLAGS_page_token),
                                      absl::GetFlag(FLAGS_stats), *format, std::cout, std::cerr);
    }
  } else if (command == "rollback") {
    status = need_table();
    if (status.ok()) status = predstore::RollbackCommand(client, table, absl::GetFlag(FLAGS_to_version), std::cout);
  } else if (command == "refresh") {
    status = predstore::RefreshCommand(client, table, std::cout);
  } else if (command == "health") {
    auto serving = client.IsServing();
    status = serving.status();
    if (serving.ok()) std::cout << (*serving ? "SERVING" : "NOT_SERVING") << "\n";
  } else {
    status = absl::InvalidArgumentError("unknown command \"" + command + "\"; run predstore-cli --help");
  }
  if (!status.ok()) return Fail(status);
  return 0;
}
