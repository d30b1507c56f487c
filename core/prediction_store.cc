#include "core/prediction_store.h"

#include <algorithm>

#include "core/strings.h"
#include "core/logging.h"
#include "core/status_macros.h"
#include "core/storage_options.h"
#include "rocksdb/db.h"

namespace predstore {
namespace fs = std::filesystem;
namespace {

absl::Status FromRocks(const rocksdb::Status& status, std::string_view context) {
  if (status.ok()) return absl::OkStatus();
  std::string message = StrCat(context, ": ", status.ToString());
  if (status.IsCorruption()) return absl::DataLossError(message);
  if (status.IsIOError()) return absl::UnavailableError(message);
  return absl::InternalError(message);
}

}  // namespace

struct TableSnapshot::Part {
  std::string dir;
  std::unique_ptr<rocksdb::DB> db;
};

struct PredictionStore::Resources {
  rocksdb::Options options;
  std::mutex mu;  // guards open_parts
  absl::flat_hash_map<std::string, std::weak_ptr<const TableSnapshot::Part>> open_parts;
};

TableSnapshot::TableSnapshot(std::string table, TableManifest manifest)
    : table_(std::move(table)),
      manifest_(std::move(manifest)),
      info_(manifest_.Find(manifest_.active_version)),
      version_(manifest_.active_version),
      key_codec_(manifest_.schema),
      value_codec_(manifest_.schema) {}

TableSnapshot::~TableSnapshot() = default;

const TableSnapshot::Part* TableSnapshot::PartFor(std::string_view key) const {
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
  rocksdb::PinnableSlice value;
  rocksdb::Status status = part->db->Get(rocksdb::ReadOptions(), part->db->DefaultColumnFamily(),
                                         rocksdb::Slice(key.data(), key.size()), &value);
  if (status.IsNotFound()) return false;
  PREDSTORE_RETURN_IF_ERROR(FromRocks(status, part->dir));
  on_found(std::string_view(value.data(), value.size()));
  return true;
}

absl::Status TableSnapshot::MultiGet(std::span<const std::string_view> keys,
                                     absl::FunctionRef<void(size_t, const std::string_view*)> visit) const {
  const size_t n = keys.size();
  std::vector<const Part*> part_of(n);
  for (size_t i = 0; i < n; ++i) part_of[i] = PartFor(keys[i]);
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
    if (!statuses[i].ok() && !statuses[i].IsNotFound()) return FromRocks(statuses[i], table_);
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

PredictionStore::PredictionStore(StoreOptions options)
    : options_(std::move(options)), resources_(std::make_unique<Resources>()) {
  auto cache = rocksdb::NewLRUCache(options_.block_cache_bytes);
  resources_->options = internal::PredictionTableOptions(std::move(cache));
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

void PredictionStore::Publish(std::shared_ptr<const Catalog> catalog) {
  catalog_.store(std::move(catalog), std::memory_order_release);
}

absl::StatusOr<std::shared_ptr<const TableSnapshot>> PredictionStore::OpenSnapshot(const std::string& table,
                                                                                    TableManifest manifest) {
  auto snapshot = std::shared_ptr<TableSnapshot>(new TableSnapshot(table, std::move(manifest)));
  const fs::path table_path = options_.data_dir / table;
  for (const PartInfo& info : snapshot->info().parts) {
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
      PREDSTORE_RETURN_IF_ERROR(FromRocks(rocksdb::DB::OpenForReadOnly(resources_->options, dir, &raw), dir));
      auto opened = std::make_shared<TableSnapshot::Part>();
      opened->dir = dir;
      opened->db.reset(raw);
      part = std::move(opened);
      std::lock_guard<std::mutex> lock(resources_->mu);
      resources_->open_parts[dir] = part;
    }
    snapshot->part_prefixes_.push_back(std::move(prefix));
    snapshot->parts_.push_back(std::move(part));
  }
  if (snapshot->parts_.empty()) return absl::DataLossError(StrCat(table, ": active version has no parts"));
  return snapshot;
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
  PREDSTORE_ASSIGN_OR_RETURN(auto snapshot, OpenSnapshot(table, std::move(manifest)));
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
  Publish(std::move(next));
  if (!first_error.ok() && (!table.empty() || served.empty())) return first_error;
  return served;
}

absl::StatusOr<std::shared_ptr<const TableSnapshot>> PredictionStore::Rollback(std::string_view table,
                                                                                uint64_t to_version) {
  PREDSTORE_RETURN_IF_ERROR(TableDirectory::ValidateTableName(table));
  std::lock_guard<std::mutex> lock(writer_mu_);
  TableDirectory directory(options_.data_dir, std::string(table));
  PREDSTORE_ASSIGN_OR_RETURN(TableManifest manifest, directory.Rollback(to_version));
  PREDSTORE_ASSIGN_OR_RETURN(auto snapshot, OpenSnapshot(std::string(table), std::move(manifest)));
  auto next = std::make_shared<Catalog>(*catalog_.load());
  (*next)[std::string(table)] = snapshot;
  Publish(std::move(next));
  LogInfo("table ", table, ": rolled back to version ", snapshot->version());
  return std::shared_ptr<const TableSnapshot>(snapshot);
}

}  // namespace predstore
