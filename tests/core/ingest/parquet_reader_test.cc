// The Parquet record reader against upstream's expected values for the
// parquet-testing files (their *_expect.csv and *.md), and against itself
// where files hold the same data in different encodings.
#include "core/ingest/parquet_reader.h"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/ingest/row_encoder.h"
#include "core/parquet/file_reader.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace predstore {
namespace {

using test_support::StatusIs;
using ::testing::HasSubstr;

const std::filesystem::path kParquetDir = std::filesystem::path(PREDSTORE_TESTDATA_DIR) / "parquet";

struct ReadResult {
  std::vector<std::vector<Cell>> rows;  // good rows, input columns in schema order
  std::vector<std::string> errors;      // bad rows' errors
};

// Reads every row of `name` with `schema`; a row error is kept, not fatal.
absl::StatusOr<ReadResult> ReadAll(const std::string& name, const Schema& schema, const ReadOptions& options = {}) {
  auto reader = OpenParquetRecordReader(kParquetDir / name, schema, options);
  if (!reader.ok()) return reader.status();
  RowEncoder encoder(schema);
  ReadResult result;
  while (true) {
    auto more = (*reader)->Next();
    if (!more.ok()) return more.status();
    if (!*more) break;
    absl::Status status = encoder.Parse(**reader);
    if (status.ok()) {
      result.rows.emplace_back(encoder.cells().begin(), encoder.cells().end());
    } else {
      result.errors.emplace_back(status.message());
    }
  }
  return result;
}

absl::StatusOr<Schema> Infer(const std::string& name, std::vector<std::string> keys, const ReadOptions& options = {}) {
  return InferParquetSchema(kParquetDir / name, keys, "", KeyLayout::kLinear, KeyNormalization::kNone, options);
}

// An upstream expect file: a header, then rows of quoted or empty fields
// (empty: null).
std::vector<std::vector<std::string>> ReadExpectCsv(const std::string& name) {
  std::ifstream in(kParquetDir / name);
  std::vector<std::vector<std::string>> rows;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::vector<std::string> fields(1);
    bool quoted = false;
    for (char c : line) {
      if (c == '"') {
        quoted = !quoted;
      } else if (c == ',' && !quoted) {
        fields.emplace_back();
      } else {
        fields.back() += c;
      }
    }
    rows.push_back(std::move(fields));
  }
  return rows;
}

// The text of a cell as the expect files write it (null: empty).
std::string Text(const Cell& cell) {
  if (std::holds_alternative<Null>(cell)) return "";
  return FormatCell(ViewOf(cell));
}

void ExpectMatchesCsv(const std::string& parquet, const std::string& csv, const std::string& key) {
  ASSERT_OK_AND_ASSIGN(Schema schema, Infer(parquet, {key}));
  ASSERT_OK_AND_ASSIGN(ReadResult read, ReadAll(parquet, schema));
  EXPECT_THAT(read.errors, ::testing::IsEmpty());
  const auto expected = ReadExpectCsv(csv);
  ASSERT_EQ(read.rows.size(), expected.size());
  for (size_t r = 0; r < expected.size(); ++r) {
    ASSERT_EQ(read.rows[r].size(), expected[r].size()) << "row " << r;
    for (size_t c = 0; c < expected[r].size(); ++c) {
      EXPECT_EQ(Text(read.rows[r][c]), expected[r][c]) << parquet << " row " << r << " column " << c;
    }
  }
}

TEST(ParquetReader, DeltaBinaryPackedMatchesUpstream) {
  ExpectMatchesCsv("delta_binary_packed.parquet", "delta_binary_packed_expect.csv", "bitwidth0");
}

TEST(ParquetReader, DeltaByteArrayMatchesUpstream) {
  ExpectMatchesCsv("delta_byte_array.parquet", "delta_byte_array_expect.csv", "c_customer_id");
}

TEST(ParquetReader, DeltaOptionalColumnsMatchUpstream) {
  ExpectMatchesCsv("delta_encoding_optional_column.parquet", "delta_encoding_optional_column_expect.csv",
                   "c_customer_sk");
}

