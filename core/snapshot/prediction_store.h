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
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "core/snapshot/table_directory.h"
#include "core/table/key_codec.h"
#include "core/table/shard_hash.h"
#include "core/table/value_codec.h"

namespace rocksdb {
class DB;
}

namespace predstore {

struct StoreOptions {
  // Folder holding one sub-folder per table (see table_directory.h). Required.
  std::filesystem::path data_dir;
  // Block cache shared by every table, in bytes. Default 256 MiB. Fixed at Open.
  uint64_t block_cache_bytes = uint64_t{256} << 20;
  // Read a newly opened part's data blocks into the block cache when they
  // fit in what the cache has left (estimated at 3x the compressed files),
  // so that the first lookups after a load or swap do not each pay a file
  // read and a decompression. The swap waits for it. Default true.
  bool warm_block_cache = true;
  // Memory for in-memory copies of whole parts, shared by every table: a
  // newly opened part whose rows fit in what is left is copied into a hash
  // index, and its Get/MultiGet are answered from memory (a hash probe
  // instead of a RocksDB read); other parts, and every Scan, read RocksDB
  // (a Scan of a part in memory reads past the block cache).
  // 0 turns it off. Default 512 MiB: about 10M rows of a 3-integer key and
  // two doubles (496 MiB). A table indexed once stays indexed across its
  // publishes: the process holds the old and the new index for a moment.
  uint64_t memory_index_bytes = uint64_t{512} << 20;
  // The shard this server serves of sharded tables (docs/scale-out.md):
  // a table whose active version is sharded shard->count ways is served as
  // shard shard->index only (its parts alone are opened). A sharded table
  // is not served (its open fails kFailedPrecondition, retried by Refresh)
  // without a shard, or sharded another number of ways. Unsharded tables
  // are served whole. Fixed at Open.
  std::optional<ShardSpec> shard = std::nullopt;
};

// A box query: for any subset of the lookup columns (partition first, then
// key columns) a closed range, each bound optional.
struct ScanQuery {
  struct Range {
    std::optional<Cell> low;   // unset: unbounded below
    std::optional<Cell> high;  // unset: unbounded above
  };
  // One entry per schema.lookup_columns(); an entry with no bounds, or a
  // missing trailing entry, matches every value.
  std::vector<Range> ranges;
  // Most rows to return; 0: no limit.
  uint64_t limit = 0;
  // Resume strictly after this encoded key (a previous
  // ScanResult::resume_after); empty: from the start.
  std::string resume_after;
};

struct ScanStats {
  uint64_t keys_examined = 0;  // keys the iterators stood on
  uint64_t rows_returned = 0;
  uint64_t seeks = 0;          // iterator seeks (one per jump into the box)
  uint64_t data_blocks_read = 0;    // data blocks read from storage
  uint64_t data_blocks_cached = 0;  // data blocks found in the block cache
  uint64_t parts_visited = 0;
  double seconds = 0;
};

struct ScanResult {
  ScanStats stats;
  // Set when the limit stopped the scan: pass it as resume_after to go on.
  std::string resume_after;
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
  // The shard of a sharded table this snapshot holds (its other shards'
  // keys are absent, not missing); nullopt for a whole table.
  const std::optional<ShardSpec>& shard() const { return shard_; }
  // OK when this snapshot holds the shard of `key` (one cell per lookup
  // column), always for a whole table; else kFailedPrecondition, `what`
  // ("keys[3]") naming the key, and the message its shard and this one's:
  // a key of another shard is absent here, and a miss would be wrong.
  absl::Status CheckShard(std::span<const Cell> key, std::string_view what) const;

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

  // Calls on_row(key, value) for every row inside the query's box, in key
  // order, views valid during the call. Parts (partitions) outside the
  // partition range are skipped; within a part of a curve layout (zorder,
  // hilbert), when the iterator lands on a curve point outside the box it
  // seeks to the next curve point inside it (KeyCodec::NextInBox) instead
  // of stepping; the linear
  // layout seeks to the first key column's low bound, filters every key and
  // stops past that column's high bound. kInvalidArgument naming the
  // column for a bound of the wrong type, a range with low > high, more
  // ranges than lookup columns, or a malformed resume key.
  absl::StatusOr<ScanResult> Scan(const ScanQuery& query,
                                  absl::FunctionRef<void(std::string_view key, std::string_view value)> on_row) const;

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
  std::optional<ShardSpec> shard_;
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
  // Bytes of StoreOptions::memory_index_bytes in use by open parts.
  uint64_t memory_index_bytes_in_use() const;

  // The block cache shared by all tables: bytes held, its capacity, and
  // block reads it answered or missed since the store opened (RocksDB's
  // BLOCK_CACHE_HIT and BLOCK_CACHE_MISS tickers; lookups answered by a
  // memory index read no block).
  struct BlockCacheReading {
    uint64_t usage_bytes = 0;
    uint64_t capacity_bytes = 0;
    uint64_t hits = 0;
    uint64_t misses = 0;
  };
  BlockCacheReading block_cache_reading() const;

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
  // Opens the active version of `table` as described by `manifest`, to
  // replace `replacing` (null: none). The memory indexes of replacing's
  // parts that the new version does not share count as free while it
  // opens: they are let go once it is swapped in, so that a table indexed
  // once stays indexed across its publishes and rollbacks (the process
  // holds both indexes for a moment).
  absl::StatusOr<std::shared_ptr<const TableSnapshot>> OpenSnapshot(const std::string& table,
                                                                     TableManifest manifest,
                                                                     const TableSnapshot* replacing);
  // Reads `table`'s manifest; returns the current snapshot if its active
  // version is unchanged, else opens the new one.
  absl::StatusOr<std::shared_ptr<const TableSnapshot>> Reload(const std::string& table, const Catalog& current);
  void Publish(std::shared_ptr<const Catalog> catalog);
  // See StoreOptions::warm_block_cache.
  void WarmBlockCache(rocksdb::DB& db, const std::string& dir);
  // Copies the part's rows into its memory index if the indexes in use,
  // with it, fit the budget plus `freed` (bytes about to be let go).
  void BuildMemoryIndex(TableSnapshot::Part& part, uint64_t freed);

  StoreOptions options_;
  std::unique_ptr<Resources> resources_;
  std::atomic<std::shared_ptr<const Catalog>> catalog_;
  std::mutex writer_mu_;  // serializes Refresh and Rollback
};

}  // namespace predstore
