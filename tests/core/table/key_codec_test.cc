#include "core/table/key_codec.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <utility>
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
using test_support::ValueOrDie;

constexpr ColumnType kKeyTypes[] = {ColumnType::kInt64, ColumnType::kUint64, ColumnType::kDate, ColumnType::kTimestamp,
                                    ColumnType::kString};

constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr uint64_t kUint64Max = std::numeric_limits<uint64_t>::max();
constexpr int32_t kInt32Min = std::numeric_limits<int32_t>::min();
constexpr int32_t kInt32Max = std::numeric_limits<int32_t>::max();

// Every list of 1 to 3 key column types (5 + 25 + 125 lists).
std::vector<std::vector<ColumnType>> AllKeyTypeLists() {
  std::vector<std::vector<ColumnType>> lists;
  for (ColumnType a : kKeyTypes) {
    lists.push_back({a});
    for (ColumnType b : kKeyTypes) {
      lists.push_back({a, b});
      for (ColumnType c : kKeyTypes) lists.push_back({a, b, c});
    }
  }
  return lists;
}

Schema MakeSchema(const std::vector<ColumnType>& key_types, std::optional<ColumnType> partition_type) {
  std::vector<Column> keys;
  for (size_t i = 0; i < key_types.size(); ++i) keys.push_back(Column{StrCat("k", i), key_types[i]});
  std::optional<Column> partition;
  if (partition_type) partition = Column{"p", *partition_type};
  return ValueOrDie(Schema::Create(std::move(keys), {Column{"v", ColumnType::kDouble}}, std::move(partition)));
}

std::vector<Cell> EdgeCells(ColumnType type) {
  switch (type) {
    case ColumnType::kInt64:
      return {kInt64Min, kInt64Min + 1, int64_t{-1}, int64_t{0}, int64_t{1}, kInt64Max - 1, kInt64Max};
    case ColumnType::kUint64:
      return {uint64_t{0}, uint64_t{1}, uint64_t{1} << 63, (uint64_t{1} << 63) - 1, kUint64Max - 1, kUint64Max};
    case ColumnType::kDate:
      return {Date{kInt32Min}, Date{kInt32Min + 1}, Date{-1}, Date{0}, Date{1}, Date{kInt32Max}};
    case ColumnType::kTimestamp:
      return {Timestamp{kInt64Min}, Timestamp{-1}, Timestamp{0}, Timestamp{1}, Timestamp{kInt64Max}};
    case ColumnType::kString:
      return {std::string(),           std::string(1, '\0'),     std::string(2, '\0'),     std::string("\xFF"),
              std::string("\xFF\xFF"), std::string("\0\xFF", 2), std::string("\0\x01", 2), std::string("\x01"),
              std::string("a\0b", 3),  std::string("a"),         std::string("ab"),        std::string("\xFF\0", 2)};
    default:
      return {};
  }
}

// Random cells of key types, a quarter of them edge values.
class CellGenerator {
 public:
  explicit CellGenerator(uint64_t seed) : rng_(seed) {}

  Cell Random(ColumnType type) {
    if (rng_() % 4 == 0) {
      std::vector<Cell> edges = EdgeCells(type);
      return edges[rng_() % edges.size()];
    }
    switch (type) {
      case ColumnType::kInt64:
        return static_cast<int64_t>(RandomWord());
      case ColumnType::kUint64:
        return RandomWord();
      case ColumnType::kDate:
        return Date{static_cast<int32_t>(static_cast<uint32_t>(RandomWord()))};
      case ColumnType::kTimestamp:
        return Timestamp{static_cast<int64_t>(RandomWord())};
      case ColumnType::kString:
        return RandomString();
      default:
        return int64_t{0};
    }
  }

  std::vector<Cell> RandomRow(const Schema& schema) {
    std::vector<Cell> cells;
    for (const Column& column : schema.lookup_columns()) cells.push_back(Random(column.type));
    return cells;
  }

  std::string RandomBytes(size_t max_length) {
    static constexpr char kAlphabet[] = {'\0', '\x01', '\x02', '\x7F', '\x80', '\xFE', '\xFF', 'a', 'b'};
    std::string bytes(rng_() % (max_length + 1), '\0');
    for (char& c : bytes) c = (rng_() % 2) ? kAlphabet[rng_() % sizeof(kAlphabet)] : static_cast<char>(rng_());
    return bytes;
  }

