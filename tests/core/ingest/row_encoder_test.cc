#include "core/ingest/row_encoder.h"

#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "core/base/status_macros.h"
#include "core/base/strings.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/cell_printers.h"
#include "tests/support/scratch_dir.h"
#include "tests/support/status_matchers.h"

namespace predstore {
namespace {

using test_support::IsOkAndHolds;
using test_support::StatusIs;
using test_support::ValueOrDie;
using ::testing::AllOf;
using ::testing::HasSubstr;

int32_t DaysOf(int year, unsigned month, unsigned day) {
  using namespace std::chrono;
  return static_cast<int32_t>(
      sys_days(std::chrono::year(year) / std::chrono::month(month) / std::chrono::day(day)).time_since_epoch().count());
}

const char kHeader[] = "day,store,item,sku,at,score,weight,count,label\n";
// A valid row, field by field, in header order.
const std::vector<std::string> kGoodFields = {"2026-11-26", "1", "2", "s", "5", "0.5", "1", "3", "l"};

class RowEncoderTest : public ::testing::Test {
 protected:
  RowEncoderTest()
      : schema_(ValueOrDie(Schema::Create({{"store", ColumnType::kInt64},
                                           {"item", ColumnType::kUint64},
                                           {"sku", ColumnType::kString},
                                           {"at", ColumnType::kTimestamp}},
                                          {{"score", ColumnType::kDouble},
                                           {"weight", ColumnType::kFloat},
                                           {"count", ColumnType::kInt64},
                                           {"label", ColumnType::kString}},
                                          Column{"day", ColumnType::kDate}))) {}

  struct Encoded {
    std::string key;
    std::string value;
  };

  // Encodes every record of the file; the first failure is returned.
  absl::StatusOr<std::vector<Encoded>> EncodeAll(const std::filesystem::path& path, InputFormat format) {
    auto reader = OpenRecordReader(path, format, schema_);
    if (!reader.ok()) return reader.status();
    RowEncoder encoder(schema_);
    std::vector<Encoded> rows;
    Encoded row{"stale key", "stale value"};
    for (;;) {
      auto has_record = (*reader)->Next();
      if (!has_record.ok()) return has_record.status();
      if (!*has_record) break;
      absl::Status status = encoder.Encode(**reader, &row.key, &row.value);
      if (!status.ok()) return status;
      rows.push_back(row);
    }
    return rows;
  }

  // Decodes an encoded row back into its lookup and value cells.
  std::vector<Cell> Decode(const Encoded& row) {
    KeyCodec key_codec(schema_);
    ValueCodec value_codec(schema_);
    std::vector<Cell> cells = ValueOrDie(key_codec.Decode(row.key));
    std::vector<Cell> values = ValueOrDie(value_codec.Decode(row.value));
    cells.insert(cells.end(), values.begin(), values.end());
    return cells;
  }

  // Expects encoding line 3 of a CSV (a good row, then `fields`) to fail
  // naming the file, line 3, the column of field `bad`, its name and `reason`.
  void ExpectCsvError(const std::vector<std::string>& fields, size_t bad, std::string_view reason) {
    std::string line = absl::StrJoin(fields, ",");
    SCOPED_TRACE(line);
    size_t column = 1;
    for (size_t i = 0; i < bad; ++i) column += fields[i].size() + 1;
    auto path = dir_.WriteFile(StrCat("bad", counter_++, ".csv"),
                               StrCat(kHeader, absl::StrJoin(kGoodFields, ","), "\n", line, "\n"));
    EXPECT_THAT(EncodeAll(path, InputFormat::kCsv),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr(StrCat(path.string(), ":3:", column, ": ")),
                               HasSubstr(StrCat("column \"", schema_.input_columns()[bad].name, "\"")),
                               HasSubstr(std::string(reason)))));
  }

