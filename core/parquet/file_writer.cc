#include "core/parquet/file_writer.h"

#include <snappy.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <set>
#include <type_traits>
#include <utility>

#include "core/base/status_macros.h"
#include "core/base/strings.h"
#include "core/parquet/codecs.h"
#include "core/parquet/thrift_compact_writer.h"

// Field ids and enum values follow apache/parquet-format's
// src/main/thrift/parquet.thrift (as metadata.cc decodes them).
namespace predstore::parquet {
namespace {

// PLAIN is little-endian; values are copied as they are in memory.
static_assert(std::endian::native == std::endian::little, "the Parquet writer assumes a little-endian host");

constexpr std::string_view kMagic = "PAR1";
constexpr std::string_view kCreatedBy = "predstore";
// A page's rows are capped too, so that an all-null or boolean column does
// not pile millions of levels into one page.
constexpr size_t kMaxPageRows = size_t{1} << 20;
// Bounds that keep every page's sizes inside the header's i32 fields: a
// page holds at most page_size bytes plus one value plus its levels.
constexpr size_t kMaxPageSize = size_t{256} << 20;
constexpr size_t kMaxValueSize = size_t{256} << 20;
// A bit-packed run holds at most this many groups of 8 (a one-byte header,
// as parquet-mr and Arrow write them).
constexpr size_t kMaxBitPackedGroups = 63;

void AppendVarint(uint64_t value, std::string* out) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

void AppendLittleEndian32(uint32_t value, std::string* out) {
  char bytes[4];
  std::memcpy(bytes, &value, 4);
  out->append(bytes, 4);
}

// Length of the run of values equal to levels[i], counting at most `cap`.
size_t RunLength(std::span<const uint16_t> levels, size_t i, size_t cap) {
  size_t j = i + 1;
  while (j < levels.size() && j - i < cap && levels[j] == levels[i]) ++j;
  return j - i;
}

// The variant alternative of ColumnValues::Values holding `type`, or -1.
int AlternativeOf(PhysicalType type) {
  switch (type) {
    case PhysicalType::kBoolean:
      return 0;
    case PhysicalType::kInt32:
      return 1;
    case PhysicalType::kInt64:
      return 2;
    case PhysicalType::kFloat:
      return 3;
    case PhysicalType::kDouble:
      return 4;
    case PhysicalType::kByteArray:
      return 5;
    default:
      return -1;
  }
}

constexpr std::string_view kAlternativeNames[] = {"bool", "int32", "int64", "float", "double", "string"};

absl::Status CheckColumnSpec(const ParquetColumnSpec& column) {
  auto error = [&](std::string_view reason) {
    return absl::InvalidArgumentError(StrCat("column \"", column.name, "\": ", reason));
  };
  if (column.name.empty()) return absl::InvalidArgumentError("a column has an empty name");
  if (AlternativeOf(column.type) < 0) {
    return error(StrCat("physical type ", PhysicalTypeName(column.type), " is not supported by the writer"));
  }
  const LogicalType& logical = column.logical;
  switch (logical.kind) {
    case LogicalType::Kind::kNone:
      return absl::OkStatus();
    case LogicalType::Kind::kString:
      if (column.type != PhysicalType::kByteArray) return error("STRING needs BYTE_ARRAY");
      return absl::OkStatus();
    case LogicalType::Kind::kDate:
      if (column.type != PhysicalType::kInt32) return error("DATE needs INT32");
      return absl::OkStatus();
    case LogicalType::Kind::kTimestamp:
      if (column.type != PhysicalType::kInt64) return error("TIMESTAMP needs INT64");
      return absl::OkStatus();
    case LogicalType::Kind::kInteger:
      if (logical.bit_width == 64) {
        if (column.type != PhysicalType::kInt64) return error("INTEGER(64) needs INT64");
      } else if (logical.bit_width == 8 || logical.bit_width == 16 || logical.bit_width == 32) {
        if (column.type != PhysicalType::kInt32) return error(StrCat("INTEGER(", logical.bit_width, ") needs INT32"));
      } else {
        return error(StrCat("INTEGER bit width ", logical.bit_width));
      }
      return absl::OkStatus();
    case LogicalType::Kind::kDecimal:
    case LogicalType::Kind::kOther:
      break;
  }
  return error("the logical type is not supported by the writer");
}

// The legacy ConvertedType matching `logical`, or -1 for none.
int32_t ConvertedTypeOf(const LogicalType& logical) {
  switch (logical.kind) {
    case LogicalType::Kind::kString:
      return 0;  // UTF8
    case LogicalType::Kind::kDate:
      return 6;  // DATE
    case LogicalType::Kind::kTimestamp:
      // TIMESTAMP_MILLIS / TIMESTAMP_MICROS mean UTC-adjusted values.
      if (!logical.utc_adjusted) return -1;
      if (logical.unit == TimeUnit::kMillis) return 9;
      if (logical.unit == TimeUnit::kMicros) return 10;
      return -1;
    case LogicalType::Kind::kInteger: {
      // INT_8..INT_64 are 15..18, UINT_8..UINT_64 are 11..14.
      const int32_t base = logical.is_signed ? 15 : 11;
      const int32_t step = logical.bit_width == 8 ? 0 : logical.bit_width == 16 ? 1 : logical.bit_width == 32 ? 2 : 3;
      return base + step;
    }
    default:
      return -1;
  }
}

// The LogicalType union (SchemaElement field 10), for annotated columns.
void WriteLogicalType(const LogicalType& logical, CompactWriter& writer) {
  writer.BeginStructField(10);
  switch (logical.kind) {
    case LogicalType::Kind::kString:
      writer.BeginStructField(1);  // StringType {}
      writer.EndStruct();
      break;
    case LogicalType::Kind::kDate:
      writer.BeginStructField(6);  // DateType {}
      writer.EndStruct();
      break;
    case LogicalType::Kind::kTimestamp: {
      writer.BeginStructField(8);  // TimestampType
      writer.FieldBool(1, logical.utc_adjusted);
      writer.BeginStructField(2);  // TimeUnit union: 1 MILLIS, 2 MICROS, 3 NANOS
      writer.BeginStructField(logical.unit == TimeUnit::kMillis ? 1 : logical.unit == TimeUnit::kMicros ? 2 : 3);
      writer.EndStruct();
      writer.EndStruct();
      writer.EndStruct();
      break;
    }
    case LogicalType::Kind::kInteger:
      writer.BeginStructField(10);  // IntType
      writer.FieldByte(1, static_cast<int8_t>(logical.bit_width));
      writer.FieldBool(2, logical.is_signed);
      writer.EndStruct();
      break;
    default:
      break;  // refused by CheckColumnSpec
  }
  writer.EndStruct();
}

absl::Status OpenError(const std::string& path, int error) {
  const std::string message = StrCat(path, ": cannot create: ", std::strerror(error));
  if (error == ENOENT || error == ENOTDIR) return absl::NotFoundError(message);
  if (error == EACCES || error == EPERM || error == EROFS) return absl::PermissionDeniedError(message);
  return absl::InternalError(message);
}

}  // namespace

namespace internal {

void AppendRleLevels(std::span<const uint16_t> levels, int bit_width, std::string* out) {
  if (bit_width == 0) return;  // all levels are 0; nothing is stored
  const size_t width = static_cast<size_t>(bit_width);
  const size_t value_bytes = (width + 7) / 8;
  const size_t n = levels.size();
  size_t i = 0;
  while (i < n) {
    const size_t run = RunLength(levels, i, n);
    if (run >= 8) {
      AppendVarint(uint64_t{run} << 1, out);
      for (size_t b = 0; b < value_bytes; ++b) out->push_back(static_cast<char>((levels[i] >> (8 * b)) & 0xFF));
      i += run;
      continue;
    }
    // Bit-pack groups of 8 until a run of 8 equal values starts at a group
    // boundary, the run is full, or the levels end.
    size_t end = i;
    while (end < n) {
      end = std::min(end + 8, n);
      if (end == n || (end - i) / 8 >= kMaxBitPackedGroups || RunLength(levels, end, 8) >= 8) break;
    }
    const size_t groups = (end - i + 7) / 8;
    AppendVarint((uint64_t{groups} << 1) | 1, out);
    // LSB first; the last group is padded with zeros.
    uint64_t bits = 0;
    size_t pending = 0;
    for (size_t k = 0; k < groups * 8; ++k) {
      const uint64_t value = i + k < end ? levels[i + k] : 0;
      bits |= value << pending;
      pending += width;
      while (pending >= 8) {
        out->push_back(static_cast<char>(bits & 0xFF));
        bits >>= 8;
        pending -= 8;
      }
    }
    // groups * 8 * width bits is a whole number of bytes: nothing pending.
    i = end;
  }
}

}  // namespace internal

ParquetWriter::ParquetWriter(std::string path, std::vector<ParquetColumnSpec> columns,
                             const ParquetWriterOptions& options, std::FILE* file)
    : path_(std::move(path)), columns_(std::move(columns)), options_(options), file_(file) {}

ParquetWriter::~ParquetWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

absl::StatusOr<std::unique_ptr<ParquetWriter>> ParquetWriter::Create(const std::string& path,
                                                                     std::vector<ParquetColumnSpec> columns,
                                                                     const ParquetWriterOptions& options) {
  if (columns.empty()) return absl::InvalidArgumentError(StrCat(path, ": a Parquet file needs at least one column"));
  std::set<std::string_view> names;
  for (const ParquetColumnSpec& column : columns) {
    PREDSTORE_RETURN_IF_ERROR(CheckColumnSpec(column));
    if (!names.insert(column.name).second) {
      return absl::InvalidArgumentError(StrCat("column \"", column.name, "\" appears twice"));
    }
  }
  if (options.codec != Codec::kUncompressed && options.codec != Codec::kSnappy) {
    return absl::InvalidArgumentError(StrCat("codec ", CodecName(options.codec), " is not supported by the writer"));
  }
  if (options.page_size == 0 || options.page_size > kMaxPageSize) {
    return absl::InvalidArgumentError(StrCat("page size ", options.page_size, " is not in [1, ", kMaxPageSize, "]"));
  }
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) return OpenError(path, errno);
  std::unique_ptr<ParquetWriter> writer(new ParquetWriter(path, std::move(columns), options, file));
  PREDSTORE_RETURN_IF_ERROR(writer->Write(kMagic));
  return writer;
}