  uint64_t Uniform(uint64_t n) { return rng_() % n; }

 private:
  // Full-range words half the time, small magnitudes (around 0) otherwise.
  uint64_t RandomWord() {
    if (rng_() % 2) return rng_();
    return static_cast<uint64_t>(static_cast<int64_t>(rng_() % 2001) - 1000);
  }
  std::string RandomString() { return RandomBytes(10); }

  std::mt19937_64 rng_;
};

// An independent implementation of the documented key format, bit by bit.
int OrdinalWidth(ColumnType type) { return type == ColumnType::kDate ? 32 : 64; }

uint64_t Ordinal(const Cell& cell) {
  constexpr uint64_t kHalf64 = uint64_t{1} << 63;
  constexpr uint32_t kHalf32 = uint32_t{1} << 31;
  if (const auto* v = std::get_if<int64_t>(&cell)) return static_cast<uint64_t>(*v) + kHalf64;
  if (const auto* v = std::get_if<uint64_t>(&cell)) return *v;
  if (const auto* v = std::get_if<Timestamp>(&cell)) return static_cast<uint64_t>(v->micros) + kHalf64;
  if (const auto* v = std::get_if<Date>(&cell)) return static_cast<uint32_t>(static_cast<uint32_t>(v->days) + kHalf32);
  ADD_FAILURE() << "not an integer-like cell";
  return 0;
}

struct MortonColumn {
  uint64_t ordinal;
  int width;
};

std::string ExpectedMorton(const std::vector<MortonColumn>& columns) {
  int max_width = 0;
  for (const MortonColumn& c : columns) max_width = std::max(max_width, c.width);
  std::vector<int> bits;
  for (int round = max_width - 1; round >= 0; --round) {
    for (const MortonColumn& c : columns) {
      if (c.width > round) bits.push_back(static_cast<int>((c.ordinal >> round) & 1));
    }
  }
  EXPECT_EQ(bits.size() % 8, 0u);
  std::string out(bits.size() / 8, '\0');
  for (size_t i = 0; i < bits.size(); ++i) {
    if (bits[i]) out[i / 8] = static_cast<char>(static_cast<unsigned char>(out[i / 8]) | (0x80u >> (i % 8)));
  }
  return out;
}

std::string ExpectedEscaped(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\0') {
      out += std::string("\0\xFF", 2);
    } else {
      out += c;
    }
  }
  return out + std::string("\0\x01", 2);
}

std::string ExpectedKey(const Schema& schema, const std::vector<Cell>& cells) {
  std::string key;
  size_t first_key = 0;
  if (schema.partition_column()) {
    ColumnType type = schema.partition_column()->type;
    if (type == ColumnType::kString) {
      key += ExpectedEscaped(std::get<std::string>(cells[0]));
    } else {
      uint64_t ordinal = Ordinal(cells[0]);
      for (int shift = OrdinalWidth(type) - 8; shift >= 0; shift -= 8) {
        key += static_cast<char>((ordinal >> shift) & 0xFF);
      }
    }
    first_key = 1;
  }
  std::vector<MortonColumn> morton;
  for (size_t i = first_key; i < cells.size(); ++i) {
    ColumnType type = schema.lookup_columns()[i].type;
    if (type != ColumnType::kString) morton.push_back({Ordinal(cells[i]), OrdinalWidth(type)});
  }
  key += ExpectedMorton(morton);
  for (size_t i = first_key; i < cells.size(); ++i) {
    if (schema.lookup_columns()[i].type == ColumnType::kString) key += ExpectedEscaped(std::get<std::string>(cells[i]));
  }
  return key;
}

std::string Encode(const KeyCodec& codec, const std::vector<Cell>& cells) {
  std::string key;
  codec.Encode(cells, &key);
  return key;
}

int Sign(int value) { return (value > 0) - (value < 0); }

// Parameterized by the partition column's type (or none); each test walks
// every list of 1-3 key column types.
class KeyCodecAllSchemasTest : public ::testing::TestWithParam<std::optional<ColumnType>> {};

