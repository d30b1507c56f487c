// LoadSnapshot runs one bulk load end to end: read and validate every input
// file, encode and sort the rows within a memory budget, write the parts
// and publish them as the table's new active version. Nothing is published
// unless every row of every file is valid; the staging folder is removed on
// failure. Safe to run beside a server that serves the same data directory,
// and beside other loads (publishing is serialized per table).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/ingest/batch_scoring.h"
#include "core/ingest/record_batches.h"
#include "core/ingest/record_reader.h"
#include "core/snapshot/table_directory.h"
#include "core/table/schema.h"

namespace predstore {

struct LoadProgress {
  enum class Phase { kReading, kWriting, kPublishing };
  Phase phase = Phase::kReading;
  uint64_t rows = 0;           // rows read (kReading) or written (kWriting)
  uint64_t total_rows = 0;     // known once reading is done
  uint64_t bytes_read = 0;     // over all inputs
  uint64_t total_bytes = 0;    // sum of input sizes
  double elapsed_seconds = 0;
};

struct LoadRequest {
  std::filesystem::path data_dir;
  std::string table;
  // Required to create a table; when the table exists, must equal its
  // stored schema (kFailedPrecondition otherwise). Unset: use the stored one.
  std::optional<Schema> schema;
  // To create a table from Parquet input without spelling out its schema:
  // the key (and partition) column names, the rest taken from the first
  // Parquet input (InferParquetSchema). Used only when `schema` is unset
  // and the table does not exist yet.
  struct InferredSchema {
    std::vector<std::string> keys;
    std::string partition;
    KeyLayout layout = KeyLayout::kZOrder;
    KeyNormalization normalization = KeyNormalization::kNone;
  };
  std::optional<InferredSchema> infer_schema;
  // Files, folders such as a Spark job's output (expanded by ExpandInputs,
  // input_files.h: their data files, with the values of Hive-style
  // partition folders), and Delta tables (their snapshot's data files with
  // their partition values, delta_table.h; the version is recorded in
  // produced_by: "from delta table PATH version N").
  std::vector<std::filesystem::path> inputs;
  // The Delta tables' version to load, or the latest at or before a time
  // (milliseconds since the epoch); neither: the latest.
  std::optional<int64_t> delta_version;
  std::optional<int64_t> delta_timestamp_ms;
  // Unset: from each file's extension.
  std::optional<InputFormat> format;
  // How typed formats are read (Parquet decimals).
  ReadOptions read_options;
  // kReplacePartitions: the partitions present in the input replace theirs
  // in the active version, the others are kept. Default: the whole table.
  PublishMode mode = PublishMode::kReplaceTable;
  // Equal keys in one load: rejected (default) or the last row wins.
  bool last_wins = false;
  // In-memory sort buffer before spilling runs to disk. Default 512 MiB.
  uint64_t memory_budget_bytes = uint64_t{512} << 20;
  // Versions kept on disk after publishing, the new one included. Default 3.
  uint64_t keep_versions = 3;
  // Batch scoring: the inputs hold the lookup columns and the model's
  // features (FeatureFileSchema), and every row's values are the model's
  // predictions; the schema's value columns must be PredictionColumns.
  std::optional<BatchScoring> scoring;
  // Rows with a bad field are written here ("file:line:column: reason", one
  // per line) and skipped; empty: the first bad row fails the load. Defects
  // of the file's structure (a CSV row with the wrong number of fields, a
  // line that is not JSON) always fail the load.
  std::filesystem::path reject_file;
  // Recorded with the published version (SnapshotVersion::produced_by).
  std::string produced_by;
  // The read stage's worker threads (validating, encoding and, for batch
  // scoring, scoring) and records per batch, which for batch scoring is the
  // rows of one XGBoost call. See record_batches.h.
  RecordBatchOptions batches;
  // Keys and values per SST file of a part; the files are written by
  // `batches.workers` threads side by side. Default 16 MiB.
  uint64_t sst_file_bytes = uint64_t{16} << 20;
  // Called about twice a second and at phase changes. May be empty.
  std::function<void(const LoadProgress&)> on_progress;
  // A hash-sharded table (shard_hash.h; docs/scale-out.md#shards), which
  // replaces the whole table and needs a key layout without normalization
  // (kInvalidArgument otherwise). `shards` = N: this load writes all N
  // shards and publishes them as one version. `shard_build`: this load
  // keeps only the rows of shard_build->index (counting the others in
  // LoadResult::rows_other_shards) and stages them; the load that stages
  // the build's last shard publishes the version
  // (TableDirectory::StageShard). Not both. Default: unsharded.
  uint32_t shards = 0;
  std::optional<ShardBuild> shard_build;
};

struct LoadResult {
  uint64_t version = 0;
  uint64_t rows = 0;         // rows this load wrote
  uint64_t table_rows = 0;   // rows of the new version (with kept partitions)
  uint64_t duplicates_dropped = 0;
  uint64_t rows_rejected = 0;  // written to reject_file
  uint64_t files = 0;          // data files read (folders expanded)
  uint64_t empty_files_skipped = 0;
  size_t parts = 0;
  int spilled_runs = 0;
  double seconds = 0;
  // With shard_build: rows skipped as other shards' keys, and whether this
  // load published the build (false: staged, waiting for other shards;
  // `version` and `table_rows` are then 0).
  uint64_t rows_other_shards = 0;
  bool published = true;
};

// Errors: kInvalidArgument for bad input (naming file:line:column) or a bad
// request; kNotFound for a missing input file, or a missing table when no
// schema is given; kFailedPrecondition for a schema mismatch.
absl::StatusOr<LoadResult> LoadSnapshot(const LoadRequest& request);

}  // namespace predstore