absl::Status ParquetWriter::Write(std::string_view bytes) {
  if (!io_error_.ok()) return io_error_;
  if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) {
    io_error_ = absl::InternalError(StrCat(path_, ": write failed: ", std::strerror(errno)));
    return io_error_;
  }
  position_ += static_cast<int64_t>(bytes.size());
  return absl::OkStatus();
}

absl::Status ParquetWriter::WriteRowGroup(const std::vector<ColumnValues>& columns) {
  if (closed_) return absl::FailedPreconditionError(StrCat(path_, ": WriteRowGroup after Close"));
  if (!io_error_.ok()) return io_error_;
  if (columns.size() != columns_.size()) {
    return absl::InvalidArgumentError(
        StrCat("a row group of ", columns.size(), " columns, the schema has ", columns_.size()));
  }
  // Check everything before writing anything.
  size_t rows = 0;
  for (size_t c = 0; c < columns.size(); ++c) {
    const ParquetColumnSpec& spec = columns_[c];
    const ColumnValues& column = columns[c];
    auto error = [&](std::string_view reason) {
      return absl::InvalidArgumentError(StrCat("column \"", spec.name, "\": ", reason));
    };
    const int want = AlternativeOf(spec.type);
    if (static_cast<int>(column.values.index()) != want) {
      return error(StrCat(PhysicalTypeName(spec.type), " needs ", kAlternativeNames[want], " values, got ",
                          kAlternativeNames[column.values.index()]));
    }
    const size_t count = std::visit([](const auto& values) { return values.size(); }, column.values);
    if (c == 0) rows = count;
    if (count != rows) return error(StrCat(count, " rows, the first column has ", rows));
    if (!column.present.empty()) {
      if (column.present.size() != count) {
        return error(StrCat("a null mask of ", column.present.size(), " flags for ", count, " rows"));
      }
      if (!spec.optional && std::find(column.present.begin(), column.present.end(), 0) != column.present.end()) {
        return error("a null in a required column");
      }
    }
    if (const auto* strings = std::get_if<std::vector<std::string>>(&column.values)) {
      for (const std::string& value : *strings) {
        if (value.size() > kMaxValueSize) return error(StrCat("a value of ", value.size(), " bytes"));
      }
    }
  }
  if (rows == 0) return absl::OkStatus();

  RowGroupRecord row_group;
  row_group.num_rows = static_cast<int64_t>(rows);
  row_group.file_offset = position_;
  row_group.chunks.resize(columns.size());
  for (size_t c = 0; c < columns.size(); ++c) {
    PREDSTORE_RETURN_IF_ERROR(std::visit(
        [&](const auto& values) { return WriteChunk(columns_[c], values, columns[c].present, &row_group.chunks[c]); },
        columns[c].values));
  }
  row_groups_.push_back(std::move(row_group));
  num_rows_ += static_cast<int64_t>(rows);
  return absl::OkStatus();
}

