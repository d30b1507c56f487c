// The stream stores of a data directory: one StreamStore per table that has
// received events, in <data_dir>/<table>/stream. Stores are opened when the
// catalog opens (those on disk) or at a table's first event, and stay open
// for the catalog's life.
//
// Concurrency: Find() is lock-free (an atomic shared_ptr to an immutable
// map, as on the lookup path); OpenOrCreate() is serialised.
#pragma once

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/stream/stream_store.h"

namespace predstore {

class StreamCatalog {
 public:
  // Opens the stream stores found in `data_dir`. kUnavailable naming the
  // table if one cannot be opened (another process holds it, say).
  static absl::StatusOr<std::unique_ptr<StreamCatalog>> Open(std::filesystem::path data_dir, StreamOptions options);

  // The table's store, or null if it has none yet.
  StreamStore* Find(std::string_view table) const;
  // The table's store, created if needed. REQUIRES: a valid table name.
  absl::StatusOr<StreamStore*> OpenOrCreate(std::string_view table);

  // Deletes superseded versions past the retention window in every store.
  absl::StatusOr<uint64_t> Sweep();

 private:
  using Stores = std::map<std::string, std::shared_ptr<StreamStore>, std::less<>>;
  StreamCatalog(std::filesystem::path data_dir, StreamOptions options)
      : data_dir_(std::move(data_dir)), options_(std::move(options)) {}

  std::filesystem::path data_dir_;
  StreamOptions options_;
  std::mutex open_mutex_;
  std::atomic<std::shared_ptr<const Stores>> stores_;
};

}  // namespace predstore
