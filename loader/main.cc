// predstore-load: builds prediction snapshots from CSV, JSON Lines and
// Parquet files, publishes them into a data directory, rolls them back,
// streams events to a server and writes sample data and models. One subcommand per job, each
// with its own flags (`predstore-load <command> --help`).
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "client/command_line.h"
#include "client/predstore_client.h"
#include "core/base/file_io.h"
#include "core/ingest/batch_load.h"
#include "core/ingest/sample_data.h"
#include "core/model/model_catalog.h"
#include "core/model/sample_model.h"
#include "core/snapshot/table_directory.h"
#include "core/table/shard_hash.h"
#include "loader/delta_source.h"
#include "loader/folder_source.h"
#include "loader/kafka_source.h"
#include "loader/progress_line.h"

namespace {

constexpr char kDescription[] =
    "Builds and publishes prediction snapshots into a data directory (shared with predstore-server), and\n"
    "streams events to a running server. Exit status: 0 on success, 1 on a failed job (a failed load\n"
    "publishes nothing), 2 on bad usage. `predstore-load <command> --help` lists a command's flags.";

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "predstore-load: %s\n", std::string(status.message()).c_str());
  return 1;
}

// --server and --admin_token_file: the running server to tell (optional
// for the offline commands).
struct ServerFlags {
  std::string server;
  std::string admin_token_file;
  std::string tls_ca, tls_cert, tls_key;

  void AddTo(CLI::App* command, const char* server_help) {
    command->add_option("--server", server, server_help);
    command->add_option("--admin_token_file", admin_token_file, "File holding the server's admin bearer token.");
    command->add_option("--tls_ca", tls_ca, "TLS: the CA that signed the server's certificate (PEM).");
    command->add_option("--tls_cert", tls_cert, "mTLS: this client's certificate chain (PEM), with --tls_key.");
    command->add_option("--tls_key", tls_key, "mTLS: this client's private key (PEM).");
  }

  absl::StatusOr<std::optional<predstore::PredstoreClient>> Client() const {
    if (server.empty()) return std::nullopt;
    predstore::ClientOptions options;
    options.target = server;
    options.timeout = std::chrono::seconds(60);
    if (auto tls = predstore::LoadClientTls(tls_ca, tls_cert, tls_key, &options); !tls.ok()) return tls;
    if (!admin_token_file.empty()) {
      auto token = predstore::ReadTokenFile(admin_token_file);
      if (!token.ok()) return token.status();
      options.admin_token = *token;
    }
    return std::optional<predstore::PredstoreClient>(std::in_place, options);
  }

  // Tells the server (if --server is set) to swap to the table's newest
  // published version; prints what it serves.
  int Notify(const std::string& table) const {
    auto client = Client();
    if (!client.ok()) return Fail(client.status());
    if (!*client) return 0;
    auto refreshed = (*client)->RefreshTables(table);
    if (!refreshed.ok()) {
      return Fail(absl::Status(refreshed.status().code(), "published on disk, but the server did not swap to it: " +
                                                              std::string(refreshed.status().message())));
    }
    for (const auto& info : refreshed->tables()) {
      std::printf("server %s now serves table %s version %llu\n", server.c_str(), info.name().c_str(),
                  (unsigned long long)info.active_version());
    }
    return 0;
  }
};

// The schema flags, to create a table.
struct SchemaFlags {
  std::string keys;
  std::string values;
  std::string partition;
  std::string layout = "zorder";
  std::string normalize = "none";