template <typename T>
absl::Status ParquetWriter::WriteChunk(const ParquetColumnSpec& column, const std::vector<T>& values,
                                       const std::vector<uint8_t>& present, ChunkRecord* chunk) {
  const size_t rows = values.size();
  const size_t limit_bits = options_.page_size * 8;
  chunk->data_page_offset = position_;
  size_t begin = 0;
  while (begin < rows) {
    // The page's rows: until its values and levels reach the page size.
    size_t end = begin;
    size_t bits = 0;
    size_t present_count = 0;
    while (end < rows && bits < limit_bits && end - begin < kMaxPageRows) {
      if (column.optional) bits += 1;
      if (present.empty() || present[end]) {
        ++present_count;
        if constexpr (std::is_same_v<T, bool>) {
          bits += 1;
        } else if constexpr (std::is_same_v<T, std::string>) {
          bits += 8 * (4 + values[end].size());
        } else {
          bits += 8 * sizeof(T);
        }
      }
      ++end;
    }

    body_.clear();
    if (column.optional) {
      // Definition levels (max 1, bit width 1) with their 4-byte length.
      levels_.resize(end - begin);
      for (size_t r = begin; r < end; ++r) levels_[r - begin] = present.empty() || present[r] ? 1 : 0;
      AppendLittleEndian32(0, &body_);
      internal::AppendRleLevels(levels_, 1, &body_);
      const uint32_t length = static_cast<uint32_t>(body_.size() - 4);
      std::memcpy(body_.data(), &length, 4);
    }
    if constexpr (std::is_same_v<T, bool>) {
      // PLAIN booleans: one bit each, LSB first.
      uint8_t byte = 0;
      int filled = 0;
      for (size_t r = begin; r < end; ++r) {
        if (!present.empty() && !present[r]) continue;
        if (values[r]) byte |= static_cast<uint8_t>(1u << filled);
        if (++filled == 8) {
          body_.push_back(static_cast<char>(byte));
          byte = 0;
          filled = 0;
        }
      }
      if (filled > 0) body_.push_back(static_cast<char>(byte));
    } else if constexpr (std::is_same_v<T, std::string>) {
      for (size_t r = begin; r < end; ++r) {
        if (!present.empty() && !present[r]) continue;
        AppendLittleEndian32(static_cast<uint32_t>(values[r].size()), &body_);
        body_.append(values[r]);
      }
    } else if (present.empty()) {
      body_.append(reinterpret_cast<const char*>(values.data() + begin), (end - begin) * sizeof(T));
    } else {
      body_.reserve(body_.size() + present_count * sizeof(T));
      for (size_t r = begin; r < end; ++r) {
        if (present[r]) body_.append(reinterpret_cast<const char*>(&values[r]), sizeof(T));
      }
    }
    PREDSTORE_RETURN_IF_ERROR(WritePage(end - begin, chunk));
    begin = end;
  }
  return absl::OkStatus();
}

