// Tests of the Thrift compact decoder (hand-built bytes) and of Parquet's
// footer / page-header decoding (hand-built and real files from
// PREDSTORE_TESTDATA_DIR/parquet).
#include "core/parquet/metadata.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/parquet/thrift_compact.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace predstore::parquet {
namespace {

using ::predstore::test_support::IsOkAndHolds;
using ::predstore::test_support::StatusHasCode;
using ::predstore::test_support::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

using Bytes = std::vector<uint8_t>;

std::span<const uint8_t> Span(const Bytes& bytes) { return std::span<const uint8_t>(bytes.data(), bytes.size()); }

// ---- A tiny compact-protocol writer for building test inputs ---------------

class CompactWriter {
 public:
  Bytes& bytes() { return bytes_; }

  void Varint(uint64_t value) {
    while (value >= 0x80) {
      bytes_.push_back(static_cast<uint8_t>(value | 0x80));
      value >>= 7;
    }
    bytes_.push_back(static_cast<uint8_t>(value));
  }
  void Zigzag(int64_t value) { Varint((static_cast<uint64_t>(value) << 1) ^ static_cast<uint64_t>(value >> 63)); }
  void Binary(std::string_view text) {
    Varint(text.size());
    bytes_.insert(bytes_.end(), text.begin(), text.end());
  }
  void Raw(std::initializer_list<uint8_t> raw) { bytes_.insert(bytes_.end(), raw.begin(), raw.end()); }

  // Field header: short form when the delta fits 1..15, else long form.
  void Field(int16_t id, CompactType type) {
    const int delta = id - last_ids_.back();
    if (delta > 0 && delta <= 15) {
      bytes_.push_back(static_cast<uint8_t>(delta << 4 | static_cast<uint8_t>(type)));
    } else {
      bytes_.push_back(static_cast<uint8_t>(type));
      Zigzag(id);
    }
    last_ids_.back() = id;
  }
  void I32Field(int16_t id, int32_t value) {
    Field(id, CompactType::kI32);
    Zigzag(value);
  }
  void I64Field(int16_t id, int64_t value) {
    Field(id, CompactType::kI64);
    Zigzag(value);
  }
  void BinaryField(int16_t id, std::string_view value) {
    Field(id, CompactType::kBinary);
    Binary(value);
  }
  void BoolField(int16_t id, bool value) { Field(id, value ? CompactType::kBoolTrue : CompactType::kBoolFalse); }
  // A struct-valued field; close it with EndStruct().
  void StructField(int16_t id) {
    Field(id, CompactType::kStruct);
    BeginStruct();
  }
  void BeginStruct() { last_ids_.push_back(0); }
  void EndStruct() {
    bytes_.push_back(0);
    last_ids_.pop_back();
  }
  void EmptyStructField(int16_t id) {
    StructField(id);
    EndStruct();
  }
  void ListHeader(CompactType element_type, uint64_t size) {
    if (size < 15) {
      bytes_.push_back(static_cast<uint8_t>(size << 4 | static_cast<uint8_t>(element_type)));
    } else {
      bytes_.push_back(static_cast<uint8_t>(0xf0 | static_cast<uint8_t>(element_type)));
      Varint(size);
    }
  }

