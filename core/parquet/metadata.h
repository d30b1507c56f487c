// Parquet's file metadata and page headers, decoded from the Thrift compact
// protocol (our own small decoder in thrift_compact.h; see docs/loading.md
// for why not libthrift). Only the fields a flat-table reader uses are kept;
// every other field is skipped. Decoding is bounded: a malformed or hostile
// footer yields kInvalidArgument with a short reason (no file name: the
// caller adds it), never a crash, an out-of-bounds read or an unbounded
// allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace predstore::parquet {

// The numbering of the enums below is the one in parquet.thrift.
enum class PhysicalType : int32_t {
  kBoolean = 0, kInt32 = 1, kInt64 = 2, kInt96 = 3, kFloat = 4, kDouble = 5, kByteArray = 6,
  kFixedLenByteArray = 7,
};
enum class Repetition : int32_t { kRequired = 0, kOptional = 1, kRepeated = 2 };
enum class Encoding : int32_t {
  kPlain = 0, kPlainDictionary = 2, kRle = 3, kBitPacked = 4, kDeltaBinaryPacked = 5,
  kDeltaLengthByteArray = 6, kDeltaByteArray = 7, kRleDictionary = 8, kByteStreamSplit = 9,
};
enum class Codec : int32_t {
  kUncompressed = 0, kSnappy = 1, kGzip = 2, kLzo = 3, kBrotli = 4, kLz4 = 5, kZstd = 6, kLz4Raw = 7,
};
enum class PageType : int32_t { kDataPage = 0, kIndexPage = 1, kDictionaryPage = 2, kDataPageV2 = 3 };
enum class TimeUnit { kMillis, kMicros, kNanos };

// "BOOLEAN", "INT32", ..., "SNAPPY", "PLAIN", ... (unknown values: "code N").
std::string PhysicalTypeName(PhysicalType type);
std::string EncodingName(Encoding encoding);
std::string CodecName(Codec codec);

// What a leaf column's values mean: from the LogicalType union when present,
// else from the legacy ConvertedType.
struct LogicalType {
  enum class Kind {
    kNone,       // the physical type alone
    kString,     // STRING / UTF8, ENUM, JSON: UTF-8 text
    kDate,       // INT32 days since 1970-01-01
    kTimestamp,  // INT64 in `unit` since the epoch
    kInteger,    // INT(bit_width, is_signed)
    kDecimal,    // unscaled integer × 10^-scale
    kOther,      // anything else (TIME, UUID, INTERVAL, FLOAT16, BSON, LIST, MAP, ...): see `name`
  };
  Kind kind = Kind::kNone;
  TimeUnit unit = TimeUnit::kMicros;  // kTimestamp
  bool utc_adjusted = true;           // kTimestamp
  int bit_width = 64;                 // kInteger: 8, 16, 32 or 64
  bool is_signed = true;              // kInteger
  int32_t precision = 0, scale = 0;   // kDecimal
  std::string name;                   // kOther: the annotation's name, e.g. "TIME", "LIST", "MAP"
};

struct SchemaElement {
  std::string name;
  std::optional<PhysicalType> type;      // absent for groups
  int32_t type_length = 0;               // FIXED_LEN_BYTE_ARRAY
  std::optional<Repetition> repetition;  // absent for the root
  int32_t num_children = 0;              // > 0 for groups
  LogicalType logical;
};

struct ColumnChunk {
  PhysicalType type = PhysicalType::kInt32;
  std::vector<std::string> path_in_schema;
  Codec codec = Codec::kUncompressed;
  int64_t num_values = 0;
  int64_t total_compressed_size = 0;
  int64_t data_page_offset = 0;
  std::optional<int64_t> dictionary_page_offset;
  // The chunk carries crypto metadata (column encryption).
  bool encrypted = false;
  // The chunk's metadata lives in another file (ColumnChunk.file_path).
  bool external = false;
};

struct RowGroup {
  std::vector<ColumnChunk> columns;
  int64_t num_rows = 0;
};

struct FileMetaData {
  int32_t version = 0;
  // Depth-first, the root first (as stored).
  std::vector<SchemaElement> schema;
  int64_t num_rows = 0;
  std::vector<RowGroup> row_groups;
  std::string created_by;
  // The footer names an encryption algorithm (plaintext-footer encryption).
  bool encrypted = false;
};

struct DataPageHeader {
  int32_t num_values = 0;
  Encoding encoding = Encoding::kPlain;
  Encoding definition_level_encoding = Encoding::kRle;
  Encoding repetition_level_encoding = Encoding::kRle;
};
struct DictionaryPageHeader {
  int32_t num_values = 0;
  Encoding encoding = Encoding::kPlain;
};
struct DataPageHeaderV2 {
  int32_t num_values = 0;
  int32_t num_nulls = 0;
  int32_t num_rows = 0;
  Encoding encoding = Encoding::kPlain;
  int32_t definition_levels_byte_length = 0;
  int32_t repetition_levels_byte_length = 0;
  bool is_compressed = true;
};
struct PageHeader {
  PageType type = PageType::kDataPage;
  int32_t uncompressed_page_size = 0;
  int32_t compressed_page_size = 0;
  std::optional<uint32_t> crc;
  std::optional<DataPageHeader> data_page;
  std::optional<DictionaryPageHeader> dictionary_page;
  std::optional<DataPageHeaderV2> data_page_v2;
};

// Decodes the footer's FileMetaData (the bytes between the file's data and
// its 4-byte length + "PAR1"). Checks that required fields are present and
// sizes non-negative; does not check the schema's shape (the reader does).
absl::StatusOr<FileMetaData> DecodeFileMetaData(std::span<const uint8_t> bytes);

// Decodes the page header at the start of `bytes` and sets `*header_size`
// to the bytes it took. Checks that page sizes are non-negative and that a
// data, dictionary or v2 page has its sub-header.
absl::StatusOr<PageHeader> DecodePageHeader(std::span<const uint8_t> bytes, size_t* header_size);

}  // namespace predstore::parquet
