#include "core/table/value_codec.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/cell_printers.h"
#include "tests/support/status_matchers.h"

namespace predstore {
namespace {

using test_support::IsOkAndHolds;
using test_support::StatusHasCode;
using test_support::ValueOrDie;
using ::testing::ElementsAre;

Schema AllValueTypesSchema() {
  return ValueOrDie(Schema::Create({{"id", ColumnType::kInt64}},
                                   {{"d", ColumnType::kDouble},
                                    {"f", ColumnType::kFloat},
                                    {"i", ColumnType::kInt64},
                                    {"s", ColumnType::kString},
                                    {"t", ColumnType::kString}},
                                   std::nullopt));
}

std::string Encode(const ValueCodec& codec, const std::vector<Cell>& values) {
  std::string out;
  codec.Encode(values, &out);
  return out;
}

std::string Bytes(std::initializer_list<int> bytes) {
  std::string out;
  for (int b : bytes) out.push_back(static_cast<char>(b));
  return out;
}

TEST(ValueCodecTest, RoundTripsEdgeValues) {
  Schema schema = AllValueTypesSchema();
  ValueCodec codec(schema);
  const std::vector<double> doubles = {0.0,
                                       -0.0,
                                       1.5,
                                       -1e-300,
                                       std::numeric_limits<double>::max(),
                                       std::numeric_limits<double>::lowest(),
                                       std::numeric_limits<double>::denorm_min()};
  const std::vector<float> floats = {0.0f, -2.5f, std::numeric_limits<float>::max(),
                                     std::numeric_limits<float>::denorm_min()};
  const std::vector<int64_t> ints = {std::numeric_limits<int64_t>::min(), -1, 0, 1,
                                     std::numeric_limits<int64_t>::max()};
  const std::vector<std::string> strings = {"",
                                            std::string("\0", 1),
                                            "short",
                                            std::string(127, 'a'),
                                            std::string(128, 'b'),
                                            std::string(300, '\xFF'),
                                            std::string(16383, 'c'),
                                            std::string(16384, 'd'),
                                            std::string(70000, '\0')};
  for (double d : doubles) {
    for (float f : floats) {
      for (int64_t i : ints) {
        for (size_t s = 0; s < strings.size(); ++s) {
          std::vector<Cell> values = {d, f, i, strings[s], strings[strings.size() - 1 - s]};
          std::string bytes = Encode(codec, values);
          ASSERT_OK_AND_ASSIGN(std::vector<Cell> decoded, codec.Decode(bytes));
          ASSERT_EQ(decoded, values);
          // -0.0 == 0.0, so also compare the sign bit.
          EXPECT_EQ(std::signbit(std::get<double>(decoded[0])), std::signbit(d));
        }
      }
    }
  }
}

TEST(ValueCodecTest, RoundTripsRandomRows) {
  Schema schema = AllValueTypesSchema();
  ValueCodec codec(schema);
  std::mt19937_64 rng(0x76616c7565);
  auto random_string = [&] {
    std::string s(rng() % 3 == 0 ? rng() % 1000 : rng() % 20, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    return s;
  };
  for (int trial = 0; trial < 2000; ++trial) {
    double d = std::ldexp(static_cast<double>(static_cast<int64_t>(rng())), static_cast<int>(rng() % 200) - 100);
    float f = static_cast<float>(static_cast<int32_t>(rng())) / 1024.0f;
    std::vector<Cell> values = {d, f, static_cast<int64_t>(rng()), random_string(), random_string()};
    std::string out = "prefix";
    codec.Encode(values, &out);
    ASSERT_EQ(out.substr(0, 6), "prefix") << "Encode must append";
    ASSERT_THAT(codec.Decode(std::string_view(out).substr(6)), IsOkAndHolds(values));
  }
}

TEST(ValueCodecTest, EncodesTheDocumentedBytes) {
  Schema schema = AllValueTypesSchema();
  ValueCodec codec(schema);
  std::string bytes = Encode(codec, {1.0, 1.0f, int64_t{-2}, std::string(128, 'x'), std::string("hi")});
  std::string expected = Bytes({0,    0,    0,    0,    0,    0,    0xF0, 0x3F,  // 1.0, little-endian IEEE 754
                                0,    0,    0x80, 0x3F,                          // 1.0f
                                0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,  // -2
                                0x80, 0x01}) +                                   // LEB128 128
                         std::string(128, 'x') +
                         Bytes({0x02}) + "hi";
  EXPECT_EQ(bytes, expected);

  // 300 = 0b10_0101100: LEB128 0xAC 0x02. 16384 = 2^14: 0x80 0x80 0x01.
  Schema one_string =
      ValueOrDie(Schema::Create({{"id", ColumnType::kInt64}}, {{"s", ColumnType::kString}}, std::nullopt));
  ValueCodec string_codec(one_string);
  EXPECT_EQ(Encode(string_codec, {std::string(300, 'y')}).substr(0, 2), Bytes({0xAC, 0x02}));
  EXPECT_EQ(Encode(string_codec, {std::string(16384, 'y')}).substr(0, 3), Bytes({0x80, 0x80, 0x01}));
  EXPECT_EQ(Encode(string_codec, {std::string(127, 'y')}).substr(0, 1), Bytes({0x7F}));
  EXPECT_EQ(Encode(string_codec, {std::string()}), Bytes({0x00}));
}

TEST(ValueCodecTest, ForEachVisitsColumnsInOrderWithViewsIntoTheInput) {
  Schema schema = AllValueTypesSchema();
  ValueCodec codec(schema);
  std::string long_text(200, 'z');
  std::string bytes = Encode(codec, {2.5, -0.5f, int64_t{7}, long_text, std::string("x")});
  std::vector<size_t> indices;
  std::vector<std::string> texts;
  ASSERT_OK(codec.ForEach(bytes, [&](size_t index, const CellView& view) {
    indices.push_back(index);
    texts.push_back(FormatCell(view));
    if (const auto* text = std::get_if<std::string_view>(&view)) {
      EXPECT_GE(text->data(), bytes.data());
      EXPECT_LE(text->data() + text->size(), bytes.data() + bytes.size());
    }
  }));
  EXPECT_THAT(indices, ElementsAre(0, 1, 2, 3, 4));
  EXPECT_THAT(texts, ElementsAre("2.5", "-0.5", "7", long_text, "x"));
}

TEST(ValueCodecTest, EveryTruncationIsDataLoss) {
  Schema schema = AllValueTypesSchema();
  ValueCodec codec(schema);
  for (const std::string& text : {std::string(), std::string(5, 's'), std::string(200, 'l')}) {
    std::string bytes = Encode(codec, {3.0, 4.0f, int64_t{5}, text, text});
    for (size_t length = 0; length < bytes.size(); ++length) {
      ASSERT_THAT(codec.Decode(std::string_view(bytes).substr(0, length)), StatusHasCode(absl::StatusCode::kDataLoss))
          << "prefix of " << length << " of " << bytes.size() << " bytes";
      int visits = 0;
      EXPECT_THAT(codec.ForEach(std::string_view(bytes).substr(0, length), [&](size_t, const CellView&) { ++visits; }),
                  StatusHasCode(absl::StatusCode::kDataLoss));
      EXPECT_LT(visits, 5);
    }
    EXPECT_THAT(codec.Decode(bytes + "!"), StatusHasCode(absl::StatusCode::kDataLoss));
  }
}

TEST(ValueCodecTest, MalformedLengthsAreDataLoss) {
  Schema one_string =
      ValueOrDie(Schema::Create({{"id", ColumnType::kInt64}}, {{"s", ColumnType::kString}}, std::nullopt));
  ValueCodec codec(one_string);
  EXPECT_THAT(codec.Decode(Bytes({0x03, 'a', 'b', 'c'})), IsOkAndHolds(ElementsAre(Cell(std::string("abc")))));
  // Length says 4, three bytes follow.
  EXPECT_THAT(codec.Decode(Bytes({0x04, 'a', 'b', 'c'})), StatusHasCode(absl::StatusCode::kDataLoss));
  // A varint that never ends.
  EXPECT_THAT(codec.Decode(std::string(12, '\xFF')), StatusHasCode(absl::StatusCode::kDataLoss));
  EXPECT_THAT(codec.Decode(std::string(3, '\x80')), StatusHasCode(absl::StatusCode::kDataLoss));
  // A huge length (2^63 - 1, ten bytes) with nothing after it.
  EXPECT_THAT(codec.Decode(std::string(9, '\xFF') + Bytes({0x00})), StatusHasCode(absl::StatusCode::kDataLoss));
  EXPECT_THAT(codec.Decode(Bytes({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01})),
              StatusHasCode(absl::StatusCode::kDataLoss));
  EXPECT_THAT(codec.Decode(""), StatusHasCode(absl::StatusCode::kDataLoss));

  Schema one_double =
      ValueOrDie(Schema::Create({{"id", ColumnType::kInt64}}, {{"d", ColumnType::kDouble}}, std::nullopt));
  ValueCodec double_codec(one_double);
  EXPECT_THAT(double_codec.Decode(std::string(7, '\0')), StatusHasCode(absl::StatusCode::kDataLoss));
  EXPECT_THAT(double_codec.Decode(std::string(9, '\0')), StatusHasCode(absl::StatusCode::kDataLoss));
  EXPECT_THAT(double_codec.Decode(std::string(8, '\0')), IsOkAndHolds(ElementsAre(Cell(0.0))));
}

// Ten nullable columns (two bitmap bytes) between two strict ones.
Schema NullableSchema() {
  std::vector<Column> values = {{"strict_first", ColumnType::kDouble}};
  const ColumnType types[] = {ColumnType::kDouble, ColumnType::kFloat, ColumnType::kInt64, ColumnType::kString};
  for (int i = 0; i < 10; ++i) {
    values.push_back(Column{std::string(1, static_cast<char>('a' + i)), types[i % 4], /*nullable=*/true});
  }
  values.push_back({"strict_last", ColumnType::kString});
  return ValueOrDie(Schema::Create({{"id", ColumnType::kInt64}}, std::move(values), std::nullopt));
}

TEST(ValueCodecTest, NullableColumnsRoundTripEveryNullPattern) {
  Schema schema = NullableSchema();
  ValueCodec codec(schema);
  const Cell present[] = {Cell(2.5), Cell(1.25f), Cell(int64_t{-9}), Cell(std::string("text"))};
  for (uint32_t pattern = 0; pattern < (1u << 10); pattern += 7) {
    std::vector<Cell> values = {Cell(-1.0)};
    for (int i = 0; i < 10; ++i) values.push_back((pattern >> i) & 1 ? Cell(Null{}) : present[i % 4]);
    values.push_back(Cell(std::string("end")));
    const std::string bytes = Encode(codec, values);
    ASSERT_THAT(codec.Decode(bytes), IsOkAndHolds(values)) << "pattern " << pattern;
    // The bitmap leads, one bit per nullable column in order.
    EXPECT_EQ(static_cast<uint8_t>(bytes[0]), pattern & 0xFF);
    EXPECT_EQ(static_cast<uint8_t>(bytes[1]), pattern >> 8);
  }
}

TEST(ValueCodecTest, ANullTakesNoBytesAndATableWithoutNullableColumnsHasNoBitmap) {
  Schema nullable = ValueOrDie(Schema::Create({{"id", ColumnType::kInt64}},
                                              {{"d", ColumnType::kDouble, true}, {"i", ColumnType::kInt64}},
                                              std::nullopt));
  ValueCodec codec(nullable);
  EXPECT_EQ(Encode(codec, {Null{}, int64_t{1}}), Bytes({0x01, 1, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(Encode(codec, {1.0, int64_t{1}}).size(), 1u + 8 + 8);
  // A bitmap cut off, or a null bit for a present value, is caught.
  EXPECT_THAT(codec.Decode(""), StatusHasCode(absl::StatusCode::kDataLoss));
  std::string flipped = Encode(codec, {1.0, int64_t{1}});
  flipped[0] = 1;
  EXPECT_THAT(codec.Decode(flipped), StatusHasCode(absl::StatusCode::kDataLoss));

  Schema strict = ValueOrDie(
      Schema::Create({{"id", ColumnType::kInt64}}, {{"d", ColumnType::kDouble}, {"i", ColumnType::kInt64}}, std::nullopt));
  EXPECT_EQ(Encode(ValueCodec(strict), {1.0, int64_t{1}}).size(), 16u);
}

}  // namespace
}  // namespace predstore