 private:
  Bytes bytes_;
  std::vector<int16_t> last_ids_ = {0};
};

// ---- CompactReader ----------------------------------------------------------

TEST(CompactReaderTest, Varints) {
  Bytes bytes = {0x00, 0x7f, 0x80, 0x01, 0xac, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
  CompactReader reader(Span(bytes));
  EXPECT_THAT(reader.ReadVarint(), IsOkAndHolds(0u));
  EXPECT_THAT(reader.ReadVarint(), IsOkAndHolds(127u));
  EXPECT_THAT(reader.ReadVarint(), IsOkAndHolds(128u));
  EXPECT_THAT(reader.ReadVarint(), IsOkAndHolds(300u));
  EXPECT_THAT(reader.ReadVarint(), IsOkAndHolds(std::numeric_limits<uint64_t>::max()));
  EXPECT_EQ(reader.remaining(), 0u);
}

TEST(CompactReaderTest, VarintErrors) {
  Bytes truncated = {0x05, 0x80, 0x80};
  CompactReader reader(Span(truncated));
  ASSERT_THAT(reader.ReadVarint(), IsOkAndHolds(5u));
  EXPECT_THAT(reader.ReadVarint(), StatusIs(absl::StatusCode::kInvalidArgument, "truncated varint at byte 1"));

  Bytes overflow = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
  EXPECT_THAT(CompactReader(Span(overflow)).ReadVarint(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("overflows 64 bits")));

  Bytes too_long(11, 0x80);
  too_long.push_back(0x00);
  EXPECT_THAT(CompactReader(Span(too_long)).ReadVarint(), StatusHasCode(absl::StatusCode::kInvalidArgument));

  Bytes empty;
  EXPECT_THAT(CompactReader(Span(empty)).ReadVarint(), StatusHasCode(absl::StatusCode::kInvalidArgument));
}

TEST(CompactReaderTest, Zigzag) {
  CompactWriter writer;
  for (int64_t v : std::initializer_list<int64_t>{0, -1, 1, -2, 2147483647, -2147483648LL}) writer.Zigzag(v);
  writer.Zigzag(std::numeric_limits<int64_t>::max());
  writer.Zigzag(std::numeric_limits<int64_t>::min());
  writer.Zigzag(-32768);
  writer.Zigzag(32767);
  CompactReader reader(Span(writer.bytes()));
  EXPECT_THAT(reader.ReadI32(), IsOkAndHolds(0));
  EXPECT_THAT(reader.ReadI32(), IsOkAndHolds(-1));
  EXPECT_THAT(reader.ReadI32(), IsOkAndHolds(1));
  EXPECT_THAT(reader.ReadI32(), IsOkAndHolds(-2));
  EXPECT_THAT(reader.ReadI32(), IsOkAndHolds(std::numeric_limits<int32_t>::max()));
  EXPECT_THAT(reader.ReadI32(), IsOkAndHolds(std::numeric_limits<int32_t>::min()));
  EXPECT_THAT(reader.ReadI64(), IsOkAndHolds(std::numeric_limits<int64_t>::max()));
  EXPECT_THAT(reader.ReadI64(), IsOkAndHolds(std::numeric_limits<int64_t>::min()));
  EXPECT_THAT(reader.ReadI16(), IsOkAndHolds(-32768));
  EXPECT_THAT(reader.ReadI16(), IsOkAndHolds(32767));
  EXPECT_EQ(reader.remaining(), 0u);

  // Raw varints 3 and 4 read as zigzag.
  Bytes raw = {0x03, 0x04};
  CompactReader raw_reader(Span(raw));
  EXPECT_THAT(raw_reader.ReadI64(), IsOkAndHolds(-2));
  EXPECT_THAT(raw_reader.ReadI64(), IsOkAndHolds(2));
}

TEST(CompactReaderTest, OutOfRangeIntegers) {
  CompactWriter writer;
  writer.Zigzag(int64_t{1} << 31);
  writer.Zigzag(40000);
  CompactReader reader(Span(writer.bytes()));
  EXPECT_THAT(reader.ReadI32(), StatusIs(absl::StatusCode::kInvalidArgument, "i32 out of range at byte 0"));
  CompactReader reader16(Span(writer.bytes()));
  ASSERT_OK(reader16.ReadI64().status());
  EXPECT_THAT(reader16.ReadI16(), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("i16 out of range")));
}

TEST(CompactReaderTest, ByteDoubleBinary) {
  CompactWriter writer;
  writer.Raw({0xfe});
  const double value = -1.5;
  uint8_t raw[8];
  std::memcpy(raw, &value, 8);  // the test machine is little-endian (x86-64 / arm64)
  writer.bytes().insert(writer.bytes().end(), raw, raw + 8);
  writer.Binary("abc");
  writer.Binary("");
  CompactReader reader(Span(writer.bytes()));
  EXPECT_THAT(reader.ReadByte(), IsOkAndHolds(-2));
  EXPECT_THAT(reader.ReadDouble(), IsOkAndHolds(-1.5));
  EXPECT_THAT(reader.ReadBinary(), IsOkAndHolds("abc"));
  EXPECT_THAT(reader.ReadBinary(), IsOkAndHolds(""));
  EXPECT_THAT(reader.ReadByte(), StatusHasCode(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(reader.ReadDouble(), StatusHasCode(absl::StatusCode::kInvalidArgument));

  Bytes long_binary = {0x05, 'a', 'b'};
  EXPECT_THAT(CompactReader(Span(long_binary)).ReadBinary(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("binary of 5 bytes past the end")));
  // A length near 2^64 must not wrap around.
  Bytes huge_binary = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 'x'};
  EXPECT_THAT(CompactReader(Span(huge_binary)).ReadBinary(), StatusHasCode(absl::StatusCode::kInvalidArgument));
}

TEST(CompactReaderTest, FieldHeadersShortLongAndBool) {
  Bytes bytes = {
      0x15, 0x02,              // field 1 (delta 1), i32 1
      0x25, 0x04,              // field 3 (delta 2), i32 2
      0x06, 0xd8, 0x04, 0x06,  // field 300 (long form, zigzag 600), i64 3
      0x11,                    // field 301 (delta 1), bool true
      0xf2,                    // field 316 (delta 15), bool false
      0x08, 0x01, 0x00,        // field -1 (long form), binary ""
      0x00,                    // stop
  };
  CompactReader reader(Span(bytes));
  ASSERT_OK(reader.BeginStruct());
  std::vector<std::pair<int, CompactType>> fields;
  while (true) {
    ASSERT_OK_AND_ASSIGN(FieldHeader field, reader.ReadFieldHeader());
    if (field.type == CompactType::kStop) break;
    fields.emplace_back(field.id, field.type);
    if (field.id == 301) {
      EXPECT_TRUE(field.bool_value());
    }
    if (field.id == 316) {
      EXPECT_FALSE(field.bool_value());
    }
    ASSERT_OK(reader.Skip(field.type));
  }
  reader.EndStruct();
  EXPECT_EQ(reader.remaining(), 0u);
  EXPECT_EQ(reader.depth(), 0);
  EXPECT_THAT(fields, ElementsAre(std::pair(1, CompactType::kI32), std::pair(3, CompactType::kI32),
                                  std::pair(300, CompactType::kI64), std::pair(301, CompactType::kBoolTrue),
                                  std::pair(316, CompactType::kBoolFalse), std::pair(-1, CompactType::kBinary)));
}

TEST(CompactReaderTest, FieldIdsAreScopedPerStruct) {
  Bytes bytes = {
      0x5c,        // field 5, struct
      0x15, 0x00,  //   field 1, i32 0
      0x35, 0x00,  //   field 4, i32 0
      0x00,        //   stop
      0x15, 0x00,  // field 6 (delta from 5, not from 4)
      0x00,
  };
  CompactReader reader(Span(bytes));
  std::vector<int> outer, inner;
  ASSERT_OK(reader.ReadStruct([&](const FieldHeader& field) -> absl::Status {
    outer.push_back(field.id);
    if (field.type != CompactType::kStruct) return reader.Skip(field.type);
    return reader.ReadStruct([&](const FieldHeader& f) {
      inner.push_back(f.id);
      return reader.Skip(f.type);
    });
  }));
  EXPECT_THAT(outer, ElementsAre(5, 6));
  EXPECT_THAT(inner, ElementsAre(1, 4));
}

TEST(CompactReaderTest, InvalidFieldHeaders) {
  Bytes bad_type = {0x1e};
  CompactReader reader(Span(bad_type));
  ASSERT_OK(reader.BeginStruct());
  EXPECT_THAT(reader.ReadFieldHeader(),
              StatusIs(absl::StatusCode::kInvalidArgument, "invalid field type 14 at byte 0"));

  Bytes zero_type = {0x10};  // delta 1 with type 0
  CompactReader zero_reader(Span(zero_type));
  EXPECT_THAT(zero_reader.ReadFieldHeader(), StatusHasCode(absl::StatusCode::kInvalidArgument));

  Bytes truncated_long_form = {0x05};
  CompactReader long_reader(Span(truncated_long_form));
  EXPECT_THAT(long_reader.ReadFieldHeader(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("truncated varint")));

  Bytes empty;
  EXPECT_THAT(CompactReader(Span(empty)).ReadFieldHeader(),
              StatusIs(absl::StatusCode::kInvalidArgument, "truncated field header at byte 0"));
}

TEST(CompactReaderTest, ListAndSetHeaders) {
  CompactWriter writer;
  writer.ListHeader(CompactType::kI32, 3);
  writer.Raw({0x02, 0x04, 0x06});
  writer.ListHeader(CompactType::kBinary, 20);  // long form
  for (int i = 0; i < 20; ++i) writer.Binary("x");
  CompactReader reader(Span(writer.bytes()));
  ASSERT_OK_AND_ASSIGN(ListHeader first, reader.ReadListHeader());
  EXPECT_EQ(first.element_type, CompactType::kI32);
  EXPECT_EQ(first.size, 3u);
  for (int i = 1; i <= 3; ++i) EXPECT_THAT(reader.ReadI32(), IsOkAndHolds(i));
  ASSERT_OK_AND_ASSIGN(ListHeader second, reader.ReadListHeader());
  EXPECT_EQ(second.element_type, CompactType::kBinary);
  EXPECT_EQ(second.size, 20u);

  // More elements than bytes left: refused before anything is reserved.
  Bytes too_big = {0xf5, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00};
  EXPECT_THAT(CompactReader(Span(too_big)).ReadListHeader(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("list of 4294967295 elements past the end")));
  Bytes short_too_big = {0x35, 0x00};
  EXPECT_THAT(CompactReader(Span(short_too_big)).ReadListHeader(), StatusHasCode(absl::StatusCode::kInvalidArgument));
  Bytes bad_element = {0x1e, 0x00};
  EXPECT_THAT(CompactReader(Span(bad_element)).ReadListHeader(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("invalid list element type 14")));
  Bytes empty_untyped = {0x00};
  EXPECT_THAT(CompactReader(Span(empty_untyped)).ReadListHeader(), StatusHasCode(absl::StatusCode::kOk));
}

TEST(CompactReaderTest, ReadListChecksElementType) {
  Bytes bools = {0x31, 0x01, 0x02, 0x01};  // list<bool> of 3, written with the "true" code
  CompactReader reader(Span(bools));
  std::vector<bool> values;
  ASSERT_OK(reader.ReadList(CompactType::kBoolTrue, [&]() -> absl::Status {
    PREDSTORE_ASSIGN_OR_RETURN(bool value, reader.ReadBoolElement());
    values.push_back(value);
    return absl::OkStatus();
  }));
  EXPECT_THAT(values, ElementsAre(true, false, true));

  Bytes ints = {0x15, 0x02};
  CompactReader int_reader(Span(ints));
  EXPECT_THAT(int_reader.ReadList(CompactType::kBinary, [] { return absl::OkStatus(); }),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("list of i32, expected binary")));
}

TEST(CompactReaderTest, MapHeaders) {
  Bytes bytes = {0x00, 0x02, 0x85, 0x01, 'a', 0x02, 0x01, 'b', 0x04};
  CompactReader reader(Span(bytes));
  ASSERT_OK_AND_ASSIGN(MapHeader empty, reader.ReadMapHeader());
  EXPECT_EQ(empty.size, 0u);
  ASSERT_OK_AND_ASSIGN(MapHeader map, reader.ReadMapHeader());
  EXPECT_EQ(map.size, 2u);
  EXPECT_EQ(map.key_type, CompactType::kBinary);
  EXPECT_EQ(map.value_type, CompactType::kI32);

  Bytes too_big = {0x05, 0x85, 0x00, 0x00, 0x00};
  EXPECT_THAT(CompactReader(Span(too_big)).ReadMapHeader(), StatusHasCode(absl::StatusCode::kInvalidArgument));
  Bytes bad_types = {0x01, 0xe5, 0x00, 0x00};
  EXPECT_THAT(CompactReader(Span(bad_types)).ReadMapHeader(), StatusHasCode(absl::StatusCode::kInvalidArgument));
}

// A struct using every type, nested, that Skip must step over exactly.
Bytes EveryTypeStruct() {
  CompactWriter w;
  w.BoolField(1, true);
  w.Field(2, CompactType::kByte);
  w.Raw({0x7f});
  w.Field(3, CompactType::kI16);
  w.Zigzag(-300);
  w.I32Field(4, 123456);
  w.I64Field(5, -(int64_t{1} << 40));
  w.Field(6, CompactType::kDouble);
  w.Raw({0, 0, 0, 0, 0, 0, 0xf0, 0x3f});
  w.BinaryField(7, "hello");
  w.Field(8, CompactType::kList);  // list<struct>
  w.ListHeader(CompactType::kStruct, 2);
  w.BeginStruct();
  w.I32Field(1, 1);
  w.EndStruct();
  w.BeginStruct();
  w.EmptyStructField(1);
  w.EndStruct();
  w.Field(9, CompactType::kSet);  // set<bool>
  w.ListHeader(CompactType::kBoolFalse, 2);
  w.Raw({0x01, 0x02});
  w.Field(10, CompactType::kMap);  // map<binary, list<i64>>
  w.Varint(1);
  w.Raw({0x89});
  w.Binary("k");
  w.ListHeader(CompactType::kI64, 1);
  w.Zigzag(7);
  w.Field(11, CompactType::kMap);  // empty map
  w.Varint(0);
  w.Field(200, CompactType::kUuid);
  for (int i = 0; i < 16; ++i) w.Raw({0xaa});
  w.Field(201, CompactType::kList);  // list of 20 binaries (long-form size)
  w.ListHeader(CompactType::kBinary, 20);
  for (int i = 0; i < 20; ++i) w.Binary("");
  w.EndStruct();
  return w.bytes();
}

TEST(CompactReaderTest, SkipsEveryType) {
  Bytes bytes = EveryTypeStruct();
  bytes.push_back(0x42);  // a marker after the struct
  CompactReader reader(Span(bytes));
  ASSERT_OK(reader.Skip(CompactType::kStruct));
  EXPECT_EQ(reader.depth(), 0);
  EXPECT_THAT(reader.ReadByte(), IsOkAndHolds(0x42));
}

TEST(CompactReaderTest, EveryPrefixOfANestedStructIsATruncationError) {
  const Bytes bytes = EveryTypeStruct();
  for (size_t n = 0; n < bytes.size(); ++n) {
    Bytes prefix(bytes.begin(), bytes.begin() + n);
    CompactReader reader(Span(prefix));
    EXPECT_THAT(reader.Skip(CompactType::kStruct), StatusHasCode(absl::StatusCode::kInvalidArgument)) << n;
  }
}

// `levels` structs nested in one another, each as field 1 of its parent.
Bytes NestedStructs(int levels) {
  Bytes bytes(levels - 1, 0x1c);
  bytes.insert(bytes.end(), levels, 0x00);
  return bytes;
}

// `levels` lists nested in one another, the innermost empty.
Bytes NestedLists(int levels) {
  Bytes bytes(levels - 1, 0x19);
  bytes.push_back(0x00);
  return bytes;
}

TEST(CompactReaderTest, DepthLimit) {
  const int limit = CompactReader::kMaxDepth;
  for (const auto& make : {NestedStructs, NestedLists}) {
    const CompactType type = make == NestedStructs ? CompactType::kStruct : CompactType::kList;
    Bytes at_limit = make(limit);
    CompactReader ok_reader(Span(at_limit));
    EXPECT_OK(ok_reader.Skip(type));
    EXPECT_EQ(ok_reader.remaining(), 0u);

    Bytes over = make(limit + 1);
    EXPECT_THAT(CompactReader(Span(over)).Skip(type),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("nesting deeper than 64")));
    // Far deeper input fails the same way (no stack exhaustion).
    Bytes hostile = make(200000);
    EXPECT_THAT(CompactReader(Span(hostile)).Skip(type), StatusHasCode(absl::StatusCode::kInvalidArgument));
  }
}

