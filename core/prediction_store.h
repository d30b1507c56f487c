// PredictionStore serves the tables of a data directory: for each table it
// holds the active snapshot, an immutable TableSnapshot published behind a
// shared_ptr. Lookups take the current snapshot once and read only from it,
// so a swap (Refresh after a load, Rollback) never fails a lookup nor mixes
// two versions in one answer; an old snapshot closes when its last reader
// lets go.
//
// Thread-safety: Find, Tables and every TableSnapshot method may run
// concurrently with each other and with Refresh/Rollback. Refresh and
// Rollback serialize among themselves and never block readers.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "core/key_codec.h"
#include "core/table_directory.h"
#include "core/value_codec.h"

namespace predstore {

struct StoreOptions {
  // Folder holding one sub-folder per table (see table_directory.h). Required.
  std::filesystem::path data_dir;
  // Block cache shared by every table, in bytes. Default 256 MiB. Fixed at Open.
  uint64_t block_cache_bytes = uint64_t{256} << 20;
};

// One open, immutable version of a table.
class TableSnapshot {
 public:
  struct Part;  // an open RocksDB directory (defined in the .cc)

  ~TableSnapshot();

  const std::string& table() const { return table_; }
  uint64_t version() const { return version_; }
  const Schema& schema() const { return manifest_.schema; }
  // The manifest this snapshot was opened from (kept versions, load times).
  const TableManifest& manifest() const { return manifest_; }
  const SnapshotVersion& info() const { return *info_; }
  const KeyCodec& key_codec() const { return key_codec_; }
  const ValueCodec& value_codec() const { return value_codec_; }

  // Reads the row whose encoded key is `key`. On a hit calls
  // on_found(value) with the encoded value, pinned for the duration of the
  // call (decode it with value_codec()), and returns true; a miss returns
  // false. kDataLoss/kInternal for storage errors.
  absl::StatusOr<bool> Get(std::string_view key, absl::FunctionRef<void(std::string_view)> on_found) const;

  // Reads many encoded keys at once (RocksDB MultiGet per part). Calls
  // visit(i, value) for every i in key order with value null on a miss; the
  // value is pinned for the duration of the call.
  absl::Status MultiGet(std::span<const std::string_view> keys,
                        absl::FunctionRef<void(size_t, const std::string_view*)> visit) const;

 private:
  friend class PredictionStore;
  TableSnapshot(std::string table, TableManifest manifest);

  const Part* PartFor(std::string_view key) const;

  std::string table_;
  TableManifest manifest_;
  const SnapshotVersion* info_ = nullptr;
  uint64_t version_ = 0;
  KeyCodec key_codec_;
  ValueCodec value_codec_;
  // Parts in key order, with their partition prefixes (empty if unpartitioned).
  std::vector<std::string> part_prefixes_;
  std::vector<std::shared_ptr<const Part>> parts_;
};

class PredictionStore {
 public:
  // Opens every table of the data directory (creating the folder if needed).
  // A table that fails to open is logged and left out; Refresh retries it.
  static absl::StatusOr<std::unique_ptr<PredictionStore>> Open(StoreOptions options);
  ~PredictionStore();

  // The active snapshot of `table`, or null. Never blocks on I/O.
  std::shared_ptr<const TableSnapshot> Find(std::string_view table) const;
  // Every served table's snapshot, sorted by name.
  std::vector<std::shared_ptr<const TableSnapshot>> Tables() const;

  // Re-reads manifests (one table, or all when `table` is empty) and swaps
  // in each table whose active version changed. Returns the snapshots now
  // served. kNotFound for an unknown table; a table that fails to open
  // keeps serving its previous snapshot and its error is returned.
  absl::StatusOr<std::vector<std::shared_ptr<const TableSnapshot>>> Refresh(std::string_view table);

  // Rolls `table` back on disk (TableDirectory::Rollback) and swaps to it.
  absl::StatusOr<std::shared_ptr<const TableSnapshot>> Rollback(std::string_view table, uint64_t to_version);

  const std::filesystem::path& data_dir() const { return options_.data_dir; }

 private:
  using Catalog = absl::flat_hash_map<std::string, std::shared_ptr<const TableSnapshot>>;
  struct Resources;  // block cache and open parts, shared by snapshots

  explicit PredictionStore(StoreOptions options);
  // Opens the active version of `table` as described by `manifest`.
  absl::StatusOr<std::shared_ptr<const TableSnapshot>> OpenSnapshot(const std::string& table,
                                                                     TableManifest manifest);
  // Reads `table`'s manifest; returns the current snapshot if its active
  // version is unchanged, else opens the new one.
  absl::StatusOr<std::shared_ptr<const TableSnapshot>> Reload(const std::string& table, const Catalog& current);
  void Publish(std::shared_ptr<const Catalog> catalog);

  StoreOptions options_;
  std::unique_ptr<Resources> resources_;
  std::atomic<std::shared_ptr<const Catalog>> catalog_;
  std::mutex writer_mu_;  // serializes Refresh and Rollback
};

}  // namespace predstore