  // Expects encoding line 2 of a JSON Lines file (a good object, then
  // `object`) to fail naming the file, line 2, `column` (0: the column where
  // `field`'s value starts), the field and `reason`.
  void ExpectJsonError(const std::string& object, std::string_view field, std::string_view reason, int column = 0) {
    SCOPED_TRACE(object);
    if (column == 0) column = static_cast<int>(object.find(StrCat("\"", field, "\":")) + field.size() + 4);
    auto path = dir_.WriteFile(StrCat("bad", counter_++, ".jsonl"), StrCat(GoodJson(), "\n", object, "\n"));
    EXPECT_THAT(EncodeAll(path, InputFormat::kJsonLines),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr(StrCat(path.string(), ":2:", column, ": ")),
                               HasSubstr(StrCat("column \"", field, "\"")), HasSubstr(std::string(reason)))));
  }

  static std::string GoodJson() {
    return R"({"day":"2026-11-26","store":1,"item":2,"sku":"s","at":5,"score":0.5,"weight":1,"count":3,"label":"l"})";
  }

  Schema schema_;
  test_support::ScratchDir dir_;
  int counter_ = 0;
};

TEST_F(RowEncoderTest, CsvAndJsonRowsDecodeBackToTheirCells) {
  const int64_t ten_am = int64_t{DaysOf(2026, 11, 26)} * 86'400'000'000 + int64_t{10} * 3'600'000'000;
  const std::vector<std::vector<Cell>> expected = {
      {Date{DaysOf(2026, 11, 26)}, int64_t{-5}, std::numeric_limits<uint64_t>::max(), std::string("a,b"),
       Timestamp{ten_am}, 0.25, 1.5f, int64_t{-7}, std::string("hello, world")},
      {Date{0}, std::numeric_limits<int64_t>::min(), uint64_t{0}, std::string(), Timestamp{-1}, -1e-3, 0.0f,
       std::numeric_limits<int64_t>::max(), std::string()},
      {Date{DaysOf(1999, 12, 31)}, int64_t{42}, uint64_t{7}, std::string("x\"y"), Timestamp{ten_am + 250000}, 1e300,
       -3.25f, int64_t{0}, std::string("multi\nline")},
  };
  auto csv = dir_.WriteFile(
      "rows.csv",
      StrCat(kHeader,
             "2026-11-26,-5,18446744073709551615,\"a,b\",2026-11-26T10:00:00Z,0.25,1.5,-7,\"hello, world\"\n"
             "1970-01-01,-9223372036854775808,0,\"\",-1,-1e-3,0,9223372036854775807,\"\"\n"
             "1999-12-31,42,7,\"x\"\"y\",2026-11-26T12:00:00.25+02:00,1e300,-3.25,0,\"multi\nline\"\n"));
  auto jsonl = dir_.WriteFile(
      "rows.jsonl",
      R"({"label":"hello, world","day":"2026-11-26","store":-5,"item":18446744073709551615,"sku":"a,b","at":"2026-11-26T10:00:00Z","score":0.25,"weight":1.5,"count":-7}
{"day":"1970-01-01","store":-9223372036854775808,"item":0,"sku":"","at":-1,"score":-1e-3,"weight":0,"count":9223372036854775807,"label":""}
{"day":"1999-12-31","store":42,"item":7,"sku":"x\"y","at":"2026-11-26T12:00:00.25+02:00","score":1e300,"weight":-3.25,"count":0,"label":"multi\nline"}
)");
  ASSERT_OK_AND_ASSIGN(auto from_csv, EncodeAll(csv, InputFormat::kCsv));
  ASSERT_OK_AND_ASSIGN(auto from_json, EncodeAll(jsonl, InputFormat::kJsonLines));
  ASSERT_EQ(from_csv.size(), expected.size());
  ASSERT_EQ(from_json.size(), expected.size());
  KeyCodec key_codec(schema_);
  ValueCodec value_codec(schema_);
  for (size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(Decode(from_csv[i]), expected[i]);
    // Both formats produce the same bytes, which are the codecs' encodings.
    EXPECT_EQ(from_json[i].key, from_csv[i].key);
    EXPECT_EQ(from_json[i].value, from_csv[i].value);
    std::string key, value;
    key_codec.Encode(std::span<const Cell>(expected[i].data(), 5), &key);
    value_codec.Encode(std::span<const Cell>(expected[i].data() + 5, 4), &value);
    EXPECT_EQ(from_csv[i].key, key);
    EXPECT_EQ(from_csv[i].value, value);
  }
}