TEST(CompactReaderTest, SkipRefusesStop) {
  Bytes bytes = {0x00};
  EXPECT_THAT(CompactReader(Span(bytes)).Skip(CompactType::kStop), StatusHasCode(absl::StatusCode::kInvalidArgument));
}

// ---- Hand-built footers and page headers -----------------------------------

void WriteSchemaElement(CompactWriter& w, std::string_view name, std::optional<int32_t> type,
                        const std::function<void(CompactWriter&)>& annotations = nullptr) {
  w.BeginStruct();
  if (type.has_value()) w.I32Field(1, *type);
  w.I32Field(3, 1);  // OPTIONAL
  w.BinaryField(4, name);
  if (annotations) annotations(w);
  w.EndStruct();
}

// A footer with a root and `leaves` schema elements, and one row group with
// one INT64 SNAPPY column chunk. `extra` may add fields to FileMetaData.
Bytes BuildFooter(const std::vector<std::function<void(CompactWriter&)>>& leaves,
                  const std::function<void(CompactWriter&)>& extra = nullptr) {
  CompactWriter w;
  w.BeginStruct();
  w.I32Field(1, 2);
  w.Field(2, CompactType::kList);
  w.ListHeader(CompactType::kStruct, leaves.size() + 1);
  w.BeginStruct();
  w.BinaryField(4, "root");
  w.I32Field(5, static_cast<int32_t>(leaves.size()));
  w.EndStruct();
  for (const auto& leaf : leaves) leaf(w);
  w.I64Field(3, 42);
  w.Field(4, CompactType::kList);
  w.ListHeader(CompactType::kStruct, 1);
  w.BeginStruct();  // RowGroup
  w.Field(1, CompactType::kList);
  w.ListHeader(CompactType::kStruct, 1);
  w.BeginStruct();  // ColumnChunk
  w.I64Field(2, 4);
  w.StructField(3);  // ColumnMetaData
  w.I32Field(1, 2);  // INT64
  w.Field(2, CompactType::kList);
  w.ListHeader(CompactType::kI32, 2);
  w.Zigzag(0);
  w.Zigzag(8);
  w.Field(3, CompactType::kList);
  w.ListHeader(CompactType::kBinary, 2);
  w.Binary("a");
  w.Binary("b");
  w.I32Field(4, 1);  // SNAPPY
  w.I64Field(5, 42);
  w.I64Field(6, 1000);
  w.I64Field(7, 900);
  w.I64Field(9, 104);
  w.I64Field(11, 4);
  w.StructField(12);  // Statistics, skipped
  w.BinaryField(1, "max");
  w.BinaryField(2, "min");
  w.I64Field(3, 0);
  w.EndStruct();
  w.EndStruct();  // ColumnMetaData
  w.EndStruct();  // ColumnChunk
  w.I64Field(2, 1000);
  w.I64Field(3, 42);
  w.EndStruct();  // RowGroup
  w.BinaryField(6, "predstore test");
  if (extra) extra(w);
  w.EndStruct();
  return w.bytes();
}

