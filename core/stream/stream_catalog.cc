#include "core/stream/stream_catalog.h"

#include "absl/status/status.h"
#include "core/base/status_macros.h"
#include "core/base/strings.h"
#include "core/snapshot/table_directory.h"

namespace predstore {
namespace {

constexpr char kStreamFolder[] = "stream";

}  // namespace

absl::StatusOr<std::unique_ptr<StreamCatalog>> StreamCatalog::Open(std::filesystem::path data_dir,
                                                                   StreamOptions options) {
  std::unique_ptr<StreamCatalog> catalog(new StreamCatalog(std::move(data_dir), std::move(options)));
  catalog->stores_.store(std::make_shared<const Stores>());
  std::error_code error;
  if (!std::filesystem::is_directory(catalog->data_dir_, error)) return catalog;
  for (const auto& entry : std::filesystem::directory_iterator(catalog->data_dir_, error)) {
    if (!std::filesystem::is_directory(entry.path() / kStreamFolder)) continue;
    const std::string table = entry.path().filename().string();
    if (!TableDirectory::ValidateTableName(table).ok()) continue;
    absl::StatusOr<StreamStore*> store = catalog->OpenOrCreate(table);
    if (!store.ok()) {
      return absl::UnavailableError(StrCat("stream store of table \"", table, "\": ", FromAbsl(store.status().message())));
    }
  }
  return catalog;
}

StreamStore* StreamCatalog::Find(std::string_view table) const {
  const std::shared_ptr<const Stores> stores = stores_.load(std::memory_order_acquire);
  auto found = stores->find(table);
  return found == stores->end() ? nullptr : found->second.get();
}

absl::StatusOr<StreamStore*> StreamCatalog::OpenOrCreate(std::string_view table) {
  std::lock_guard<std::mutex> lock(open_mutex_);
  const std::shared_ptr<const Stores> current = stores_.load(std::memory_order_acquire);
  if (auto found = current->find(table); found != current->end()) return found->second.get();
  PREDSTORE_ASSIGN_OR_RETURN(std::unique_ptr<StreamStore> store,
                             StreamStore::Open(data_dir_ / std::string(table) / kStreamFolder, options_));
  auto next = std::make_shared<Stores>(*current);
  StreamStore* raw = store.get();
  next->emplace(std::string(table), std::move(store));
  stores_.store(std::move(next), std::memory_order_release);
  return raw;
}

absl::StatusOr<uint64_t> StreamCatalog::Sweep() {
  uint64_t deleted = 0;
  for (const auto& [table, store] : *stores_.load(std::memory_order_acquire)) {
    PREDSTORE_ASSIGN_OR_RETURN(uint64_t swept, store->Sweep());
    deleted += swept;
  }
  return deleted;
}

}  // namespace predstore
