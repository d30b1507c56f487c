// predstore-load: builds prediction snapshots from CSV / JSON Lines files,
// publishes them into a data directory, and rolls them back.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "client/predstore_client.h"
#include "core/base/file_io.h"
#include "core/ingest/batch_load.h"
#include "core/ingest/sample_data.h"
#include "core/model/model_catalog.h"
#include "core/model/sample_model.h"
#include "core/snapshot/table_directory.h"
#include "loader/folder_source.h"
#include "loader/kafka_source.h"
#include "loader/progress_line.h"

ABSL_FLAG(std::string, data_dir, "./predstore-data", "Data directory (shared with the server).");
ABSL_FLAG(std::string, table, "", "Table to load or roll back.");
ABSL_FLAG(std::string, keys, "", "Key columns, to create a table: name:type,... (int64, uint64, date, timestamp, string).");
ABSL_FLAG(std::string, values, "", "Value columns, to create a table: name:type,... (double, float, int64, string).");
ABSL_FLAG(std::string, partition, "", "Optional partition column, to create a table: name:type.");
ABSL_FLAG(std::string, layout, "zorder",
          "Key layout, to create a table: zorder (integer key columns interleaved), hilbert (along a Hilbert "
          "curve) or linear (concatenated).");
ABSL_FLAG(std::string, normalize, "none",
          "Key normalization of a zorder or hilbert table, to create it: none (raw values on the curve), minmax "
          "(each key column's observed range scaled to 16 bits) or quantile (equal-frequency buckets of each "
          "column, for skewed keys). Fitted by each whole-table load; partition loads keep the table's.");
ABSL_FLAG(std::string, format, "", "Input format: csv or jsonl; default: from each file's extension.");
ABSL_FLAG(std::string, replace, "table",
          "load: what the load replaces: table (a whole new version) or partitions (only the partitions present "
          "in the input; the others are kept).");
ABSL_FLAG(std::string, value, "", "drop-partition: the partition value to drop, e.g. 2026-11-26.");
ABSL_FLAG(std::string, duplicates, "error", "Equal keys in one load: error (reject the load) or last-wins.");
ABSL_FLAG(uint64_t, memory_mb, 512, "Sort buffer in MiB; larger inputs spill sorted runs to disk.");
ABSL_FLAG(uint64_t, keep_versions, 3, "Snapshot versions kept on disk for rollback, the new one included.");
ABSL_FLAG(std::string, server, "", "host:port of a running server to tell about the new version (optional).");
ABSL_FLAG(std::string, admin_token_file, "", "File holding the server's admin bearer token.");
ABSL_FLAG(uint64_t, to_version, 0, "rollback: the version to make active; 0 means the previous one.");
ABSL_FLAG(uint64_t, rows, 1000, "sample: number of rows.");
ABSL_FLAG(uint64_t, seed, 42, "sample: random seed.");
ABSL_FLAG(std::string, out, "", "sample: file to write (.csv or .jsonl); sample-model: the model directory.");
ABSL_FLAG(int32_t, features, 30, "sample-model: number of features (named f0, f1, ...).");
ABSL_FLAG(int32_t, trees, 100, "sample-model: boosting rounds.");
ABSL_FLAG(int32_t, depth, 6, "sample-model: tree depth.");
ABSL_FLAG(std::string, objective, "binary:logistic",
          "sample-model: binary:logistic, reg:squarederror or multi:softprob (3 classes).");
ABSL_FLAG(std::string, model_format, "xgb", "sample-model: file format xgb, json or ubj.");
ABSL_FLAG(std::string, registry, "",
          "score: the MLflow registry resolving --model (sqlite:///mlflow.db, an mlruns folder); sample-model: the "
          "file-store folder (mlruns) to register the model in.");
ABSL_FLAG(std::string, model, "", "score: models:/NAME/STAGE, models:/NAME/VERSION, models:/NAME@ALIAS or a model dir.");
ABSL_FLAG(std::string, output, "prediction",
          "score: the value column of the predictions (output_0, output_1, ... for multi-class models).");
ABSL_FLAG(int32_t, workers, 0,
          "load, score: threads that validate, encode (and score) the input while it is read; 0 means one per "
          "core.");