TEST(DecodeFileMetaDataTest, HandBuiltFooter) {
  std::vector<std::function<void(CompactWriter&)>> leaves = {
      // LogicalType TIMESTAMP(MILLIS, not UTC) wins over ConvertedType TIMESTAMP_MICROS.
      [](CompactWriter& w) {
        WriteSchemaElement(w, "ts", 2, [](CompactWriter& w) {
          w.I32Field(6, 10);
          w.StructField(10);
          w.StructField(8);
          w.BoolField(1, false);
          w.StructField(2);
          w.EmptyStructField(1);
          w.EndStruct();
          w.EndStruct();
          w.EndStruct();
        });
      },
      [](CompactWriter& w) { WriteSchemaElement(w, "u16", 1, [](CompactWriter& w) { w.I32Field(6, 12); }); },
      [](CompactWriter& w) {
        WriteSchemaElement(w, "dec", 7, [](CompactWriter& w) {
          w.I32Field(2, 9);
          w.I32Field(6, 5);
          w.I32Field(7, 3);
          w.I32Field(8, 20);
        });
      },
      [](CompactWriter& w) {
        WriteSchemaElement(w, "i8", 1, [](CompactWriter& w) {
          w.StructField(10);
          w.StructField(10);
          w.Field(1, CompactType::kByte);
          w.Raw({8});
          w.BoolField(2, false);
          w.EndStruct();
          w.EndStruct();
        });
      },
      [](CompactWriter& w) {
        WriteSchemaElement(w, "future", 6, [](CompactWriter& w) {
          w.StructField(10);
          w.EmptyStructField(42);
          w.EndStruct();
        });
      },
      [](CompactWriter& w) { WriteSchemaElement(w, "time", 1, [](CompactWriter& w) { w.I32Field(6, 7); }); },
      [](CompactWriter& w) {
        WriteSchemaElement(w, "json", 6, [](CompactWriter& w) {
          w.I32Field(9, 77);  // field_id
          w.StructField(10);
          w.EmptyStructField(12);
          w.EndStruct();
        });
      },
      [](CompactWriter& w) { WriteSchemaElement(w, "date", 1, [](CompactWriter& w) { w.I32Field(6, 6); }); },
      [](CompactWriter& w) {
        WriteSchemaElement(w, "decimal_lt", 2, [](CompactWriter& w) {
          w.I32Field(6, 5);
          w.I32Field(7, 1);
          w.I32Field(8, 2);
          w.StructField(10);
          w.StructField(5);
          w.I32Field(1, 4);
          w.I32Field(2, 18);
          w.EndStruct();
          w.EndStruct();
        });
      },
  };
  // Unknown FileMetaData fields of several types are skipped.
  Bytes footer = BuildFooter(leaves, [](CompactWriter& w) {
    w.Field(7, CompactType::kList);
    w.ListHeader(CompactType::kStruct, 1);
    w.BeginStruct();
    w.EmptyStructField(1);
    w.EndStruct();
    w.Field(100, CompactType::kMap);
    w.Varint(1);
    w.Raw({0x88});
    w.Binary("k");
    w.Binary("v");
  });
  ASSERT_OK_AND_ASSIGN(FileMetaData metadata, DecodeFileMetaData(Span(footer)));
  EXPECT_EQ(metadata.version, 2);
  EXPECT_EQ(metadata.num_rows, 42);
  EXPECT_EQ(metadata.created_by, "predstore test");
  EXPECT_FALSE(metadata.encrypted);
  ASSERT_EQ(metadata.schema.size(), leaves.size() + 1);
  EXPECT_EQ(metadata.schema[0].name, "root");
  EXPECT_FALSE(metadata.schema[0].type.has_value());
  EXPECT_FALSE(metadata.schema[0].repetition.has_value());
  EXPECT_EQ(metadata.schema[0].num_children, static_cast<int32_t>(leaves.size()));

  const LogicalType& ts = metadata.schema[1].logical;
  EXPECT_EQ(ts.kind, LogicalType::Kind::kTimestamp);
  EXPECT_EQ(ts.unit, TimeUnit::kMillis);
  EXPECT_FALSE(ts.utc_adjusted);
  EXPECT_EQ(metadata.schema[1].repetition, Repetition::kOptional);

  const LogicalType& u16 = metadata.schema[2].logical;
  EXPECT_EQ(u16.kind, LogicalType::Kind::kInteger);
  EXPECT_EQ(u16.bit_width, 16);
  EXPECT_FALSE(u16.is_signed);

  const SchemaElement& dec = metadata.schema[3];
  EXPECT_EQ(dec.type, PhysicalType::kFixedLenByteArray);
  EXPECT_EQ(dec.type_length, 9);
  EXPECT_EQ(dec.logical.kind, LogicalType::Kind::kDecimal);
  EXPECT_EQ(dec.logical.scale, 3);
  EXPECT_EQ(dec.logical.precision, 20);

  const LogicalType& i8 = metadata.schema[4].logical;
  EXPECT_EQ(i8.kind, LogicalType::Kind::kInteger);
  EXPECT_EQ(i8.bit_width, 8);
  EXPECT_FALSE(i8.is_signed);

  EXPECT_EQ(metadata.schema[5].logical.kind, LogicalType::Kind::kOther);
  EXPECT_EQ(metadata.schema[5].logical.name, "LogicalType 42");
  EXPECT_EQ(metadata.schema[6].logical.kind, LogicalType::Kind::kOther);
  EXPECT_EQ(metadata.schema[6].logical.name, "TIME_MILLIS");
  EXPECT_EQ(metadata.schema[7].logical.kind, LogicalType::Kind::kString);
  EXPECT_EQ(metadata.schema[8].logical.kind, LogicalType::Kind::kDate);
  EXPECT_EQ(metadata.schema[9].logical.kind, LogicalType::Kind::kDecimal);
  EXPECT_EQ(metadata.schema[9].logical.scale, 4);
  EXPECT_EQ(metadata.schema[9].logical.precision, 18);

  ASSERT_EQ(metadata.row_groups.size(), 1u);
  EXPECT_EQ(metadata.row_groups[0].num_rows, 42);
  ASSERT_EQ(metadata.row_groups[0].columns.size(), 1u);
  const ColumnChunk& chunk = metadata.row_groups[0].columns[0];
  EXPECT_EQ(chunk.type, PhysicalType::kInt64);
  EXPECT_THAT(chunk.path_in_schema, ElementsAre("a", "b"));
  EXPECT_EQ(chunk.codec, Codec::kSnappy);
  EXPECT_EQ(chunk.num_values, 42);
  EXPECT_EQ(chunk.total_compressed_size, 900);
  EXPECT_EQ(chunk.data_page_offset, 104);
  EXPECT_EQ(chunk.dictionary_page_offset, 4);
  EXPECT_FALSE(chunk.encrypted);
  EXPECT_FALSE(chunk.external);
}

