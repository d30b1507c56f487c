// The Parquet writer, checked against our own reader: files with every
// supported type, nulls, several row groups and pages, both codecs are read
// back value by value; the footer decodes with the right counts; every page
// carries a CRC that the reader verifies. Also the level encoder and the
// Thrift compact encoder on their own.
#include "core/parquet/file_writer.h"

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "core/parquet/codecs.h"
#include "core/parquet/column_reader.h"
#include "core/parquet/encodings.h"
#include "core/parquet/file_reader.h"
#include "core/parquet/thrift_compact.h"
#include "core/parquet/thrift_compact_writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace predstore::parquet {
namespace {

using test_support::StatusHasCode;
using test_support::StatusIs;
using ::testing::HasSubstr;

std::span<const uint8_t> AsBytes(std::string_view text) {
  return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size());
}

class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("file_writer_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// ---- Levels ---------------------------------------------------------------

void ExpectLevelsRoundTrip(const std::vector<uint16_t>& levels, int bit_width) {
  std::string encoded;
  internal::AppendRleLevels(levels, bit_width, &encoded);
  std::vector<uint16_t> decoded;
  ASSERT_OK(DecodeRleLevels(AsBytes(encoded), bit_width, levels.size(), &decoded));
  ASSERT_EQ(decoded, levels) << "bit width " << bit_width << ", " << levels.size() << " levels";
}

TEST(RleLevels, RoundTripsEveryShape) {
  std::mt19937 random(7);
  for (int bit_width : {1, 2, 3, 5, 8, 9, 16}) {
    const uint32_t mask = (1u << bit_width) - 1;
    for (size_t n : {0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 505, 1000, 5000}) {
      std::vector<uint16_t> levels(n);
      // Random values.
      for (auto& level : levels) level = static_cast<uint16_t>(random() & mask);
      ExpectLevelsRoundTrip(levels, bit_width);
      // Runs of random lengths 1..20 (around the RLE threshold of 8).
      for (size_t i = 0; i < n;) {
        const size_t run = 1 + random() % 20;
        const uint16_t value = static_cast<uint16_t>(random() & mask);
        for (size_t j = i; j < std::min(n, i + run); ++j) levels[j] = value;
        i += run;
      }
      ExpectLevelsRoundTrip(levels, bit_width);
      // One value throughout.
      std::fill(levels.begin(), levels.end(), static_cast<uint16_t>(mask));
      ExpectLevelsRoundTrip(levels, bit_width);
    }
  }
}

TEST(RleLevels, LongRunsAreCompact) {
  std::vector<uint16_t> levels(1000000, 1);
  std::string encoded;
  internal::AppendRleLevels(levels, 1, &encoded);
  EXPECT_LE(encoded.size(), 5u);  // one run: a varint header and one byte
  levels[500000] = 0;             // two runs around one bit-packed group
  encoded.clear();
  internal::AppendRleLevels(levels, 1, &encoded);
  EXPECT_LE(encoded.size(), 12u);
  ExpectLevelsRoundTrip(levels, 1);
}

TEST(RleLevels, BitWidthZeroStoresNothing) {
  std::string encoded;
  internal::AppendRleLevels(std::vector<uint16_t>(10, 0), 0, &encoded);
  EXPECT_TRUE(encoded.empty());
}

// ---- Thrift compact encoder -------------------------------------------------

TEST(CompactWriter, RoundTripsThroughTheReader) {
  std::string bytes;
  CompactWriter writer(&bytes);
  writer.BeginStruct();
  writer.FieldI32(1, -5);
  writer.FieldI64(2, int64_t{1} << 40);
  writer.FieldBool(3, true);
  writer.FieldBool(4, false);
  writer.FieldBinary(5, "hello");
  writer.FieldByte(6, -3);
  writer.FieldI16(40, -300);                        // a long field header (delta > 15)
  writer.FieldI32(7, 7);                            // ids going down take the long header too
  writer.BeginListField(8, CompactType::kI32, 20);  // a long list header
  for (int i = 0; i < 20; ++i) writer.ElementI32(i - 10);
  writer.BeginStructField(9);
  writer.FieldBinary(1, "nested");
  writer.EndStruct();
  writer.BeginListField(10, CompactType::kStruct, 2);
  for (int i = 0; i < 2; ++i) {
    writer.BeginStruct();
    writer.FieldI64(1, -i);
    writer.EndStruct();
  }
  writer.EndStruct();

  CompactReader reader(AsBytes(bytes));
  std::vector<std::string> seen;
  ASSERT_OK(reader.ReadStruct([&](const FieldHeader& field) -> absl::Status {
    switch (field.id) {
      case 1:
        EXPECT_EQ(reader.ReadI32().value(), -5);
        break;
      case 2:
        EXPECT_EQ(reader.ReadI64().value(), int64_t{1} << 40);
        break;
      case 3:
        EXPECT_TRUE(field.is_bool() && field.bool_value());
        break;
      case 4:
        EXPECT_TRUE(field.is_bool() && !field.bool_value());
        break;
      case 5:
        EXPECT_EQ(reader.ReadBinary().value(), "hello");
        break;
      case 6:
        EXPECT_EQ(reader.ReadByte().value(), -3);
        break;
      case 40:
        EXPECT_EQ(reader.ReadI16().value(), -300);
        break;
      case 7:
        EXPECT_EQ(reader.ReadI32().value(), 7);
        break;
      case 8: {
        int next = -10;
        PREDSTORE_RETURN_IF_ERROR(reader.ReadList(CompactType::kI32, [&]() -> absl::Status {
          EXPECT_EQ(reader.ReadI32().value(), next++);
          return absl::OkStatus();
        }));
        EXPECT_EQ(next, 10);
        break;
      }
      case 9:
        PREDSTORE_RETURN_IF_ERROR(reader.ReadStruct([&](const FieldHeader& inner) -> absl::Status {
          EXPECT_EQ(inner.id, 1);
          EXPECT_EQ(reader.ReadBinary().value(), "nested");
          return absl::OkStatus();
        }));
        break;
      case 10: {
        int count = 0;
        PREDSTORE_RETURN_IF_ERROR(reader.ReadList(CompactType::kStruct, [&]() -> absl::Status {
          return reader.ReadStruct([&](const FieldHeader& inner) -> absl::Status {
            EXPECT_EQ(inner.id, 1);
            EXPECT_EQ(reader.ReadI64().value(), -count++);
            return absl::OkStatus();
          });
        }));
        EXPECT_EQ(count, 2);
        break;
      }
      default:
        ADD_FAILURE() << "unexpected field " << field.id;
        return reader.Skip(field.type);
    }
    seen.push_back(std::to_string(field.id));
    return absl::OkStatus();
  }));
  EXPECT_EQ(reader.remaining(), 0u);
  EXPECT_EQ(seen.size(), 11u);
}

// ---- Whole files --------------------------------------------------------------

LogicalType Logical(LogicalType::Kind kind) {
  LogicalType logical;
  logical.kind = kind;
  return logical;
}

LogicalType Integer(int bit_width, bool is_signed) {
  LogicalType logical = Logical(LogicalType::Kind::kInteger);
  logical.bit_width = bit_width;
  logical.is_signed = is_signed;
  return logical;
}

LogicalType Timestamp(TimeUnit unit, bool utc) {
  LogicalType logical = Logical(LogicalType::Kind::kTimestamp);
  logical.unit = unit;
  logical.utc_adjusted = utc;
  return logical;
}

std::vector<ParquetColumnSpec> EveryTypeSchema() {
  using Kind = LogicalType::Kind;
  return {
      {"flag", PhysicalType::kBoolean, {}, false},
      {"maybe_flag", PhysicalType::kBoolean, {}, true},
      {"i32", PhysicalType::kInt32, {}, false},
      {"day", PhysicalType::kInt32, Logical(Kind::kDate), true},
      {"small", PhysicalType::kInt32, Integer(16, true), false},
      {"u8", PhysicalType::kInt32, Integer(8, false), true},
      {"id", PhysicalType::kInt64, Integer(64, true), false},
      {"ts", PhysicalType::kInt64, Timestamp(TimeUnit::kMicros, true), true},
      {"local_ts", PhysicalType::kInt64, Timestamp(TimeUnit::kNanos, false), false},
      {"f", PhysicalType::kFloat, {}, false},
      {"d", PhysicalType::kDouble, {}, true},
      {"name", PhysicalType::kByteArray, Logical(Kind::kString), false},
      {"note", PhysicalType::kByteArray, Logical(Kind::kString), true},
      {"blob", PhysicalType::kByteArray, {}, true},
      {"all_null", PhysicalType::kInt64, {}, true},
  };
}

// Deterministic values for a row group of `rows` rows, column by column,
// with nulls in optional columns at varying densities.
std::vector<ColumnValues> MakeRowGroup(const std::vector<ParquetColumnSpec>& schema, size_t rows, uint32_t seed) {
  std::mt19937_64 random(seed);
  std::vector<ColumnValues> columns;
  for (size_t c = 0; c < schema.size(); ++c) {
    const ParquetColumnSpec& spec = schema[c];
    ColumnValues column;
    if (spec.optional) {
      column.present.resize(rows);
      const uint64_t null_per_mille = spec.name == "all_null" ? 1000 : (c * 137) % 900;
      // Long null runs too, so that levels mix RLE and bit-packed runs.
      for (size_t r = 0; r < rows; ++r) {
        const bool in_null_stretch = (r / 100) % 7 == 3;
        column.present[r] = !(in_null_stretch || random() % 1000 < null_per_mille);
      }
      if (c == 1 && seed == 1) column.present.clear();  // optional, but no mask in this row group
    }
    switch (spec.type) {
      case PhysicalType::kBoolean: {
        std::vector<bool> values(rows);
        for (size_t r = 0; r < rows; ++r) values[r] = random() % 3 == 0;
        column.values = std::move(values);
        break;
      }
      case PhysicalType::kInt32: {
        std::vector<int32_t> values(rows);
        for (size_t r = 0; r < rows; ++r) {
          values[r] =
              spec.logical.bit_width == 8 ? static_cast<int32_t>(random() % 256) : static_cast<int32_t>(random());
        }
        column.values = std::move(values);
        break;
      }
      case PhysicalType::kInt64: {
        std::vector<int64_t> values(rows);
        for (size_t r = 0; r < rows; ++r) values[r] = static_cast<int64_t>(random());
        column.values = std::move(values);
        break;
      }
      case PhysicalType::kFloat: {
        std::vector<float> values(rows);
        for (size_t r = 0; r < rows; ++r) values[r] = static_cast<float>(random() % 100000) / 7.0f - 5000.0f;
        column.values = std::move(values);
        break;
      }
      case PhysicalType::kDouble: {
        std::vector<double> values(rows);
        for (size_t r = 0; r < rows; ++r) values[r] = static_cast<double>(static_cast<int64_t>(random())) / 3.0;
        column.values = std::move(values);
        break;
      }
      case PhysicalType::kByteArray: {
        std::vector<std::string> values(rows);
        for (size_t r = 0; r < rows; ++r) {
          if (spec.name == "blob") {
            values[r].resize(random() % 40);  // empty values too, and any byte
            for (char& ch : values[r]) ch = static_cast<char>(random());
          } else {
            values[r] = "row-" + std::to_string(r) + "-" + std::string(random() % 30, 'x');
          }
        }
        column.values = std::move(values);
        break;
      }
      default:
        ADD_FAILURE() << "unexpected type";
    }
    columns.push_back(std::move(column));
  }
  return columns;
}

// Reads column `c` of row group `g` and compares every row with `expected`;
// returns the number of data pages.
int ExpectChunkEquals(const ParquetFile& file, int g, int c, const ColumnValues& expected) {
  ColumnChunkReader reader(file, g, c);
  const std::string& name = file.columns()[c].name;
  size_t row = 0;
  int pages = 0;
  while (true) {
    auto page = reader.NextPage();
    if (!page.ok()) {
      ADD_FAILURE() << page.status();
      return pages;
    }
    if (!*page) break;
    ++pages;
    size_t index = 0;  // among the page's non-null values
    for (size_t r = 0; r < reader.rows(); ++r, ++row) {
      const bool present = expected.present.empty() || expected.present[row];
      EXPECT_EQ(reader.present(r), present) << name << " row " << row;
      if (!present || !reader.present(r)) continue;
      std::visit(
          [&](const auto& values) {
            using T = typename std::decay_t<decltype(values)>::value_type;
            if constexpr (std::is_same_v<T, std::string>) {
              EXPECT_EQ(reader.bytes_at(index), values[row]) << name << " row " << row;
            } else if constexpr (std::is_same_v<T, bool>) {
              EXPECT_EQ(*reader.fixed_at(index) != 0, values[row]) << name << " row " << row;
            } else {
              T value;
              std::memcpy(&value, reader.fixed_at(index), sizeof(T));
              EXPECT_EQ(value, values[row]) << name << " row " << row;
            }
          },
          expected.values);
      ++index;
    }
  }
  const size_t rows = std::visit([](const auto& values) { return values.size(); }, expected.values);
  EXPECT_EQ(row, rows) << name;
  return pages;
}

class WriteAndReadBack : public ::testing::TestWithParam<Codec> {};

TEST_P(WriteAndReadBack, EveryTypeNullsRowGroupsAndPages) {
  TempDir dir;
  const std::string path = dir.File("every_type.parquet");
  const std::vector<ParquetColumnSpec> schema = EveryTypeSchema();
  ParquetWriterOptions options;
  options.codec = GetParam();
  options.page_size = 4096;                                    // several pages per chunk
  const std::vector<size_t> group_rows = {5000, 1, 0, 12345};  // the empty one is skipped
  std::vector<std::vector<ColumnValues>> groups;
  {
    ASSERT_OK_AND_ASSIGN(auto writer, ParquetWriter::Create(path, schema, options));
    for (size_t g = 0; g < group_rows.size(); ++g) {
      groups.push_back(MakeRowGroup(schema, group_rows[g], static_cast<uint32_t>(g + 1)));
      ASSERT_OK(writer->WriteRowGroup(groups.back()));
    }
    EXPECT_EQ(writer->num_row_groups(), 3);
    EXPECT_EQ(writer->num_rows(), 5000 + 1 + 12345);
    ASSERT_OK(writer->Close());
    EXPECT_THAT(writer->WriteRowGroup(groups.back()), StatusHasCode(absl::StatusCode::kFailedPrecondition));
    EXPECT_THAT(writer->Close(), StatusHasCode(absl::StatusCode::kFailedPrecondition));
  }
  groups.erase(groups.begin() + 2);  // the empty row group

  // The footer on its own.
  const std::string bytes = ReadAll(path);
  ASSERT_GE(bytes.size(), 12u);
  EXPECT_EQ(bytes.substr(0, 4), "PAR1");
  EXPECT_EQ(bytes.substr(bytes.size() - 4), "PAR1");
  uint32_t footer_length;
  std::memcpy(&footer_length, bytes.data() + bytes.size() - 8, 4);
  ASSERT_LE(footer_length, bytes.size() - 12);
  ASSERT_OK_AND_ASSIGN(
      FileMetaData metadata,
      DecodeFileMetaData(AsBytes(std::string_view(bytes).substr(bytes.size() - 8 - footer_length, footer_length))));
  EXPECT_EQ(metadata.version, 1);
  EXPECT_EQ(metadata.created_by, "predstore");
  EXPECT_EQ(metadata.num_rows, 5000 + 1 + 12345);
  ASSERT_EQ(metadata.schema.size(), schema.size() + 1);
  EXPECT_EQ(metadata.schema[0].num_children, static_cast<int32_t>(schema.size()));
  ASSERT_EQ(metadata.row_groups.size(), 3u);
  const int64_t expected_rows[] = {5000, 1, 12345};
  for (size_t g = 0; g < 3; ++g) {
    const RowGroup& row_group = metadata.row_groups[g];
    EXPECT_EQ(row_group.num_rows, expected_rows[g]);
    ASSERT_EQ(row_group.columns.size(), schema.size());
    for (size_t c = 0; c < schema.size(); ++c) {
      const ColumnChunk& chunk = row_group.columns[c];
      EXPECT_EQ(chunk.type, schema[c].type);
      EXPECT_EQ(chunk.codec, GetParam());
      EXPECT_EQ(chunk.num_values, expected_rows[g]);
      EXPECT_EQ(chunk.path_in_schema, std::vector<std::string>{schema[c].name});
      EXPECT_FALSE(chunk.dictionary_page_offset.has_value());
      // Chunks are back to back.
      if (c + 1 < schema.size()) {
        EXPECT_EQ(chunk.data_page_offset + chunk.total_compressed_size, row_group.columns[c + 1].data_page_offset);
      }
    }
  }

  // Through the reader: the schema, then every value.
  ASSERT_OK_AND_ASSIGN(auto file, ParquetFile::Open(path));
  EXPECT_EQ(file->num_rows(), 5000 + 1 + 12345);
  ASSERT_EQ(file->columns().size(), schema.size());
  for (size_t c = 0; c < schema.size(); ++c) {
    const LeafColumn& column = file->columns()[c];
    EXPECT_EQ(column.name, schema[c].name);
    EXPECT_EQ(column.type, schema[c].type);
    EXPECT_EQ(column.optional, schema[c].optional);
    EXPECT_EQ(column.logical.kind, schema[c].logical.kind) << column.name;
  }
  EXPECT_EQ(DescribeColumnType(file->columns()[3]), "INT32 (DATE)");
  EXPECT_EQ(DescribeColumnType(file->columns()[7]), "INT64 (TIMESTAMP(MICROS, UTC))");
  EXPECT_EQ(DescribeColumnType(file->columns()[11]), "BYTE_ARRAY (STRING)");
  const LogicalType& u8 = file->columns()[5].logical;
  EXPECT_EQ(u8.bit_width, 8);
  EXPECT_FALSE(u8.is_signed);
  const LogicalType& local = file->columns()[8].logical;
  EXPECT_EQ(local.unit, TimeUnit::kNanos);
  EXPECT_FALSE(local.utc_adjusted);

  int multi_page_chunks = 0;
  for (int g = 0; g < 3; ++g) {
    for (int c = 0; c < static_cast<int>(schema.size()); ++c) {
      const int pages = ExpectChunkEquals(*file, g, c, groups[g][c]);
      if (pages > 1) ++multi_page_chunks;
    }
  }
  EXPECT_GE(multi_page_chunks, 10);

  // Every page carries a CRC-32 of its stored bytes.
  for (int g = 0; g < 3; ++g) {
    for (int c = 0; c < static_cast<int>(schema.size()); ++c) {
      std::span<const uint8_t> chunk = file->ChunkBytes(g, c);
      while (!chunk.empty()) {
        size_t header_size = 0;
        ASSERT_OK_AND_ASSIGN(PageHeader header, DecodePageHeader(chunk, &header_size));
        ASSERT_TRUE(header.crc.has_value());
        ASSERT_LE(header_size + header.compressed_page_size, chunk.size());
        EXPECT_EQ(*header.crc, PageCrc32(chunk.subspan(header_size, header.compressed_page_size)));
        EXPECT_EQ(header.type, PageType::kDataPage);
        EXPECT_EQ(header.data_page->encoding, Encoding::kPlain);
        chunk = chunk.subspan(header_size + header.compressed_page_size);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Codecs, WriteAndReadBack, ::testing::Values(Codec::kUncompressed, Codec::kSnappy),
                         [](const auto& info) { return CodecName(info.param); });

TEST(ParquetWriter, ACorruptPageFailsItsChecksum) {
  TempDir dir;
  const std::string path = dir.File("crc.parquet");
  {
    ASSERT_OK_AND_ASSIGN(auto writer, ParquetWriter::Create(path, {{"x", PhysicalType::kInt64, {}, false}}, {}));
    ASSERT_OK(writer->WriteRowGroup({ColumnValues{std::vector<int64_t>{1, 2, 3, 4}, {}}}));
    ASSERT_OK(writer->Close());
  }
  // Flip a bit in the last value of the only page (just before the footer).
  std::string bytes = ReadAll(path);
  uint32_t footer_length;
  std::memcpy(&footer_length, bytes.data() + bytes.size() - 8, 4);
  bytes[bytes.size() - 8 - footer_length - 1] ^= 1;
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << bytes;
  }
  ASSERT_OK_AND_ASSIGN(auto file, ParquetFile::Open(path));
  ColumnChunkReader reader(*file, 0, 0);
  EXPECT_THAT(reader.NextPage().status(), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("checksum")));
}

TEST(ParquetWriter, DefaultPagesAreAboutOneMebibyte) {
  TempDir dir;
  const std::string path = dir.File("big.parquet");
  constexpr size_t kRows = 600000;  // 4.8 MB of INT64
  std::vector<int64_t> values(kRows);
  for (size_t i = 0; i < kRows; ++i) values[i] = static_cast<int64_t>(i * 3);
  {
    ASSERT_OK_AND_ASSIGN(auto writer, ParquetWriter::Create(path, {{"v", PhysicalType::kInt64, {}, false}}));
    ASSERT_OK(writer->WriteRowGroup({ColumnValues{values, {}}}));
    ASSERT_OK(writer->Close());
  }
  ASSERT_OK_AND_ASSIGN(auto file, ParquetFile::Open(path));
  std::span<const uint8_t> chunk = file->ChunkBytes(0, 0);
  int pages = 0;
  while (!chunk.empty()) {
    size_t header_size = 0;
    ASSERT_OK_AND_ASSIGN(PageHeader header, DecodePageHeader(chunk, &header_size));
    EXPECT_LE(header.uncompressed_page_size, (1 << 20) + 8);
    chunk = chunk.subspan(header_size + header.compressed_page_size);
    ++pages;
  }
  EXPECT_EQ(pages, 5);
  EXPECT_EQ(ExpectChunkEquals(*file, 0, 0, ColumnValues{values, {}}), 5);
}

TEST(ParquetWriter, AFileWithoutRowGroupsOpens) {
  TempDir dir;
  const std::string path = dir.File("empty.parquet");
  {
    ASSERT_OK_AND_ASSIGN(auto writer, ParquetWriter::Create(path, EveryTypeSchema()));
    ASSERT_OK(writer->Close());
  }
  ASSERT_OK_AND_ASSIGN(auto file, ParquetFile::Open(path));
  EXPECT_EQ(file->num_rows(), 0);
  EXPECT_TRUE(file->metadata().row_groups.empty());
  EXPECT_EQ(file->columns().size(), EveryTypeSchema().size());
}

TEST(ParquetWriter, RefusesSchemasItCannotWrite) {
  TempDir dir;
  const std::string path = dir.File("bad.parquet");
  auto refused = [&](std::vector<ParquetColumnSpec> schema, std::string_view what) {
    EXPECT_THAT(ParquetWriter::Create(path, std::move(schema)).status(),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(std::string(what))));
  };
  refused({}, "at least one column");
  refused({{"", PhysicalType::kInt32, {}, false}}, "empty name");
  refused({{"a", PhysicalType::kInt32, {}, false}, {"a", PhysicalType::kInt64, {}, false}}, "twice");
  refused({{"a", PhysicalType::kInt96, {}, false}}, "INT96");
  refused({{"a", PhysicalType::kInt64, Logical(LogicalType::Kind::kDate), false}}, "DATE needs INT32");
  refused({{"a", PhysicalType::kInt32, Logical(LogicalType::Kind::kString), false}}, "STRING needs BYTE_ARRAY");
  refused({{"a", PhysicalType::kInt32, Integer(64, true), false}}, "INTEGER(64) needs INT64");
  refused({{"a", PhysicalType::kInt32, Logical(LogicalType::Kind::kDecimal), false}}, "not supported");
  ParquetWriterOptions gzip;
  gzip.codec = Codec::kGzip;
  EXPECT_THAT(ParquetWriter::Create(path, {{"a", PhysicalType::kInt32, {}, false}}, gzip).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("GZIP")));
}

