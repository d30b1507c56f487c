#include "core/snapshot/prediction_store.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <optional>

#include "core/base/logging.h"
#include "core/base/crash_points.h"
#include "core/base/status_macros.h"
#include "core/base/strings.h"
#include "core/snapshot/memory_index.h"
#include "core/snapshot/storage_options.h"
#include "rocksdb/db.h"
#include "rocksdb/iterator.h"
#include "rocksdb/perf_context.h"
#include "rocksdb/statistics.h"
#include "rocksdb/perf_level.h"

namespace predstore {
namespace fs = std::filesystem;
namespace {

using internal::FromRocksStatus;

}  // namespace

// Bytes of the memory budget in use, shared by the store and its parts
// (a part may outlive the store's last snapshot of it).
using MemoryBudget = std::atomic<uint64_t>;

struct TableSnapshot::Part {
  ~Part() {
    if (memory_budget != nullptr) memory_budget->fetch_sub(memory_bytes);
  }
  bool indexed() const { return memory_budget != nullptr; }

  std::string dir;
  std::unique_ptr<rocksdb::DB> db;
  MemoryIndex index;  // every row, when indexed()
  uint64_t memory_bytes = 0;
  std::shared_ptr<MemoryBudget> memory_budget;  // set once the index is complete
};

struct PredictionStore::Resources {
  rocksdb::Options options;
  std::shared_ptr<rocksdb::Cache> block_cache;
  std::shared_ptr<MemoryBudget> memory_used = std::make_shared<MemoryBudget>(0);
  std::mutex mu;  // guards open_parts
  absl::flat_hash_map<std::string, std::weak_ptr<const TableSnapshot::Part>> open_parts;
};

TableSnapshot::TableSnapshot(std::string table, TableManifest manifest)
    : table_(std::move(table)),
      manifest_(std::move(manifest)),
      info_(manifest_.Find(manifest_.active_version)),
      version_(manifest_.active_version),
      key_codec_(manifest_.schema, info_->key_mapping),
      value_codec_(manifest_.schema) {}

TableSnapshot::~TableSnapshot() = default;

absl::Status TableSnapshot::CheckShard(std::span<const Cell> key, std::string_view what) const {
  if (!shard_) return absl::OkStatus();
  const uint32_t owner = ShardOfKey(schema(), key, shard_->count);
  if (owner == shard_->index) return absl::OkStatus();
  return absl::FailedPreconditionError(StrCat(what, " belongs to shard ", owner, " of table \"", table_, "\" (",
                                              shard_->count, " shards); this server serves shard ", shard_->index,
                                              ": route keys by the table's shard map (GetTable)"));
}

const TableSnapshot::Part* TableSnapshot::PartFor(std::string_view key) const {
  if (parts_.empty()) return nullptr;  // a shard without keys
  if (!schema().partition_column()) return parts_.front().get();
  auto prefix_length = key_codec_.PartitionPrefixLength(key);
  if (!prefix_length.ok()) return nullptr;
  std::string_view prefix = key.substr(0, *prefix_length);
  auto it = std::lower_bound(part_prefixes_.begin(), part_prefixes_.end(), prefix);
  if (it == part_prefixes_.end() || *it != prefix) return nullptr;
  return parts_[it - part_prefixes_.begin()].get();
}

absl::StatusOr<bool> TableSnapshot::Get(std::string_view key,
                                        absl::FunctionRef<void(std::string_view)> on_found) const {
  const Part* part = PartFor(key);
  if (!part) return false;
  if (part->indexed()) {
    const std::optional<std::string_view> value = part->index.Find(key);
    if (!value) return false;
    on_found(*value);
    return true;
  }
  rocksdb::PinnableSlice value;
  rocksdb::Status status = part->db->Get(rocksdb::ReadOptions(), part->db->DefaultColumnFamily(),
                                         rocksdb::Slice(key.data(), key.size()), &value);
  if (status.IsNotFound()) return false;
  PREDSTORE_RETURN_IF_ERROR(FromRocksStatus(status, part->dir));
  on_found(std::string_view(value.data(), value.size()));
  return true;
}

absl::Status TableSnapshot::MultiGet(std::span<const std::string_view> keys,
                                     absl::FunctionRef<void(size_t, const std::string_view*)> visit) const {
  const size_t n = keys.size();
  std::vector<const Part*> part_of(n);
  bool all_in_memory = true;
  for (size_t i = 0; i < n; ++i) {
    part_of[i] = PartFor(keys[i]);
    if (part_of[i] != nullptr && !part_of[i]->indexed()) all_in_memory = false;
  }
  if (all_in_memory) {
    // Every key's part is in memory: probe and visit, no RocksDB machinery.
    // The batch's cache misses overlap instead of being paid one key at a
    // time: every key's slot is prefetched, then every key's matching
    // entries (its key and value), then every key is found, then visited.
    std::vector<uint64_t> hashes(n);
    for (size_t i = 0; i < n; ++i) {
      if (part_of[i] == nullptr) continue;
      hashes[i] = MemoryIndex::HashOf(keys[i]);
      part_of[i]->index.Prefetch(hashes[i]);
    }
    for (size_t i = 0; i < n; ++i) {
      if (part_of[i] != nullptr) part_of[i]->index.PrefetchEntry(hashes[i]);
    }
    std::vector<std::optional<std::string_view>> found(n);
    for (size_t i = 0; i < n; ++i) {
      if (part_of[i] != nullptr) found[i] = part_of[i]->index.Find(keys[i], hashes[i]);
    }
    for (size_t i = 0; i < n; ++i) visit(i, found[i] ? &*found[i] : nullptr);
    return absl::OkStatus();
  }
  std::vector<rocksdb::Slice> slices(n);
  std::vector<rocksdb::PinnableSlice> values(n);
  std::vector<rocksdb::Status> statuses(n);
  std::vector<size_t> group;  // indices of the keys of one part
  std::vector<rocksdb::Slice> group_slices;
  std::vector<bool> done(n, false);
  for (size_t i = 0; i < n; ++i) {
    if (done[i]) continue;
    const Part* part = part_of[i];
    group.clear();
    for (size_t j = i; j < n; ++j) {
      if (!done[j] && part_of[j] == part) {
        group.push_back(j);
        done[j] = true;
      }
    }
    if (!part) {
      for (size_t j : group) statuses[j] = rocksdb::Status::NotFound();
      continue;
    }
    if (part->indexed()) {  // a partition in memory beside others that are not
      for (size_t j : group) {
        const std::optional<std::string_view> value = part->index.Find(keys[j]);
        if (!value) {
          statuses[j] = rocksdb::Status::NotFound();
        } else {
          values[j].PinSelf(rocksdb::Slice(value->data(), value->size()));
        }
      }
      continue;
    }
    group_slices.clear();
    for (size_t j : group) group_slices.emplace_back(keys[j].data(), keys[j].size());
    std::vector<rocksdb::PinnableSlice> group_values(group.size());
    std::vector<rocksdb::Status> group_statuses(group.size());
    part->db->MultiGet(rocksdb::ReadOptions(), part->db->DefaultColumnFamily(), group.size(), group_slices.data(),
                       group_values.data(), group_statuses.data());
    for (size_t k = 0; k < group.size(); ++k) {
      statuses[group[k]] = std::move(group_statuses[k]);
      values[group[k]] = std::move(group_values[k]);
    }
  }
  for (size_t i = 0; i < n; ++i) {
    if (!statuses[i].ok() && !statuses[i].IsNotFound()) return FromRocksStatus(statuses[i], table_);
  }
  for (size_t i = 0; i < n; ++i) {
    if (statuses[i].ok()) {
      std::string_view value(values[i].data(), values[i].size());
      visit(i, &value);
    } else {
      visit(i, nullptr);
    }
  }
  return absl::OkStatus();
}

namespace {

// Data-block counters of this thread's PerfContext around one scan.
class DataBlockCounter {
 public:
  DataBlockCounter() : previous_level_(rocksdb::GetPerfLevel()) {
    rocksdb::SetPerfLevel(rocksdb::PerfLevel::kEnableCount);
    rocksdb::get_perf_context()->Reset();
  }
  ~DataBlockCounter() { rocksdb::SetPerfLevel(previous_level_); }
  void Collect(ScanStats* stats) const {
    const rocksdb::PerfContext& c = *rocksdb::get_perf_context();
    stats->data_blocks_read = c.block_read_count - c.index_block_read_count - c.filter_block_read_count;
    stats->data_blocks_cached = c.block_cache_hit_count - c.block_cache_index_hit_count - c.block_cache_filter_hit_count;
  }