TEST(DecodeFileMetaDataTest, ConvertedTypes) {
  struct Case {
    int32_t converted;
    LogicalType::Kind kind;
    std::string name;
  };
  const std::vector<Case> cases = {
      {0, LogicalType::Kind::kString, ""},
      {1, LogicalType::Kind::kOther, "MAP"},
      {2, LogicalType::Kind::kOther, "MAP_KEY_VALUE"},
      {3, LogicalType::Kind::kOther, "LIST"},
      {4, LogicalType::Kind::kString, ""},
      {6, LogicalType::Kind::kDate, ""},
      {8, LogicalType::Kind::kOther, "TIME_MICROS"},
      {9, LogicalType::Kind::kTimestamp, ""},
      {11, LogicalType::Kind::kInteger, ""},
      {18, LogicalType::Kind::kInteger, ""},
      {19, LogicalType::Kind::kString, ""},
      {20, LogicalType::Kind::kOther, "BSON"},
      {21, LogicalType::Kind::kOther, "INTERVAL"},
      {99, LogicalType::Kind::kOther, "ConvertedType 99"},
  };
  for (const Case& c : cases) {
    Bytes footer = BuildFooter({[&](CompactWriter& w) {
      WriteSchemaElement(w, "x", 1, [&](CompactWriter& w) { w.I32Field(6, c.converted); });
    }});
    ASSERT_OK_AND_ASSIGN(FileMetaData metadata, DecodeFileMetaData(Span(footer)));
    const LogicalType& logical = metadata.schema[1].logical;
    EXPECT_EQ(logical.kind, c.kind) << c.converted;
    EXPECT_EQ(logical.name, c.name) << c.converted;
    if (c.converted == 9) {
      EXPECT_EQ(logical.unit, TimeUnit::kMillis);
      EXPECT_TRUE(logical.utc_adjusted);
    }
    if (c.converted == 11) {
      EXPECT_EQ(logical.bit_width, 8);
      EXPECT_FALSE(logical.is_signed);
    }
    if (c.converted == 18) {
      EXPECT_EQ(logical.bit_width, 64);
      EXPECT_TRUE(logical.is_signed);
    }
  }
}

TEST(DecodeFileMetaDataTest, EncryptionMarkers) {
  Bytes footer = BuildFooter({}, [](CompactWriter& w) {
    w.StructField(8);
    w.StructField(1);
    w.BinaryField(1, "aad");
    w.EndStruct();
    w.EndStruct();
  });
  ASSERT_OK_AND_ASSIGN(FileMetaData metadata, DecodeFileMetaData(Span(footer)));
  EXPECT_TRUE(metadata.encrypted);

  // A column chunk with only encrypted metadata.
  CompactWriter w;
  w.BeginStruct();
  w.I32Field(1, 1);
  w.Field(2, CompactType::kList);
  w.ListHeader(CompactType::kStruct, 1);
  WriteSchemaElement(w, "root", std::nullopt);
  w.I64Field(3, 1);
  w.Field(4, CompactType::kList);
  w.ListHeader(CompactType::kStruct, 1);
  w.BeginStruct();
  w.Field(1, CompactType::kList);
  w.ListHeader(CompactType::kStruct, 1);
  w.BeginStruct();
  w.BinaryField(1, "other.parquet");
  w.I64Field(2, 0);
  w.StructField(8);
  w.EmptyStructField(1);
  w.EndStruct();
  w.BinaryField(9, "opaque");
  w.EndStruct();
  w.I64Field(3, 1);
  w.EndStruct();
  w.EndStruct();
  ASSERT_OK_AND_ASSIGN(FileMetaData encrypted, DecodeFileMetaData(Span(w.bytes())));
  ASSERT_EQ(encrypted.row_groups.size(), 1u);
  ASSERT_EQ(encrypted.row_groups[0].columns.size(), 1u);
  EXPECT_TRUE(encrypted.row_groups[0].columns[0].encrypted);
  EXPECT_TRUE(encrypted.row_groups[0].columns[0].external);
}

TEST(DecodeFileMetaDataTest, MissingRequiredFields) {
  CompactWriter w;
  w.BeginStruct();
  w.I32Field(1, 1);
  w.Field(2, CompactType::kList);
  w.ListHeader(CompactType::kStruct, 0);
  w.Field(4, CompactType::kList);
  w.ListHeader(CompactType::kStruct, 0);
  w.EndStruct();
  EXPECT_THAT(DecodeFileMetaData(Span(w.bytes())),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("missing required FileMetaData.num_rows")));

  Bytes no_name = BuildFooter({[](CompactWriter& w) {
    w.BeginStruct();
    w.I32Field(1, 1);
    w.EndStruct();
  }});
  EXPECT_THAT(DecodeFileMetaData(Span(no_name)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("SchemaElement.name")));

  Bytes empty = {0x00};
  EXPECT_THAT(DecodeFileMetaData(Span(empty)), StatusHasCode(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(DecodeFileMetaData({}), StatusHasCode(absl::StatusCode::kInvalidArgument));
}

TEST(DecodeFileMetaDataTest, RejectsWrongTypesAndNegativeSizes) {
  CompactWriter wrong;
  wrong.BeginStruct();
  wrong.BinaryField(1, "one");
  wrong.EndStruct();
  EXPECT_THAT(DecodeFileMetaData(Span(wrong.bytes())),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("FileMetaData field 1 is binary, expected i32")));

  CompactWriter negative;
  negative.BeginStruct();
  negative.I32Field(1, 1);
  negative.I64Field(3, -5);
  negative.EndStruct();
  EXPECT_THAT(DecodeFileMetaData(Span(negative.bytes())),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("negative num_rows -5")));

  Bytes bad_width = BuildFooter({[](CompactWriter& w) {
    WriteSchemaElement(w, "x", 1, [](CompactWriter& w) {
      w.StructField(10);
      w.StructField(10);
      w.Field(1, CompactType::kByte);
      w.Raw({12});
      w.BoolField(2, true);
      w.EndStruct();
      w.EndStruct();
    });
  }});
  EXPECT_THAT(DecodeFileMetaData(Span(bad_width)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("IntType bit width 12")));
}

TEST(DecodeFileMetaDataTest, HostileListSizesAreRefusedBeforeAllocating) {
  CompactWriter w;
  w.BeginStruct();
  w.I32Field(1, 1);
  w.Field(2, CompactType::kList);
  w.ListHeader(CompactType::kStruct, uint64_t{1} << 40);
  w.EndStruct();
  EXPECT_THAT(DecodeFileMetaData(Span(w.bytes())),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("elements past the end")));
  // A footer as long as its list claims, made of empty structs: each element
  // fails (no name) rather than being reserved up front.
  CompactWriter big;
  big.BeginStruct();
  big.I32Field(1, 1);
  big.Field(2, CompactType::kList);
  big.ListHeader(CompactType::kStruct, 1 << 20);
  big.bytes().resize(big.bytes().size() + (1 << 20), 0x00);
  EXPECT_THAT(DecodeFileMetaData(Span(big.bytes())), StatusHasCode(absl::StatusCode::kInvalidArgument));
}