TEST(ParquetWriter, RefusesRowGroupsThatDoNotMatch) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto writer,
                       ParquetWriter::Create(dir.File("rows.parquet"), {{"a", PhysicalType::kInt32, {}, false},
                                                                        {"b", PhysicalType::kByteArray, {}, true}}));
  auto refused = [&](std::vector<ColumnValues> columns, std::string_view what) {
    EXPECT_THAT(writer->WriteRowGroup(columns),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(std::string(what))));
  };
  const std::vector<std::string> strings = {"x", "y"};
  refused({ColumnValues{std::vector<int32_t>{1, 2}, {}}}, "1 columns");
  refused({ColumnValues{std::vector<int64_t>{1, 2}, {}}, ColumnValues{strings, {}}},
          "column \"a\": INT32 needs int32 values, got int64");
  refused({ColumnValues{std::vector<int32_t>{1}, {}}, ColumnValues{strings, {}}}, "2 rows, the first column has 1");
  refused({ColumnValues{std::vector<int32_t>{1, 2}, {1, 0}}, ColumnValues{strings, {}}}, "null in a required");
  refused({ColumnValues{std::vector<int32_t>{1, 2}, {}}, ColumnValues{strings, {1}}}, "null mask of 1 flags");
  // Nothing was written: the file still closes into a valid, empty one.
  EXPECT_EQ(writer->num_row_groups(), 0);
  ASSERT_OK(writer->Close());
  ASSERT_OK_AND_ASSIGN(auto file, ParquetFile::Open(dir.File("rows.parquet")));
  EXPECT_EQ(file->num_rows(), 0);
}

TEST(ParquetWriter, AnUncreatableFileIsAnErrorNamingThePath) {
  TempDir dir;
  const std::string path = dir.File("no/such/dir/x.parquet");
  EXPECT_THAT(ParquetWriter::Create(path, {{"a", PhysicalType::kInt32, {}, false}}).status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr(path)));
}

TEST(ParquetWriter, AWriteFailureIsInternalNamingThePath) {
  if (!std::filesystem::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  ASSERT_OK_AND_ASSIGN(auto writer, ParquetWriter::Create("/dev/full", {{"a", PhysicalType::kInt64, {}, false}}));
  // Buffered writes may only fail when flushed: write until one fails, or
  // Close reports it.
  std::vector<int64_t> values(1 << 17, 42);
  absl::Status status = writer->WriteRowGroup({ColumnValues{values, {}}});
  if (status.ok()) status = writer->Close();
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInternal, HasSubstr("/dev/full")));
}

}  // namespace
}  // namespace predstore::parquet