  void AddTo(CLI::App* command, bool with_values) {
    command->add_option("--keys", keys,
                        "Key columns, to create the table: name:type,... (int64, uint64, date, timestamp, string). "
                        "From Parquet input, names alone (--keys=id,day, no --values) take every column's type "
                        "from the file; the other columns become the values.");
    if (with_values) {
      command->add_option("--values", values,
                          "Value columns, to create the table: name:type,... (double, float, int64, string); "
                          "name:type? makes a column nullable (an empty field, JSON null or, for float and double, "
                          "NaN is stored as null).");
    }
    command->add_option("--partition", partition, "Partition column, to create the table: name:type.");
    command->add_option("--layout", layout,
                        "Key layout, to create the table: zorder (integer key columns interleaved), hilbert (along "
                        "a Hilbert curve) or linear (concatenated).");
    command->add_option("--normalize", normalize,
                        "Key normalization of a zorder or hilbert table, to create it: none (raw values on the "
                        "curve), minmax (each key column's observed range scaled to 16 bits) or quantile "
                        "(equal-frequency buckets, for skewed keys). Fitted by each whole-table load; partition "
                        "loads keep the table's.");
  }

  // Key (and partition) columns named without types, and no value columns:
  // the table's columns are to be taken from its first Parquet input.
  std::optional<predstore::LoadRequest::InferredSchema> Inferred() const {
    if (keys.empty() || !values.empty() || keys.find(':') != std::string::npos ||
        partition.find(':') != std::string::npos) {
      return std::nullopt;
    }
    auto parsed_layout = predstore::ParseKeyLayout(layout);
    auto normalization = predstore::ParseKeyNormalization(normalize);
    if (!parsed_layout.ok() || !normalization.ok()) return std::nullopt;  // Parse reports them
    predstore::LoadRequest::InferredSchema inferred;
    inferred.keys = absl::StrSplit(keys, ',');
    inferred.partition = partition;
    inferred.layout = *parsed_layout;
    inferred.normalization = *normalization;
    return inferred;
  }

  absl::StatusOr<std::optional<predstore::Schema>> Parse() const {
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
    auto parsed_layout = predstore::ParseKeyLayout(layout);
    if (!parsed_layout.ok()) return parsed_layout.status();
    auto normalization = predstore::ParseKeyNormalization(normalize);
    if (!normalization.ok()) return normalization.status();
    auto schema =
        predstore::Schema::Create(*key_columns, *value_columns, partition_column, *parsed_layout, *normalization);
    if (!schema.ok()) return schema.status();
    return std::optional<predstore::Schema>(*schema);
  }
};

// load and score.
struct LoadFlags {
  std::string data_dir = "./predstore-data";
  std::string table;
  SchemaFlags schema;
  std::string format;
  bool decimal_as_double = false;
  std::string extra_fields = "error";
  std::optional<int64_t> delta_version;
  std::string delta_timestamp;
  std::string replace = "table";
  std::string duplicates = "error";
  uint64_t memory_mb = 512;
  uint64_t keep_versions = 3;
  std::string reject_file;
  int32_t workers = 0;
  uint64_t chunk_rows = 4096;
  uint32_t shards = 0;
  std::string shard;
  std::string build_id;
  ServerFlags server;
  std::vector<std::string> files;
  // score only.
  std::string registry;
  std::string model;
  std::string output = "prediction";
  std::string output_kind = "probability";

