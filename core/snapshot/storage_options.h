// RocksDB settings shared by the snapshot builder (which writes SST files)
// and the prediction store (which reads them), so that both agree on the
// table format, filters and comparator. Core-internal: other folders must
// not include RocksDB headers.
#pragma once

#include <memory>
#include <string_view>

#include "absl/status/status.h"
#include "rocksdb/cache.h"
#include "rocksdb/options.h"
#include "rocksdb/status.h"

namespace predstore::internal {

// Options for writing and reading prediction SST files. `block_cache` may be
// null (the writer's case). Point lookups: 1 KiB data blocks, 10-bit bloom
// filters on whole keys, a hash index inside data blocks, index and filter blocks held by the
// open table readers (outside the block cache, so scans cannot evict them).
rocksdb::Options PredictionTableOptions(std::shared_ptr<rocksdb::Cache> block_cache);

// The one conversion of RocksDB statuses: "<context>: <rocksdb message>"
// with kResourceExhausted for a full disk, kDataLoss for corruption,
// kUnavailable for other I/O errors, kInternal otherwise.
absl::Status FromRocksStatus(const rocksdb::Status& status, std::string_view context);

}  // namespace predstore::internal