ABSL_FLAG(uint64_t, chunk_rows, 4096, "load, score: records per worker batch (score: rows per XGBoost call).");
ABSL_FLAG(std::string, source, "",
          "stream: folder:/path (JSON Lines event files landing there, sent in name order) or "
          "kafka:BROKERS/TOPIC[,TOPIC] (a consumer group; one JSON event per message).");
ABSL_FLAG(std::string, group, "predstore", "stream: the Kafka consumer group (group.id).");
ABSL_FLAG(std::string, files, "events",
          "stream, folder source: events (JSON Lines events with event_time) or predictions (the CSV / JSON Lines "
          "files a batch load takes; event time = the file's modification time).");
ABSL_FLAG(std::string, source_name, "", "stream: the producer's name on the server (default: the source).");
ABSL_FLAG(uint64_t, batch_size, 500, "stream: events per batch (one commit each).");
ABSL_FLAG(bool, once, false, "stream: stop once every file present is sent (default: keep polling for new files).");
ABSL_FLAG(std::string, reject_file, "",
          "load, score: write rows with a bad field here (file:line:column: reason) and load the rest; default: a "
          "bad row rejects the whole load.");
ABSL_FLAG(std::string, name, "", "sample-model: registered model name.");
ABSL_FLAG(int64_t, version, 1, "sample-model: registered version number.");
ABSL_FLAG(std::string, stage, "None", "sample-model: the version's stage: None, Staging, Production, Archived.");
ABSL_FLAG(std::vector<std::string>, aliases, {}, "sample-model: aliases of the version, comma-separated.");

namespace {

constexpr char kUsage[] =
    "Builds and publishes prediction snapshots.\n"
    "  predstore-load load --table=T [--keys=a:int64,b:int64 --values=score:double [--partition=day:date]]\n"
    "                      [--server=host:port] FILE...\n"
    "      Validates every row, sorts by z-order key and publishes a new version atomically. The schema\n"
    "      flags are needed only to create the table. With --server, the server swaps to the new version\n"
    "      before this returns (the server must see the same --data_dir).\n"
    "      --replace=partitions replaces only the partitions present in the input (e.g. today's).\n"
    "  predstore-load score --table=T --model=models:/NAME/Production --registry=sqlite:///mlflow.db\n"
    "                      --keys=a:int64,b:int64 [--partition=day:date] [--output=prediction] [--workers=N]\n"
    "                      [--reject_file=F] FEATURES_FILE...\n"
    "      Batch scoring: reads the key columns and the model's features, scores every row with the model\n"
    "      on all cores, and publishes the predictions as a new version (same options as load).\n"
    "  predstore-load stream --table=T --source=folder:/path --server=host:port [--once] [--batch_size=500]\n"
    "  predstore-load stream --table=T --source=kafka:BROKERS/TOPIC[,TOPIC] [--group=G] --server=host:port [--once]\n"
    "      Sends the JSON Lines event files landing in the folder (name order) to the server's Ingest, each\n"
    "      event exactly once: the position is committed with the events, and read back after a restart.\n"
    "  predstore-load drop-partition --table=T --value=V [--server=host:port]\n"
    "  predstore-load rollback --table=T [--to_version=N] [--server=host:port]\n"
    "  predstore-load versions --table=T\n"
    "  predstore-load sample --rows=N --out=FILE [--seed=S]   write sample forecasts\n"
    "  predstore-load sample-features --rows=N --features=30 --out=FILE   keys and features to score\n"
    "  predstore-load sample-model --out=DIR [--features=30 --trees=100 --depth=6 --objective=binary:logistic]\n"
    "                      [--registry=mlruns --name=M --version=N --stage=Production --aliases=champion]\n"
    "      Trains a seeded XGBoost model, saves it as an MLflow model directory and optionally registers (or\n"
    "      re-stages) it in an MLflow file-store registry, as MLflow's client would.\n"
    "Exit status: 0 on success, 1 on a failed load (nothing is published), 2 on bad usage.";

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "predstore-load: %s\n", std::string(status.message()).c_str());
  return 1;
}

absl::StatusOr<std::optional<predstore::PredstoreClient>> ServerClient() {
  std::string server = absl::GetFlag(FLAGS_server);
  if (server.empty()) return std::nullopt;
  predstore::ClientOptions options;
  options.target = server;
  options.timeout = std::chrono::seconds(60);
  if (std::string token_file = absl::GetFlag(FLAGS_admin_token_file); !token_file.empty()) {
    auto token = predstore::ReadTokenFile(token_file);
    if (!token.ok()) return token.status();
    options.admin_token = *token;
  }
  return std::optional<predstore::PredstoreClient>(std::in_place, options);
}