INSTANTIATE_TEST_SUITE_P(Partitions, KeyCodecAllSchemasTest,
                         ::testing::Values(std::nullopt, ColumnType::kInt64, ColumnType::kUint64, ColumnType::kDate,
                                           ColumnType::kTimestamp, ColumnType::kString),
                         [](const ::testing::TestParamInfo<std::optional<ColumnType>>& info) {
                           return info.param ? StrCat("Partition_", ColumnTypeName(*info.param))
                                             : std::string("NoPartition");
                         });

TEST_P(KeyCodecAllSchemasTest, EncodeMatchesFormatAndDecodeRoundTrips) {
  CellGenerator generator(0x6b6579636f646563);
  for (const auto& key_types : AllKeyTypeLists()) {
    Schema schema = MakeSchema(key_types, GetParam());
    KeyCodec codec(schema);
    SCOPED_TRACE(schema.Describe());

    std::vector<std::vector<Cell>> rows;
    for (int i = 0; i < 40; ++i) rows.push_back(generator.RandomRow(schema));
    // Every column at each of its edge values, the others random.
    for (size_t c = 0; c < schema.lookup_columns().size(); ++c) {
      for (const Cell& edge : EdgeCells(schema.lookup_columns()[c].type)) {
        rows.push_back(generator.RandomRow(schema));
        rows.back()[c] = edge;
      }
    }
    for (const auto& row : rows) {
      std::string out = "existing";
      codec.Encode(row, &out);
      ASSERT_EQ(out.substr(0, 8), "existing") << "Encode must append";
      std::string key = out.substr(8);
      ASSERT_EQ(key, ExpectedKey(schema, row));
      auto decoded = codec.Decode(key);
      ASSERT_TRUE(decoded.ok()) << decoded.status();
      ASSERT_EQ(*decoded, row);
    }
  }
}

TEST_P(KeyCodecAllSchemasTest, KeyBytesFollowEachColumnsOrderWhenOthersAreFixed) {
  CellGenerator generator(0x6f72646572);
  for (const auto& key_types : AllKeyTypeLists()) {
    Schema schema = MakeSchema(key_types, GetParam());
    KeyCodec codec(schema);
    SCOPED_TRACE(schema.Describe());
    for (size_t c = 0; c < schema.lookup_columns().size(); ++c) {
      ColumnType type = schema.lookup_columns()[c].type;
      for (int trial = 0; trial < 6; ++trial) {
        std::vector<Cell> base = generator.RandomRow(schema);
        std::vector<Cell> values = EdgeCells(type);
        for (int i = 0; i < 6; ++i) values.push_back(generator.Random(type));
        std::vector<std::string> keys;
        for (const Cell& value : values) {
          base[c] = value;
          keys.push_back(Encode(codec, base));
        }
        for (size_t i = 0; i < values.size(); ++i) {
          for (size_t j = 0; j < values.size(); ++j) {
            int value_order = values[i] < values[j] ? -1 : (values[j] < values[i] ? 1 : 0);
            ASSERT_EQ(Sign(keys[i].compare(keys[j])), value_order)
                << "column " << c << ": " << ::testing::PrintToString(values[i]) << " vs "
                << ::testing::PrintToString(values[j]);
            // std::string's operator< must agree (it compares bytes as unsigned).
            ASSERT_EQ(keys[i] < keys[j], value_order < 0);
          }
        }
      }
    }
  }
}

TEST_P(KeyCodecAllSchemasTest, PartitionOrdersFirstAndPrefixLengthMatches) {
  CellGenerator generator(0x7061727469);
  for (const auto& key_types : AllKeyTypeLists()) {
    Schema schema = MakeSchema(key_types, GetParam());
    KeyCodec codec(schema);
    SCOPED_TRACE(schema.Describe());
    for (int trial = 0; trial < 20; ++trial) {
      std::vector<Cell> a = generator.RandomRow(schema);
      std::vector<Cell> b = generator.RandomRow(schema);
      std::string key_a = Encode(codec, a);
      std::string key_b = Encode(codec, b);
      if (!GetParam()) {
        EXPECT_THAT(codec.PartitionPrefixLength(key_a), IsOkAndHolds(size_t{0}));
        continue;
      }
      if (a[0] < b[0]) {
        EXPECT_LT(key_a, key_b);
      } else if (b[0] < a[0]) {
        EXPECT_LT(key_b, key_a);
      }
      for (const auto& [row, key] : {std::pair(&a, &key_a), std::pair(&b, &key_b)}) {
        std::string prefix;
        codec.EncodePartition((*row)[0], &prefix);
        ASSERT_OK_AND_ASSIGN(size_t prefix_length, codec.PartitionPrefixLength(*key));
        EXPECT_EQ(prefix_length, prefix.size());
        EXPECT_EQ(key->substr(0, prefix.size()), prefix);
      }
    }
  }
}