Bytes PageHeaderBytes(const std::function<void(CompactWriter&)>& body) {
  CompactWriter w;
  w.BeginStruct();
  body(w);
  w.EndStruct();
  w.Raw({0xde, 0xad});  // page data follows
  return w.bytes();
}

TEST(DecodePageHeaderTest, DataPageV1) {
  Bytes bytes = PageHeaderBytes([](CompactWriter& w) {
    w.I32Field(1, 0);
    w.I32Field(2, 100);
    w.I32Field(3, 80);
    w.I32Field(4, -12345);
    w.StructField(5);
    w.I32Field(1, 10);
    w.I32Field(2, 8);
    w.I32Field(3, 3);
    w.I32Field(4, 4);
    w.StructField(5);  // statistics, skipped
    w.I64Field(3, 1);
    w.EndStruct();
    w.EndStruct();
  });
  size_t header_size = 0;
  ASSERT_OK_AND_ASSIGN(PageHeader header, DecodePageHeader(Span(bytes), &header_size));
  EXPECT_EQ(header_size, bytes.size() - 2);
  EXPECT_EQ(header.type, PageType::kDataPage);
  EXPECT_EQ(header.uncompressed_page_size, 100);
  EXPECT_EQ(header.compressed_page_size, 80);
  EXPECT_EQ(header.crc, static_cast<uint32_t>(-12345));
  ASSERT_TRUE(header.data_page.has_value());
  EXPECT_EQ(header.data_page->num_values, 10);
  EXPECT_EQ(header.data_page->encoding, Encoding::kRleDictionary);
  EXPECT_EQ(header.data_page->definition_level_encoding, Encoding::kRle);
  EXPECT_EQ(header.data_page->repetition_level_encoding, Encoding::kBitPacked);
  EXPECT_FALSE(header.dictionary_page.has_value());
}

TEST(DecodePageHeaderTest, DictionaryAndV2Pages) {
  Bytes dictionary = PageHeaderBytes([](CompactWriter& w) {
    w.I32Field(1, 2);
    w.I32Field(2, 10);
    w.I32Field(3, 10);
    w.StructField(7);
    w.I32Field(1, 3);
    w.I32Field(2, 0);
    w.BoolField(3, true);
    w.EndStruct();
  });
  size_t size = 0;
  ASSERT_OK_AND_ASSIGN(PageHeader dict, DecodePageHeader(Span(dictionary), &size));
  EXPECT_EQ(dict.type, PageType::kDictionaryPage);
  ASSERT_TRUE(dict.dictionary_page.has_value());
  EXPECT_EQ(dict.dictionary_page->num_values, 3);
  EXPECT_EQ(dict.dictionary_page->encoding, Encoding::kPlain);
  EXPECT_FALSE(dict.crc.has_value());

  Bytes v2 = PageHeaderBytes([](CompactWriter& w) {
    w.I32Field(1, 3);
    w.I32Field(2, 50);
    w.I32Field(3, 40);
    w.StructField(8);
    w.I32Field(1, 12);
    w.I32Field(2, 2);
    w.I32Field(3, 11);
    w.I32Field(4, 5);
    w.I32Field(5, 6);
    w.I32Field(6, 0);
    w.BoolField(7, false);
    w.EndStruct();
  });
  ASSERT_OK_AND_ASSIGN(PageHeader page, DecodePageHeader(Span(v2), &size));
  EXPECT_EQ(size, v2.size() - 2);
  ASSERT_TRUE(page.data_page_v2.has_value());
  EXPECT_EQ(page.data_page_v2->num_values, 12);
  EXPECT_EQ(page.data_page_v2->num_nulls, 2);
  EXPECT_EQ(page.data_page_v2->num_rows, 11);
  EXPECT_EQ(page.data_page_v2->encoding, Encoding::kDeltaBinaryPacked);
  EXPECT_EQ(page.data_page_v2->definition_levels_byte_length, 6);
  EXPECT_EQ(page.data_page_v2->repetition_levels_byte_length, 0);
  EXPECT_FALSE(page.data_page_v2->is_compressed);
}

TEST(DecodePageHeaderTest, Errors) {
  size_t size = 0;
  Bytes no_sub_header = PageHeaderBytes([](CompactWriter& w) {
    w.I32Field(1, 0);
    w.I32Field(2, 10);
    w.I32Field(3, 10);
  });
  EXPECT_THAT(DecodePageHeader(Span(no_sub_header), &size),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("data_page_header")));
  Bytes negative = PageHeaderBytes([](CompactWriter& w) {
    w.I32Field(1, 2);
    w.I32Field(2, 10);
    w.I32Field(3, -1);
  });
  EXPECT_THAT(DecodePageHeader(Span(negative), &size),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("negative compressed_page_size")));
  Bytes v2_missing = PageHeaderBytes([](CompactWriter& w) {
    w.I32Field(1, 3);
    w.I32Field(2, 10);
    w.I32Field(3, 10);
    w.StructField(8);
    w.I32Field(1, 1);
    w.EndStruct();
  });
  EXPECT_THAT(DecodePageHeader(Span(v2_missing), &size),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("DataPageHeaderV2.num_nulls")));
}

TEST(MetadataNamesTest, EnumNames) {
  EXPECT_EQ(PhysicalTypeName(PhysicalType::kInt96), "INT96");
  EXPECT_EQ(PhysicalTypeName(PhysicalType::kFixedLenByteArray), "FIXED_LEN_BYTE_ARRAY");
  EXPECT_EQ(PhysicalTypeName(static_cast<PhysicalType>(9)), "code 9");
  EXPECT_EQ(EncodingName(Encoding::kRleDictionary), "RLE_DICTIONARY");
  EXPECT_EQ(EncodingName(Encoding::kByteStreamSplit), "BYTE_STREAM_SPLIT");
  EXPECT_EQ(EncodingName(static_cast<Encoding>(1)), "code 1");
  EXPECT_EQ(CodecName(Codec::kLz4Raw), "LZ4_RAW");
  EXPECT_EQ(CodecName(Codec::kSnappy), "SNAPPY");
  EXPECT_EQ(CodecName(static_cast<Codec>(-3)), "code -3");
}

// ---- Real files --------------------------------------------------------------

const std::string kParquetDir = std::string(PREDSTORE_TESTDATA_DIR) + "/parquet/";

Bytes ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The footer of a Parquet file: [.. data .. | footer | u32 LE length | "PAR1"].
absl::StatusOr<std::span<const uint8_t>> Footer(const Bytes& file) {
  if (file.size() < 12 || std::memcmp(file.data() + file.size() - 4, "PAR1", 4) != 0) {
    return absl::InvalidArgumentError("not a Parquet file");
  }
  const uint8_t* tail = file.data() + file.size() - 8;
  const uint32_t length = tail[0] | tail[1] << 8 | tail[2] << 16 | static_cast<uint32_t>(tail[3]) << 24;
  if (length > file.size() - 12) return absl::InvalidArgumentError("footer length past the start");
  return std::span<const uint8_t>(file.data() + file.size() - 8 - length, length);
}

