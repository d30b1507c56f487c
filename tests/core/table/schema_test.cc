#include "core/table/schema.h"

#include <bit>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/base/strings.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/cell_printers.h"
#include "tests/support/status_matchers.h"

namespace predstore {
namespace {

using test_support::IsOkAndHolds;
using test_support::StatusHasCode;
using test_support::StatusIs;
using test_support::ValueOrDie;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr ColumnType kAllTypes[] = {ColumnType::kInt64,  ColumnType::kUint64, ColumnType::kDate, ColumnType::kTimestamp,
                                    ColumnType::kString, ColumnType::kDouble, ColumnType::kFloat};

// Days since the epoch, computed with <chrono> (independently of absl).
int32_t DaysOf(int year, unsigned month, unsigned day) {
  using namespace std::chrono;
  return static_cast<int32_t>(
      sys_days(std::chrono::year(year) / std::chrono::month(month) / std::chrono::day(day)).time_since_epoch().count());
}

int64_t MicrosOf(int year, unsigned month, unsigned day, int hour, int minute, int second, int64_t micros = 0) {
  return int64_t{DaysOf(year, month, day)} * 86'400'000'000 +
         ((int64_t{hour} * 60 + minute) * 60 + second) * 1'000'000 + micros;
}

// --- Column types -----------------------------------------------------------

TEST(ColumnTypeTest, NamesRoundTrip) {
  std::vector<std::string> names;
  for (ColumnType type : kAllTypes) {
    names.emplace_back(ColumnTypeName(type));
    EXPECT_THAT(ParseColumnType(ColumnTypeName(type)), IsOkAndHolds(type));
  }
  EXPECT_THAT(names, ElementsAre("int64", "uint64", "date", "timestamp", "string", "double", "float"));
  EXPECT_THAT(ParseColumnType("int"), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"int\"")));
  EXPECT_THAT(ParseColumnType("Int64"), StatusHasCode(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseColumnType(""), StatusHasCode(absl::StatusCode::kInvalidArgument));
}

TEST(ColumnTypeTest, Roles) {
  std::vector<ColumnType> key, value, integer_like;
  for (ColumnType type : kAllTypes) {
    if (IsKeyType(type)) key.push_back(type);
    if (IsValueType(type)) value.push_back(type);
    if (IsIntegerLike(type)) integer_like.push_back(type);
  }
  EXPECT_THAT(key, ElementsAre(ColumnType::kInt64, ColumnType::kUint64, ColumnType::kDate, ColumnType::kTimestamp,
                               ColumnType::kString));
  EXPECT_THAT(value, ElementsAre(ColumnType::kInt64, ColumnType::kString, ColumnType::kDouble, ColumnType::kFloat));
  EXPECT_THAT(integer_like,
              ElementsAre(ColumnType::kInt64, ColumnType::kUint64, ColumnType::kDate, ColumnType::kTimestamp));
}

TEST(ColumnTypeTest, CellHasType) {
  const std::vector<Cell> cells = {int64_t{1}, uint64_t{1}, Date{1}, Timestamp{1}, std::string("x"), 1.0, 1.0f};
  for (size_t i = 0; i < cells.size(); ++i) {
    for (size_t t = 0; t < std::size(kAllTypes); ++t) {
      EXPECT_EQ(CellHasType(cells[i], kAllTypes[t]), i == t) << i << " " << ColumnTypeName(kAllTypes[t]);
    }
  }
}

// --- Schema::Create ---------------------------------------------------------

TEST(SchemaTest, CreateOrdersLookupAndInputColumns) {
  ASSERT_OK_AND_ASSIGN(Schema schema,
                       Schema::Create({{"store_id", ColumnType::kInt64}, {"item_id", ColumnType::kString}},
                                      {{"score", ColumnType::kDouble}, {"label", ColumnType::kString}},
                                      Column{"day", ColumnType::kDate}));
  EXPECT_THAT(schema.key_columns(),
              ElementsAre(Column{"store_id", ColumnType::kInt64}, Column{"item_id", ColumnType::kString}));
  EXPECT_THAT(schema.value_columns(),
              ElementsAre(Column{"score", ColumnType::kDouble}, Column{"label", ColumnType::kString}));
  EXPECT_EQ(schema.partition_column(), (Column{"day", ColumnType::kDate}));
  EXPECT_EQ(schema.layout(), KeyLayout::kZOrder);
  EXPECT_THAT(schema.lookup_columns(),
              ElementsAre(Column{"day", ColumnType::kDate}, Column{"store_id", ColumnType::kInt64},
                          Column{"item_id", ColumnType::kString}));
  EXPECT_THAT(schema.input_columns(),
              ElementsAre(Column{"day", ColumnType::kDate}, Column{"store_id", ColumnType::kInt64},
                          Column{"item_id", ColumnType::kString}, Column{"score", ColumnType::kDouble},
                          Column{"label", ColumnType::kString}));
  EXPECT_EQ(schema.InputColumnIndex("day"), 0);
  EXPECT_EQ(schema.InputColumnIndex("item_id"), 2);
  EXPECT_EQ(schema.InputColumnIndex("label"), 4);
  EXPECT_EQ(schema.InputColumnIndex("nope"), -1);
  EXPECT_EQ(schema.Describe(),
            "store_id:int64, item_id:string -> score:double, label:string (partition day:date) [zorder]");
}

TEST(SchemaTest, CreateWithoutPartition) {
  ASSERT_OK_AND_ASSIGN(Schema schema,
                       Schema::Create({{"k", ColumnType::kUint64}}, {{"v", ColumnType::kFloat}}, std::nullopt));
  EXPECT_FALSE(schema.partition_column().has_value());
  EXPECT_THAT(schema.lookup_columns(), ElementsAre(Column{"k", ColumnType::kUint64}));
  EXPECT_THAT(schema.input_columns(), ElementsAre(Column{"k", ColumnType::kUint64}, Column{"v", ColumnType::kFloat}));
}

TEST(SchemaTest, CreateAcceptsEveryKeyAndValueType) {
  for (ColumnType key :
       {ColumnType::kInt64, ColumnType::kUint64, ColumnType::kDate, ColumnType::kTimestamp, ColumnType::kString}) {
    for (ColumnType value : {ColumnType::kDouble, ColumnType::kFloat, ColumnType::kInt64, ColumnType::kString}) {
      EXPECT_OK(Schema::Create({{"k", key}}, {{"v", value}}, Column{"p", key}));
    }
  }
}

struct BadSchema {
  std::string label;
  std::vector<Column> keys;
  std::vector<Column> values;
  std::optional<Column> partition;
  std::string message_part;  // must appear in the error
};

TEST(SchemaTest, CreateRejectsInvalidSchemas) {
  const Column v{"v", ColumnType::kDouble};
  const Column k{"k", ColumnType::kInt64};
  std::vector<Column> seventeen_keys;
  for (int i = 0; i < 17; ++i) seventeen_keys.push_back(Column{StrCat("k", i), ColumnType::kInt64});
  const std::vector<BadSchema> cases = {
      {"no key columns", {}, {v}, std::nullopt, "key column"},
      {"seventeen key columns", seventeen_keys, {v}, std::nullopt, "16"},
      {"duplicate key names", {k, {"k", ColumnType::kString}}, {v}, std::nullopt, "\"k\""},
      {"key and value share a name", {k}, {{"k", ColumnType::kDouble}}, std::nullopt, "\"k\""},
      {"partition and key share a name", {k}, {v}, Column{"k", ColumnType::kDate}, "\"k\""},
      {"double key", {{"score_key", ColumnType::kDouble}}, {v}, std::nullopt, "\"score_key\""},
      {"float key", {{"f", ColumnType::kFloat}}, {v}, std::nullopt, "\"f\""},
      {"date value", {k}, {{"when", ColumnType::kDate}}, std::nullopt, "\"when\""},
      {"timestamp value", {k}, {{"ts", ColumnType::kTimestamp}}, std::nullopt, "\"ts\""},
      {"uint64 value", {k}, {{"u", ColumnType::kUint64}}, std::nullopt, "\"u\""},
      {"double partition", {k}, {v}, Column{"pd", ColumnType::kDouble}, "\"pd\""},
      {"empty name", {{"", ColumnType::kInt64}}, {v}, std::nullopt, "\"\""},
      {"dash in name", {{"a-b", ColumnType::kInt64}}, {v}, std::nullopt, "\"a-b\""},
      {"space in name", {k}, {{"a b", ColumnType::kDouble}}, std::nullopt, "\"a b\""},
      {"non-ASCII name", {{"caf\xC3\xA9", ColumnType::kInt64}}, {v}, std::nullopt, "\"caf\xC3\xA9\""},
      {"129-character name", {{std::string(129, 'n'), ColumnType::kInt64}}, {v}, std::nullopt, std::string(129, 'n')},
      {"bad partition name", {k}, {v}, Column{"p.q", ColumnType::kDate}, "\"p.q\""},
  };
  for (const BadSchema& c : cases) {
    EXPECT_THAT(Schema::Create(c.keys, c.values, c.partition),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.message_part)))
        << c.label;
  }
  // The longest valid name.
  EXPECT_OK(Schema::Create({{std::string(128, 'n'), ColumnType::kInt64}}, {v}, std::nullopt));
}