  void AddTo(CLI::App* command, bool score) {
    command->add_option("--data_dir", data_dir, "Data directory (shared with the server).");
    command->add_option("--table", table, "Table to publish a new version of.")->required();
    schema.AddTo(command, /*with_values=*/!score);
    if (score) {
      command->add_option("--model", model, "models:/NAME/STAGE, models:/NAME/VERSION, models:/NAME@ALIAS or a model "
                                            "directory.")
          ->required();
      command->add_option("--registry", registry,
                          "The MLflow registry resolving --model (sqlite:///mlflow.db, an mlruns folder).");
      command->add_option("--output", output,
                          "The value column of the predictions (output_0, output_1, ... for multi-class models).");
      command->add_option("--output_kind", output_kind,
                          "What the predictions are: probability (XGBoost's predict_proba, a regressor's value), "
                          "label (the class, as XGBClassifier.predict and MLflow's pyfunc give it) or margin.");
    }
    command->add_option("--format", format,
                        "Input format: csv, jsonl or parquet; default: from each file's extension.");
    command->add_flag("--decimal_as_double", decimal_as_double,
                      "Read Parquet DECIMAL columns into double columns, rounded to the nearest double (refused "
                      "otherwise).");
    command->add_option("--extra_fields", extra_fields,
                        "Input columns the table lacks: error (refuse the file) or ignore (skip them).");
    command->add_option("--delta_version", delta_version,
                        "A Delta table input: load this version of it (default: the latest).");
    command->add_option("--delta_timestamp", delta_timestamp,
                        "A Delta table input: load the latest version committed at or before this time (RFC 3339, "
                        "e.g. 2026-11-26T06:00:00Z).");
    command->add_option("--replace", replace,
                        "What the load replaces: table (a whole new version) or partitions (only the partitions "
                        "present in the input; the others are kept).");
    command->add_option("--duplicates", duplicates, "Equal keys in one load: error (reject the load) or last-wins.");
    command->add_option("--memory_mb", memory_mb, "Sort buffer in MiB; larger inputs spill sorted runs to disk.");
    command->add_option("--keep_versions", keep_versions,
                        "Snapshot versions kept on disk for rollback, the new one included.");
    command->add_option("--reject_file", reject_file,
                        "Write rows with a bad field here (file:line:column: reason) and load the rest; default: a "
                        "bad row rejects the whole load.");
    command->add_option("--workers", workers,
                        "Threads that validate, encode (and score) the input while it is read; 0: one per core.");
    command->add_option("--chunk_rows", chunk_rows, "Records per worker batch (score: rows per XGBoost call).");
    command->add_option("--shards", shards,
                        "Hash-shard the table N ways: write all N shards and publish them as one version (servers "
                        "then serve one shard each: predstore-server --shard=i/N). 0: unsharded.");
    command->add_option("--shard", shard,
                        "i/N: build only shard i of N (the input's rows of other shards are skipped), with "
                        "--build_id; the load that stages the build's last shard publishes the version. For N jobs "
                        "side by side.");
    command->add_option("--build_id", build_id,
                        "With --shard: names the build its N shards belong to, the same for each (a job or run id; "
                        "1-64 of A-Z a-z 0-9 _ . -).");
    server.AddTo(command, "host:port of a running server to swap to the new version before this returns (it must "
                          "see the same --data_dir).");
    command->add_option("FILE", files,
                        score ? "Features files (or folders of them) to score."
                              : "Prediction files, folders of them such as a Spark job's output (part files in "
                                "Hive partition folders like day=2026-11-26/), or Delta tables.")
        ->required();
  }
};