absl::Status ParquetWriter::WritePage(size_t num_values, ChunkRecord* chunk) {
  const std::string* stored = &body_;
  if (options_.codec == Codec::kSnappy) {
    compressed_.resize(snappy::MaxCompressedLength(body_.size()));
    size_t length = 0;
    snappy::RawCompress(body_.data(), body_.size(), compressed_.data(), &length);
    compressed_.resize(length);
    stored = &compressed_;
  }
  const uint32_t crc =
      PageCrc32(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(stored->data()), stored->size()));

  // PageHeader: 1 type, 2 uncompressed_page_size, 3 compressed_page_size,
  // 4 crc, 5 data_page_header {1 num_values, 2 encoding,
  // 3 definition_level_encoding, 4 repetition_level_encoding}.
  header_.clear();
  CompactWriter writer(&header_);
  writer.BeginStruct();
  writer.FieldI32(1, static_cast<int32_t>(PageType::kDataPage));
  writer.FieldI32(2, static_cast<int32_t>(body_.size()));
  writer.FieldI32(3, static_cast<int32_t>(stored->size()));
  writer.FieldI32(4, static_cast<int32_t>(crc));
  writer.BeginStructField(5);
  writer.FieldI32(1, static_cast<int32_t>(num_values));
  writer.FieldI32(2, static_cast<int32_t>(Encoding::kPlain));
  writer.FieldI32(3, static_cast<int32_t>(Encoding::kRle));
  writer.FieldI32(4, static_cast<int32_t>(Encoding::kRle));
  writer.EndStruct();
  writer.EndStruct();

  PREDSTORE_RETURN_IF_ERROR(Write(header_));
  PREDSTORE_RETURN_IF_ERROR(Write(*stored));
  chunk->num_values += static_cast<int64_t>(num_values);
  chunk->total_uncompressed_size += static_cast<int64_t>(header_.size() + body_.size());
  chunk->total_compressed_size += static_cast<int64_t>(header_.size() + stored->size());
  return absl::OkStatus();
}