TEST(ParquetReader, Int96FromSparkAsUpstreamDocuments) {
  // int96_from_spark.md: the microseconds since the epoch, the fifth null.
  const std::vector<int64_t> micros = {1704141296123456, 1704070800000000, 253402225200000000, 1735599600000000,
                                       9089380393200000000};
  EXPECT_THAT(Infer("int96_from_spark.parquet", {"a"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at least one value column")));
  // The timestamps as keys, beside a nullable value column the file lacks.
  ASSERT_OK_AND_ASSIGN(Schema schema, Schema::Create({{"a", ColumnType::kTimestamp}},
                                                     {{"none", ColumnType::kDouble, true}}, std::nullopt));
  ASSERT_OK_AND_ASSIGN(ReadResult read, ReadAll("int96_from_spark.parquet", schema));
  ASSERT_EQ(read.rows.size(), micros.size()) << ::testing::PrintToString(read.errors);
  for (size_t i = 0; i < micros.size(); ++i) EXPECT_EQ(std::get<Timestamp>(read.rows[i][0]).micros, micros[i]);
  // A null key is a row error naming the file and row.
  ASSERT_EQ(read.errors.size(), 1u);
  EXPECT_THAT(read.errors[0], HasSubstr("int96_from_spark.parquet: row 5: column \"a\": missing key field"));
}

// A schema of key "k" (supplied by the path, as a Hive partition folder
// would) and `values`, for files that hold no key column.
Schema KeyedByPath(std::vector<Column> values) {
  return *Schema::Create({{"k", ColumnType::kInt64}}, std::move(values), std::nullopt, KeyLayout::kLinear);
}

ReadOptions WithKeyFromPath() {
  ReadOptions options;
  options.column_values = {{"k", "7"}};
  return options;
}

TEST(ParquetReader, NullPagesCountAsUpstreamDocuments) {
  // int32_with_null_pages.md: 1000 values, 275 nulls, min -2136906554, max 2145722375.
  const Schema schema = KeyedByPath({{"int32_field", ColumnType::kInt64, /*nullable=*/true}});
  ASSERT_OK_AND_ASSIGN(ReadResult read, ReadAll("int32_with_null_pages.parquet", schema, WithKeyFromPath()));
  ASSERT_EQ(read.rows.size(), 1000u);
  int nulls = 0;
  int64_t min = INT64_MAX, max = INT64_MIN;
  for (const auto& row : read.rows) {
    EXPECT_EQ(std::get<int64_t>(row[0]), 7);
    if (std::holds_alternative<Null>(row[1])) {
      ++nulls;
      continue;
    }
    min = std::min(min, std::get<int64_t>(row[1]));
    max = std::max(max, std::get<int64_t>(row[1]));
  }
  EXPECT_EQ(nulls, 275);
  EXPECT_EQ(min, -2136906554);
  EXPECT_EQ(max, 2145722375);
  // Into a column that is not nullable, each null is a row error.
  ASSERT_OK_AND_ASSIGN(read, ReadAll("int32_with_null_pages.parquet", KeyedByPath({{"int32_field", ColumnType::kInt64}}),
                                     WithKeyFromPath()));
  EXPECT_EQ(read.errors.size(), 275u);
  EXPECT_THAT(read.errors[0], HasSubstr("column \"int32_field\": missing value"));
}

TEST(ParquetReader, ConcatenatedGzipMembersHoldOneTo513) {
  // UINT(64) values read into an int64 column (each checked to fit).
  const Schema schema = KeyedByPath({{"long_col", ColumnType::kInt64, true}});
  ASSERT_OK_AND_ASSIGN(ReadResult read, ReadAll("concatenated_gzip_members.parquet", schema, WithKeyFromPath()));
  ASSERT_EQ(read.rows.size(), 513u);
  for (size_t i = 0; i < read.rows.size(); ++i) EXPECT_EQ(std::get<int64_t>(read.rows[i][1]), static_cast<int64_t>(i + 1));
}

TEST(ParquetReader, DecimalsAreDoublesOnlyWhenAsked) {
  // The same 24 decimals (DECIMAL(4,2), (10,2), (25,2)) stored as INT32,
  // INT64 and FIXED_LEN_BYTE_ARRAY read to the same doubles.
  const Schema schema = KeyedByPath({{"value", ColumnType::kDouble, /*nullable=*/true}});
  EXPECT_THAT(ReadAll("int32_decimal.parquet", schema, WithKeyFromPath()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--decimal_as_double")));
  ReadOptions as_double = WithKeyFromPath();
  as_double.decimal_as_double = true;
  std::vector<std::vector<Cell>> first;
  for (const std::string name : {"int32_decimal.parquet", "int64_decimal.parquet", "fixed_length_decimal.parquet"}) {
    ASSERT_OK_AND_ASSIGN(ReadResult read, ReadAll(name, schema, as_double));
    ASSERT_EQ(read.rows.size(), 24u) << name;
    if (first.empty()) {
      first = read.rows;
      EXPECT_EQ(std::get<double>(first[0][1]), 1.0);
    } else {
      EXPECT_EQ(read.rows, first) << name;
    }
  }
}

TEST(ParquetReader, ByteStreamSplitEqualsPlain) {
  // byte_stream_split_extended.gzip.parquet holds each column twice: PLAIN
  // and BYTE_STREAM_SPLIT.
  ASSERT_OK_AND_ASSIGN(auto file, parquet::ParquetFile::Open((kParquetDir / "byte_stream_split_extended.gzip.parquet").string()));
  std::vector<Column> values;
  for (const auto& leaf : file->columns()) {
    if (leaf.type == parquet::PhysicalType::kFloat) values.push_back({leaf.name, ColumnType::kFloat, true});
    if (leaf.type == parquet::PhysicalType::kDouble) values.push_back({leaf.name, ColumnType::kDouble, true});
    if (leaf.type == parquet::PhysicalType::kInt32 || leaf.type == parquet::PhysicalType::kInt64) {
      values.push_back({leaf.name, ColumnType::kInt64, true});
    }
  }
  ReadOptions options = WithKeyFromPath();
  options.ignore_extra_columns = true;  // the FLBA columns
  const Schema schema = KeyedByPath(values);
  ASSERT_OK_AND_ASSIGN(ReadResult read, ReadAll("byte_stream_split_extended.gzip.parquet", schema, options));
  ASSERT_EQ(read.rows.size(), 200u);
  int pairs = 0;
  for (size_t c = 0; c + 1 < values.size(); ++c) {
    const std::string& plain = values[c].name;
    if (plain.find("_plain") == std::string::npos) continue;
    const std::string split = plain.substr(0, plain.find("_plain")) + "_byte_stream_split";
    auto it = std::find_if(values.begin(), values.end(), [&](const Column& v) { return v.name == split; });
    ASSERT_NE(it, values.end()) << split;
    const size_t s = 1 + static_cast<size_t>(it - values.begin());
    for (const auto& row : read.rows) EXPECT_EQ(Text(row[1 + c]), Text(row[s])) << plain;
    ++pairs;
  }
  EXPECT_GE(pairs, 4);
}

TEST(ParquetReader, RefusesTypeMismatchesAndUnknownColumns) {
  EXPECT_THAT(ReadAll("int32_with_null_pages.parquet", KeyedByPath({{"int32_field", ColumnType::kString, true}}),
                      WithKeyFromPath()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("int32_with_null_pages.parquet: column \"int32_field\" is INT32 in the file; it "
                                 "cannot be read into a string column")));
  EXPECT_THAT(ReadAll("int32_with_null_pages.parquet", KeyedByPath({{"other", ColumnType::kInt64}}), WithKeyFromPath()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("the file has no column \"other\"")));
  EXPECT_THAT(ReadAll("int32_with_null_pages.parquet", KeyedByPath({{"v", ColumnType::kDouble, true}}), WithKeyFromPath()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("column \"int32_field\" of the file is not in the table")));
  // A nullable column the file lacks is null in every row.
  ASSERT_OK_AND_ASSIGN(ReadResult read,
                       ReadAll("int32_with_null_pages.parquet",
                               KeyedByPath({{"int32_field", ColumnType::kInt64, true}, {"extra", ColumnType::kDouble, true}}),
                               WithKeyFromPath()));
  ASSERT_EQ(read.rows.size(), 1000u);
  EXPECT_TRUE(std::holds_alternative<Null>(read.rows[0][2]));
}

}  // namespace
}  // namespace predstore