 private:
  rocksdb::PerfLevel previous_level_;
};

bool InRange(const Cell& cell, const ScanQuery::Range& range) {
  return (!range.low || !(cell < *range.low)) && (!range.high || !(*range.high < cell));
}

}  // namespace

absl::StatusOr<ScanResult> TableSnapshot::Scan(
    const ScanQuery& query, absl::FunctionRef<void(std::string_view, std::string_view)> on_row) const {
  const auto start = std::chrono::steady_clock::now();
  const auto& columns = schema().lookup_columns();
  if (query.ranges.size() > columns.size()) {
    return absl::InvalidArgumentError(StrCat("the query has ", query.ranges.size(), " ranges for ",
                                             columns.size(), " key columns"));
  }
  std::vector<ScanQuery::Range> ranges = query.ranges;
  ranges.resize(columns.size());
  for (size_t i = 0; i < columns.size(); ++i) {
    const ScanQuery::Range& r = ranges[i];
    for (const std::optional<Cell>* bound : {&r.low, &r.high}) {
      if (*bound && !CellHasType(**bound, columns[i].type)) {
        return absl::InvalidArgumentError(
            StrCat("column \"", columns[i].name, "\": a bound is not of the column's type ", ColumnTypeName(columns[i].type)));
      }
    }
    if (r.low && r.high && *r.high < *r.low) {
      return absl::InvalidArgumentError(StrCat("column \"", columns[i].name, "\": the range's low ",
                                               FormatCell(ViewOf(*r.low)), " is above its high ",
                                               FormatCell(ViewOf(*r.high))));
    }
  }
  if (!query.resume_after.empty() && !key_codec_.Decode(query.resume_after).ok()) {
    return absl::InvalidArgumentError("resume key (page token) is not a key of this table");
  }

  // The box over the curve coordinates (zorder, hilbert; none in the
  // linear layout, which seeks to the first key column's low bound and
  // filters the rest). A normalised curve's box is over codes: it holds
  // every row of the query's box and some more, which the filter drops.
  const auto& curve_columns = key_codec_.curve_columns();
  const auto& widths = key_codec_.curve_widths();
  ZPoint low{}, high{};
  for (size_t j = 0; j < curve_columns.size(); ++j) {
    const ScanQuery::Range& r = ranges[curve_columns[j]];
    low[j] = r.low ? key_codec_.CurveCoordinate(j, *r.low) : 0;
    high[j] = r.high ? key_codec_.CurveCoordinate(j, *r.high)
                     : (widths[j] == 64 ? UINT64_MAX : (uint64_t{1} << widths[j]) - 1);
  }
  const size_t first_key = schema().partition_column() ? 1 : 0;
  const bool linear = schema().layout() == KeyLayout::kLinear;
  bool filter_keys = false;
  for (size_t i = first_key; i < columns.size(); ++i) {
    const bool exact_on_curve = IsIntegerLike(columns[i].type) && !key_codec_.normalized();
    if ((linear || !exact_on_curve) && (ranges[i].low || ranges[i].high)) filter_keys = true;
  }
  ZBox box(widths, low, high);

  ScanResult result;
  DataBlockCounter counter;
  rocksdb::ReadOptions read_options;
  std::string seek_key;
  for (size_t p = 0; p < parts_.size(); ++p) {
    const std::string& prefix = part_prefixes_[p];
    if (schema().partition_column()) {
      PREDSTORE_ASSIGN_OR_RETURN(Cell partition, ParseCell(schema().partition_column()->type, *info_->parts[p].partition));
      if (!InRange(partition, ranges[0])) continue;
    }
    std::string_view resume = query.resume_after;
    if (!resume.empty() && resume.substr(0, prefix.size()) != prefix) {
      if (std::string_view(prefix) < resume) continue;  // this part ends before the resume key
      resume = {};
    }
    ++result.stats.parts_visited;
    const Part& part = *parts_[p];
    // A part held in the memory index is read past the block cache, which
    // would otherwise hold its scanned rows a second time.
    read_options.fill_cache = !part.indexed();
    std::unique_ptr<rocksdb::Iterator> it(part.db->NewIterator(read_options));
    seek_key.assign(prefix);
    if (!curve_columns.empty()) key_codec_.AppendCurve(*key_codec_.FirstInBox(box), &seek_key);
    if (linear && ranges[first_key].low) KeyCodec::AppendColumn(*ranges[first_key].low, columns[first_key].type, &seek_key);
    if (!resume.empty() && std::string_view(seek_key) < resume) seek_key.assign(resume);
    it->Seek(seek_key);
    ++result.stats.seeks;
    for (; it->Valid(); ) {
      rocksdb::Slice raw = it->key();
      std::string_view key(raw.data(), raw.size());
      if (key.substr(0, prefix.size()) != prefix) break;
      ++result.stats.keys_examined;
      if (!resume.empty() && key == resume) {
        it->Next();
        continue;
      }
      if (!curve_columns.empty()) {
        if (key.size() < prefix.size() + key_codec_.curve_bytes()) return absl::DataLossError(StrCat(table_, ": short key"));
        ZPoint point = key_codec_.ReadCurve(key.substr(prefix.size()));
        if (!box.Contains(point)) {
          std::optional<ZPoint> next = key_codec_.NextInBox(box, point);
          if (!next) break;
          seek_key.assign(prefix);
          key_codec_.AppendCurve(*next, &seek_key);
          it->Seek(seek_key);
          ++result.stats.seeks;
          continue;
        }
      }
      bool matches = true;
      if (filter_keys) {
        PREDSTORE_ASSIGN_OR_RETURN(std::vector<Cell> cells, key_codec_.Decode(key));
        // Linear layout: past the first key column's range, nothing more matches.
        if (linear && ranges[first_key].high && *ranges[first_key].high < cells[first_key]) break;
        for (size_t i = first_key; i < columns.size() && matches; ++i) matches = InRange(cells[i], ranges[i]);
      }
      if (matches) {
        rocksdb::Slice value = it->value();
        on_row(key, std::string_view(value.data(), value.size()));
        ++result.stats.rows_returned;
        if (query.limit && result.stats.rows_returned == query.limit) {
          result.resume_after.assign(key);
          break;
        }
      }
      it->Next();
    }
    PREDSTORE_RETURN_IF_ERROR(FromRocksStatus(it->status(), part.dir));
    if (!result.resume_after.empty()) break;
  }
  counter.Collect(&result.stats);
  result.stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

PredictionStore::PredictionStore(StoreOptions options)
    : options_(std::move(options)), resources_(std::make_unique<Resources>()) {
  resources_->block_cache = rocksdb::NewLRUCache(options_.block_cache_bytes);
  resources_->options = internal::PredictionTableOptions(resources_->block_cache);
  // Tickers only: a per-core relaxed add each, no timers or histograms.
  resources_->options.statistics = rocksdb::CreateDBStatistics();
  resources_->options.statistics->set_stats_level(rocksdb::StatsLevel::kExceptHistogramOrTimers);
}

PredictionStore::~PredictionStore() = default;

absl::StatusOr<std::unique_ptr<PredictionStore>> PredictionStore::Open(StoreOptions options) {
  std::error_code error;
  fs::create_directories(options.data_dir, error);
  if (error) return absl::PermissionDeniedError(StrCat(options.data_dir.string(), ": ", error.message()));
  auto store = std::unique_ptr<PredictionStore>(new PredictionStore(std::move(options)));
  store->catalog_.store(std::make_shared<const Catalog>());
  auto refreshed = store->Refresh("");
  if (!refreshed.ok()) LogWarning("opening tables: ", refreshed.status().ToString());
  return store;
}

std::shared_ptr<const TableSnapshot> PredictionStore::Find(std::string_view table) const {
  std::shared_ptr<const Catalog> catalog = catalog_.load(std::memory_order_acquire);
  auto it = catalog->find(ToAbsl(table));
  return it == catalog->end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<const TableSnapshot>> PredictionStore::Tables() const {
  std::shared_ptr<const Catalog> catalog = catalog_.load(std::memory_order_acquire);
  std::vector<std::shared_ptr<const TableSnapshot>> tables;
  for (const auto& [name, snapshot] : *catalog) tables.push_back(snapshot);
  std::sort(tables.begin(), tables.end(), [](const auto& a, const auto& b) { return a->table() < b->table(); });
  return tables;
}

uint64_t PredictionStore::memory_index_bytes_in_use() const { return resources_->memory_used->load(); }

PredictionStore::BlockCacheReading PredictionStore::block_cache_reading() const {
  const rocksdb::Statistics& statistics = *resources_->options.statistics;
  return {.usage_bytes = resources_->block_cache->GetUsage(),
          .capacity_bytes = resources_->block_cache->GetCapacity(),
          .hits = statistics.getTickerCount(rocksdb::BLOCK_CACHE_HIT),
          .misses = statistics.getTickerCount(rocksdb::BLOCK_CACHE_MISS)};
}

void PredictionStore::Publish(std::shared_ptr<const Catalog> catalog) {
  catalog_.store(std::move(catalog), std::memory_order_release);
}

absl::StatusOr<std::shared_ptr<const TableSnapshot>> PredictionStore::OpenSnapshot(const std::string& table,
                                                                                    TableManifest manifest,
                                                                                    const TableSnapshot* replacing) {
  auto snapshot = std::shared_ptr<TableSnapshot>(new TableSnapshot(table, std::move(manifest)));
  const fs::path table_path = options_.data_dir / table;
  uint64_t freed = 0;
  if (replacing != nullptr) {
    for (const auto& part : replacing->parts_) {
      const bool shared = std::any_of(snapshot->info().parts.begin(), snapshot->info().parts.end(),
                                      [&](const PartInfo& info) { return (table_path / info.dir).string() == part->dir; });
      if (part->indexed() && !shared) freed += part->memory_bytes;
    }
  }
  const uint32_t shard_count = snapshot->info().shard_count;
  if (shard_count > 0) {
    if (!options_.shard || options_.shard->count != shard_count) {
      return absl::FailedPreconditionError(StrCat(
          table, ": version ", snapshot->version(), " is sharded ", shard_count, " ways, and a server serves one "
          "shard of it: ", options_.shard ? StrCat("this one serves shard ", options_.shard->index, "/",
                                                   options_.shard->count)
                                          : StrCat("start it with --shard=i/", shard_count)));
    }
    snapshot->shard_ = options_.shard;
  }
  for (const PartInfo& info : snapshot->info().parts) {
    if (shard_count > 0 && info.shard != options_.shard->index) continue;
    std::string prefix;
    if (snapshot->schema().partition_column()) {
      if (!info.partition) return absl::DataLossError(StrCat(table, ": part ", info.dir, " lacks its partition"));
      PREDSTORE_ASSIGN_OR_RETURN(Cell cell, ParseCell(snapshot->schema().partition_column()->type, *info.partition));
      snapshot->key_codec().EncodePartition(cell, &prefix);
    }
    std::string dir = (table_path / info.dir).string();
    std::shared_ptr<const TableSnapshot::Part> part;
    {
      std::lock_guard<std::mutex> lock(resources_->mu);
      part = resources_->open_parts[dir].lock();
    }
    if (!part) {
      rocksdb::DB* raw = nullptr;
      PREDSTORE_RETURN_IF_ERROR(FromRocksStatus(rocksdb::DB::OpenForReadOnly(resources_->options, dir, &raw), dir));
      auto opened = std::make_shared<TableSnapshot::Part>();
      opened->dir = dir;
      opened->db.reset(raw);
      BuildMemoryIndex(*opened, freed);
      if (options_.warm_block_cache && !opened->indexed()) WarmBlockCache(*opened->db, dir);
      part = std::move(opened);
      std::lock_guard<std::mutex> lock(resources_->mu);
      resources_->open_parts[dir] = part;
    }
    snapshot->part_prefixes_.push_back(std::move(prefix));
    snapshot->parts_.push_back(std::move(part));
  }
  if (snapshot->parts_.empty() && shard_count == 0) {
    return absl::DataLossError(StrCat(table, ": active version has no parts"));
  }
  return snapshot;
}

void PredictionStore::BuildMemoryIndex(TableSnapshot::Part& part, uint64_t freed) {
  const uint64_t budget = options_.memory_index_bytes;
  MemoryBudget& used = *resources_->memory_used;
  if (budget == 0) return;
  // Read past the block cache: the rows are copied here, and caching their
  // blocks too would hold every row twice.
  rocksdb::ReadOptions read_options;
  read_options.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(part.db->NewIterator(read_options));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    part.index.Add(std::string_view(it->key().data(), it->key().size()),
                   std::string_view(it->value().data(), it->value().size()));
    if (used.load() + part.index.bytes() > budget + freed) {  // does not fit: this part reads RocksDB
      part.index = {};
      return;
    }
  }
  if (!it->status().ok()) {
    LogWarning(part.dir, ": building the memory index: ", it->status().ToString());
    part.index = {};
    return;
  }
  part.index.Seal();
  part.memory_bytes = part.index.bytes();
  used.fetch_add(part.memory_bytes);
  part.memory_budget = resources_->memory_used;
}

void PredictionStore::WarmBlockCache(rocksdb::DB& db, const std::string& dir) {
  uint64_t file_bytes = 0;
  const rocksdb::Cache& cache = *resources_->block_cache;
  if (!db.GetIntProperty("rocksdb.total-sst-files-size", &file_bytes)) return;
  const uint64_t free_bytes = cache.GetCapacity() - std::min(cache.GetCapacity(), cache.GetUsage());
  if (file_bytes * 3 > free_bytes) return;
  rocksdb::ReadOptions read_options;
  read_options.fill_cache = true;
  std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(read_options));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
  }
  if (!it->status().ok()) LogWarning(dir, ": warming the block cache: ", it->status().ToString());
}