std::string ParquetWriter::EncodeFooter() const {
  std::string footer;
  CompactWriter writer(&footer);
  writer.BeginStruct();   // FileMetaData
  writer.FieldI32(1, 1);  // version
  // 2: schema, the root first.
  writer.BeginListField(2, CompactType::kStruct, columns_.size() + 1);
  writer.BeginStruct();
  writer.FieldBinary(4, "schema");
  writer.FieldI32(5, static_cast<int32_t>(columns_.size()));
  writer.EndStruct();
  for (const ParquetColumnSpec& column : columns_) {
    // SchemaElement: 1 type, 3 repetition_type, 4 name, 6 converted_type,
    // 10 logicalType.
    writer.BeginStruct();
    writer.FieldI32(1, static_cast<int32_t>(column.type));
    writer.FieldI32(3, static_cast<int32_t>(column.optional ? Repetition::kOptional : Repetition::kRequired));
    writer.FieldBinary(4, column.name);
    const int32_t converted = ConvertedTypeOf(column.logical);
    if (converted >= 0) writer.FieldI32(6, converted);
    if (column.logical.kind != LogicalType::Kind::kNone) WriteLogicalType(column.logical, writer);
    writer.EndStruct();
  }
  writer.FieldI64(3, num_rows_);
  // 4: row_groups.
  writer.BeginListField(4, CompactType::kStruct, row_groups_.size());
  for (size_t g = 0; g < row_groups_.size(); ++g) {
    const RowGroupRecord& row_group = row_groups_[g];
    int64_t uncompressed = 0, compressed = 0;
    writer.BeginStruct();  // RowGroup
    writer.BeginListField(1, CompactType::kStruct, row_group.chunks.size());
    for (size_t c = 0; c < row_group.chunks.size(); ++c) {
      const ChunkRecord& chunk = row_group.chunks[c];
      const ParquetColumnSpec& column = columns_[c];
      uncompressed += chunk.total_uncompressed_size;
      compressed += chunk.total_compressed_size;
      writer.BeginStruct();        // ColumnChunk
      writer.FieldI64(2, 0);       // file_offset (deprecated; 0 as the spec asks)
      writer.BeginStructField(3);  // ColumnMetaData
      writer.FieldI32(1, static_cast<int32_t>(column.type));
      writer.BeginListField(2, CompactType::kI32, column.optional ? 2 : 1);  // encodings
      writer.ElementI32(static_cast<int32_t>(Encoding::kPlain));
      if (column.optional) writer.ElementI32(static_cast<int32_t>(Encoding::kRle));
      writer.BeginListField(3, CompactType::kBinary, 1);  // path_in_schema
      writer.ElementBinary(column.name);
      writer.FieldI32(4, static_cast<int32_t>(options_.codec));
      writer.FieldI64(5, chunk.num_values);
      writer.FieldI64(6, chunk.total_uncompressed_size);
      writer.FieldI64(7, chunk.total_compressed_size);
      writer.FieldI64(9, chunk.data_page_offset);
      writer.EndStruct();
      writer.EndStruct();
    }
    writer.FieldI64(2, uncompressed);  // total_byte_size
    writer.FieldI64(3, row_group.num_rows);
    writer.FieldI64(5, row_group.file_offset);
    writer.FieldI64(6, compressed);                                                        // total_compressed_size
    if (g <= static_cast<size_t>(INT16_MAX)) writer.FieldI16(7, static_cast<int16_t>(g));  // ordinal
    writer.EndStruct();
  }
  writer.FieldBinary(6, kCreatedBy);
  writer.EndStruct();
  return footer;
}

absl::Status ParquetWriter::Close() {
  if (closed_) return absl::FailedPreconditionError(StrCat(path_, ": Close called twice"));
  closed_ = true;
  std::string footer = EncodeFooter();
  const uint32_t length = static_cast<uint32_t>(footer.size());
  AppendLittleEndian32(length, &footer);
  footer.append(kMagic);
  absl::Status status = Write(footer);
  std::FILE* file = std::exchange(file_, nullptr);
  if (std::fclose(file) != 0 && status.ok()) {
    status = absl::InternalError(StrCat(path_, ": close failed: ", std::strerror(errno)));
  }
  return status;
}

}  // namespace predstore::parquet