absl::StatusOr<std::optional<predstore::Schema>> SchemaFromFlags() {
  std::string keys = absl::GetFlag(FLAGS_keys), values = absl::GetFlag(FLAGS_values);
  std::string partition = absl::GetFlag(FLAGS_partition);
  if (keys.empty() && values.empty() && partition.empty()) return std::nullopt;
  auto key_columns = predstore::Schema::ParseColumnList(keys);
  if (!key_columns.ok()) return key_columns.status();
  auto value_columns = predstore::Schema::ParseColumnList(values);
  if (!value_columns.ok()) return value_columns.status();
  std::optional<predstore::Column> partition_column;
  if (!partition.empty()) {
    auto parsed = predstore::Schema::ParseColumnList(partition);
    if (!parsed.ok()) return parsed.status();
    if (parsed->size() != 1) return absl::InvalidArgumentError("--partition takes one column, name:type");
    partition_column = parsed->front();
  }
  auto layout = predstore::ParseKeyLayout(absl::GetFlag(FLAGS_layout));
  if (!layout.ok()) return layout.status();
  auto normalization = predstore::ParseKeyNormalization(absl::GetFlag(FLAGS_normalize));
  if (!normalization.ok()) return normalization.status();
  auto schema = predstore::Schema::Create(*key_columns, *value_columns, partition_column, *layout, *normalization);
  if (!schema.ok()) return schema.status();
  return std::optional<predstore::Schema>(*schema);
}

// Tells a running server (if --server is set) to swap to the table's
// newest published version; prints what it serves.
int NotifyServer(const std::string& table) {
  auto client = ServerClient();
  if (!client.ok()) return Fail(client.status());
  if (!*client) return 0;
  auto refreshed = (*client)->RefreshTables(table);
  if (!refreshed.ok()) {
    return Fail(absl::Status(refreshed.status().code(), "published on disk, but the server did not swap to it: " +
                                                            std::string(refreshed.status().message())));
  }
  for (const auto& info : refreshed->tables()) {
    std::printf("server %s now serves table %s version %llu\n", absl::GetFlag(FLAGS_server).c_str(),
                info.name().c_str(), (unsigned long long)info.active_version());
  }
  return 0;
}