// `score`: the inputs are features files scored with --model. Otherwise a
// plain load of prediction files.
int Load(LoadFlags flags, bool score) {
  predstore::LoadRequest request;
  request.data_dir = flags.data_dir;
  request.table = flags.table;
  if (score) {
    auto model = predstore::LoadModelFromReference(flags.registry, flags.model, /*scorer_threads=*/1);
    if (!model.ok()) return Fail(model.status());
    auto output_kind = predstore::ParseOutputKind(flags.output_kind);
    if (!output_kind.ok()) return Fail(output_kind.status());
    if (auto status = (*model)->scorer->CheckOutput(*output_kind); !status.ok()) return Fail(status);
    predstore::BatchScoring scoring;
    scoring.model = *model;
    scoring.output = flags.output;
    scoring.output_kind = *output_kind;
    request.scoring = scoring;
    request.produced_by = "scored by " + flags.model + " (" + (*model)->name + " version " +
                          std::to_string((*model)->version) + ", " +
                          std::string(predstore::OutputKindName(*output_kind)) + ")";
    for (const predstore::Column& c : predstore::PredictionColumns(scoring)) {
      flags.schema.values += (flags.schema.values.empty() ? "" : ",") + c.name + ":double";
    }
  }
  request.reject_file = flags.reject_file;
  request.infer_schema = flags.schema.Inferred();
  if (!request.infer_schema) {
    auto schema = flags.schema.Parse();
    if (!schema.ok()) return Fail(schema.status());
    request.schema = *schema;
  }
  for (const std::string& file : flags.files) request.inputs.emplace_back(file);
  if (!flags.format.empty()) {
    auto parsed = predstore::ParseInputFormat(flags.format);
    if (!parsed.ok()) return Fail(parsed.status());
    request.format = *parsed;
  }
  if (flags.duplicates != "error" && flags.duplicates != "last-wins") {
    return Fail(absl::InvalidArgumentError("--duplicates must be error or last-wins"));
  }
  request.last_wins = flags.duplicates == "last-wins";
  request.read_options.decimal_as_double = flags.decimal_as_double;
  if (flags.extra_fields != "error" && flags.extra_fields != "ignore") {
    return Fail(absl::InvalidArgumentError("--extra_fields must be error or ignore"));
  }
  request.read_options.ignore_extra_columns = flags.extra_fields == "ignore";
  request.delta_version = flags.delta_version;
  if (!flags.delta_timestamp.empty()) {
    auto time = predstore::ParseCell(predstore::ColumnType::kTimestamp, flags.delta_timestamp);
    if (!time.ok()) return Fail(absl::InvalidArgumentError("--delta_timestamp: " + std::string(time.status().message())));
    request.delta_timestamp_ms = std::get<predstore::Timestamp>(*time).micros / 1000;
  }
  request.batches.workers = flags.workers;
  request.batches.batch_rows = std::max<uint64_t>(1, flags.chunk_rows);
  if (flags.replace != "table" && flags.replace != "partitions") {
    return Fail(absl::InvalidArgumentError("--replace must be table or partitions"));
  }
  request.mode = flags.replace == "partitions" ? predstore::PublishMode::kReplacePartitions
                                               : predstore::PublishMode::kReplaceTable;
  request.memory_budget_bytes = flags.memory_mb << 20;
  request.keep_versions = flags.keep_versions;
  request.shards = flags.shards;
  if (flags.shard.empty() != flags.build_id.empty()) {
    return Fail(absl::InvalidArgumentError("--shard and --build_id go together"));
  }
  if (!flags.shard.empty()) {
    auto spec = predstore::ParseShardSpec(flags.shard);
    if (!spec.ok()) return Fail(spec.status());
    request.shard_build = predstore::ShardBuild{flags.build_id, spec->index, spec->count};
  }
  if (auto client = flags.server.Client(); !client.ok()) return Fail(client.status());  // before a long load
  const bool tty = isatty(STDERR_FILENO);
  if (tty) {
    request.on_progress = [](const predstore::LoadProgress& progress) {
      std::fprintf(stderr, "\r\033[K%s", predstore::ProgressLine(progress).c_str());
    };
  }
  auto result = predstore::LoadSnapshot(request);
  if (tty) std::fprintf(stderr, "\r\033[K");
  if (!result.ok()) return Fail(result.status());
  const std::string shards =
      request.shards > 0 ? " in " + std::to_string(request.shards) + " shards"
      : request.shard_build ? " of shard " + flags.shard + " (" + std::to_string(result->rows_other_shards) +
                                  " rows of other shards skipped)"
                            : "";
  std::printf("table %s: %s: %llu rows%s in %zu part(s), %.2f s (%.0f rows/s)%s\n", request.table.c_str(),
              result->published ? ("published version " + std::to_string(result->version)).c_str()
                                : ("staged for build " + flags.build_id).c_str(),
              (unsigned long long)result->rows, shards.c_str(), result->parts, result->seconds,
              result->rows / std::max(result->seconds, 1e-9),
              result->spilled_runs ? (", sort spilled " + std::to_string(result->spilled_runs) + " runs").c_str() : "");
  if (!result->published) {
    std::printf("  the version is published by the load that stages the build's last shard\n");
    return 0;
  }
  if (request.mode == predstore::PublishMode::kReplacePartitions) {
    std::printf("  replaced only the partitions in the input; the table now has %llu rows\n",
                (unsigned long long)result->table_rows);
  }
  if (result->files > 1 || result->empty_files_skipped) {
    std::printf("  read %llu file(s)%s\n", (unsigned long long)result->files,
                result->empty_files_skipped
                    ? (", skipped " + std::to_string(result->empty_files_skipped) + " empty part file(s)").c_str()
                    : "");
  }
  if (result->duplicates_dropped) {
    std::printf("  %llu duplicate keys resolved last-wins\n", (unsigned long long)result->duplicates_dropped);
  }
  if (result->rows_rejected) {
    std::printf("  %llu rows rejected to %s\n", (unsigned long long)result->rows_rejected,
                request.reject_file.string().c_str());
  }
  if (!request.produced_by.empty()) std::printf("  %s\n", request.produced_by.c_str());
  return flags.server.Notify(request.table);
}