TEST_F(RowEncoderTest, CsvErrorsNameFileLineColumnAndField) {
  auto with = [](size_t index, std::string text) {
    std::vector<std::string> fields = kGoodFields;
    fields[index] = std::move(text);
    return fields;
  };
  // Field indices: day 0, store 1, item 2, sku 3, at 4, score 5, weight 6, count 7, label 8.
  ExpectCsvError(with(5, "abc"), 5, "not a valid double");
  ExpectCsvError(with(5, "0.5x"), 5, "not a valid double");
  ExpectCsvError(with(5, "nan"), 5, "finite");
  ExpectCsvError(with(5, "inf"), 5, "finite");
  ExpectCsvError(with(5, "-inf"), 5, "finite");
  ExpectCsvError(with(6, "1e39"), 6, "out of range");
  ExpectCsvError(with(7, "1.5"), 7, "int64");
  ExpectCsvError(with(1, ""), 1, "missing key field");
  ExpectCsvError(with(0, ""), 0, "missing key field");
  ExpectCsvError(with(3, ""), 3, "missing key field");
  ExpectCsvError(with(8, ""), 8, "missing value");
  ExpectCsvError(with(1, "9223372036854775808"), 1, "out of range");
  ExpectCsvError(with(2, "18446744073709551616"), 2, "out of range");
  ExpectCsvError(with(2, "-1"), 2, "uint64");
  ExpectCsvError(with(0, "2026-02-30"), 0, "date");
  ExpectCsvError(with(4, "yesterday"), 4, "timestamp");
  // Keys are bounded; values are not.
  ExpectCsvError(with(3, std::string(kMaxKeyStringBytes + 1, 'k')), 3, "a key of 1025 bytes; keys are at most 1024");
  auto path = dir_.WriteFile("long.csv", StrCat(kHeader, absl::StrJoin(with(3, std::string(kMaxKeyStringBytes, 'k')), ","),
                                                "\n", absl::StrJoin(with(8, std::string(100000, 'v')), ","), "\n"));
  EXPECT_TRUE(EncodeAll(path, InputFormat::kCsv).ok());
}

TEST_F(RowEncoderTest, JsonErrorsNameFileLineColumnAndField) {
  auto replace = [](std::string_view field, std::string_view json_value) {
    std::string object = GoodJson();
    std::string name = StrCat("\"", field, "\":");
    size_t start = object.find(name) + name.size();
    size_t end = object.find_first_of(",}", start);
    return object.replace(start, end - start, json_value);
  };
  ExpectJsonError(replace("store", "\"5\""), "store", "JSON string");
  ExpectJsonError(replace("score", "\"0.5\""), "score", "JSON string");
  ExpectJsonError(replace("day", "20261126"), "day", "date");
  ExpectJsonError(replace("sku", "5"), "sku", "string");
  ExpectJsonError(replace("score", "true"), "score", "double");
  // A null is absent, located where the null is; a missing field where the object starts.
  ExpectJsonError(replace("score", "null"), "score", "missing value");
  ExpectJsonError(replace("item", "null"), "item", "missing key field");
  ExpectJsonError(replace("item", "-1"), "item", "uint64");
  ExpectJsonError(replace("store", "9223372036854775808"), "store", "out of range");
  ExpectJsonError(replace("score", "1e400"), "score", "out of range");
  ExpectJsonError(replace("weight", "1.5e39"), "weight", "out of range");
  ExpectJsonError(replace("count", "2.5"), "count", "int64");
  ExpectJsonError(R"({"day":"2026-11-26","item":2,"sku":"s","at":5,"score":0.5,"weight":1,"count":3,"label":"l"})",
                  "store", "missing key field", 1);
}

TEST_F(RowEncoderTest, JsonTimestampsMayBeNumbersOrStrings) {
  auto path = dir_.WriteFile(
      "ts.jsonl",
      R"({"day":"2026-11-26","store":1,"item":2,"sku":"s","at":1500000,"score":0.5,"weight":1,"count":3,"label":"l"}
{"day":"2026-11-26","store":1,"item":2,"sku":"s","at":"1970-01-01T00:00:01.5Z","score":0.5,"weight":1,"count":3,"label":"l"}
{"day":"2026-11-26","store":1,"item":2,"sku":"s","at":"1500000","score":0.5,"weight":1,"count":3,"label":"l"}
)");
  ASSERT_OK_AND_ASSIGN(auto rows, EncodeAll(path, InputFormat::kJsonLines));
  ASSERT_EQ(rows.size(), 3u);
  for (const auto& row : rows) EXPECT_EQ(Decode(row)[4], Cell(Timestamp{1500000}));
}