// `score`: the inputs are features files scored with --model. Otherwise a
// plain load of prediction files.
int Load(const std::vector<std::string>& files, bool score) {
  predstore::LoadRequest request;
  request.data_dir = absl::GetFlag(FLAGS_data_dir);
  request.table = absl::GetFlag(FLAGS_table);
  const char* command = score ? "score" : "load";
  if (request.table.empty()) return Fail(absl::InvalidArgumentError(std::string(command) + " needs --table"));
  if (files.empty()) return Fail(absl::InvalidArgumentError(std::string(command) + " needs input files"));
  if (score) {
    const std::string model_uri = absl::GetFlag(FLAGS_model);
    if (model_uri.empty()) return Fail(absl::InvalidArgumentError("score needs --model"));
    auto model = predstore::LoadModelFromReference(absl::GetFlag(FLAGS_registry), model_uri, /*scorer_threads=*/1);
    if (!model.ok()) return Fail(model.status());
    predstore::BatchScoring scoring;
    scoring.model = *model;
    scoring.output = absl::GetFlag(FLAGS_output);
    request.scoring = scoring;
    request.produced_by = "scored by " + model_uri + " (" + (*model)->name + " version " +
                          std::to_string((*model)->version) + ")";
    if (!absl::GetFlag(FLAGS_values).empty()) {
      return Fail(absl::InvalidArgumentError("score takes no --values: the value columns are the predictions (--output)"));
    }
    absl::SetFlag(&FLAGS_values, [&] {
      std::string values;
      for (const predstore::Column& c : predstore::PredictionColumns(**model, scoring.output)) {
        values += (values.empty() ? "" : ",") + c.name + ":double";
      }
      return values;
    }());
  }
  request.reject_file = absl::GetFlag(FLAGS_reject_file);
  auto schema = SchemaFromFlags();
  if (!schema.ok()) return Fail(schema.status());
  request.schema = *schema;
  for (const std::string& file : files) request.inputs.emplace_back(file);
  if (std::string format = absl::GetFlag(FLAGS_format); !format.empty()) {
    auto parsed = predstore::ParseInputFormat(format);
    if (!parsed.ok()) return Fail(parsed.status());
    request.format = *parsed;
  }
  std::string duplicates = absl::GetFlag(FLAGS_duplicates);
  if (duplicates != "error" && duplicates != "last-wins") {
    return Fail(absl::InvalidArgumentError("--duplicates must be error or last-wins"));
  }
  request.last_wins = duplicates == "last-wins";
  request.batches.workers = absl::GetFlag(FLAGS_workers);
  request.batches.batch_rows = std::max<uint64_t>(1, absl::GetFlag(FLAGS_chunk_rows));
  std::string replace = absl::GetFlag(FLAGS_replace);
  if (replace != "table" && replace != "partitions") {
    return Fail(absl::InvalidArgumentError("--replace must be table or partitions"));
  }
  request.mode = replace == "partitions" ? predstore::PublishMode::kReplacePartitions : predstore::PublishMode::kReplaceTable;
  request.memory_budget_bytes = absl::GetFlag(FLAGS_memory_mb) << 20;
  request.keep_versions = absl::GetFlag(FLAGS_keep_versions);
  if (auto client = ServerClient(); !client.ok()) return Fail(client.status());  // before a long load
  const bool tty = isatty(STDERR_FILENO);
  if (tty) {
    request.on_progress = [](const predstore::LoadProgress& progress) {
      std::fprintf(stderr, "\r\033[K%s", predstore::ProgressLine(progress).c_str());
    };
  }
  auto result = predstore::LoadSnapshot(request);
  if (tty) std::fprintf(stderr, "\r\033[K");
  if (!result.ok()) return Fail(result.status());
  std::printf("table %s: published version %llu: %llu rows in %zu part(s), %.2f s (%.0f rows/s)%s\n",
              request.table.c_str(), (unsigned long long)result->version, (unsigned long long)result->rows,
              result->parts, result->seconds, result->rows / std::max(result->seconds, 1e-9),
              result->spilled_runs ? (", sort spilled " + std::to_string(result->spilled_runs) + " runs").c_str() : "");
  if (request.mode == predstore::PublishMode::kReplacePartitions) {
    std::printf("  replaced only the partitions in the input; the table now has %llu rows\n",
                (unsigned long long)result->table_rows);
  }
  if (result->duplicates_dropped) {
    std::printf("  %llu duplicate keys resolved last-wins\n", (unsigned long long)result->duplicates_dropped);
  }
  if (result->rows_rejected) {
    std::printf("  %llu rows rejected to %s\n", (unsigned long long)result->rows_rejected,
                request.reject_file.string().c_str());
  }
  if (!request.produced_by.empty()) std::printf("  %s\n", request.produced_by.c_str());
  return NotifyServer(request.table);
}

int DropPartition() {
  std::string table = absl::GetFlag(FLAGS_table), value = absl::GetFlag(FLAGS_value);
  if (table.empty() || value.empty()) return Fail(absl::InvalidArgumentError("drop-partition needs --table and --value"));
  auto status = predstore::TableDirectory::ValidateTableName(table);
  if (!status.ok()) return Fail(status);
  predstore::TableDirectory directory(absl::GetFlag(FLAGS_data_dir), table);
  auto manifest = directory.DropPartition(value, absl::GetFlag(FLAGS_keep_versions));
  if (!manifest.ok()) return Fail(manifest.status());
  std::printf("table %s: published version %llu without partition %s (%llu rows left)\n", table.c_str(),
              (unsigned long long)manifest->active_version, value.c_str(),
              (unsigned long long)manifest->Find(manifest->active_version)->row_count);
  return NotifyServer(table);
}

