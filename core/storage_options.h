// RocksDB settings shared by the snapshot builder (which writes SST files)
// and the prediction store (which reads them), so that both agree on the
// table format, filters and comparator. Core-internal: other folders must
// not include RocksDB headers.
#pragma once

#include <memory>

#include "rocksdb/cache.h"
#include "rocksdb/options.h"

namespace predstore::internal {

// Options for writing and reading prediction SST files. `block_cache` may be
// null (the writer's case). Point lookups: 10-bit bloom filters on whole
// keys, a hash index inside data blocks, index and filter blocks cached with
// high priority.
rocksdb::Options PredictionTableOptions(std::shared_ptr<rocksdb::Cache> block_cache);

}  // namespace predstore::internal
