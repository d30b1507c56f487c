// TableDirectory owns one table's folder in a data directory: its manifest
// (schema, kept snapshot versions, the active one) and the RocksDB part
// directories of each version. Loaders publish and roll back through it;
// servers read manifests. Mutations of one table, from any process, are
// serialized by an exclusive lock file; the manifest is replaced atomically
// (write, fsync, rename), so a reader always sees a whole manifest.
//
// Layout (format version 1):
//   <data_dir>/<table>/manifest.json   schema, versions (newest first), active
//   <data_dir>/<table>/parts/v<N>-<i>/ one read-only RocksDB per partition
//                                      (or one for an unpartitioned table)
//   <data_dir>/<table>/staging/<pid>-<time>-<n>@<host>/  a load in progress
//   <data_dir>/<table>/staging/shards-<build>/  the shards of a sharded
//                                      build staged so far (StageShard)
//   <data_dir>/<table>/LOCK            flock(2) target
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "core/table/key_mapping.h"
#include "core/table/schema.h"

namespace predstore {

// Manifest format versions: 2 adds nullable value columns (rows with a null
// bitmap, see value_codec.h); 3 adds sharded versions (a version's shard
// count and hash, each part's shard). A manifest is written with the lowest
// version that describes it (1 without nullable columns or sharded
// versions), so older readers keep reading such tables and refuse the
// others ("unsupported manifest format version") instead of misreading.
inline constexpr int kManifestFormatVersion = 3;
inline constexpr int kOldestManifestFormatVersion = 1;

// One RocksDB directory of a snapshot.
struct PartInfo {
  // The partition value in text form; empty for an unpartitioned table.
  std::optional<std::string> partition;
  // Relative to the table folder (or, before publishing, to the staging dir).
  std::string dir;
  uint64_t rows = 0;
  // The version whose load wrote this part (set when published); a
  // partition carried over from an older version keeps its number.
  uint64_t version = 0;
  // In a sharded version: the shard whose keys the part holds
  // (shard_hash.h). 0 otherwise.
  uint32_t shard = 0;
};

// What a published load replaces.
enum class PublishMode {
  // The new parts are the whole new version.
  kReplaceTable,
  // The new parts replace the same partitions of the active version; its
  // other partitions are carried over unchanged (no data is rewritten).
  kReplacePartitions,
};

struct SnapshotVersion {
  uint64_t version = 0;
  int64_t created_at_micros = 0;
  uint64_t row_count = 0;
  std::vector<PartInfo> parts;  // in key order
  // What produced the rows, when not a plain load: e.g. "scored by
  // models:/demand/Production (demand version 3)", "from delta table
  // /lake/churn version 7". Empty for a plain load.
  std::string produced_by;
  // The curve codes of every part's keys (normalised layouts; else empty).
  // A whole-table load fits a new one; partition loads and drops keep it.
  KeyMapping key_mapping;
  // 0: not sharded. Else the keys are split by ShardOfKey (kShardHashName)
  // into shard_count shards, each part holding one shard's keys of one
  // partition; parts are ordered by shard, then in key order. A shard may
  // have no part (no keys).
  uint32_t shard_count = 0;
};

// What a publish records with the new version besides its parts.
struct VersionDetails {
  std::string produced_by;  // SnapshotVersion::produced_by
  KeyMapping key_mapping;   // SnapshotVersion::key_mapping
  uint32_t shard_count = 0;  // SnapshotVersion::shard_count
};

// One shard of a sharded build made by independent loads (StageShard).
struct ShardBuild {
  // Names the build, the same for its every shard (a job or run id): 1-64
  // of [A-Za-z0-9_.-].
  std::string id;
  uint32_t index = 0;
  uint32_t count = 1;
};

struct TableManifest {
  Schema schema;
  uint64_t active_version = 0;
  uint64_t next_version = 1;
  std::vector<SnapshotVersion> versions;  // newest first; includes the active one

  // The version numbered `version`, or null.
  const SnapshotVersion* Find(uint64_t version) const;
};

class TableDirectory {
 public:
  // kInvalidArgument unless `table` is 1-128 of [A-Za-z0-9_-].
  static absl::Status ValidateTableName(std::string_view table);
  // Names of the tables (folders with a manifest) in `data_dir`, sorted.
  static absl::StatusOr<std::vector<std::string>> ListTables(const std::filesystem::path& data_dir);

  // REQUIRES: ValidateTableName(table).ok().
  TableDirectory(std::filesystem::path data_dir, std::string table);

  const std::string& table() const { return table_; }
  const std::filesystem::path& path() const { return path_; }

  // kNotFound when the table has never been published; kDataLoss when the
  // manifest is unreadable.
  absl::StatusOr<TableManifest> ReadManifest() const;

