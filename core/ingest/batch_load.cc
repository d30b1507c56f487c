#include "core/ingest/batch_load.h"

#include <fstream>
#include <optional>
#include <system_error>

#include "absl/time/clock.h"
#include "core/base/crash_points.h"
#include "core/base/status_macros.h"
#include "core/base/strings.h"
#include "core/ingest/delta_table.h"
#include "core/ingest/input_files.h"
#include "core/ingest/parquet_reader.h"
#include "core/ingest/row_encoder.h"
#include "core/snapshot/external_sorter.h"
#include "core/snapshot/snapshot_builder.h"
#include "core/snapshot/table_directory.h"
#include "core/table/key_codec.h"
#include "core/table/key_mapping.h"
#include "core/table/shard_hash.h"

namespace predstore {
namespace fs = std::filesystem;
namespace {

// Removes a staging folder unless the load published it.
class StagingGuard {
 public:
  explicit StagingGuard(fs::path dir) : dir_(std::move(dir)) {}
  ~StagingGuard() {
    std::error_code ignored;
    if (!dir_.empty()) fs::remove_all(dir_, ignored);
  }
  void Release() { dir_.clear(); }

 private:
  fs::path dir_;
};

// The data files of the request's inputs: those of its files and folders
// (ExpandInputs), then those of its Delta tables' snapshots, whose versions
// are appended to `produced_by`.
absl::StatusOr<ExpandedInputs> ResolveInputs(const LoadRequest& request, std::string* produced_by) {
  std::vector<fs::path> plain;
  std::vector<fs::path> delta_tables;
  for (const fs::path& input : request.inputs) (IsDeltaTable(input) ? delta_tables : plain).push_back(input);
  if (delta_tables.empty() && (request.delta_version || request.delta_timestamp_ms)) {
    return absl::InvalidArgumentError("a Delta version or timestamp is given, but no input is a Delta table");
  }
  ExpandedInputs inputs;
  if (!plain.empty()) {
    PREDSTORE_ASSIGN_OR_RETURN(inputs, ExpandInputs(plain, request.format));
  }
  for (const fs::path& table : delta_tables) {
    absl::StatusOr<DeltaSnapshot> read = ReadDeltaSnapshot(table, request.delta_version, request.delta_timestamp_ms);
    if (!read.ok()) {
      return absl::Status(read.status().code(), StrCat("Delta table ", table.string(), ": ", read.status().message()));
    }
    DeltaSnapshot& snapshot = *read;
    if (snapshot.files.empty()) {
      return absl::InvalidArgumentError(
          StrCat("Delta table ", table.string(), " has no data files at version ", snapshot.version));
    }
    for (DeltaFile& file : snapshot.files) {
      inputs.files.push_back(InputFile{std::move(file.path), InputFormat::kParquet, InputCompression::kNone,
                                       std::move(file.partition_values),
                                       static_cast<uint64_t>(file.size)});
    }
    StrAppend(produced_by, produced_by->empty() ? "" : "; ", "from delta table ", table.string(), " version ",
              snapshot.version);
  }
  return inputs;
}

// The schema of a new table from its first Parquet input.
absl::StatusOr<Schema> InferSchema(const LoadRequest& request, const ExpandedInputs& inputs) {
  const LoadRequest::InferredSchema& infer = *request.infer_schema;
  for (const InputFile& input : inputs.files) {
    if (input.format == InputFormat::kParquet) {
      ReadOptions options = request.read_options;
      options.column_values = input.partition_values;
      return InferParquetSchema(input.path, infer.keys, infer.partition, infer.layout, infer.normalization, options);
    }
  }
  return absl::InvalidArgumentError(StrCat("table \"", request.table, "\" does not exist yet and no input is "
                                           "Parquet to take its columns from: give its schema (--keys, --values)"));
}

}  // namespace

absl::StatusOr<LoadResult> LoadSnapshot(const LoadRequest& request) {
  PREDSTORE_RETURN_IF_ERROR(TableDirectory::ValidateTableName(request.table));
  if (request.inputs.empty()) return absl::InvalidArgumentError("no input files given");
  if (request.keep_versions < 1) return absl::InvalidArgumentError("keep_versions must be at least 1");
  const bool sharded = request.shards > 0 || request.shard_build.has_value();
  if (request.shards > 0 && request.shard_build) {
    return absl::InvalidArgumentError("give the shard count to write every shard, or one shard to build, not both");
  }
  if (sharded && request.mode != PublishMode::kReplaceTable) {
    return absl::InvalidArgumentError("a sharded load replaces the whole table, not partitions");
  }
  const absl::Time start = absl::Now();
  TableDirectory table(request.data_dir, request.table);
  std::string produced_by = request.produced_by;
  PREDSTORE_ASSIGN_OR_RETURN(const ExpandedInputs inputs, ResolveInputs(request, &produced_by));

  Schema schema;
  if (request.schema) {
    schema = *request.schema;
  } else {
    auto manifest = table.ReadManifest();
    if (absl::IsNotFound(manifest.status()) && request.infer_schema) {
      PREDSTORE_ASSIGN_OR_RETURN(schema, InferSchema(request, inputs));
    } else if (absl::IsNotFound(manifest.status())) {
      return absl::NotFoundError(StrCat("table \"", request.table,
                                        "\" does not exist yet: give its schema (--keys, --values) to create it"));
    } else if (!manifest.ok()) {
      return manifest.status();
    } else {
      schema = manifest->schema;
    }
  }

  if (sharded && schema.normalization() != KeyNormalization::kNone) {
    return absl::InvalidArgumentError(StrCat("table \"", request.table, "\" normalises its keys (",
                                             KeyNormalizationName(schema.normalization()), "), which fits each "
                                             "load's curve to its own keys: shards must share one key order; "
                                             "shard a table created with --normalize=none"));
  }

  // A scoring load reads features instead of the value columns.
  Schema read_schema = schema;
  if (request.scoring) {
    if (request.scoring->model == nullptr) return absl::InvalidArgumentError("batch scoring without a model");
    PREDSTORE_RETURN_IF_ERROR(request.scoring->model->scorer->CheckOutput(request.scoring->output_kind));
    if (schema.value_columns() != PredictionColumns(*request.scoring)) {
      return absl::FailedPreconditionError(StrCat("table \"", request.table, "\" has value columns ",
                                                  schema.Describe(), "; scored predictions need one double column "
                                                  "per model output"));
    }
    PREDSTORE_ASSIGN_OR_RETURN(read_schema, FeatureFileSchema(schema, *request.scoring->model));
  }

  PREDSTORE_ASSIGN_OR_RETURN(fs::path staging, table.CreateStagingDir());
  StagingGuard guard(staging);
  LoadProgress progress;
  std::vector<std::unique_ptr<RecordReader>> readers;
  std::vector<std::string> paths;
  for (const InputFile& input : inputs.files) {
    ReadOptions options = request.read_options;
    fs::path path = input.path;
    if (input.compression != InputCompression::kNone) {
      // The readers map files in place: read a decompressed copy, named as the original.
      path = staging / StrCat("input-", readers.size(), input.format == InputFormat::kCsv ? ".csv" : ".jsonl");
      PREDSTORE_RETURN_IF_ERROR(DecompressInput(input, path));
      options.source_name = input.path.string();
    }
    for (const auto& [name, value] : input.partition_values) {
      if (read_schema.InputColumnIndex(name) >= 0) {
        options.column_values.emplace_back(name, value);
      } else if (!options.ignore_extra_columns) {
        return absl::InvalidArgumentError(StrCat(input.path.string(), ": its folder gives column \"", name,
                                                 "\", which the table lacks (--extra_fields=ignore skips it)"));
      }
    }
    PREDSTORE_ASSIGN_OR_RETURN(auto reader, OpenRecordReader(path, input.format, read_schema, options));
    progress.total_bytes += reader->total_bytes();
    paths.push_back(input.path.string());
    readers.push_back(std::move(reader));
  }

  // A normalised layout's rows are keyed without a mapping first (all-zero
  // codes, so they sort by their exact key) while their keys are sampled;
  // once all are read, a second sort re-keys them with the mapping fitted
  // to them, or, for a partition load, with the active version's.
  const bool normalized = schema.normalization() != KeyNormalization::kNone;
  std::optional<KeyMapping> kept_mapping;
  if (normalized && request.mode == PublishMode::kReplacePartitions) {
    auto manifest = table.ReadManifest();
    if (manifest.ok()) {
      kept_mapping = manifest->Find(manifest->active_version)->key_mapping;
    } else if (!absl::IsNotFound(manifest.status())) {
      return manifest.status();
    }
  }
  const KeyCodec unmapped(schema);
  KeyStatistics statistics(unmapped.curve_columns().size());
  const uint64_t sort_budget = normalized ? request.memory_budget_bytes / 2 : request.memory_budget_bytes;

  ExternalSorter sorter({sort_budget, staging / "sort"});
  // Writing every shard: one sorter per shard, sharing the budget.
  std::vector<std::unique_ptr<ExternalSorter>> shard_sorters;
  for (uint32_t shard = 0; shard < request.shards; ++shard) {
    shard_sorters.push_back(std::make_unique<ExternalSorter>(
        ExternalSorter::Options{sort_budget / request.shards, staging / StrCat("sort-shard-", shard)}));
  }
  const uint32_t shard_count = request.shard_build ? request.shard_build->count : request.shards;
  uint64_t rows_other_shards = 0;
  // The sorter a row of shard `shard` goes to; null: another build's shard.
  auto sorter_of = [&](uint32_t shard) -> ExternalSorter* {
    if (!sharded) return &sorter;
    if (!request.shard_build) return shard_sorters[shard].get();
    if (shard == request.shard_build->index) return &sorter;
    ++rows_other_shards;
    return nullptr;
  };
  absl::Time last_report = start;
  auto report = [&](LoadProgress::Phase phase, bool force) {
    if (!request.on_progress) return;
    absl::Time now = absl::Now();
    if (!force && now - last_report < absl::Milliseconds(500)) return;
    last_report = now;
    progress.phase = phase;
    progress.elapsed_seconds = absl::ToDoubleSeconds(now - start);
    request.on_progress(progress);
  };

  std::ofstream rejects;
  uint64_t rows_rejected = 0;
  std::function<absl::Status(std::string_view reason)> reject;  // set with a reject file
  if (!request.reject_file.empty()) {
    reject = [&](std::string_view reason) -> absl::Status {
      if (!rejects.is_open()) {
        rejects.open(request.reject_file, std::ios::trunc);
        if (!rejects) return absl::InternalError(StrCat("cannot write the reject file ", request.reject_file.string()));
      }
      rejects << reason << "\n";
      ++rows_rejected;
      return absl::OkStatus();
    };
  }

  // Worker threads turn batches of records into keys and values (scored
  // first for batch scoring); this thread sorts them in input order.
  std::function<void(RecordBatch&)> process;
  if (request.scoring) {
    process = [&](RecordBatch& batch) { ScoreRecordBatch(schema, *request.scoring, batch); };
  } else {
    process = [&](RecordBatch& batch) {
      RowEncoder encoder(schema);
      std::vector<FieldText> fields;
      std::string key, value;
      for (size_t row = 0; row < batch.rows(); ++row) {
        batch.Fields(row, &fields);
        if (absl::Status encoded = encoder.Encode(fields, batch.path(), &key, &value); encoded.ok()) {
          batch.AddRow(key, value);
        } else {
          batch.AddError(std::string(FromAbsl(encoded.message())));
        }
      }
    };
  }
  // A sharded load's workers also find each row's shard (from its cells,
  // decoded back from the key they encoded), off the sorting thread.
  const KeyCodec shard_codec(schema);
  if (sharded) {
    process = [&, encode = std::move(process)](RecordBatch& batch) {
      encode(batch);
      std::vector<uint32_t> shards(batch.rows());
      for (size_t row = 0; row < batch.rows(); ++row) {
        if (batch.error(row) != nullptr) continue;
        absl::StatusOr<std::vector<Cell>> cells = shard_codec.Decode(batch.key(row));
        if (!cells.ok()) return batch.Fail(cells.status());
        shards[row] = ShardOfKey(schema, *cells, shard_count);
      }
      batch.SetShards(std::move(shards));
    };
  }
  uint64_t bytes_before = 0;
  for (uint32_t file = 0; file < readers.size(); ++file) {
    RecordReader& reader = *readers[file];
    auto deliver = [&](const RecordBatch& batch) -> absl::Status {
      for (size_t row = 0; row < batch.rows(); ++row) {
        if (const std::string* error = batch.error(row)) {
          if (!reject) return absl::InvalidArgumentError(*error);
          PREDSTORE_RETURN_IF_ERROR(reject(*error));
          continue;
        }
        const std::string_view row_key = batch.key(row);
        ExternalSorter* target = sorter_of(batch.shard(row));
        if (target == nullptr) continue;
        PREDSTORE_RETURN_IF_ERROR(target->Add(row_key, batch.value(row), RowOrigin{file, batch.line(row)}));
        if (normalized && !kept_mapping) {
          PREDSTORE_ASSIGN_OR_RETURN(ZPoint ordinals, unmapped.ReadOrdinals(row_key));
          statistics.Add(ordinals);
        }
      }
      progress.rows += batch.rows();
      progress.bytes_read = bytes_before + reader.bytes_read();
      report(LoadProgress::Phase::kReading, false);
      CrashPoint("load:reading");
      return absl::OkStatus();
    };
    PREDSTORE_RETURN_IF_ERROR(ProcessRecordBatches(reader, request.batches, process, deliver));
    bytes_before += reader.total_bytes();
    progress.bytes_read = bytes_before;
    readers[file].reset();  // unmap
  }
  progress.total_rows = progress.rows;
  report(LoadProgress::Phase::kWriting, true);

  PREDSTORE_ASSIGN_OR_RETURN(auto sorted, sorter.Finish());
  CrashPoint("load:sorted");
  VersionDetails details{produced_by, {}};
  std::optional<ExternalSorter> mapped_sorter;
  if (normalized && sorter.rows() > 0) {
    details.key_mapping = kept_mapping ? *kept_mapping : statistics.Fit(schema.normalization());
    const KeyCodec mapped(schema, details.key_mapping);
    mapped_sorter.emplace(ExternalSorter::Options{sort_budget, staging / "sort-mapped"});
    std::string mapped_key;
    for (;;) {
      PREDSTORE_ASSIGN_OR_RETURN(bool has_row, sorted->Next());
      if (!has_row) break;
      const SortedRow& row = sorted->current();
      mapped_key.clear();
      PREDSTORE_RETURN_IF_ERROR(mapped.Remap(row.key, &mapped_key));
      PREDSTORE_RETURN_IF_ERROR(mapped_sorter->Add(mapped_key, row.value, row.origin));
    }
    sorted.reset();
    PREDSTORE_ASSIGN_OR_RETURN(sorted, mapped_sorter->Finish());
  }
  BuildOptions build_options;
  build_options.last_wins = request.last_wins;
  build_options.workers = request.batches.workers;
  build_options.sst_file_bytes = request.sst_file_bytes;
  build_options.on_rows = [&](uint64_t rows) {
    progress.rows = rows;
    report(LoadProgress::Phase::kWriting, false);
  };
  BuildResult built;
  if (request.shards > 0) {
    // Each shard's parts in their own folder; a shard without keys has none.
    sorted.reset();
    for (uint32_t shard = 0; shard < request.shards; ++shard) {
      ExternalSorter& shard_sorter = *shard_sorters[shard];
      if (shard_sorter.rows() == 0) continue;
      PREDSTORE_ASSIGN_OR_RETURN(auto shard_rows, shard_sorter.Finish());
      const std::string folder = StrCat("shard-", shard);
      std::error_code error;
      fs::create_directories(staging / folder, error);
      if (error) return absl::InternalError(StrCat((staging / folder).string(), ": ", error.message()));
      PREDSTORE_ASSIGN_OR_RETURN(BuildResult shard_built,
                                 BuildSnapshotParts(*shard_rows, schema, paths, staging / folder, build_options));
      for (PartInfo& part : shard_built.parts) {
        part.dir = StrCat(folder, "/", part.dir);
        part.shard = shard;
        built.parts.push_back(std::move(part));
      }
      built.rows += shard_built.rows;
      built.duplicates_dropped += shard_built.duplicates_dropped;
    }
    details.shard_count = request.shards;
  } else if (sorter.rows() > 0 || !request.shard_build) {
    PREDSTORE_ASSIGN_OR_RETURN(built, BuildSnapshotParts(*sorted, schema, paths, staging, build_options));
    if (request.shard_build) {
      for (PartInfo& part : built.parts) part.shard = request.shard_build->index;
    }
  }
  sorted.reset();
  CrashPoint("load:parts-built");

  report(LoadProgress::Phase::kPublishing, true);
  if (rejects.is_open() && !rejects.flush()) {
    return absl::InternalError(StrCat("cannot write the reject file ", request.reject_file.string()));
  }
  // One shard of a build may hold no keys; a table may not.
  if (built.rows == 0 && (!request.shard_build || rows_other_shards == 0)) {
    return absl::InvalidArgumentError(StrCat("no valid rows to publish (", rows_rejected, " rejected to ",
                                             request.reject_file.string(), ")"));
  }
  std::optional<TableManifest> manifest;
  if (request.shard_build) {
    PREDSTORE_ASSIGN_OR_RETURN(manifest, table.StageShard(schema, staging, built.parts, *request.shard_build,
                                                          request.keep_versions, std::move(details)));
  } else {
    PREDSTORE_ASSIGN_OR_RETURN(manifest, table.Publish(schema, staging, built.parts, request.keep_versions,
                                                       request.mode, std::move(details)));
  }
  guard.Release();

  LoadResult result;
  result.rows = built.rows;
  result.rows_other_shards = rows_other_shards;
  result.published = manifest.has_value();
  if (manifest) {
    result.version = manifest->active_version;
    result.table_rows = manifest->Find(manifest->active_version)->row_count;
  }
  result.duplicates_dropped = built.duplicates_dropped;
  result.rows_rejected = rows_rejected;
  result.files = inputs.files.size();
  result.empty_files_skipped = inputs.empty_files_skipped;
  result.parts = built.parts.size();
  result.spilled_runs = sorter.spilled_runs() + (mapped_sorter ? mapped_sorter->spilled_runs() : 0);
  for (const auto& shard_sorter : shard_sorters) result.spilled_runs += shard_sorter->spilled_runs();
  result.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  return result;
}

}  // namespace predstore
