// ParquetFile: one Parquet file opened for reading flat tables. Open maps
// the file, decodes and checks the footer, and lists the leaf columns; the
// data is read later, column chunk by page (column_reader.h), so a file far
// larger than memory is never held whole. Refused at Open, each with
// kInvalidArgument naming the file (and the column where there is one):
// a file that is not Parquet or is truncated, an encrypted file or column,
// a nested column (group, LIST, MAP, or a repeated field), a column chunk
// in another file, and a footer whose row groups do not match its schema.
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

// A top-level leaf column of a flat file.
struct LeafColumn {
  std::string name;
  PhysicalType type = PhysicalType::kInt32;
  int32_t type_length = 0;  // FIXED_LEN_BYTE_ARRAY
  bool optional = false;    // may hold nulls (definition level 1)
  LogicalType logical;
};

// "INT64", "INT32 (DATE)", "INT64 (TIMESTAMP(MICROS, UTC))", "BYTE_ARRAY
// (STRING)", "FIXED_LEN_BYTE_ARRAY(16) (DECIMAL(38,10))": for messages.
std::string DescribeColumnType(const LeafColumn& column);

class ParquetFile {
 public:
  // kNotFound when `path` does not exist.
  static absl::StatusOr<std::unique_ptr<ParquetFile>> Open(const std::string& path);

  const std::string& path() const { return path_; }
  const FileMetaData& metadata() const { return metadata_; }
  const std::vector<LeafColumn>& columns() const { return columns_; }
  int64_t num_rows() const { return metadata_.num_rows; }
  uint64_t size() const { return file_->size(); }
  // Index into columns() of the leaf named `name`, or -1.
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
  absl::Status CheckRowGroups();

  std::string path_;
  std::unique_ptr<MappedFile> file_;
  FileMetaData metadata_;
  std::vector<LeafColumn> columns_;
  // Per row group, per column: [begin, end) byte offsets of the chunk.
  std::vector<std::vector<std::pair<uint64_t, uint64_t>>> chunk_ranges_;
};

}  // namespace predstore::parquet
