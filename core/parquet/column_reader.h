// ColumnChunkReader reads one column chunk of a flat file page by page:
// the dictionary page first if there is one, then each data page (v1 or
// v2), checked against its CRC when the writer stored one, decompressed,
// its definition levels and values decoded. It holds one page at a time.
// A leaf of a file opened with nested columns is read the same way, its
// repetition levels decoded too; its page's "rows" are then level entries
// (a value, a null at some depth, or an empty list), which nested_reader.h
// assembles into rows.
// Errors are kInvalidArgument naming the file, the column, the row group
// and the page: "f.parquet: column "x", row group 0, page 3: <reason>".
// One reader per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/parquet/encodings.h"
#include "core/parquet/file_reader.h"

namespace predstore::parquet {

class ColumnChunkReader {
 public:
  // `file` must outlive the reader.
  ColumnChunkReader(const ParquetFile& file, int row_group, int column);

  // Moves to the next data page: true when one is ready, false after the
  // chunk's last page. Also fails when the chunk's pages hold more or fewer
  // values than its metadata says.
  absl::StatusOr<bool> NextPage();

  // The current page's rows (values, nulls included).
  size_t rows() const { return rows_; }
  // Whether row `row` of the page holds a value (not null). Flat columns
  // only; for a nested leaf compare definition_level with the maximum.
  bool present(size_t row) const { return def_levels_.empty() || def_levels_[row] != 0; }
  // The levels of entry `row` of the page (a required column's definition
  // level is its maximum, 0; a non-repeated one's repetition level is 0).
  uint16_t definition_level(size_t row) const { return def_levels_.empty() ? 0 : def_levels_[row]; }
  uint16_t repetition_level(size_t row) const { return rep_levels_.empty() ? 0 : rep_levels_[row]; }
  // The value of the `index`-th non-null row of the page: for BYTE_ARRAY
  // its bytes, else a pointer to its fixed-width bytes (see ValueBuffer).
  std::string_view bytes_at(size_t index) const {
    return source_->bytes_at(dictionary_indices_ ? indices_[index] : index);
  }
  const char* fixed_at(size_t index) const {
    return source_->fixed_at(dictionary_indices_ ? indices_[index] : index);
  }

  // "f.parquet: column "x", row group 0, page 3: " for the current page.
  std::string Where() const;

 private:
  absl::Status ReadDictionaryPage(const PageHeader& header, std::span<const uint8_t> body);
  absl::Status ReadDataPage(const PageHeader& header, std::span<const uint8_t> body);
  absl::Status DecodePageValues(Encoding encoding, std::span<const uint8_t> data, size_t count);
  absl::Status PageError(std::string_view reason) const;

  const ParquetFile& file_;
  const LeafColumn& column_;
  int row_group_;
  int64_t expected_values_;
  Codec codec_;
  std::span<const uint8_t> chunk_;
  size_t position_ = 0;  // in chunk_
  int page_ = -1;        // index of the current page in the chunk (dictionary page included)
  int64_t values_read_ = 0;

  size_t rows_ = 0;
  std::string decompressed_;
  std::vector<uint16_t> def_levels_;  // empty when the column is required
  std::vector<uint16_t> rep_levels_;  // empty when the column is not repeated
  ValueBuffer values_;
  ValueBuffer dictionary_;
  bool has_dictionary_ = false;
  bool dictionary_indices_ = false;  // current page is dictionary-encoded
  std::vector<uint32_t> indices_;
  const ValueBuffer* source_ = &values_;
};

}  // namespace predstore::parquet