TEST_P(KeyCodecAllSchemasTest, DecodeRejectsTruncatedAndExtendedKeys) {
  CellGenerator generator(0x7472756e63);
  for (const auto& key_types : AllKeyTypeLists()) {
    Schema schema = MakeSchema(key_types, GetParam());
    KeyCodec codec(schema);
    SCOPED_TRACE(schema.Describe());
    for (int trial = 0; trial < 4; ++trial) {
      std::string key = Encode(codec, generator.RandomRow(schema));
      for (size_t length = 0; length < key.size(); ++length) {
        ASSERT_THAT(codec.Decode(key.substr(0, length)), StatusHasCode(absl::StatusCode::kDataLoss))
            << "prefix of " << length << " of " << key.size() << " bytes";
      }
      EXPECT_THAT(codec.Decode(key + std::string(1, '\0')), StatusHasCode(absl::StatusCode::kDataLoss));
      EXPECT_THAT(codec.Decode(key + "x"), StatusHasCode(absl::StatusCode::kDataLoss));
    }
  }
}

TEST_P(KeyCodecAllSchemasTest, DecodeOfGarbageIsDataLossOrACanonicalKey) {
  CellGenerator generator(0x67617262);
  for (const auto& key_types : AllKeyTypeLists()) {
    Schema schema = MakeSchema(key_types, GetParam());
    KeyCodec codec(schema);
    SCOPED_TRACE(schema.Describe());
    for (int trial = 0; trial < 40; ++trial) {
      std::string garbage = generator.RandomBytes(40);
      auto decoded = codec.Decode(garbage);
      if (decoded.ok()) {
        // Whatever decodes must be exactly the encoding of what it decodes to.
        ASSERT_EQ(decoded->size(), schema.lookup_columns().size());
        for (size_t i = 0; i < decoded->size(); ++i) {
          ASSERT_TRUE(CellHasType((*decoded)[i], schema.lookup_columns()[i].type));
        }
        EXPECT_EQ(Encode(codec, *decoded), garbage);
      } else {
        EXPECT_THAT(decoded, StatusHasCode(absl::StatusCode::kDataLoss));
      }
      auto prefix_length = codec.PartitionPrefixLength(garbage);
      if (prefix_length.ok()) {
        EXPECT_LE(*prefix_length, garbage.size());
      } else {
        EXPECT_THAT(prefix_length, StatusHasCode(absl::StatusCode::kDataLoss));
      }
    }
  }
}

// Found by the keys fuzz target: on the Hilbert curve every column gets the
// widest column's bits, so a date's coordinate can be set past 32 bits in
// a forged key (a page token); that is no key's, and must not decode.
TEST(KeyCodecTest, HilbertDecodeOfGarbageIsDataLossOrACanonicalKey) {
  CellGenerator generator(0x68696c62);
  const Schema schema = ValueOrDie(Schema::Create({Column{"id", ColumnType::kInt64}, Column{"day", ColumnType::kDate}},
                                                  {Column{"v", ColumnType::kDouble}}, std::nullopt,
                                                  KeyLayout::kHilbert));
  KeyCodec codec(schema);
  int rejected = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    std::string garbage = generator.RandomBytes(16);
    auto decoded = codec.Decode(garbage);
    if (decoded.ok()) {
      EXPECT_EQ(Encode(codec, *decoded), garbage);
    } else {
      EXPECT_THAT(decoded, StatusHasCode(absl::StatusCode::kDataLoss));
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 0) << "most random 128-bit indexes put the date past 32 bits";
}

TEST(KeyCodecTest, DecodeRejectsMalformedStringEscapes) {
  Schema schema = MakeSchema({ColumnType::kString}, std::nullopt);
  KeyCodec codec(schema);
  ASSERT_OK_AND_ASSIGN(std::vector<Cell> ok, codec.Decode(std::string("a\0\xFF"
                                                                      "b\0\x01",
                                                                      6)));
  EXPECT_EQ(ok, std::vector<Cell>{std::string("a\0b", 3)});
  for (const std::string& bad : {std::string("abc"), std::string("a\0", 2), std::string("a\0\x02", 3),
                                 std::string("a\0\0\x01", 4), std::string("\0", 1), std::string()}) {
    EXPECT_THAT(codec.Decode(bad), StatusHasCode(absl::StatusCode::kDataLoss)) << ::testing::PrintToString(bad);
  }
}