// A features table whose value columns are nullable (as Spark writes
// features with gaps) and one strict column beside them.
TEST(RowEncoderNullableTest, EmptyNaNNullAndAbsentAreNullInNullableColumnsOnly) {
  const Schema schema = ValueOrDie(Schema::Create(
      {{"id", ColumnType::kInt64}},
      {{"f_double", ColumnType::kDouble, true}, {"f_float", ColumnType::kFloat, true},
       {"f_int", ColumnType::kInt64, true}, {"f_text", ColumnType::kString, true}, {"strict", ColumnType::kDouble}},
      std::nullopt));
  test_support::ScratchDir dir;
  auto decode_all = [&](const std::filesystem::path& path, InputFormat format) -> absl::StatusOr<std::vector<std::vector<Cell>>> {
    PREDSTORE_ASSIGN_OR_RETURN(auto reader, OpenRecordReader(path, format, schema));
    RowEncoder encoder(schema);
    std::vector<std::vector<Cell>> rows;
    std::string key, value;
    for (;;) {
      PREDSTORE_ASSIGN_OR_RETURN(bool has_record, reader->Next());
      if (!has_record) return rows;
      PREDSTORE_RETURN_IF_ERROR(encoder.Encode(*reader, &key, &value));
      rows.push_back(ValueOrDie(encoder.value_codec().Decode(value)));
    }
  };
  const Cell null = Null{};
  auto csv = dir.WriteFile("features.csv",
                           "id,f_double,f_float,f_int,f_text,strict\n"
                           "1,0.5,1.5,7,a,1\n"
                           "2,,,,,2\n"
                           "3,NaN,nan,,\"\",3\n");
  EXPECT_THAT(decode_all(csv, InputFormat::kCsv),
              IsOkAndHolds(::testing::ElementsAre(
                  std::vector<Cell>{0.5, 1.5f, int64_t{7}, std::string("a"), 1.0},
                  std::vector<Cell>{null, null, null, null, 2.0},
                  // A quoted "" in a string column is the empty string, not a null.
                  std::vector<Cell>{null, null, null, std::string(), 3.0})));
  auto json = dir.WriteFile("features.jsonl",
                            "{\"id\":1,\"f_double\":null,\"f_float\":2,\"f_int\":null,\"f_text\":null,\"strict\":1}\n"
                            "{\"id\":2,\"strict\":2}\n");
  EXPECT_THAT(decode_all(json, InputFormat::kJsonLines),
              IsOkAndHolds(::testing::ElementsAre(std::vector<Cell>{null, 2.0f, null, null, 1.0},
                                                  std::vector<Cell>{null, null, null, null, 2.0})));
  // A CSV header may leave out nullable columns (null in every row), not strict ones.
  EXPECT_THAT(decode_all(dir.WriteFile("short.csv", "id,f_float,strict\n1,2,1\n"), InputFormat::kCsv),
              IsOkAndHolds(::testing::ElementsAre(std::vector<Cell>{null, 2.0f, null, null, 1.0})));
  EXPECT_THAT(decode_all(dir.WriteFile("nostrict.csv", "id,f_float\n1,2\n"), InputFormat::kCsv),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("header lacks column \"strict\"")));
  // The strict column keeps the strict rule; NaN in an integer column is no null.
  EXPECT_THAT(decode_all(dir.WriteFile("a.csv", "id,f_double,f_float,f_int,f_text,strict\n1,,,,,\n"), InputFormat::kCsv),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("a.csv:2:7: column \"strict\": missing value")));
  EXPECT_THAT(decode_all(dir.WriteFile("b.csv", "id,f_double,f_float,f_int,f_text,strict\n1,,,NaN,,1\n"), InputFormat::kCsv),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("b.csv:2:5: column \"f_int\": not a valid int64")));
  EXPECT_THAT(decode_all(dir.WriteFile("c.csv", "id,f_double,f_float,f_int,f_text,strict\n1,,,,,NaN\n"), InputFormat::kCsv),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("column \"strict\"")));
}

}  // namespace
}  // namespace predstore