absl::StatusOr<FileMetaData> DecodeFile(const std::string& name, Bytes* file) {
  *file = ReadFile(kParquetDir + name);
  PREDSTORE_ASSIGN_OR_RETURN(std::span<const uint8_t> footer, Footer(*file));
  return DecodeFileMetaData(footer);
}

std::vector<std::string> LeafNames(const FileMetaData& metadata) {
  std::vector<std::string> names;
  for (const SchemaElement& element : metadata.schema) {
    if (element.num_children == 0 && element.type.has_value()) names.push_back(element.name);
  }
  return names;
}

TEST(MetadataRealFileTest, AllTypesPlain) {
  Bytes file;
  ASSERT_OK_AND_ASSIGN(FileMetaData metadata, DecodeFile("alltypes_plain.parquet", &file));
  EXPECT_EQ(metadata.version, 1);
  EXPECT_EQ(metadata.num_rows, 8);
  EXPECT_THAT(metadata.created_by, HasSubstr("impala"));
  ASSERT_EQ(metadata.schema.size(), 12u);
  EXPECT_EQ(metadata.schema[0].num_children, 11);
  EXPECT_THAT(LeafNames(metadata),
              ElementsAre("id", "bool_col", "tinyint_col", "smallint_col", "int_col", "bigint_col", "float_col",
                          "double_col", "date_string_col", "string_col", "timestamp_col"));
  EXPECT_EQ(metadata.schema[1].type, PhysicalType::kInt32);
  EXPECT_EQ(metadata.schema[2].type, PhysicalType::kBoolean);
  EXPECT_EQ(metadata.schema[6].type, PhysicalType::kInt64);
  EXPECT_EQ(metadata.schema[7].type, PhysicalType::kFloat);
  EXPECT_EQ(metadata.schema[8].type, PhysicalType::kDouble);
  EXPECT_EQ(metadata.schema[10].type, PhysicalType::kByteArray);
  EXPECT_EQ(metadata.schema[11].type, PhysicalType::kInt96);
  EXPECT_EQ(metadata.schema[11].repetition, Repetition::kOptional);
  ASSERT_EQ(metadata.row_groups.size(), 1u);
  EXPECT_EQ(metadata.row_groups[0].num_rows, 8);
  ASSERT_EQ(metadata.row_groups[0].columns.size(), 11u);
  for (const ColumnChunk& chunk : metadata.row_groups[0].columns) {
    EXPECT_EQ(chunk.codec, Codec::kUncompressed);
    EXPECT_EQ(chunk.num_values, 8);
    EXPECT_FALSE(chunk.encrypted);
    EXPECT_FALSE(chunk.external);
    ASSERT_EQ(chunk.path_in_schema.size(), 1u);
  }
  EXPECT_EQ(metadata.row_groups[0].columns[10].type, PhysicalType::kInt96);
  EXPECT_THAT(metadata.row_groups[0].columns[10].path_in_schema, ElementsAre("timestamp_col"));
}

TEST(MetadataRealFileTest, Int96FromSpark) {
  Bytes file;
  ASSERT_OK_AND_ASSIGN(FileMetaData metadata, DecodeFile("int96_from_spark.parquet", &file));
  EXPECT_EQ(metadata.num_rows, 6);
  ASSERT_EQ(metadata.schema.size(), 2u);
  EXPECT_EQ(metadata.schema[1].type, PhysicalType::kInt96);
  ASSERT_EQ(metadata.row_groups.size(), 1u);
  ASSERT_EQ(metadata.row_groups[0].columns.size(), 1u);
  EXPECT_EQ(metadata.row_groups[0].columns[0].type, PhysicalType::kInt96);
  EXPECT_EQ(metadata.row_groups[0].columns[0].codec, Codec::kSnappy);
}

TEST(MetadataRealFileTest, DataPageV2Snappy) {
  Bytes file;
  ASSERT_OK_AND_ASSIGN(FileMetaData metadata, DecodeFile("datapage_v2.snappy.parquet", &file));
  EXPECT_EQ(metadata.num_rows, 5);
  ASSERT_EQ(metadata.row_groups.size(), 1u);
  ASSERT_EQ(metadata.row_groups[0].columns.size(), 5u);
  for (const ColumnChunk& chunk : metadata.row_groups[0].columns) EXPECT_EQ(chunk.codec, Codec::kSnappy);
  EXPECT_THAT(metadata.row_groups[0].columns[4].path_in_schema, ElementsAre("e", "list", "element"));
  EXPECT_EQ(metadata.schema[1].logical.kind, LogicalType::Kind::kString);  // a: UTF8
  EXPECT_EQ(metadata.schema[5].logical.kind, LogicalType::Kind::kOther);   // e: LIST
  EXPECT_EQ(metadata.schema[5].logical.name, "LIST");
  EXPECT_FALSE(metadata.schema[5].type.has_value());
}

TEST(MetadataRealFileTest, LogicalAnnotations) {
  Bytes file;
  {
    ASSERT_OK_AND_ASSIGN(FileMetaData metadata, DecodeFile("fixed_length_decimal.parquet", &file));
    const SchemaElement& value = metadata.schema[1];
    EXPECT_EQ(value.type, PhysicalType::kFixedLenByteArray);
    EXPECT_EQ(value.type_length, 11);
    EXPECT_EQ(value.logical.kind, LogicalType::Kind::kDecimal);
    EXPECT_EQ(value.logical.precision, 25);
    EXPECT_EQ(value.logical.scale, 2);
  }
  {
    ASSERT_OK_AND_ASSIGN(FileMetaData metadata, DecodeFile("int32_decimal.parquet", &file));
    EXPECT_EQ(metadata.schema[1].logical.kind, LogicalType::Kind::kDecimal);
    EXPECT_EQ(metadata.schema[1].logical.precision, 4);
    EXPECT_EQ(metadata.schema[1].logical.scale, 2);
  }
  {
    ASSERT_OK_AND_ASSIGN(FileMetaData metadata, DecodeFile("alltypes_tiny_pages.parquet", &file));
    EXPECT_EQ(metadata.schema[3].name, "tinyint_col");
    EXPECT_EQ(metadata.schema[3].logical.kind, LogicalType::Kind::kInteger);
    EXPECT_EQ(metadata.schema[3].logical.bit_width, 8);
    EXPECT_TRUE(metadata.schema[3].logical.is_signed);
    EXPECT_EQ(metadata.schema[10].name, "string_col");
    EXPECT_EQ(metadata.schema[10].logical.kind, LogicalType::Kind::kString);
  }
  {
    ASSERT_OK_AND_ASSIGN(FileMetaData metadata, DecodeFile("byte_stream_split_extended.gzip.parquet", &file));
    EXPECT_EQ(metadata.schema[1].logical.kind, LogicalType::Kind::kOther);
    EXPECT_EQ(metadata.schema[1].logical.name, "FLOAT16");
    EXPECT_EQ(metadata.schema[1].type_length, 2);
    EXPECT_EQ(metadata.row_groups[0].columns[0].codec, Codec::kGzip);
  }
  {
    ASSERT_OK_AND_ASSIGN(FileMetaData metadata, DecodeFile("large_string_map.brotli.parquet", &file));
    EXPECT_EQ(metadata.schema[1].logical.name, "MAP");
    EXPECT_EQ(metadata.row_groups[0].columns[0].codec, Codec::kBrotli);
  }
}