// --- ParseColumnList --------------------------------------------------------

TEST(SchemaTest, ParseColumnList) {
  EXPECT_THAT(Schema::ParseColumnList("store_id:int64"),
              IsOkAndHolds(ElementsAre(Column{"store_id", ColumnType::kInt64})));
  EXPECT_THAT(Schema::ParseColumnList(" a:int64, b : string ,c:date,d:timestamp,e:uint64,f:double,g:float "),
              IsOkAndHolds(ElementsAre(Column{"a", ColumnType::kInt64}, Column{"b", ColumnType::kString},
                                       Column{"c", ColumnType::kDate}, Column{"d", ColumnType::kTimestamp},
                                       Column{"e", ColumnType::kUint64}, Column{"f", ColumnType::kDouble},
                                       Column{"g", ColumnType::kFloat})));
  EXPECT_THAT(Schema::ParseColumnList("a"), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"a\"")));
  EXPECT_THAT(Schema::ParseColumnList("a:int64,b"), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"b\"")));
  EXPECT_THAT(Schema::ParseColumnList("a:int"), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"int\"")));
  EXPECT_THAT(Schema::ParseColumnList("a:"), StatusHasCode(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Schema::ParseColumnList("a:int64:x"), StatusHasCode(absl::StatusCode::kInvalidArgument));
}