absl::StatusOr<std::shared_ptr<const TableSnapshot>> PredictionStore::Reload(const std::string& table,
                                                                              const Catalog& current) {
  TableDirectory directory(options_.data_dir, table);
  PREDSTORE_ASSIGN_OR_RETURN(TableManifest manifest, directory.ReadManifest());
  auto it = current.find(table);
  if (it != current.end() && it->second->version() == manifest.active_version) {
    if (it->second->manifest().versions.size() == manifest.versions.size() &&
        it->second->manifest().versions.front().version == manifest.versions.front().version) {
      return it->second;
    }
  }
  PREDSTORE_ASSIGN_OR_RETURN(auto snapshot,
                             OpenSnapshot(table, std::move(manifest), it == current.end() ? nullptr : it->second.get()));
  if (it == current.end() || it->second->version() != snapshot->version()) {
    LogInfo("table ", table, ": serving version ", snapshot->version(), " (", snapshot->info().row_count, " rows)");
  }
  return snapshot;
}

absl::StatusOr<std::vector<std::shared_ptr<const TableSnapshot>>> PredictionStore::Refresh(std::string_view table) {
  std::lock_guard<std::mutex> lock(writer_mu_);
  std::shared_ptr<const Catalog> current = catalog_.load();
  std::vector<std::string> names;
  if (table.empty()) {
    PREDSTORE_ASSIGN_OR_RETURN(names, TableDirectory::ListTables(options_.data_dir));
  } else {
    PREDSTORE_RETURN_IF_ERROR(TableDirectory::ValidateTableName(table));
    names.emplace_back(table);
  }
  auto next = std::make_shared<Catalog>(*current);
  absl::Status first_error;
  std::vector<std::shared_ptr<const TableSnapshot>> served;
  for (const std::string& name : names) {
    auto snapshot = Reload(name, *current);
    if (!snapshot.ok()) {
      LogError("table ", name, ": ", snapshot.status().ToString());
      if (first_error.ok()) first_error = snapshot.status();
      continue;
    }
    (*next)[name] = *snapshot;
    served.push_back(*snapshot);
  }
  CrashPoint("refresh:opened");
  Publish(std::move(next));
  if (!first_error.ok() && (!table.empty() || served.empty())) return first_error;
  return served;
}

