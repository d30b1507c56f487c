// Builds the RocksDB part directories of one snapshot from a sorted stream
// of encoded rows: one part per partition value (one in all for an
// unpartitioned table), each a run of SST files written with SstFileWriter
// by worker threads and ingested into a fresh RocksDB directory.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/snapshot/external_sorter.h"
#include "core/snapshot/table_directory.h"
#include "core/table/key_codec.h"

namespace predstore {

struct BuildOptions {
  // Equal keys: false rejects the load naming both rows; true keeps the row
  // added last. Default false.
  bool last_wins = false;
  // Called every 1M rows written with the count so far. May be empty.
  std::function<void(uint64_t rows_written)> on_rows;
  // Threads writing SST files: a part is cut into files of about
  // `sst_file_bytes` of keys and values, written side by side and ingested
  // together. 0 workers: one per core.
  int workers = 0;
  size_t sst_file_bytes = size_t{16} << 20;
};

struct BuildResult {
  std::vector<PartInfo> parts;  // dirs relative to the staging dir
  uint64_t rows = 0;
  uint64_t duplicates_dropped = 0;  // with last_wins
};

// Consumes `rows` and writes the parts under `staging_dir`. `input_paths`
// name the files RowOrigin::file indexes, for the duplicate-key error
// (kInvalidArgument "file:line: duplicate key ..."). kInvalidArgument too
// when there are no rows; kInternal/kResourceExhausted for write failures.
absl::StatusOr<BuildResult> BuildSnapshotParts(SortedRowStream& rows, const Schema& schema,
                                               const std::vector<std::string>& input_paths,
                                               const std::filesystem::path& staging_dir,
                                               const BuildOptions& options);

}  // namespace predstore
