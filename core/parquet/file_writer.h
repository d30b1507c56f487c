// ParquetWriter: a small writer of flat Parquet files, for generating
// benchmark and sample data (`predstore-load sample`, bench/). It is checked
// only against our own reader (file_reader.h, column_reader.h), so it makes
// no claim of compatibility on its own. What it writes: a flat schema of
// required or optional leaf columns (BOOLEAN, INT32, INT64, FLOAT, DOUBLE,
// BYTE_ARRAY; optionally annotated STRING, DATE, TIMESTAMP or INTEGER), one
// row group per WriteRowGroup call, each column chunk split into v1 data
// pages of about `page_size` bytes, values PLAIN-encoded, definition levels
// of optional columns in the RLE / bit-packed hybrid, pages UNCOMPRESSED or
// SNAPPY with a CRC-32 each, and a footer naming created_by "predstore". No
// dictionaries, statistics or page indexes.
// The file is streamed: the writer holds one page at a time plus the
// footer's metadata (a few hundred bytes per column chunk); the caller holds
// one row group. Errors: kInvalidArgument for a schema or row group the
// writer cannot write (naming the column); kInternal when the file cannot be
// written (naming the path; kNotFound / kPermissionDenied when it cannot be
// created). After an I/O error every later call fails. Not thread-safe.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/parquet/metadata.h"

namespace predstore::parquet {

// One leaf column of the schema. `logical` may be kNone, kString
// (BYTE_ARRAY), kDate (INT32), kTimestamp (INT64, any unit, UTC-adjusted or
// not) or kInteger (INT32 for 8, 16 and 32 bits, INT64 for 64; signed or
// not); the legacy ConvertedType is written alongside where one exists.
struct ParquetColumnSpec {
  std::string name;
  PhysicalType type = PhysicalType::kInt64;
  LogicalType logical;
  bool optional = false;
};

struct ParquetWriterOptions {
  Codec codec = Codec::kUncompressed;  // or kSnappy
  // A page is closed once its encoded values and levels reach this size
  // (so a page may exceed it by one value). Must be > 0.
  size_t page_size = size_t{1} << 20;
};

// One column's values for one row group: one slot per row (a null row's
// slot is ignored), in the alternative of the column's physical type.
struct ColumnValues {
  using Values = std::variant<std::vector<bool>,          // BOOLEAN
                              std::vector<int32_t>,       // INT32
                              std::vector<int64_t>,       // INT64
                              std::vector<float>,         // FLOAT
                              std::vector<double>,        // DOUBLE
                              std::vector<std::string>>;  // BYTE_ARRAY
  Values values;
  // Empty when every row holds a value; else one flag per row, 0 for null
  // (optional columns only).
  std::vector<uint8_t> present;
};

class ParquetWriter {
 public:
  // Creates (truncates) `path` and writes the leading magic. kInvalidArgument
  // for an empty schema, an empty or repeated name, an unsupported type, or
  // a logical type that does not fit its physical type.
  static absl::StatusOr<std::unique_ptr<ParquetWriter>> Create(const std::string& path,
                                                               std::vector<ParquetColumnSpec> columns,
                                                               const ParquetWriterOptions& options = {});
  // Without Close the file is left incomplete (no footer).
  ~ParquetWriter();
  ParquetWriter(const ParquetWriter&) = delete;
  ParquetWriter& operator=(const ParquetWriter&) = delete;

  // Appends one row group: `columns` in schema order, each with the same
  // number of rows. A row group of zero rows is skipped. kInvalidArgument
  // (nothing written) when a column's alternative does not match its type,
  // the row counts or null masks disagree, a required column holds a null,
  // or a value is too large for a page; kFailedPrecondition after Close.
  absl::Status WriteRowGroup(const std::vector<ColumnValues>& columns);

  // Writes the footer and closes the file. kFailedPrecondition when called
  // twice.
  absl::Status Close();

  int64_t num_rows() const { return num_rows_; }
  int num_row_groups() const { return static_cast<int>(row_groups_.size()); }
  // Bytes written so far.
  int64_t position() const { return position_; }

 private:
  struct ChunkRecord {
    int64_t num_values = 0;
    int64_t data_page_offset = 0;
    int64_t total_uncompressed_size = 0;
    int64_t total_compressed_size = 0;
  };
  struct RowGroupRecord {
    std::vector<ChunkRecord> chunks;
    int64_t num_rows = 0;
    int64_t file_offset = 0;
  };

  ParquetWriter(std::string path, std::vector<ParquetColumnSpec> columns, const ParquetWriterOptions& options,
                std::FILE* file);

  template <typename T>
  absl::Status WriteChunk(const ParquetColumnSpec& column, const std::vector<T>& values,
                          const std::vector<uint8_t>& present, ChunkRecord* chunk);
  // Compresses `body` (levels and values), then writes the page header and
  // the stored bytes.
  absl::Status WritePage(size_t num_values, ChunkRecord* chunk);
  absl::Status Write(std::string_view bytes);
  std::string EncodeFooter() const;

  std::string path_;
  std::vector<ParquetColumnSpec> columns_;
  ParquetWriterOptions options_;
  std::FILE* file_;
  absl::Status io_error_;
  bool closed_ = false;
  int64_t position_ = 0;
  int64_t num_rows_ = 0;
  std::vector<RowGroupRecord> row_groups_;
  // Scratch buffers, reused page after page.
  std::string body_;
  std::string compressed_;
  std::string header_;
  std::vector<uint16_t> levels_;
};

namespace internal {

// Appends `levels` (each < 2^bit_width, bit_width 0..16) in the RLE /
// bit-packed hybrid without a length prefix, as DecodeRleLevels reads
// them: runs of 8 or more equal values as RLE runs, the rest bit-packed in
// groups of 8 (the last group zero-padded).
void AppendRleLevels(std::span<const uint16_t> levels, int bit_width, std::string* out);

}  // namespace internal
}  // namespace predstore::parquet
