// ParquetFile: one Parquet file opened for reading flat tables. Open maps
// the file, decodes and checks the footer, and lists the leaf columns; the
// data is read later, column chunk by page (column_reader.h), so a file far
// larger than memory is never held whole. Refused at Open, each with
// kInvalidArgument naming the file (and the column where there is one):
// a file that is not Parquet or is truncated, an encrypted file or column,
// a nested column (group, LIST, MAP, or a repeated field), a column chunk
// in another file, and a footer whose row groups do not match its schema.
// With ParquetOpenOptions::nested, nested schemas are accepted instead and
// every leaf is listed with its dotted path and level maxima (for readers
// of nested data such as Delta checkpoints: nested_reader.h).
// Reads of an open file are thread-safe; Release is not.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/base/mapped_file.h"
#include "core/parquet/metadata.h"

namespace predstore::parquet {

// A top-level leaf column of a flat file, or (opened with nested columns)
// any leaf of the schema tree.
struct LeafColumn {
  // Flat: the column's name. Nested: the dotted path from the root,
  // "add.partitionValues.key_value.key" (path_in_schema joined by '.').
  std::string name;
  PhysicalType type = PhysicalType::kInt32;
  int32_t type_length = 0;  // FIXED_LEN_BYTE_ARRAY
  bool optional = false;    // may hold nulls (flat: definition level 1; nested: max definition level > 0)
  LogicalType logical;
  // The path's names, the root's child first (flat: just `name`).
  std::vector<std::string> path_in_schema;
  // Flat: optional ? 1 : 0 and 0. Nested: the count of optional or
  // repeated nodes on the path (the leaf included), and of repeated ones.
  int max_definition_level = 0;
  int max_repetition_level = 0;
  // Indices into metadata().schema of the path's nodes, the root's child
  // first and the leaf last (flat: one index).
  std::vector<int> schema_path;
};

// "INT64", "INT32 (DATE)", "INT64 (TIMESTAMP(MICROS, UTC))", "BYTE_ARRAY
// (STRING)", "FIXED_LEN_BYTE_ARRAY(16) (DECIMAL(38,10))": for messages.
std::string DescribeColumnType(const LeafColumn& column);

struct ParquetOpenOptions {
  // Accept nested schemas (groups, LIST, MAP, repeated fields): columns()
  // lists every leaf, depth-first, as path_in_schema orders the file's
  // column chunks. Without it a nested column is refused.
  bool nested = false;
};

class ParquetFile {
 public:
  // kNotFound when `path` does not exist.
  static absl::StatusOr<std::unique_ptr<ParquetFile>> Open(const std::string& path,
                                                           const ParquetOpenOptions& options = {});

  const std::string& path() const { return path_; }
  const FileMetaData& metadata() const { return metadata_; }
  const std::vector<LeafColumn>& columns() const { return columns_; }
  int64_t num_rows() const { return metadata_.num_rows; }
  uint64_t size() const { return file_->size(); }
  // Index into columns() of the leaf named `name` (nested: its dotted
  // path), or -1.
  int ColumnIndex(std::string_view name) const;

  // The bytes of column chunk `column` of row group `row_group` as stored
  // (its pages), checked at Open to lie inside the file's data.
  std::span<const uint8_t> ChunkBytes(int row_group, int column) const;
  // Offset of that chunk's first byte in the file.
  uint64_t ChunkOffset(int row_group, int column) const;
  // Drops the resident pages of a row group the caller is done with.
  void ReleaseRowGroup(int row_group);

 private:
  ParquetFile() = default;
  absl::Status CheckSchema();
  absl::Status CheckNestedSchema();
  absl::Status CheckRowGroups();

  std::string path_;
  bool nested_ = false;
  std::unique_ptr<MappedFile> file_;
  FileMetaData metadata_;
  std::vector<LeafColumn> columns_;
  // Per row group, per column: [begin, end) byte offsets of the chunk.
  std::vector<std::vector<std::pair<uint64_t, uint64_t>>> chunk_ranges_;
};

}  // namespace predstore::parquet