TEST(KeyCodecTest, PartitionPrefixLength) {
  Schema unpartitioned = MakeSchema({ColumnType::kInt64}, std::nullopt);
  KeyCodec plain(unpartitioned);
  EXPECT_THAT(plain.PartitionPrefixLength("anything"), IsOkAndHolds(size_t{0}));
  EXPECT_THAT(plain.PartitionPrefixLength(""), IsOkAndHolds(size_t{0}));

  Schema by_date = MakeSchema({ColumnType::kInt64}, ColumnType::kDate);
  KeyCodec date_codec(by_date);
  EXPECT_THAT(date_codec.PartitionPrefixLength("abcd"), IsOkAndHolds(size_t{4}));
  EXPECT_THAT(date_codec.PartitionPrefixLength("abc"), StatusHasCode(absl::StatusCode::kDataLoss));

  Schema by_int = MakeSchema({ColumnType::kInt64}, ColumnType::kInt64);
  KeyCodec int_codec(by_int);
  EXPECT_THAT(int_codec.PartitionPrefixLength("12345678"), IsOkAndHolds(size_t{8}));
  EXPECT_THAT(int_codec.PartitionPrefixLength("1234567"), StatusHasCode(absl::StatusCode::kDataLoss));

  Schema by_string = MakeSchema({ColumnType::kInt64}, ColumnType::kString);
  KeyCodec string_codec(by_string);
  EXPECT_THAT(string_codec.PartitionPrefixLength(std::string("x\0\xFFy\0\x01rest", 10)), IsOkAndHolds(size_t{6}));
  EXPECT_THAT(string_codec.PartitionPrefixLength("no terminator"), StatusHasCode(absl::StatusCode::kDataLoss));
}

// Known answers for the Morton interleave, computed bit by bit above.
Cell IntegerLikeCell(ColumnType type, uint64_t word) {
  switch (type) {
    case ColumnType::kInt64:
      return static_cast<int64_t>(word);
    case ColumnType::kUint64:
      return word;
    case ColumnType::kDate:
      return Date{static_cast<int32_t>(static_cast<uint32_t>(word))};
    case ColumnType::kTimestamp:
      return Timestamp{static_cast<int64_t>(word)};
    default:
      ADD_FAILURE() << "not integer-like";
      return word;
  }
}

std::vector<Cell> MortonCells(ColumnType type, std::mt19937_64& rng) {
  std::vector<Cell> cells = EdgeCells(type);
  for (int i = 0; i < 100; ++i) cells.push_back(IntegerLikeCell(type, rng()));
  return cells;
}

void ExpectMortonKnownAnswers(const std::vector<ColumnType>& types) {
  Schema schema = MakeSchema(types, std::nullopt);
  KeyCodec codec(schema);
  SCOPED_TRACE(schema.Describe());
  std::mt19937_64 rng(0x6d6f72746f6e);
  std::vector<std::vector<Cell>> candidates;
  for (ColumnType type : types) candidates.push_back(MortonCells(type, rng));
  for (int trial = 0; trial < 300; ++trial) {
    std::vector<Cell> row;
    std::vector<MortonColumn> expected;
    for (size_t i = 0; i < types.size(); ++i) {
      row.push_back(candidates[i][rng() % candidates[i].size()]);
      expected.push_back({Ordinal(row.back()), OrdinalWidth(types[i])});
    }
    ASSERT_EQ(Encode(codec, row), ExpectedMorton(expected));
  }
}

TEST(KeyCodecMortonTest, TwoInt64Columns) { ExpectMortonKnownAnswers({ColumnType::kInt64, ColumnType::kInt64}); }
TEST(KeyCodecMortonTest, TwoUint64Columns) { ExpectMortonKnownAnswers({ColumnType::kUint64, ColumnType::kUint64}); }
TEST(KeyCodecMortonTest, Int64AndUint64) { ExpectMortonKnownAnswers({ColumnType::kInt64, ColumnType::kUint64}); }
TEST(KeyCodecMortonTest, DateThenInt64) { ExpectMortonKnownAnswers({ColumnType::kDate, ColumnType::kInt64}); }
TEST(KeyCodecMortonTest, Int64ThenDate) { ExpectMortonKnownAnswers({ColumnType::kInt64, ColumnType::kDate}); }
TEST(KeyCodecMortonTest, ThreeColumnsMixedWidths) {
  ExpectMortonKnownAnswers({ColumnType::kTimestamp, ColumnType::kDate, ColumnType::kUint64});
}