int Rollback() {
  std::string table = absl::GetFlag(FLAGS_table);
  if (table.empty()) return Fail(absl::InvalidArgumentError("rollback needs --table"));
  auto client = ServerClient();
  if (!client.ok()) return Fail(client.status());
  if (*client) {
    auto info = (*client)->Rollback(table, absl::GetFlag(FLAGS_to_version));
    if (!info.ok()) return Fail(info.status());
    std::printf("table %s: server now serves version %llu\n", table.c_str(),
                (unsigned long long)info->active_version());
    return 0;
  }
  auto status = predstore::TableDirectory::ValidateTableName(table);
  if (!status.ok()) return Fail(status);
  predstore::TableDirectory directory(absl::GetFlag(FLAGS_data_dir), table);
  auto manifest = directory.Rollback(absl::GetFlag(FLAGS_to_version));
  if (!manifest.ok()) return Fail(manifest.status());
  std::printf("table %s: version %llu is active (a running server picks it up at its next refresh)\n", table.c_str(),
              (unsigned long long)manifest->active_version);
  return 0;
}

int Versions() {
  std::string table = absl::GetFlag(FLAGS_table);
  auto status = predstore::TableDirectory::ValidateTableName(table);
  if (!status.ok()) return Fail(status);
  predstore::TableDirectory directory(absl::GetFlag(FLAGS_data_dir), table);
  auto manifest = directory.ReadManifest();
  if (!manifest.ok()) return Fail(manifest.status());
  std::printf("table %s: %s\n", table.c_str(), manifest->schema.Describe().c_str());
  for (const auto& v : manifest->versions) {
    std::printf("%s version %llu: %llu rows, %zu part(s), created %s\n",
                v.version == manifest->active_version ? "*" : " ", (unsigned long long)v.version,
                (unsigned long long)v.row_count, v.parts.size(),
                predstore::FormatCell(predstore::Timestamp{v.created_at_micros}).c_str());
    if (!v.produced_by.empty()) std::printf("    %s\n", v.produced_by.c_str());
    if (v.version == manifest->active_version && manifest->schema.partition_column()) {
      for (const auto& part : v.parts) {
        std::printf("    partition %s: %llu rows (written by version %llu)\n", part.partition.value_or("").c_str(),
                    (unsigned long long)part.rows, (unsigned long long)part.version);
      }
    }
  }
  return 0;
}

// --rows, --seed and the format of --out (required) for a sample command.
absl::StatusOr<predstore::SampleOptions> SampleOptionsFromFlags(std::string_view command) {
  const std::string out = absl::GetFlag(FLAGS_out);
  if (out.empty()) return absl::InvalidArgumentError(std::string(command) + " needs --out=FILE");
  predstore::SampleOptions options;
  options.rows = absl::GetFlag(FLAGS_rows);
  options.seed = absl::GetFlag(FLAGS_seed);
  auto format = predstore::InputFormatOfPath(out);
  if (!format.ok()) return format.status();
  options.format = *format;
  return options;
}

int Sample() {
  const std::string out = absl::GetFlag(FLAGS_out);
  auto options_or = SampleOptionsFromFlags("sample");
  if (!options_or.ok()) return Fail(options_or.status());
  const predstore::SampleOptions& options = *options_or;
  auto status = predstore::WriteSampleFile(out, options);
  if (!status.ok()) return Fail(status);
  std::printf("wrote %llu sample rows to %s (keys %s)\n", (unsigned long long)options.rows, out.c_str(),
              predstore::SampleSchema().Describe().c_str());
  return 0;
}

int Stream() {
  const std::string source = absl::GetFlag(FLAGS_source);
  predstore::FolderSourceOptions options;
  options.table = absl::GetFlag(FLAGS_table);
  if (options.table.empty()) return Fail(absl::InvalidArgumentError("stream needs --table"));
  auto client = ServerClient();
  if (!client.ok()) return Fail(client.status());
  if (!*client) return Fail(absl::InvalidArgumentError("stream needs --server=host:port (the ingesting server)"));
  auto on_commit = [](const std::string& line) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  };
  if (source.starts_with("kafka:")) {
    auto kafka = predstore::ParseKafkaSource(source);
    if (!kafka.ok()) return Fail(kafka.status());
    kafka->table = options.table;
    kafka->group = absl::GetFlag(FLAGS_group);
    kafka->batch_size = absl::GetFlag(FLAGS_batch_size);
    kafka->once = absl::GetFlag(FLAGS_once);
    kafka->on_commit = on_commit;
    if (auto status = predstore::RunKafkaSource(**client, *kafka); !status.ok()) return Fail(status);
    return 0;
  }
  if (!source.starts_with("folder:")) {
    return Fail(absl::InvalidArgumentError("stream needs --source=folder:/path or --source=kafka:BROKERS/TOPIC"));
  }
  options.folder = source.substr(std::string_view("folder:").size());
  options.source = absl::GetFlag(FLAGS_source_name).empty() ? source : absl::GetFlag(FLAGS_source_name);
  options.batch_size = absl::GetFlag(FLAGS_batch_size);
  options.once = absl::GetFlag(FLAGS_once);
  options.on_commit = on_commit;
  const std::string files = absl::GetFlag(FLAGS_files);
  if (files != "events" && files != "predictions") {
    return Fail(absl::InvalidArgumentError("--files must be events or predictions"));
  }
  options.format = files == "events" ? predstore::FolderFormat::kEvents : predstore::FolderFormat::kPredictions;
  if (auto status = predstore::RunFolderSource(**client, options); !status.ok()) return Fail(status);
  return 0;
}