  // A new empty folder for one load's output, on the table's filesystem.
  // Removes staging folders left by processes that no longer run.
  absl::StatusOr<std::filesystem::path> CreateStagingDir() const;

  // Publishes the parts built in `staging_dir` as a new active version:
  // under the table lock, checks `schema` against the stored one
  // (kFailedPrecondition if they differ; the first publish creates the
  // table), removes what a stopped publish left in parts/ (folders no
  // manifest version names), moves the parts into parts/ and fsyncs it,
  // writes the manifest (fsynced, renamed, the folder fsynced), then
  // deletes versions beyond the newest `keep_versions` (the active one
  // always stays) and removes `staging_dir`. Returns the new manifest. A
  // crash at any step leaves the previous manifest, or the new one whole,
  // and the next publish succeeds.
  // REQUIRES: keep_versions >= 1.
  // With kReplacePartitions the table must be partitioned
  // (kInvalidArgument) and the active version's other partitions are kept;
  // the parts must have been encoded with the active version's key mapping
  // (kFailedPrecondition if another load changed it meanwhile).
  // `details` are recorded with the new version.
  // A sharded version (details.shard_count > 0, each part's shard set)
  // replaces the whole table: kInvalidArgument with kReplacePartitions, and
  // a partition load into a table whose active version is sharded is
  // kFailedPrecondition.
  absl::StatusOr<TableManifest> Publish(const Schema& schema, const std::filesystem::path& staging_dir,
                                        std::vector<PartInfo> parts, uint64_t keep_versions,
                                        PublishMode mode = PublishMode::kReplaceTable, VersionDetails details = {});

  // Stages shard build.index of a sharded build, whose other shards other
  // loads (processes, machines) build: under the table lock, moves
  // `staging_dir` (its parts, every one of that shard) into
  // staging/shards-<build.id>/ and records it, replacing what an earlier
  // run of the same shard staged. When that completes the build (every
  // shard 0..count-1 staged), publishes all of them as one new version, as
  // Publish would, and returns its manifest; until then returns nullopt.
  // kInvalidArgument for a bad build id; kFailedPrecondition when the
  // schema differs from the table's, or shards of the build were staged
  // with another shard count or schema.
  absl::StatusOr<std::optional<TableManifest>> StageShard(const Schema& schema,
                                                          const std::filesystem::path& staging_dir,
                                                          std::vector<PartInfo> parts, const ShardBuild& build,
                                                          uint64_t keep_versions, VersionDetails details);

  // Publishes a new version: the active one without the partition whose
  // value has the text form `partition`. Its files are deleted once no kept
  // version uses them. kNotFound for an absent partition; kInvalidArgument
  // for an unpartitioned table or a value that does not parse;
  // kFailedPrecondition for the last partition.
  absl::StatusOr<TableManifest> DropPartition(std::string_view partition, uint64_t keep_versions);

  // Makes the kept version `to_version` active (0: the newest kept version
  // older than the active one). kNotFound for an unknown version;
  // kFailedPrecondition when there is no older version. `before_commit` is
  // called under the table lock with the manifest about to be written (so
  // that no publish can prune the version meanwhile, e.g. to open it); its
  // error is returned and nothing is written.
  absl::StatusOr<TableManifest> Rollback(
      uint64_t to_version,
      absl::FunctionRef<absl::Status(const TableManifest&)> before_commit = [](const TableManifest&) {
        return absl::OkStatus();
      });

 private:
  absl::Status WriteManifest(const TableManifest& manifest) const;
  // The table's manifest, or a new one for `schema` when the table has
  // never been published; kFailedPrecondition when the schemas differ.
  absl::StatusOr<TableManifest> ManifestFor(const Schema& schema) const;
  // Publish, with the table lock held.
  absl::StatusOr<TableManifest> PublishLocked(TableManifest manifest, const std::filesystem::path& staging_dir,
                                              std::vector<PartInfo> parts, uint64_t keep_versions, PublishMode mode,
                                              VersionDetails details);
  // Creates parts/ if needed and removes its folders that no version of
  // `manifest` names. REQUIRES: the table lock is held.
  absl::Status RemoveUnreferencedParts(const TableManifest& manifest) const;
  // Adds a version numbered manifest->next_version with `parts` (sorted
  // into key order here), makes it active, prunes beyond keep_versions,
  // writes the manifest and deletes the parts no kept version uses.
  // REQUIRES: the table lock is held.
  absl::Status CommitVersion(TableManifest* manifest, std::vector<PartInfo> parts, uint64_t keep_versions,
                             VersionDetails details);

  std::filesystem::path data_dir_;
  std::string table_;
  std::filesystem::path path_;
};

}  // namespace predstore
