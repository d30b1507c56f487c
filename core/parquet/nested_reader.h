// NestedLeafChunk: one leaf column of one row group of a nested Parquet
// file (ParquetFile opened with ParquetOpenOptions::nested), read whole and
// split into rows by its repetition levels, so that a caller can assemble
// the shapes it knows (Dremel-style) from the levels: struct fields, and
// lists and maps with one repeated level (list<string>, map<string,string>,
// both the 3-level and the legacy 2-level layouts). Deeper repetition is
// read and exposed as levels but not assembled here.
//
// A chunk holds its values in memory (the pages are decoded one at a
// time): the caller reads only the leaves it needs, row group by row
// group. Errors are those of ColumnChunkReader (kInvalidArgument naming
// the file, column, row group and page), plus chunks whose level entries
// do not split into the row group's rows. A chunk is immutable once read
// and may be shared between threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/parquet/encodings.h"
#include "core/parquet/file_reader.h"

namespace predstore::parquet {

class NestedLeafChunk {
 public:
  // Reads leaf `column` (an index into file.columns()) of `row_group`.
  static absl::StatusOr<NestedLeafChunk> Read(const ParquetFile& file, int row_group, int column);

  const LeafColumn& column() const { return *column_; }
  int64_t rows() const { return static_cast<int64_t>(row_starts_.size()) - 1; }
  size_t entries() const { return def_levels_.size(); }
  // The level entries of row `row` are [row_begin(row), row_end(row)).
  size_t row_begin(int64_t row) const { return row_starts_[static_cast<size_t>(row)]; }
  size_t row_end(int64_t row) const { return row_starts_[static_cast<size_t>(row) + 1]; }

  uint16_t definition_level(size_t entry) const { return def_levels_[entry]; }
  uint16_t repetition_level(size_t entry) const { return rep_levels_.empty() ? 0 : rep_levels_[entry]; }
  // Whether the entry holds a value: its definition level is the maximum.
  bool has_value(size_t entry) const { return value_index_[entry] >= 0; }

  // The entry's value; the entry must have one (has_value) and the column
  // the accessor's physical type: BYTE_ARRAY, INT64, INT32, BOOLEAN.
  std::string_view bytes(size_t entry) const;
  int64_t int64(size_t entry) const;
  int32_t int32(size_t entry) const;
  bool boolean(size_t entry) const;

  // ---- Assembly of the common shapes --------------------------------------

  // A leaf with no repeated node on its path: its value in `row`, or
  // nullopt when it or any enclosing group is null.
  std::optional<std::string_view> OptionalBytes(int64_t row) const;
  std::optional<int64_t> OptionalInt64(int64_t row) const;
  std::optional<int32_t> OptionalInt32(int64_t row) const;
  std::optional<bool> OptionalBoolean(int64_t row) const;

  // Whether the node `depth` steps down the leaf's path (0: the root's
  // child, e.g. "add"; the leaf is depth path_in_schema.size() - 1) is
  // non-null in `row`. For a repeated leaf: in the row's first entry.
  bool DefinedAt(int64_t row, size_t depth) const;

  // A leaf with exactly one repeated node on its path (a list's element, a
  // map's key or value): the row's entries that are elements of that
  // repeated node ([begin, end); empty when the list or map, or any group
  // above it, is null or empty). Entries of two leaves under the same
  // repeated node line up one to one (a map's keys and values).
  struct Range {
    size_t begin = 0, end = 0;
  };
  Range Elements(int64_t row) const;

 private:
  NestedLeafChunk() = default;

  const LeafColumn* column_ = nullptr;
  std::vector<uint16_t> def_levels_;
  std::vector<uint16_t> rep_levels_;   // empty when the leaf is not repeated
  std::vector<int64_t> value_index_;   // per entry: index into values_, or -1
  std::vector<size_t> row_starts_;     // rows() + 1 entries
  ValueBuffer values_;
  // Definition level at which each node of the path is non-null.
  std::vector<int> defined_level_;
  // Definition level at which the (single) repeated node has an element;
  // -1 when the leaf is not under exactly one repeated node.
  int element_level_ = -1;
};

}  // namespace predstore::parquet