TEST(SchemaTest, NullableValueColumns) {
  ASSERT_OK_AND_ASSIGN(std::vector<Column> values, Schema::ParseColumnList("score:double, f5 : double? ,label:string?"));
  EXPECT_THAT(values, ElementsAre(Column{"score", ColumnType::kDouble, false}, Column{"f5", ColumnType::kDouble, true},
                                  Column{"label", ColumnType::kString, true}));
  ASSERT_OK_AND_ASSIGN(Schema schema, Schema::Create({{"k", ColumnType::kInt64}}, values, std::nullopt));
  EXPECT_EQ(schema.nullable_value_columns(), 2u);
  EXPECT_EQ(schema.Describe(), "k:int64 -> score:double, f5:double?, label:string? [zorder]");
  ASSERT_OK_AND_ASSIGN(Schema parsed, Schema::FromJson(schema.ToJson()));
  EXPECT_TRUE(parsed == schema);
  EXPECT_FALSE(parsed == ValueOrDie(Schema::Create({{"k", ColumnType::kInt64}},
                                                   {{"score", ColumnType::kDouble}, {"f5", ColumnType::kDouble},
                                                    {"label", ColumnType::kString, true}},
                                                   std::nullopt)));
  // Keys and partitions always have a value.
  EXPECT_THAT(Schema::Create({{"k", ColumnType::kInt64, true}}, values, std::nullopt),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("key column \"k\" cannot be nullable")));
  EXPECT_THAT(Schema::Create({{"k", ColumnType::kInt64}}, values, Column{"day", ColumnType::kDate, true}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("partition column \"day\" cannot be nullable")));
  EXPECT_THAT(Schema::ParseColumnList("a:double??"), StatusHasCode(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Schema::FromJson(R"({"key_columns": [{"name": "k", "type": "int64"}],
                                   "value_columns": [{"name": "v", "type": "double", "nullable": "yes"}]})"),
              StatusHasCode(absl::StatusCode::kDataLoss));
}