// drop-partition, rollback and versions.
struct TableFlags {
  std::string data_dir = "./predstore-data";
  std::string table;
  std::string value;
  uint64_t keep_versions = 3;
  uint64_t to_version = 0;
  ServerFlags server;

  void AddTo(CLI::App* command) {
    command->add_option("--data_dir", data_dir, "Data directory (shared with the server).");
    command->add_option("--table", table, "The table.")->required();
  }
};

int DropPartition(const TableFlags& flags) {
  auto status = predstore::TableDirectory::ValidateTableName(flags.table);
  if (!status.ok()) return Fail(status);
  predstore::TableDirectory directory(flags.data_dir, flags.table);
  auto manifest = directory.DropPartition(flags.value, flags.keep_versions);
  if (!manifest.ok()) return Fail(manifest.status());
  std::printf("table %s: published version %llu without partition %s (%llu rows left)\n", flags.table.c_str(),
              (unsigned long long)manifest->active_version, flags.value.c_str(),
              (unsigned long long)manifest->Find(manifest->active_version)->row_count);
  return flags.server.Notify(flags.table);
}

int Rollback(const TableFlags& flags) {
  auto client = flags.server.Client();
  if (!client.ok()) return Fail(client.status());
  if (*client) {
    auto info = (*client)->Rollback(flags.table, flags.to_version);
    if (!info.ok()) return Fail(info.status());
    std::printf("table %s: server now serves version %llu\n", flags.table.c_str(),
                (unsigned long long)info->active_version());
    return 0;
  }
  auto status = predstore::TableDirectory::ValidateTableName(flags.table);
  if (!status.ok()) return Fail(status);
  predstore::TableDirectory directory(flags.data_dir, flags.table);
  auto manifest = directory.Rollback(flags.to_version);
  if (!manifest.ok()) return Fail(manifest.status());
  std::printf("table %s: version %llu is active (a running server picks it up at its next refresh)\n",
              flags.table.c_str(), (unsigned long long)manifest->active_version);
  return 0;
}

