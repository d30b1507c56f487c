// ExternalSorter sorts encoded rows by key within a memory budget. Rows are
// buffered in memory; when the buffer exceeds the budget it is sorted and
// spilled to a run file, and Finish() merges the runs. Rows with equal keys
// come out in the order they were added, so "last wins" is the last of a
// group. Not thread-safe: one producer, then one consumer.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace predstore {
namespace internal {
class MemoryStream;
}

// Where a row came from: an input file index and a 1-based line.
struct RowOrigin {
  uint32_t file = 0;
  uint64_t line = 0;
};

struct SortedRow {
  std::string_view key;
  std::string_view value;
  RowOrigin origin;
};

// A sorted sequence of rows; views stay valid until the next call to Next().
class SortedRowStream {
 public:
  virtual ~SortedRowStream() = default;
  // true: current() holds the next row; false: the end.
  virtual absl::StatusOr<bool> Next() = 0;
  virtual const SortedRow& current() const = 0;
};

class ExternalSorter {
 public:
  struct Options {
    // Memory for buffered rows and their index (16 bytes per row), claimed
    // at the first Add; a full buffer is spilled as a sorted run.
    // Default 512 MiB.
    uint64_t memory_budget_bytes = uint64_t{512} << 20;
    // Directory for run files; created if needed, files removed by the
    // sorter's destructor. Required.
    std::filesystem::path spill_dir;
  };

  explicit ExternalSorter(Options options);
  ~ExternalSorter();

  // Buffers one row; may sort and spill a run. kResourceExhausted or
  // kInternal when a run cannot be written.
  absl::Status Add(std::string_view key, std::string_view value, RowOrigin origin);

  // Ends input; the stream yields all rows in key order. Call once.
  absl::StatusOr<std::unique_ptr<SortedRowStream>> Finish();

  uint64_t rows() const { return rows_; }
  // Runs written by spills (before any merging of runs).
  int spilled_runs() const { return spilled_runs_; }

 private:
  friend class internal::MemoryStream;
  struct Entry {
    uint64_t prefix;  // 8 key bytes after the buffer's common prefix, set by SortBuffer
    uint64_t offset;  // of the row in arena_
  };
  void SortBuffer();
  absl::Status SpillBuffer();
  // Merges the `count` oldest runs into one, which takes their place.
  absl::Status MergeOldestRuns(size_t count);

  Options options_;
  std::string arena_;  // rows as [key len u32][value len u32][file u32][line u64][key][value]
  std::vector<Entry> entries_;
  std::vector<std::filesystem::path> runs_;
  uint64_t rows_ = 0;
  int merged_runs_ = 0;
  int spilled_runs_ = 0;
};

}  // namespace predstore