// Walks every page header of every column chunk: from the dictionary page
// (when there is one) or the first data page, header size + compressed size
// at a time, to the chunk's end. Returns the number of pages; checks that the
// data pages' num_values add up to the chunk's.
int WalkPages(const Bytes& file, const FileMetaData& metadata) {
  int pages = 0;
  for (const RowGroup& row_group : metadata.row_groups) {
    for (const ColumnChunk& chunk : row_group.columns) {
      int64_t start = chunk.data_page_offset;
      if (chunk.dictionary_page_offset.has_value() && *chunk.dictionary_page_offset > 0) {
        start = std::min(start, *chunk.dictionary_page_offset);
      }
      const int64_t end = start + chunk.total_compressed_size;
      EXPECT_LE(end, static_cast<int64_t>(file.size()));
      int64_t position = start, values = 0;
      bool first = true;
      while (position < end) {
        size_t header_size = 0;
        absl::StatusOr<PageHeader> header =
            DecodePageHeader(std::span<const uint8_t>(file.data() + position, file.size() - position), &header_size);
        EXPECT_OK(header.status());
        if (!header.ok()) return pages;
        if (first && chunk.dictionary_page_offset.has_value() && *chunk.dictionary_page_offset > 0) {
          EXPECT_EQ(header->type, PageType::kDictionaryPage);
        }
        first = false;
        if (header->data_page.has_value()) values += header->data_page->num_values;
        if (header->data_page_v2.has_value()) values += header->data_page_v2->num_values;
        position += static_cast<int64_t>(header_size) + header->compressed_page_size;
        ++pages;
      }
      EXPECT_EQ(position, end);
      EXPECT_EQ(values, chunk.num_values);
    }
  }
  return pages;
}

TEST(MetadataRealFileTest, PageHeadersAddUpToChunks) {
  Bytes file;
  {
    ASSERT_OK_AND_ASSIGN(FileMetaData metadata, DecodeFile("alltypes_plain.parquet", &file));
    // Ten dictionary-encoded columns (dictionary + data page) and bool_col.
    EXPECT_EQ(WalkPages(file, metadata), 21);
  }
  {
    ASSERT_OK_AND_ASSIGN(FileMetaData metadata, DecodeFile("alltypes_tiny_pages.parquet", &file));
    EXPECT_GT(WalkPages(file, metadata), 5000);
  }
  for (const char* name :
       {"datapage_v2.snappy.parquet", "int96_from_spark.parquet", "large_string_map.brotli.parquet",
        "nested_structs.rust.parquet", "byte_stream_split.zstd.parquet", "page_v2_empty_compressed.parquet",
        "rle-dict-snappy-checksum.parquet", "dict-page-offset-zero.parquet"}) {
    SCOPED_TRACE(name);
    ASSERT_OK_AND_ASSIGN(FileMetaData metadata, DecodeFile(name, &file));
    EXPECT_GT(WalkPages(file, metadata), 0);
  }
}

TEST(MetadataRealFileTest, DataPageV2Headers) {
  Bytes file;
  ASSERT_OK_AND_ASSIGN(FileMetaData metadata, DecodeFile("datapage_v2.snappy.parquet", &file));
  const ColumnChunk& chunk = metadata.row_groups[0].columns[1];  // b: INT32, one page
  size_t header_size = 0;
  ASSERT_OK_AND_ASSIGN(PageHeader header,
                       DecodePageHeader(std::span<const uint8_t>(file.data() + chunk.data_page_offset,
                                                                 file.size() - chunk.data_page_offset),
                                        &header_size));
  EXPECT_EQ(header.type, PageType::kDataPageV2);
  ASSERT_TRUE(header.data_page_v2.has_value());
  EXPECT_EQ(header.data_page_v2->num_values, 5);
  EXPECT_EQ(header.data_page_v2->num_rows, 5);
  EXPECT_GE(header.compressed_page_size,
            header.data_page_v2->definition_levels_byte_length + header.data_page_v2->repetition_levels_byte_length);
}

TEST(MetadataRealFileTest, EveryFileDecodesOrFailsCleanly) {
  int decoded = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kParquetDir)) {
    if (entry.path().extension() != ".parquet") continue;
    SCOPED_TRACE(entry.path().string());
    Bytes file = ReadFile(entry.path().string());
    absl::StatusOr<std::span<const uint8_t>> footer = Footer(file);
    if (!footer.ok()) continue;
    absl::StatusOr<FileMetaData> metadata = DecodeFileMetaData(*footer);
    if (metadata.ok()) {
      ++decoded;
      EXPECT_FALSE(metadata->schema.empty());
    } else {
      EXPECT_THAT(metadata, StatusHasCode(absl::StatusCode::kInvalidArgument));
    }
  }
  EXPECT_GE(decoded, 30);
}

// Decoding every prefix, and every single-byte corruption, of real footers
// returns a value or kInvalidArgument; run under ASan/UBSan this also shows
// no out-of-bounds read.
TEST(MetadataRealFileTest, TruncatedAndCorruptedFootersFailCleanly) {
  for (const char* name : {"alltypes_plain.parquet", "datapage_v2.snappy.parquet", "nested_structs.rust.parquet"}) {
    SCOPED_TRACE(name);
    Bytes file = ReadFile(kParquetDir + name);
    ASSERT_OK_AND_ASSIGN(std::span<const uint8_t> footer, Footer(file));
    const Bytes bytes(footer.begin(), footer.end());
    ASSERT_OK(DecodeFileMetaData(Span(bytes)).status());
    // Prefixes (every one for small footers, a stride for the large one).
    const size_t stride = bytes.size() > 4000 ? 7 : 1;
    for (size_t n = 0; n < bytes.size(); n += stride) {
      Bytes prefix(bytes.begin(), bytes.begin() + n);  // its own allocation, for ASan
      EXPECT_THAT(DecodeFileMetaData(Span(prefix)), StatusHasCode(absl::StatusCode::kInvalidArgument)) << n;
    }
    if (stride > 1) continue;
    for (size_t i = 0; i < bytes.size(); ++i) {
      for (uint8_t value : {uint8_t{0x00}, uint8_t{0xff}, static_cast<uint8_t>(bytes[i] ^ 0x80)}) {
        Bytes corrupt = bytes;
        corrupt[i] = value;
        absl::StatusOr<FileMetaData> result = DecodeFileMetaData(Span(corrupt));
        if (!result.ok()) {
          EXPECT_THAT(result, StatusHasCode(absl::StatusCode::kInvalidArgument)) << i;
        }
      }
    }
  }
}

TEST(MetadataRealFileTest, TruncatedPageHeadersFailCleanly) {
  Bytes file;
  ASSERT_OK_AND_ASSIGN(FileMetaData metadata, DecodeFile("alltypes_plain.parquet", &file));
  for (const ColumnChunk& chunk : metadata.row_groups[0].columns) {
    const int64_t start = chunk.dictionary_page_offset.value_or(chunk.data_page_offset);
    size_t header_size = 0;
    ASSERT_OK(
        DecodePageHeader(std::span<const uint8_t>(file.data() + start, file.size() - start), &header_size).status());
    for (size_t n = 0; n < header_size; ++n) {
      Bytes prefix(file.begin() + start, file.begin() + start + n);
      size_t size = 0;
      EXPECT_THAT(DecodePageHeader(Span(prefix), &size), StatusHasCode(absl::StatusCode::kInvalidArgument)) << n;
    }
  }
}

}  // namespace
}  // namespace predstore::parquet