TEST(ParseColumnCellTest, EmptyTextAndNaNAreNullOnlyInNullableColumns) {
  const Column nullable_double{"d", ColumnType::kDouble, true};
  const Column nullable_float{"f", ColumnType::kFloat, true};
  const Column nullable_int{"i", ColumnType::kInt64, true};
  const Column nullable_string{"s", ColumnType::kString, true};
  for (std::string_view text : {"", "NaN", "nan", "NAN"}) {
    EXPECT_THAT(ParseColumnCell(nullable_double, text), IsOkAndHolds(Cell(Null{}))) << text;
    EXPECT_THAT(ParseColumnCell(nullable_float, text), IsOkAndHolds(Cell(Null{}))) << text;
  }
  EXPECT_THAT(ParseColumnCell(nullable_double, "1.5"), IsOkAndHolds(Cell(1.5)));
  EXPECT_THAT(ParseColumnCell(nullable_double, "inf"), StatusHasCode(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseColumnCell(nullable_int, ""), IsOkAndHolds(Cell(Null{})));
  EXPECT_THAT(ParseColumnCell(nullable_int, "NaN"), StatusHasCode(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseColumnCell(nullable_string, ""), IsOkAndHolds(Cell(std::string())));  // only an absent field is null
  EXPECT_THAT(ParseColumnCell(nullable_string, "NaN"), IsOkAndHolds(Cell(std::string("NaN"))));
  // Strict columns keep the strict rule.
  EXPECT_THAT(ParseColumnCell(Column{"d", ColumnType::kDouble}, "NaN"), StatusHasCode(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseColumnCell(Column{"d", ColumnType::kDouble}, ""), StatusHasCode(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(FormatCell(CellView(Null{})), "null");
}

// --- JSON -------------------------------------------------------------------

TEST(SchemaTest, JsonRoundTrip) {
  std::vector<Schema> schemas = {
      ValueOrDie(Schema::Create({{"k", ColumnType::kInt64}}, {{"v", ColumnType::kDouble}}, std::nullopt)),
      ValueOrDie(Schema::Create({{"a", ColumnType::kUint64}, {"b", ColumnType::kString}, {"c", ColumnType::kTimestamp}},
                                {{"x", ColumnType::kFloat}, {"y", ColumnType::kInt64}, {"z", ColumnType::kString}},
                                Column{"day", ColumnType::kDate})),
      ValueOrDie(
          Schema::Create({{"k", ColumnType::kDate}}, {{"v", ColumnType::kString}}, Column{"p", ColumnType::kString})),
  };
  for (const Schema& schema : schemas) {
    std::string json = schema.ToJson();
    ASSERT_OK_AND_ASSIGN(Schema parsed, Schema::FromJson(json));
    EXPECT_TRUE(parsed == schema) << json;
    EXPECT_EQ(parsed.Describe(), schema.Describe());
    EXPECT_EQ(parsed.input_columns(), schema.input_columns());
    EXPECT_EQ(parsed.ToJson(), json);
  }
  // Different schemas differ.
  EXPECT_FALSE(schemas[0] == schemas[1]);
  Schema renamed = ValueOrDie(Schema::Create({{"k", ColumnType::kInt64}}, {{"w", ColumnType::kDouble}}, std::nullopt));
  EXPECT_FALSE(schemas[0] == renamed);
}

TEST(SchemaTest, FromJsonRejectsMalformedInput) {
  EXPECT_THAT(Schema::FromJson("not json"), StatusHasCode(absl::StatusCode::kDataLoss));
  EXPECT_THAT(Schema::FromJson("[1,2]"), StatusHasCode(absl::StatusCode::kDataLoss));
  EXPECT_THAT(Schema::FromJson(R"({"key_columns": 5, "value_columns": []})"),
              StatusHasCode(absl::StatusCode::kDataLoss));
  EXPECT_THAT(
      Schema::FromJson(R"({"key_columns": [{"name": "k"}], "value_columns": [{"name": "v", "type": "double"}]})"),
      StatusHasCode(absl::StatusCode::kDataLoss));
  EXPECT_FALSE(Schema::FromJson(R"({"key_columns": [{"name": "k", "type": "bogus"}],
                                    "value_columns": [{"name": "v", "type": "double"}]})")
                   .ok());
  // Well-formed JSON describing an invalid schema (no key columns).
  EXPECT_FALSE(Schema::FromJson(R"({"key_columns": [], "value_columns": [{"name": "v", "type": "double"}]})").ok());
}

// --- ParseCell / FormatCell -------------------------------------------------

TEST(ParseCellTest, Int64) {
  EXPECT_THAT(ParseCell(ColumnType::kInt64, "0"), IsOkAndHolds(Cell(int64_t{0})));
  EXPECT_THAT(ParseCell(ColumnType::kInt64, "-1"), IsOkAndHolds(Cell(int64_t{-1})));
  EXPECT_THAT(ParseCell(ColumnType::kInt64, "9223372036854775807"),
              IsOkAndHolds(Cell(std::numeric_limits<int64_t>::max())));
  EXPECT_THAT(ParseCell(ColumnType::kInt64, "-9223372036854775808"),
              IsOkAndHolds(Cell(std::numeric_limits<int64_t>::min())));
  EXPECT_THAT(ParseCell(ColumnType::kInt64, "9223372036854775808"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("out of range")));
  EXPECT_THAT(ParseCell(ColumnType::kInt64, "-9223372036854775809"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("out of range")));
  for (const char* bad : {"", "1.5", "1e3", " 1", "1 ", "0x10", "abc", "--1", "1-"}) {
    EXPECT_THAT(ParseCell(ColumnType::kInt64, bad), StatusHasCode(absl::StatusCode::kInvalidArgument)) << bad;
  }
}

TEST(ParseCellTest, Uint64) {
  EXPECT_THAT(ParseCell(ColumnType::kUint64, "0"), IsOkAndHolds(Cell(uint64_t{0})));
  EXPECT_THAT(ParseCell(ColumnType::kUint64, "18446744073709551615"),
              IsOkAndHolds(Cell(std::numeric_limits<uint64_t>::max())));
  EXPECT_THAT(ParseCell(ColumnType::kUint64, "18446744073709551616"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("out of range")));
  EXPECT_THAT(ParseCell(ColumnType::kUint64, "-1"), StatusHasCode(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseCell(ColumnType::kUint64, ""), StatusHasCode(absl::StatusCode::kInvalidArgument));
}

TEST(ParseCellTest, Double) {
  EXPECT_THAT(ParseCell(ColumnType::kDouble, "1.5"), IsOkAndHolds(Cell(1.5)));
  EXPECT_THAT(ParseCell(ColumnType::kDouble, "-2"), IsOkAndHolds(Cell(-2.0)));
  EXPECT_THAT(ParseCell(ColumnType::kDouble, "2.5e-3"), IsOkAndHolds(Cell(2.5e-3)));
  EXPECT_THAT(ParseCell(ColumnType::kDouble, "1.7976931348623157e308"),
              IsOkAndHolds(Cell(std::numeric_limits<double>::max())));
  for (const char* bad :
       {"nan", "NaN", "-nan", "inf", "-inf", "Infinity", "1e400", "-1e400", "", "1.5x", "abc", " 1"}) {
    EXPECT_THAT(ParseCell(ColumnType::kDouble, bad), StatusHasCode(absl::StatusCode::kInvalidArgument)) << bad;
  }
  EXPECT_THAT(ParseCell(ColumnType::kDouble, "nan"), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("finite")));
}

TEST(ParseCellTest, Float) {
  EXPECT_THAT(ParseCell(ColumnType::kFloat, "0.1"), IsOkAndHolds(Cell(0.1f)));
  EXPECT_THAT(ParseCell(ColumnType::kFloat, "3.4e38"), IsOkAndHolds(Cell(3.4e38f)));
  for (const char* bad : {"nan", "inf", "-inf", "1e39", "", "x"}) {
    EXPECT_THAT(ParseCell(ColumnType::kFloat, bad), StatusHasCode(absl::StatusCode::kInvalidArgument)) << bad;
  }
}

TEST(ParseCellTest, Date) {
  EXPECT_THAT(ParseCell(ColumnType::kDate, "1970-01-01"), IsOkAndHolds(Cell(Date{0})));
  EXPECT_THAT(ParseCell(ColumnType::kDate, "1969-12-31"), IsOkAndHolds(Cell(Date{-1})));
  EXPECT_THAT(ParseCell(ColumnType::kDate, "2026-11-26"), IsOkAndHolds(Cell(Date{DaysOf(2026, 11, 26)})));
  EXPECT_THAT(ParseCell(ColumnType::kDate, "2024-02-29"), IsOkAndHolds(Cell(Date{DaysOf(2024, 2, 29)})));
  EXPECT_THAT(ParseCell(ColumnType::kDate, "0001-01-01"), IsOkAndHolds(Cell(Date{DaysOf(1, 1, 1)})));
  EXPECT_THAT(ParseCell(ColumnType::kDate, "9999-12-31"), IsOkAndHolds(Cell(Date{DaysOf(9999, 12, 31)})));
  EXPECT_THAT(ParseCell(ColumnType::kDate, "0000-01-01"), IsOkAndHolds(Cell(Date{DaysOf(0, 1, 1)})));
  for (const char* bad :
       {"2026-02-29", "2026-02-30", "2026-13-01", "2026-00-10", "2026-11-00", "2026-11-32", "2026-1-1", "26-11-26",
        "2026/11/26", "20261126", "", "2026-11-26T00:00:00Z", "2026-11-26 ", "yesterday"}) {
    EXPECT_THAT(ParseCell(ColumnType::kDate, bad), StatusHasCode(absl::StatusCode::kInvalidArgument)) << bad;
  }
}

TEST(ParseCellTest, Timestamp) {
  const int64_t ten_am = MicrosOf(2026, 11, 26, 10, 0, 0);
  EXPECT_THAT(ParseCell(ColumnType::kTimestamp, "1970-01-01T00:00:00Z"), IsOkAndHolds(Cell(Timestamp{0})));
  EXPECT_THAT(ParseCell(ColumnType::kTimestamp, "2026-11-26T10:00:00Z"), IsOkAndHolds(Cell(Timestamp{ten_am})));
  EXPECT_THAT(ParseCell(ColumnType::kTimestamp, "2026-11-26T10:00:00.5Z"),
              IsOkAndHolds(Cell(Timestamp{ten_am + 500000})));
  EXPECT_THAT(ParseCell(ColumnType::kTimestamp, "2026-11-26T10:00:00.123456Z"),
              IsOkAndHolds(Cell(Timestamp{ten_am + 123456})));
  EXPECT_THAT(ParseCell(ColumnType::kTimestamp, "2026-11-26T12:00:00+02:00"), IsOkAndHolds(Cell(Timestamp{ten_am})));
  EXPECT_THAT(ParseCell(ColumnType::kTimestamp, "2026-11-26T05:30:00-04:30"), IsOkAndHolds(Cell(Timestamp{ten_am})));
  EXPECT_THAT(ParseCell(ColumnType::kTimestamp, "2026-11-27T01:15:00.25+15:15"),
              IsOkAndHolds(Cell(Timestamp{ten_am + 250000})));
  EXPECT_THAT(ParseCell(ColumnType::kTimestamp, "1969-12-31T23:59:59.999999Z"), IsOkAndHolds(Cell(Timestamp{-1})));
  // Integer microseconds since the epoch.
  EXPECT_THAT(ParseCell(ColumnType::kTimestamp, "0"), IsOkAndHolds(Cell(Timestamp{0})));
  EXPECT_THAT(ParseCell(ColumnType::kTimestamp, "1764151200000000"), IsOkAndHolds(Cell(Timestamp{1764151200000000})));
  EXPECT_THAT(ParseCell(ColumnType::kTimestamp, "-5"), IsOkAndHolds(Cell(Timestamp{-5})));
  EXPECT_THAT(ParseCell(ColumnType::kTimestamp, "9223372036854775807"),
              IsOkAndHolds(Cell(Timestamp{std::numeric_limits<int64_t>::max()})));
  EXPECT_THAT(ParseCell(ColumnType::kTimestamp, "9223372036854775808"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("out of range")));
  for (const char* bad : {"", "-", "2026-11-26", "2026-11-26T10:00:00", "2026-11-26T10:00Z", "2026-11-26T25:00:00Z",
                          "2026-02-30T10:00:00Z", "2026-11-26T10:00:00+2", "1.5", "now", "2026-11-26T10:00:00Zjunk"}) {
    EXPECT_THAT(ParseCell(ColumnType::kTimestamp, bad), StatusHasCode(absl::StatusCode::kInvalidArgument)) << bad;
  }
}

TEST(ParseCellTest, StringIsTakenAsIs) {
  for (const std::string& text : {std::string(), std::string(" a,b \"c\" "), std::string("\0\xFF", 2)}) {
    EXPECT_THAT(ParseCell(ColumnType::kString, text), IsOkAndHolds(Cell(text)));
  }
}

TEST(FormatCellTest, CanonicalForms) {
  EXPECT_EQ(FormatCell(CellView(int64_t{-42})), "-42");
  EXPECT_EQ(FormatCell(CellView(std::numeric_limits<int64_t>::min())), "-9223372036854775808");
  EXPECT_EQ(FormatCell(CellView(std::numeric_limits<uint64_t>::max())), "18446744073709551615");
  EXPECT_EQ(FormatCell(CellView(0.1)), "0.1");
  EXPECT_EQ(FormatCell(CellView(-2.0)), "-2");
  EXPECT_EQ(FormatCell(CellView(0.1f)), "0.1");
  EXPECT_EQ(FormatCell(CellView(Date{0})), "1970-01-01");
  EXPECT_EQ(FormatCell(CellView(Date{DaysOf(2026, 11, 26)})), "2026-11-26");
  EXPECT_EQ(FormatCell(CellView(Date{DaysOf(1, 1, 1)})), "0001-01-01");
  EXPECT_EQ(FormatCell(CellView(Date{DaysOf(999, 12, 31)})), "0999-12-31");
  EXPECT_EQ(FormatCell(CellView(Date{DaysOf(-5, 6, 7)})), "-005-06-07");
  EXPECT_EQ(FormatCell(CellView(Timestamp{0})), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatCell(CellView(Timestamp{1500000})), "1970-01-01T00:00:01.5Z");
  EXPECT_EQ(FormatCell(CellView(Timestamp{-1})), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(FormatCell(CellView(Timestamp{MicrosOf(2026, 11, 26, 10, 0, 0, 123)})), "2026-11-26T10:00:00.000123Z");
  EXPECT_EQ(FormatCell(CellView(std::string_view("a,b"))), "a,b");
  EXPECT_EQ(FormatCell(ViewOf(Cell(std::string("owned")))), "owned");
}

// FormatCell's text reads back through ParseCell to the same cell.
TEST(FormatCellTest, ParseCellReadsBackTheSameCell) {
  std::mt19937_64 rng(0x666f726d6174);
  std::vector<Cell> cells = {int64_t{0},
                             std::numeric_limits<int64_t>::min(),
                             std::numeric_limits<int64_t>::max(),
                             uint64_t{0},
                             std::numeric_limits<uint64_t>::max(),
                             0.0,
                             -0.0,
                             std::numeric_limits<double>::max(),
                             std::numeric_limits<double>::denorm_min(),
                             std::numeric_limits<float>::max(),
                             std::numeric_limits<float>::denorm_min(),
                             Date{0},
                             Date{DaysOf(0, 1, 1)},
                             Date{DaysOf(1, 1, 1)},
                             Date{DaysOf(999, 12, 31)},
                             Date{DaysOf(9999, 12, 31)},
                             Date{DaysOf(-5, 6, 7)},
                             Date{DaysOf(-999, 1, 1)},
                             Timestamp{0},
                             Timestamp{-1},
                             Timestamp{MicrosOf(1, 1, 1, 0, 0, 0)},
                             Timestamp{MicrosOf(9999, 12, 31, 23, 59, 59, 999999)},
                             std::string(),
                             std::string("x")};
  for (int i = 0; i < 500; ++i) {
    cells.push_back(static_cast<int64_t>(rng()));
    cells.push_back(static_cast<uint64_t>(rng()));
    double d = std::bit_cast<double>(rng());
    if (std::isfinite(d)) cells.push_back(d);
    float f = std::bit_cast<float>(static_cast<uint32_t>(rng()));
    if (std::isfinite(f)) cells.push_back(f);
    // Dates in years 0000-9999.
    int32_t first = DaysOf(0, 1, 1);
    int32_t last = DaysOf(9999, 12, 31);
    cells.push_back(Date{first + static_cast<int32_t>(rng() % static_cast<uint64_t>(last - first + 1))});
    int64_t first_micros = MicrosOf(1, 1, 1, 0, 0, 0);
    int64_t last_micros = MicrosOf(9999, 12, 31, 23, 59, 59, 999999);
    cells.push_back(
        Timestamp{first_micros + static_cast<int64_t>(rng() % static_cast<uint64_t>(last_micros - first_micros))});
  }
  const ColumnType types[] = {ColumnType::kInt64,  ColumnType::kUint64, ColumnType::kDouble,   ColumnType::kFloat,
                              ColumnType::kString, ColumnType::kDate,   ColumnType::kTimestamp};
  for (const Cell& cell : cells) {
    ColumnType type = types[cell.index()];
    ASSERT_TRUE(CellHasType(cell, type));
    std::string text = FormatCell(ViewOf(cell));
    auto parsed = ParseCell(type, text);
    ASSERT_TRUE(parsed.ok()) << text << ": " << parsed.status();
    if (const double* d = std::get_if<double>(&cell)) {
      EXPECT_EQ(std::bit_cast<uint64_t>(std::get<double>(*parsed)), std::bit_cast<uint64_t>(*d)) << text;
    } else if (const float* f = std::get_if<float>(&cell)) {
      EXPECT_EQ(std::bit_cast<uint32_t>(std::get<float>(*parsed)), std::bit_cast<uint32_t>(*f)) << text;
    } else {
      EXPECT_EQ(*parsed, cell) << text;
    }
  }
}

TEST(KeyLayoutTest, Names) {
  EXPECT_EQ(KeyLayoutName(KeyLayout::kZOrder), "zorder");
  EXPECT_THAT(ParseKeyLayout("zorder"), IsOkAndHolds(KeyLayout::kZOrder));
  EXPECT_THAT(ParseKeyLayout("hilbert"), IsOkAndHolds(KeyLayout::kHilbert));
  EXPECT_THAT(ParseKeyLayout("peano"), StatusHasCode(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseKeyNormalization("quantile"), IsOkAndHolds(KeyNormalization::kQuantile));
  EXPECT_THAT(ParseKeyNormalization("log"), StatusHasCode(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace predstore