int SampleFeatures() {
  const std::string out = absl::GetFlag(FLAGS_out);
  auto options_or = SampleOptionsFromFlags("sample-features");
  if (!options_or.ok()) return Fail(options_or.status());
  const predstore::SampleOptions& options = *options_or;
  const int features = absl::GetFlag(FLAGS_features);
  if (auto status = predstore::WriteSampleFeaturesFile(out, options, features); !status.ok()) return Fail(status);
  std::printf("wrote %llu rows of keys and %d features (f0..f%d) to %s\n", (unsigned long long)options.rows, features,
              features - 1, out.c_str());
  return 0;
}

int SampleModel() {
  const std::string out = absl::GetFlag(FLAGS_out);
  if (out.empty()) return Fail(absl::InvalidArgumentError("sample-model needs --out=DIR"));
  const std::string model_dir = std::filesystem::absolute(out).lexically_normal().string();
  if (!std::filesystem::exists(std::filesystem::path(model_dir) / "MLmodel")) {
    predstore::SampleModelOptions options;
    options.features = absl::GetFlag(FLAGS_features);
    options.trees = absl::GetFlag(FLAGS_trees);
    options.depth = absl::GetFlag(FLAGS_depth);
    options.objective = absl::GetFlag(FLAGS_objective);
    options.seed = absl::GetFlag(FLAGS_seed);
    options.model_format = absl::GetFlag(FLAGS_model_format);
    if (auto status = predstore::WriteSampleModel(options, model_dir); !status.ok()) return Fail(status);
    std::printf("wrote a %d-tree depth-%d %s model with %d features to %s\n", options.trees, options.depth,
                options.objective.c_str(), options.features, model_dir.c_str());
  }
  const std::string registry = absl::GetFlag(FLAGS_registry);
  if (registry.empty()) return 0;
  predstore::SampleRegistration registration;
  registration.name = absl::GetFlag(FLAGS_name);
  if (registration.name.empty()) return Fail(absl::InvalidArgumentError("--registry needs --name"));
  registration.version = absl::GetFlag(FLAGS_version);
  registration.stage = absl::GetFlag(FLAGS_stage);
  registration.aliases = absl::GetFlag(FLAGS_aliases);
  registration.model_dir = model_dir;
  if (auto status = predstore::WriteSampleRegistration(registry, registration); !status.ok()) return Fail(status);
  std::printf("registered %s version %lld (stage %s) in %s\n", registration.name.c_str(),
              static_cast<long long>(registration.version), registration.stage.c_str(), registry.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(kUsage);
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() < 2) {
    std::fprintf(stderr, "%s\n", kUsage);
    return 2;
  }
  std::string command = positional[1];
  std::vector<std::string> args(positional.begin() + 2, positional.end());
  if (command == "load") return Load(args, /*score=*/false);
  if (command == "score") return Load(args, /*score=*/true);
  if (command == "rollback") return Rollback();
  if (command == "drop-partition") return DropPartition();
  if (command == "versions") return Versions();
  if (command == "sample") return Sample();
  if (command == "sample-model") return SampleModel();
  if (command == "sample-features") return SampleFeatures();
  if (command == "stream") return Stream();
  std::fprintf(stderr, "predstore-load: unknown command \"%s\"\n%s\n", command.c_str(), kUsage);
  return 2;
}