absl::StatusOr<std::shared_ptr<const TableSnapshot>> PredictionStore::Rollback(std::string_view table,
                                                                                uint64_t to_version) {
  PREDSTORE_RETURN_IF_ERROR(TableDirectory::ValidateTableName(table));
  std::lock_guard<std::mutex> lock(writer_mu_);
  TableDirectory directory(options_.data_dir, std::string(table));
  // The snapshot is opened under the table lock, before the manifest names
  // it: a load publishing meanwhile waits, so it cannot prune the version
  // between the two (which failed a rollback that had been applied), and a
  // version that cannot be opened is never made active.
  std::shared_ptr<const TableSnapshot> snapshot;
  std::shared_ptr<const TableSnapshot> replacing;
  if (auto current = catalog_.load(); current->contains(ToAbsl(table))) replacing = current->at(ToAbsl(table));
  PREDSTORE_RETURN_IF_ERROR(directory
                                .Rollback(to_version,
                                          [&](const TableManifest& manifest) -> absl::Status {
                                            PREDSTORE_ASSIGN_OR_RETURN(snapshot,
                                                                       OpenSnapshot(std::string(table), manifest,
                                                                                    replacing.get()));
                                            return absl::OkStatus();
                                          })
                                .status());
  auto next = std::make_shared<Catalog>(*catalog_.load());
  (*next)[std::string(table)] = snapshot;
  Publish(std::move(next));
  LogInfo("table ", table, ": rolled back to version ", snapshot->version());
  return std::shared_ptr<const TableSnapshot>(snapshot);
}

}  // namespace predstore