std::string Bytes(std::initializer_list<int> bytes) {
  std::string out;
  for (int b : bytes) out.push_back(static_cast<char>(b));
  return out;
}

TEST(KeyCodecMortonTest, LiteralKeys) {
  Schema two_uint = MakeSchema({ColumnType::kUint64, ColumnType::kUint64}, std::nullopt);
  KeyCodec two_uint_codec(two_uint);
  // The first column supplies the high bit of every pair.
  EXPECT_EQ(Encode(two_uint_codec, {kUint64Max, uint64_t{0}}), std::string(16, '\xAA'));
  EXPECT_EQ(Encode(two_uint_codec, {uint64_t{0}, kUint64Max}), std::string(16, '\x55'));
  // 1 and 0: only bit 0 of the first column, the second-to-last key bit.
  EXPECT_EQ(Encode(two_uint_codec, {uint64_t{1}, uint64_t{0}}), std::string(15, '\0') + "\x02");

  Schema two_int = MakeSchema({ColumnType::kInt64, ColumnType::kInt64}, std::nullopt);
  KeyCodec two_int_codec(two_int);
  // 0 has ordinal 2^63: only the top bit of each ordinal, in round 63.
  EXPECT_EQ(Encode(two_int_codec, {int64_t{0}, int64_t{0}}), "\xC0" + std::string(15, '\0'));
  EXPECT_EQ(Encode(two_int_codec, {int64_t{-1}, kInt64Min}), std::string(1, '\x2A') + std::string(15, '\xAA'));

  // Date (32 bits) and int64: rounds 63..32 carry only the int64's bits,
  // rounds 31..0 pair the date's bit (first, in schema order) with the int64's.
  Schema date_int = MakeSchema({ColumnType::kDate, ColumnType::kInt64}, std::nullopt);
  KeyCodec date_int_codec(date_int);
  EXPECT_EQ(Encode(date_int_codec, {Date{0}, int64_t{0}}),
            Bytes({0x80, 0, 0, 0, /* round 31: date 1, int 0 */ 0x80, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(
      Encode(date_int_codec, {Date{-1}, int64_t{-1}}),  // ordinals 0x7FFFFFFF, 0x7FFF...F
      Bytes({0x7F, 0xFF, 0xFF, 0xFF, /* round 31: date 0, int 1 */ 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}));
  EXPECT_EQ(Encode(date_int_codec, {Date{kInt32Max}, int64_t{kInt64Min}}),  // 0xFFFFFFFF, 0
            Bytes({0, 0, 0, 0, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA}));
  Schema int_date = MakeSchema({ColumnType::kInt64, ColumnType::kDate}, std::nullopt);
  KeyCodec int_date_codec(int_date);
  EXPECT_EQ(Encode(int_date_codec, {int64_t{kInt64Min}, Date{kInt32Max}}),
            Bytes({0, 0, 0, 0, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55}));

  // Partition prefix, Morton part, then escaped strings.
  Schema full = ValueOrDie(Schema::Create({{"id", ColumnType::kInt64}, {"name", ColumnType::kString}},
                                          {{"v", ColumnType::kDouble}}, Column{"day", ColumnType::kDate}));
  KeyCodec full_codec(full);
  std::vector<Cell> row = {Date{1}, int64_t{0}, std::string("a\0", 2)};
  std::string expected = Bytes({0x80, 0, 0, 1, 0x80, 0, 0, 0, 0, 0, 0, 0, 'a', 0, 0xFF, 0, 1});
  EXPECT_EQ(Encode(full_codec, row), expected);
  EXPECT_THAT(full_codec.Decode(expected), IsOkAndHolds(row));
  EXPECT_THAT(full_codec.PartitionPrefixLength(expected), IsOkAndHolds(size_t{4}));
}

}  // namespace
}  // namespace predstore
