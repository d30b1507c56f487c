// Reading a Delta Lake table's transaction log (delta-io/delta PROTOCOL.md)
// to the set of data files of one snapshot, so that the loader can load a
// Delta table's latest version, a given version, or the version current at
// a given time. Only local tables: the table directory and every data file
// path must be on this machine's file system.
//
// A snapshot is rebuilt as delta-rs and delta-kernel do: the newest
// complete checkpoint not newer than the target version (classic
// `N.checkpoint.parquet`, multi-part `N.checkpoint.O.P.parquet`, or a
// UUID-named v2 checkpoint `N.checkpoint.<uuid>.json|parquet` with its
// sidecars), then the JSON commits after it in version order; files are
// reconciled by path, the last action winning. The `_delta_log` directory
// is listed (a local listing is cheap; `_last_checkpoint` is only a hint
// for object stores and is not needed here).
//
// Refused, with kUnimplemented naming the feature: a protocol needing
// reader version > 3; reader features outside {columnMapping (mode none
// only), timestampNtz, v2Checkpoint, vacuumProtocolCheck}; deletion
// vectors (the reader feature or any add carrying one); column mapping
// with mode `name` or `id`; a data format other than Parquet; data paths
// on other file systems (s3://, abfss://, ...). A log with a missing commit
// is kDataLoss ("commit 3 is missing"), as is corrupt JSON (naming the log
// file and line) or a checkpoint that cannot be read; a version or time
// not in the log is kNotFound.
//
// Commit times: a commit's time is its commitInfo's `inCommitTimestamp`
// when present, else commitInfo's `timestamp`, else the commit file's
// modification time. The spec's readers use the file's modification time
// unless in-commit timestamps are on, but copies and restores of a table
// reset modification times, while commitInfo travels with the log; every
// writer we know of stores commitInfo.timestamp. Times are made
// non-decreasing over versions (a commit earlier than its predecessor takes
// its predecessor's time) before time travel picks the latest version at or
// before the requested time.
//
// Stateless functions; safe to call from several threads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace predstore {

struct DeltaColumn {
  std::string name;
  // The Delta type: "long", "integer", "short", "byte", "double", "float",
  // "boolean", "string", "binary", "date", "timestamp", "timestamp_ntz",
  // "decimal(10,2)", ...; for nested columns just "struct", "array" or
  // "map".
  std::string type;
  bool nullable = true;
};

struct DeltaFile {
  // The data file: the add action's path, URI-decoded, joined to the table
  // directory (or an absolute file: URI's path).
  std::filesystem::path path;
  // One per partition column, in metaData.partitionColumns order; the
  // value as serialized in the log (PROTOCOL.md "Partition Value
  // Serialization"), nullopt for a null value (JSON null, an empty string,
  // or a column missing from the map); a timestamp column's
  // "2021-12-04 10:00:00" is given as RFC 3339, "2021-12-04T10:00:00Z".
  std::vector<std::pair<std::string, std::optional<std::string>>> partition_values;
  int64_t size = 0;  // bytes, as the log says
};

struct DeltaSnapshot {
  int64_t version = -1;
  int64_t timestamp_ms = 0;  // the commit time of `version` (see above)
  std::string table_id;      // metaData.id
  std::vector<std::string> partition_columns;
  std::string schema_string;         // metaData.schemaString, the schema's JSON
  std::vector<DeltaColumn> columns;  // the schema's top-level fields, in order
  // metaData.configuration, sorted by key.
  std::vector<std::pair<std::string, std::string>> configuration;
  int32_t min_reader_version = 1;
  std::vector<std::string> reader_features;
  // The checkpoint files the snapshot started from (empty when it was
  // replayed from commit 0): one file, the parts of a multi-part
  // checkpoint, or a v2 checkpoint followed by its sidecars.
  std::vector<std::filesystem::path> checkpoint_files;
  std::vector<DeltaFile> files;  // sorted by path
};

// Whether `table` is a directory with a `_delta_log` directory.
bool IsDeltaTable(const std::filesystem::path& table);

// The snapshot of `table` at `version`, or at the latest version at or
// before `timestamp_ms` (milliseconds since the epoch), or (neither given)
// the latest. Giving both is kInvalidArgument. A version newer than the
// log's, or older than what its oldest checkpoint and commits can
// rebuild, is kNotFound, as is a time before the first available commit.
absl::StatusOr<DeltaSnapshot> ReadDeltaSnapshot(const std::filesystem::path& table,
                                                std::optional<int64_t> version = std::nullopt,
                                                std::optional<int64_t> timestamp_ms = std::nullopt);

}  // namespace predstore