int Versions(const TableFlags& flags) {
  auto status = predstore::TableDirectory::ValidateTableName(flags.table);
  if (!status.ok()) return Fail(status);
  predstore::TableDirectory directory(flags.data_dir, flags.table);
  auto manifest = directory.ReadManifest();
  if (!manifest.ok()) return Fail(manifest.status());
  std::printf("table %s: %s\n", flags.table.c_str(), manifest->schema.Describe().c_str());
  for (const auto& v : manifest->versions) {
    std::printf("%s version %llu: %llu rows, %zu part(s)%s, created %s\n",
                v.version == manifest->active_version ? "*" : " ", (unsigned long long)v.version,
                (unsigned long long)v.row_count, v.parts.size(),
                v.shard_count > 0 ? (" in " + std::to_string(v.shard_count) + " shards").c_str() : "",
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

struct StreamFlags {
  std::string table;
  std::string source;
  std::string group = "predstore";
  std::string files = "events";
  std::string source_name;
  uint64_t batch_size = 500;
  bool once = false;
  std::string extra_fields = "error";
  ServerFlags server;
};

int Stream(const StreamFlags& flags) {
  auto client = flags.server.Client();
  if (!client.ok()) return Fail(client.status());
  if (flags.extra_fields != "error" && flags.extra_fields != "ignore") {
    return Fail(absl::InvalidArgumentError("--extra_fields must be error or ignore"));
  }
  const bool ignore_extra_fields = flags.extra_fields == "ignore";
  auto on_ignored = [](const std::string& name) {
    std::fprintf(stderr, "predstore-load: ignoring field \"%s\": the table has no such column\n", name.c_str());
  };
  auto on_commit = [](const std::string& line) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  };
  if (flags.source.starts_with("kafka:")) {
    auto kafka = predstore::ParseKafkaSource(flags.source);
    if (!kafka.ok()) return Fail(kafka.status());
    kafka->table = flags.table;
    kafka->group = flags.group;
    kafka->batch_size = flags.batch_size;
    kafka->once = flags.once;
    kafka->on_commit = on_commit;
    kafka->ignore_extra_fields = ignore_extra_fields;
    kafka->on_ignored = on_ignored;
    if (auto status = predstore::RunKafkaSource(**client, *kafka); !status.ok()) return Fail(status);
    return 0;
  }
  if (flags.source.starts_with("delta:")) {
    predstore::DeltaSourceOptions delta;
    delta.delta_table = flags.source.substr(std::string_view("delta:").size());
    delta.table = flags.table;
    delta.source = flags.source_name.empty() ? flags.source : flags.source_name;
    delta.batch_size = flags.batch_size;
    delta.once = flags.once;
    delta.on_commit = on_commit;
    delta.ignore_extra_fields = ignore_extra_fields;
    delta.on_ignored = on_ignored;
    if (auto status = predstore::RunDeltaSource(**client, delta); !status.ok()) return Fail(status);
    return 0;
  }
  if (!flags.source.starts_with("folder:")) {
    return Fail(absl::InvalidArgumentError(
        "stream needs --source=folder:/path, --source=delta:/path/to/table or --source=kafka:BROKERS/TOPIC"));
  }
  predstore::FolderSourceOptions options;
  options.table = flags.table;
  options.folder = flags.source.substr(std::string_view("folder:").size());
  options.source = flags.source_name.empty() ? flags.source : flags.source_name;
  options.batch_size = flags.batch_size;
  options.once = flags.once;
  options.on_commit = on_commit;
  options.ignore_extra_fields = ignore_extra_fields;
  options.on_ignored = on_ignored;
  if (flags.files != "events" && flags.files != "predictions") {
    return Fail(absl::InvalidArgumentError("--files must be events or predictions"));
  }
  options.format = flags.files == "events" ? predstore::FolderFormat::kEvents : predstore::FolderFormat::kPredictions;
  if (auto status = predstore::RunFolderSource(**client, options); !status.ok()) return Fail(status);
  return 0;
}

// sample, sample-features and sample-model.
struct SampleFlags {
  uint64_t rows = 1000;
  uint64_t seed = 42;
  std::string out;
  int32_t features = 30;
  // sample-model only.
  int32_t trees = 100;
  int32_t depth = 6;
  std::string objective = "binary:logistic";
  std::string model_format = "xgb";
  std::string registry;
  std::string name;
  int64_t version = 1;
  std::string stage = "None";
  std::vector<std::string> aliases;

  // --rows, --seed and the format of --out.
  absl::StatusOr<predstore::SampleOptions> Options() const {
    predstore::SampleOptions options;
    options.rows = rows;
    options.seed = seed;
    auto format = predstore::InputFormatOfPath(out);
    if (!format.ok()) return format.status();
    options.format = *format;
    return options;
  }
};

int Sample(const SampleFlags& flags) {
  auto options = flags.Options();
  if (!options.ok()) return Fail(options.status());
  if (auto status = predstore::WriteSampleFile(flags.out, *options); !status.ok()) return Fail(status);
  std::printf("wrote %llu sample rows to %s (keys %s)\n", (unsigned long long)options->rows, flags.out.c_str(),
              predstore::SampleSchema().Describe().c_str());
  return 0;
}

int SampleFeatures(const SampleFlags& flags) {
  auto options = flags.Options();
  if (!options.ok()) return Fail(options.status());
  if (auto status = predstore::WriteSampleFeaturesFile(flags.out, *options, flags.features); !status.ok()) {
    return Fail(status);
  }
  std::printf("wrote %llu rows of keys and %d features (f0..f%d) to %s\n", (unsigned long long)options->rows,
              flags.features, flags.features - 1, flags.out.c_str());
  return 0;
}

int SampleModel(const SampleFlags& flags) {
  const std::string model_dir = std::filesystem::absolute(flags.out).lexically_normal().string();
  if (!std::filesystem::exists(std::filesystem::path(model_dir) / "MLmodel")) {
    predstore::SampleModelOptions options;
    options.features = flags.features;
    options.trees = flags.trees;
    options.depth = flags.depth;
    options.objective = flags.objective;
    options.seed = flags.seed;
    options.model_format = flags.model_format;
    if (auto status = predstore::WriteSampleModel(options, model_dir); !status.ok()) return Fail(status);
    std::printf("wrote a %d-tree depth-%d %s model with %d features to %s\n", options.trees, options.depth,
                options.objective.c_str(), options.features, model_dir.c_str());
  }
  if (flags.registry.empty()) return 0;
  if (flags.name.empty()) return Fail(absl::InvalidArgumentError("--registry needs --name"));
  predstore::SampleRegistration registration;
  registration.name = flags.name;
  registration.version = flags.version;
  registration.stage = flags.stage;
  registration.aliases = flags.aliases;
  registration.model_dir = model_dir;
  if (auto status = predstore::WriteSampleRegistration(flags.registry, registration); !status.ok()) {
    return Fail(status);
  }
  std::printf("registered %s version %lld (stage %s) in %s\n", registration.name.c_str(),
              static_cast<long long>(registration.version), registration.stage.c_str(), flags.registry.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app(kDescription, "predstore-load");
  app.option_defaults()->always_capture_default();
  app.require_subcommand(1, 1);
  std::function<int()> run;

  LoadFlags load, score;
  CLI::App* load_command =
      app.add_subcommand("load", "Validate prediction files, sort them by key and publish a new version atomically.");
  load.AddTo(load_command, /*score=*/false);
  load_command->callback([&] { run = [&] { return Load(load, /*score=*/false); }; });
  CLI::App* score_command = app.add_subcommand(
      "score", "Score features files with a registered model on all cores and publish the predictions.");
  score.AddTo(score_command, /*score=*/true);
  score_command->callback([&] { run = [&] { return Load(score, /*score=*/true); }; });

  StreamFlags stream;
  CLI::App* stream_command = app.add_subcommand(
      "stream", "Send events from a folder or Kafka to a server's Ingest, each exactly once.");
  stream_command->add_option("--table", stream.table, "The table the events update.")->required();
  stream_command->add_option("--source", stream.source,
                             "folder:/path (event or prediction files landing there, sent in name order), "
                             "delta:/path/to/table (the rows of the data files each new commit of a Delta table "
                             "adds, at the commit's time) or kafka:BROKERS/TOPIC[,TOPIC] (a consumer group; one "
                             "JSON event per message).")
      ->required();
  stream_command->add_option("--group", stream.group, "Kafka source: the consumer group (group.id).");
  stream_command->add_option("--files", stream.files,
                             "Folder source: events (JSON Lines events with event_time) or predictions (the files "
                             "a load takes; event time = the file's modification time).");
  stream_command->add_option("--source_name", stream.source_name,
                             "The producer's name on the server; default: --source.");
  stream_command->add_option("--batch_size", stream.batch_size, "Events per batch (one commit each).");
  stream_command->add_option("--extra_fields", stream.extra_fields,
                             "Fields the table lacks (an event_id, a _metadata column): error (stop at the first "
                             "such event or file) or ignore (skip them; each name is reported once).");
  stream_command->add_flag("--once", stream.once,
                           "Stop once everything present is sent; default: keep polling for more.");
  stream.server.AddTo(stream_command, "host:port of the ingesting server.");
  stream_command->get_option("--server")->required();
  stream_command->callback([&] { run = [&] { return Stream(stream); }; });

  TableFlags drop, rollback, versions;
  CLI::App* drop_command = app.add_subcommand("drop-partition", "Publish a new version without one partition.");
  drop.AddTo(drop_command);
  drop_command->add_option("--value", drop.value, "The partition value to drop, e.g. 2026-11-26.")->required();
  drop_command->add_option("--keep_versions", drop.keep_versions,
                           "Snapshot versions kept on disk for rollback, the new one included.");
  drop.server.AddTo(drop_command, "host:port of a running server to swap to the new version.");
  drop_command->callback([&] { run = [&] { return DropPartition(drop); }; });
  CLI::App* rollback_command = app.add_subcommand(
      "rollback", "Make an older kept version active (through the server with --server, else on disk).");
  rollback.AddTo(rollback_command);
  rollback_command->add_option("--to_version", rollback.to_version,
                               "The version to make active; 0 means the previous one.");
  rollback.server.AddTo(rollback_command, "host:port of a running server to roll back (it serves it at once).");
  rollback_command->callback([&] { run = [&] { return Rollback(rollback); }; });
  CLI::App* versions_command = app.add_subcommand("versions", "List a table's kept versions.");
  versions.AddTo(versions_command);
  versions_command->callback([&] { run = [&] { return Versions(versions); }; });

  SampleFlags sample, sample_features, sample_model;
  CLI::App* sample_command = app.add_subcommand("sample", "Write sample forecasts (.csv or .jsonl).");
  sample_command->add_option("--rows", sample.rows, "Number of rows.");
  sample_command->add_option("--seed", sample.seed, "Random seed.");
  sample_command->add_option("--out", sample.out,
                             "File to write (.csv, .jsonl, or .parquet: SNAPPY, row groups of 1M rows, written by "
                             "predstore's own Parquet writer).")
      ->required();
  sample_command->callback([&] { run = [&] { return Sample(sample); }; });
  CLI::App* features_command =
      app.add_subcommand("sample-features", "Write sample keys and features, to score with `score`.");
  features_command->add_option("--rows", sample_features.rows, "Number of rows.");
  features_command->add_option("--seed", sample_features.seed, "Random seed.");
  features_command->add_option("--features", sample_features.features, "Number of features (named f0, f1, ...).");
  features_command->add_option("--out", sample_features.out, "File to write (.csv or .jsonl).")->required();
  features_command->callback([&] { run = [&] { return SampleFeatures(sample_features); }; });
  CLI::App* model_command = app.add_subcommand(
      "sample-model",
      "Train a seeded XGBoost model, save it as an MLflow model directory and optionally register (or re-stage) "
      "it in an MLflow file-store registry, as MLflow's client would.");
  model_command->add_option("--out", sample_model.out, "The model directory to write.")->required();
  model_command->add_option("--features", sample_model.features, "Number of features (named f0, f1, ...).");
  model_command->add_option("--trees", sample_model.trees, "Boosting rounds.");
  model_command->add_option("--depth", sample_model.depth, "Tree depth.");
  model_command->add_option("--objective", sample_model.objective,
                            "binary:logistic, reg:squarederror or multi:softprob (3 classes).");
  model_command->add_option("--model_format", sample_model.model_format, "File format: xgb, json or ubj.");
  model_command->add_option("--seed", sample_model.seed, "Training data seed.");
  model_command->add_option("--registry", sample_model.registry,
                            "The file-store folder (mlruns) to register the model in; default: do not register.");
  model_command->add_option("--name", sample_model.name, "Registered model name.");
  model_command->add_option("--version", sample_model.version, "Registered version number.");
  model_command->add_option("--stage", sample_model.stage, "The version's stage: None, Staging, Production, Archived.");
  model_command->add_option("--aliases", sample_model.aliases, "Aliases of the version, comma-separated.")
      ->delimiter(',')
      ->allow_extra_args(false);
  model_command->callback([&] { run = [&] { return SampleModel(sample_model); }; });

  if (std::optional<int> exit = predstore::ParseCommandLine(app, argc, argv)) return *exit;
  return run();
}
