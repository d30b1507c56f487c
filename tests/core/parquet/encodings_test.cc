#include "core/parquet/encodings.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace predstore::parquet {
namespace {

using ::predstore::test_support::StatusIs;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

using Bytes = std::vector<uint8_t>;

// ---------------------------------------------------------------------------
// A tiny test-only encoder, written from the specification.

void PutUleb(Bytes* out, uint64_t value) {
  while (value >= 0x80) {
    out->push_back(static_cast<uint8_t>(value | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<uint8_t>(value));
}

uint64_t ZigZag(int64_t value) { return (static_cast<uint64_t>(value) << 1) ^ static_cast<uint64_t>(value >> 63); }

void PutLe32(Bytes* out, uint32_t value) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<uint8_t>(value >> (8 * i)));
}

void Append(Bytes* out, const Bytes& more) { out->insert(out->end(), more.begin(), more.end()); }
void Append(Bytes* out, std::string_view more) { out->insert(out->end(), more.begin(), more.end()); }

// LSB-first packing, padded with zero values to a multiple of 8.
Bytes BitPackLsb(const std::vector<uint64_t>& values, int width) {
  const size_t padded = (values.size() + 7) / 8 * 8;
  Bytes out(padded * width / 8, 0);
  for (size_t i = 0; i < values.size(); ++i) {
    for (int b = 0; b < width; ++b) {
      if ((values[i] >> b) & 1) {
        const size_t bit = i * width + b;
        out[bit / 8] |= static_cast<uint8_t>(1 << (bit % 8));
      }
    }
  }
  return out;
}

Bytes BitPackMsb(const std::vector<uint64_t>& values, int width) {
  Bytes out((values.size() * width + 7) / 8, 0);
  for (size_t i = 0; i < values.size(); ++i) {
    for (int b = 0; b < width; ++b) {
      if ((values[i] >> (width - 1 - b)) & 1) {
        const size_t bit = i * width + b;
        out[bit / 8] |= static_cast<uint8_t>(0x80 >> (bit % 8));
      }
    }
  }
  return out;
}

// The hybrid without a length prefix: runs of ≥ 8 equal values become RLE
// runs, the rest bit-packed runs of up to `max_groups` groups.
Bytes HybridEncode(const std::vector<uint64_t>& values, int width, size_t max_groups = 4) {
  Bytes out;
  size_t i = 0;
  while (i < values.size()) {
    size_t same = 1;
    while (i + same < values.size() && values[i + same] == values[i]) ++same;
    if (same >= 8) {
      PutUleb(&out, same << 1);
      for (int b = 0; b < (width + 7) / 8; ++b) out.push_back(static_cast<uint8_t>(values[i] >> (8 * b)));
      i += same;
      continue;
    }
    const size_t n = std::min(values.size() - i, max_groups * 8);
    std::vector<uint64_t> run(values.begin() + i, values.begin() + i + n);
    PutUleb(&out, ((n + 7) / 8) << 1 | 1);
    Append(&out, BitPackLsb(run, width));
    i += n;
  }
  return out;
}

// DELTA_BINARY_PACKED of INT32 (wrapping modulo 2^32) or INT64 values.
// `garbage_widths` fills the bit widths of unused miniblocks with junk, which
// readers must accept.
Bytes DeltaEncode(const std::vector<int64_t>& values, bool is32, uint64_t block = 128, uint64_t miniblocks = 4,
                  bool garbage_widths = false) {
  Bytes out;
  PutUleb(&out, block);
  PutUleb(&out, miniblocks);
  PutUleb(&out, values.size());
  PutUleb(&out, ZigZag(values.empty() ? 0 : values[0]));
  const uint64_t per_mini = block / miniblocks;
  std::vector<uint64_t> deltas;  // two's complement in the type's width
  for (size_t i = 1; i < values.size(); ++i) {
    if (is32) {
      deltas.push_back(static_cast<uint32_t>(static_cast<uint32_t>(values[i]) - static_cast<uint32_t>(values[i - 1])));
    } else {
      deltas.push_back(static_cast<uint64_t>(values[i]) - static_cast<uint64_t>(values[i - 1]));
    }
  }
  auto as_signed = [&](uint64_t d) -> int64_t {
    return is32 ? static_cast<int64_t>(static_cast<int32_t>(static_cast<uint32_t>(d))) : static_cast<int64_t>(d);
  };
  for (size_t start = 0; start < deltas.size(); start += block) {
    const size_t end = std::min<size_t>(deltas.size(), start + block);
    int64_t min_delta = as_signed(deltas[start]);
    for (size_t i = start; i < end; ++i) min_delta = std::min(min_delta, as_signed(deltas[i]));
    PutUleb(&out, ZigZag(min_delta));
    std::vector<std::vector<uint64_t>> minis;
    for (size_t m = start; m < end; m += per_mini) {
      std::vector<uint64_t> relative;
      for (size_t i = m; i < std::min<size_t>(end, m + per_mini); ++i) {
        uint64_t r = deltas[i] - static_cast<uint64_t>(min_delta);
        if (is32) r = static_cast<uint32_t>(r);
        relative.push_back(r);
      }
      relative.resize(per_mini, 0);
      minis.push_back(relative);
    }
    std::vector<int> widths;
    for (const auto& mini : minis) {
      int width = 0;
      for (uint64_t r : mini) width = std::max(width, r == 0 ? 0 : 64 - std::countl_zero(r));
      widths.push_back(width);
    }
    for (uint64_t m = 0; m < miniblocks; ++m) {
      out.push_back(m < widths.size() ? static_cast<uint8_t>(widths[m]) : (garbage_widths ? 0xEE : 0));
    }
    for (size_t m = 0; m < minis.size(); ++m) Append(&out, BitPackLsb(minis[m], widths[m]));
  }
  return out;
}

Bytes DeltaLengthEncode(const std::vector<std::string>& values) {
  std::vector<int64_t> lengths;
  for (const auto& v : values) lengths.push_back(static_cast<int64_t>(v.size()));
  Bytes out = DeltaEncode(lengths, true);
  for (const auto& v : values) Append(&out, v);
  return out;
}

Bytes DeltaByteArrayEncode(const std::vector<std::string>& values) {
  std::vector<int64_t> prefixes;
  std::vector<std::string> suffixes;
  std::string previous;
  for (const auto& v : values) {
    size_t p = 0;
    while (p < previous.size() && p < v.size() && previous[p] == v[p]) ++p;
    prefixes.push_back(static_cast<int64_t>(p));
    suffixes.push_back(v.substr(p));
    previous = v;
  }
  Bytes out = DeltaEncode(prefixes, true);
  Append(&out, DeltaLengthEncode(suffixes));
  return out;
}

// ---------------------------------------------------------------------------
// Helpers to read results.

std::vector<std::string> Values(const ValueBuffer& buffer) {
  std::vector<std::string> out;
  for (size_t i = 0; i < buffer.size(); ++i) {
    if (buffer.type == PhysicalType::kByteArray) {
      out.emplace_back(buffer.bytes_at(i));
    } else {
      out.emplace_back(buffer.fixed_at(i), buffer.width);
    }
  }
  return out;
}

template <typename T>
std::vector<T> Numbers(const ValueBuffer& buffer) {
  EXPECT_EQ(buffer.width, sizeof(T));
  std::vector<T> out(buffer.fixed.size() / sizeof(T));
  if (!out.empty()) std::memcpy(out.data(), buffer.fixed.data(), out.size() * sizeof(T));
  return out;
}

template <typename T>
std::string Raw(const std::vector<T>& values) {
  std::string out(values.size() * sizeof(T), '\0');
  if (!values.empty()) std::memcpy(out.data(), values.data(), out.size());
  return out;
}

std::vector<bool> Bools(const ValueBuffer& buffer) {
  std::vector<bool> out;
  for (char c : buffer.fixed) out.push_back(c != 0);
  return out;
}

absl::Status Decode(Encoding encoding, PhysicalType type, const Bytes& data, size_t count, ValueBuffer* out,
                    int32_t type_length = 0, size_t* consumed = nullptr) {
  out->Reset(type, type_length);
  return DecodeValues(encoding, data, count, out, consumed);
}

// Decodes every strict prefix of `data` (each copied to its own exact-size
// heap buffer, so that the sanitizer sees any over-read): each must fail or
// yield exactly `expected` values.
void SweepValueTruncations(Encoding encoding, PhysicalType type, int32_t type_length, const Bytes& data, size_t count,
                           const std::vector<std::string>& expected) {
  for (size_t length = 0; length < data.size(); ++length) {
    Bytes prefix(data.begin(), data.begin() + length);
    ValueBuffer out;
    absl::Status status = Decode(encoding, type, prefix, count, &out, type_length);
    if (status.ok()) {
      EXPECT_EQ(Values(out), expected) << "prefix " << length;
    } else {
      EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    }
  }
}

std::vector<uint64_t> RandomValues(std::mt19937_64& rng, size_t count, int width, bool runs) {
  std::vector<uint64_t> values(count);
  const uint64_t mask = width == 64 ? ~uint64_t{0} : (uint64_t{1} << width) - 1;
  for (size_t i = 0; i < count; ++i) {
    if (runs && i > 0 && rng() % 4 != 0) {
      values[i] = values[i - 1];
    } else {
      values[i] = rng() & mask;
    }
  }
  return values;
}

// ---------------------------------------------------------------------------
// PLAIN

TEST(PlainTest, FixedWidthTypes) {
  const std::vector<int32_t> ints = {1, -2, std::numeric_limits<int32_t>::max(), std::numeric_limits<int32_t>::min()};
  Bytes data(reinterpret_cast<const uint8_t*>(ints.data()), reinterpret_cast<const uint8_t*>(ints.data() + 4));
  ValueBuffer out;
  size_t consumed = 0;
  ASSERT_OK(Decode(Encoding::kPlain, PhysicalType::kInt32, data, 4, &out, 0, &consumed));
  EXPECT_EQ(Numbers<int32_t>(out), ints);
  EXPECT_EQ(consumed, 16u);

  const std::vector<int64_t> longs = {1, -1, std::numeric_limits<int64_t>::min()};
  data.assign(reinterpret_cast<const uint8_t*>(longs.data()), reinterpret_cast<const uint8_t*>(longs.data() + 3));
  ASSERT_OK(Decode(Encoding::kPlain, PhysicalType::kInt64, data, 3, &out));
  EXPECT_EQ(Numbers<int64_t>(out), longs);

  const std::vector<double> doubles = {1.5, -0.25};
  data.assign(reinterpret_cast<const uint8_t*>(doubles.data()), reinterpret_cast<const uint8_t*>(doubles.data() + 2));
  ASSERT_OK(Decode(Encoding::kPlain, PhysicalType::kDouble, data, 2, &out));
  EXPECT_EQ(Numbers<double>(out), doubles);

  const std::vector<float> floats = {3.25f};
  data.assign(reinterpret_cast<const uint8_t*>(floats.data()), reinterpret_cast<const uint8_t*>(floats.data() + 1));
  ASSERT_OK(Decode(Encoding::kPlain, PhysicalType::kFloat, data, 1, &out));
  EXPECT_EQ(Numbers<float>(out), floats);

  data.clear();
  for (int i = 0; i < 24; ++i) data.push_back(static_cast<uint8_t>(i));
  ASSERT_OK(Decode(Encoding::kPlain, PhysicalType::kInt96, data, 2, &out));
  EXPECT_EQ(out.width, 12u);
  EXPECT_EQ(Values(out), (std::vector<std::string>{std::string(data.begin(), data.begin() + 12),
                                                   std::string(data.begin() + 12, data.end())}));
  ASSERT_OK(Decode(Encoding::kPlain, PhysicalType::kFixedLenByteArray, data, 3, &out, 8, &consumed));
  EXPECT_EQ(out.size(), 3u);
  EXPECT_EQ(Values(out)[2], std::string(data.begin() + 16, data.end()));
  EXPECT_EQ(consumed, 24u);
}

TEST(PlainTest, AppendsToExistingValues) {
  Bytes data = {1, 0, 0, 0, 2, 0, 0, 0};
  ValueBuffer out;
  out.Reset(PhysicalType::kInt32, 0);
  ASSERT_OK(DecodeValues(Encoding::kPlain, data, 2, &out));
  ASSERT_OK(DecodeValues(Encoding::kPlain, data, 1, &out));
  EXPECT_THAT(Numbers<int32_t>(out), ElementsAre(1, 2, 1));
}

TEST(PlainTest, ShortFixedWidthPage) {
  Bytes data(40, 0);
  ValueBuffer out;
  EXPECT_THAT(
      Decode(Encoding::kPlain, PhysicalType::kInt64, data, 12, &out),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("PLAIN: 12 values need 96 bytes, the page has 40")));
  // A count whose byte size would overflow.
  EXPECT_THAT(Decode(Encoding::kPlain, PhysicalType::kInt64, data, std::numeric_limits<size_t>::max() / 4, &out),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("PLAIN")));
  EXPECT_THAT(Decode(Encoding::kPlain, PhysicalType::kFixedLenByteArray, data, 1, &out, 0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("type_length")));
}

TEST(PlainTest, BooleansAreBitPackedLsbFirst) {
  Bytes data = {0b00000101, 0b00000001};
  ValueBuffer out;
  size_t consumed = 0;
  ASSERT_OK(Decode(Encoding::kPlain, PhysicalType::kBoolean, data, 9, &out, 0, &consumed));
  EXPECT_THAT(Bools(out), ElementsAre(true, false, true, false, false, false, false, false, true));
  EXPECT_EQ(consumed, 2u);
  EXPECT_EQ(out.fixed[0], 1);  // one byte 0/1 per value
  EXPECT_THAT(Decode(Encoding::kPlain, PhysicalType::kBoolean, data, 17, &out),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("17 booleans need 3 bytes")));
}

TEST(PlainTest, BooleanRoundTrip) {
  std::mt19937_64 rng(7);
  for (size_t count : {0, 1, 7, 8, 9, 1000}) {
    std::vector<uint64_t> bits = RandomValues(rng, count, 1, false);
    Bytes data = BitPackLsb(bits, 1);
    data.resize((count + 7) / 8);
    ValueBuffer out;
    ASSERT_OK(Decode(Encoding::kPlain, PhysicalType::kBoolean, data, count, &out));
    ASSERT_EQ(out.size(), count);
    for (size_t i = 0; i < count; ++i) EXPECT_EQ(out.fixed[i], static_cast<char>(bits[i]));
  }
}

TEST(PlainTest, ByteArrays) {
  Bytes data;
  PutLe32(&data, 5);
  Append(&data, std::string_view("hello"));
  PutLe32(&data, 0);
  PutLe32(&data, 3);
  Append(&data, std::string_view("abc"));
  ValueBuffer out;
  size_t consumed = 0;
  ASSERT_OK(Decode(Encoding::kPlain, PhysicalType::kByteArray, data, 3, &out, 0, &consumed));
  EXPECT_THAT(Values(out), ElementsAre("hello", "", "abc"));
  EXPECT_EQ(consumed, data.size());
  EXPECT_THAT(out.ends, ElementsAre(5, 5, 8));
  SweepValueTruncations(Encoding::kPlain, PhysicalType::kByteArray, 0, data, 3, {"hello", "", "abc"});
}

TEST(PlainTest, ByteArrayErrors) {
  Bytes data;
  PutLe32(&data, 0xFFFFFFF0u);  // "negative" / oversized length
  Append(&data, std::string_view("abcd"));
  ValueBuffer out;
  EXPECT_THAT(Decode(Encoding::kPlain, PhysicalType::kByteArray, data, 1, &out),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("has length 4294967280")));
  // More values than 4-byte lengths fit.
  EXPECT_THAT(Decode(Encoding::kPlain, PhysicalType::kByteArray, data, 3, &out),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("3 byte arrays need at least 12 bytes")));
}

TEST(PlainTest, TruncationSweepFixedWidth) {
  Bytes data;
  for (int i = 0; i < 36; ++i) data.push_back(static_cast<uint8_t>(i * 7));
  std::vector<std::string> expected;
  for (int i = 0; i < 3; ++i) expected.emplace_back(data.begin() + 12 * i, data.begin() + 12 * i + 12);
  SweepValueTruncations(Encoding::kPlain, PhysicalType::kInt96, 0, data, 3, expected);
  SweepValueTruncations(Encoding::kPlain, PhysicalType::kFixedLenByteArray, 12, data, 3, expected);
}

// ---------------------------------------------------------------------------
// RLE / bit-packed hybrid

TEST(HybridTest, SpecBitPackingExample) {
  // Encodings.md: 0..7 with bit width 3 packs to 10001000 11000110 11111010;
  // header 3 = one group of 8, bit-packed.
  const Bytes data = {0x03, 0x88, 0xC6, 0xFA};
  std::vector<uint16_t> levels;
  ASSERT_OK(DecodeRleLevels(data, 3, 8, &levels));
  EXPECT_THAT(levels, ElementsAre(0, 1, 2, 3, 4, 5, 6, 7));
  // The test encoder agrees with the specification's bytes.
  EXPECT_EQ(HybridEncode({0, 1, 2, 3, 4, 5, 6, 7}, 3), data);

  Bytes with_width = {3};
  Append(&with_width, data);
  std::vector<uint32_t> indices;
  ASSERT_OK(DecodeDictionaryIndices(with_width, 8, &indices));
  EXPECT_THAT(indices, ElementsAre(0, 1, 2, 3, 4, 5, 6, 7));
}

TEST(HybridTest, RleRunsAndPaddedFinalGroup) {
  // RLE run of 5 x 6 (header 10, one value byte), then a bit-packed group of
  // which only 3 values are wanted (values 1, 2, 3, padding 7s).
  const Bytes data = {10, 0x06, 0x03, 0xD1, 0xFE, 0xFF};
  std::vector<uint16_t> levels;
  ASSERT_OK(DecodeRleLevels(data, 3, 8, &levels));
  EXPECT_THAT(levels, ElementsAre(6, 6, 6, 6, 6, 1, 2, 3));
  // The bytes past the last wanted value may be cut off, not the ones before.
  levels.clear();
  ASSERT_OK(DecodeRleLevels(Bytes(data.begin(), data.begin() + 5), 3, 8, &levels));
  EXPECT_THAT(levels, ElementsAre(6, 6, 6, 6, 6, 1, 2, 3));
  EXPECT_THAT(DecodeRleLevels(Bytes(data.begin(), data.begin() + 4), 3, 8, &levels),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("needs 2 bytes, 1 left")));
  // A run longer than needed is cut at `count`.
  levels.clear();
  ASSERT_OK(DecodeRleLevels(data, 3, 2, &levels));
  EXPECT_THAT(levels, ElementsAre(6, 6));
}

TEST(HybridTest, WideRleValues) {
  // Bit width 17: RLE values take 3 bytes, little-endian.
  Bytes data = {8, 0x01, 0x02, 0x01};
  Bytes with_width = {17};
  Append(&with_width, data);
  std::vector<uint32_t> indices;
  ASSERT_OK(DecodeDictionaryIndices(with_width, 4, &indices));
  EXPECT_THAT(indices, ElementsAre(0x10201, 0x10201, 0x10201, 0x10201));
  // 32 bits: 4 value bytes.
  with_width = {32, 4, 0xFF, 0xFF, 0xFF, 0xFF};
  indices.clear();
  ASSERT_OK(DecodeDictionaryIndices(with_width, 2, &indices));
  EXPECT_THAT(indices, ElementsAre(0xFFFFFFFFu, 0xFFFFFFFFu));
}

TEST(HybridTest, DictionaryIndexRoundTrips) {
  std::mt19937_64 rng(1);
  for (int width = 0; width <= 32; ++width) {
    for (size_t count : {0, 1, 7, 8, 9, 1000}) {
      for (bool runs : {false, true}) {
        std::vector<uint64_t> values = RandomValues(rng, count, width, runs);
        Bytes data = {static_cast<uint8_t>(width)};
        Append(&data, HybridEncode(values, width, 1 + rng() % 5));
        std::vector<uint32_t> out = {42};  // appended to
        SCOPED_TRACE(testing::Message() << "width " << width << ", count " << count);
        ASSERT_OK(DecodeDictionaryIndices(data, count, &out));
        ASSERT_EQ(out.size(), count + 1);
        EXPECT_EQ(out[0], 42u);
        for (size_t i = 0; i < count; ++i) ASSERT_EQ(out[i + 1], values[i]) << width << " " << count << " " << i;
      }
    }
  }
}

TEST(HybridTest, LevelRoundTrips) {
  std::mt19937_64 rng(2);
  for (int width = 0; width <= 16; ++width) {
    for (size_t count : {0, 1, 7, 8, 9, 1000}) {
      std::vector<uint64_t> values = RandomValues(rng, count, width, true);
      Bytes data = width == 0 ? Bytes{} : HybridEncode(values, width);
      std::vector<uint16_t> out;
      ASSERT_OK(DecodeRleLevels(data, width, count, &out));
      ASSERT_EQ(out.size(), count);
      for (size_t i = 0; i < count; ++i) ASSERT_EQ(out[i], values[i]);
    }
  }
}

TEST(HybridTest, Errors) {
  std::vector<uint32_t> indices;
  EXPECT_THAT(DecodeDictionaryIndices(Bytes{33, 2, 0}, 1, &indices),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bit width 33 > 32")));
  EXPECT_THAT(DecodeDictionaryIndices(Bytes{}, 1, &indices),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no bit width byte")));
  EXPECT_OK(DecodeDictionaryIndices(Bytes{}, 0, &indices));
  // Runs end before `count` values.
  EXPECT_THAT(DecodeDictionaryIndices(Bytes{2, 4, 1}, 3, &indices),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("run header missing")));
  // RLE value wider than the bit width.
  EXPECT_THAT(DecodeDictionaryIndices(Bytes{2, 4, 7}, 2, &indices),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("RLE run value 7 exceeds bit width 2")));
  // Bit-packed run short of bytes.
  EXPECT_THAT(DecodeDictionaryIndices(Bytes{8, 3, 1, 2}, 8, &indices),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("needs 8 bytes, 2 left")));
  // Varint header longer than 32 bits.
  EXPECT_THAT(DecodeDictionaryIndices(Bytes{2, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0}, 2, &indices),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("malformed")));
  std::vector<uint16_t> levels;
  EXPECT_THAT(DecodeRleLevels(Bytes{}, 17, 1, &levels),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bit width 17")));
  // A hostile count with a small page: fails without allocating for it.
  EXPECT_THAT(DecodeRleLevels(Bytes{2, 1}, 1, size_t{1} << 40, &levels),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("run header missing")));
}

TEST(HybridTest, TruncationSweep) {
  std::mt19937_64 rng(3);
  for (int width : {1, 3, 8, 13, 32}) {
    std::vector<uint64_t> values = RandomValues(rng, 100, width, true);
    Bytes data = {static_cast<uint8_t>(width)};
    Append(&data, HybridEncode(values, width));
    for (size_t length = 0; length < data.size(); ++length) {
      Bytes prefix(data.begin(), data.begin() + length);
      std::vector<uint32_t> out;
      absl::Status status = DecodeDictionaryIndices(prefix, values.size(), &out);
      if (status.ok()) {
        ASSERT_EQ(out.size(), values.size());
        for (size_t i = 0; i < values.size(); ++i) ASSERT_EQ(out[i], values[i]);
      } else {
        EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
      }
    }
  }
}

TEST(RleBooleanTest, LengthPrefixedHybrid) {
  std::mt19937_64 rng(4);
  for (size_t count : {1, 7, 8, 9, 1000}) {
    std::vector<uint64_t> bits = RandomValues(rng, count, 1, true);
    Bytes hybrid = HybridEncode(bits, 1);
    Bytes data;
    PutLe32(&data, static_cast<uint32_t>(hybrid.size()));
    Append(&data, hybrid);
    const size_t full = data.size();
    data.push_back(0xAB);  // what follows is not read
    ValueBuffer out;
    size_t consumed = 0;
    ASSERT_OK(Decode(Encoding::kRle, PhysicalType::kBoolean, data, count, &out, 0, &consumed));
    EXPECT_EQ(consumed, full);
    ASSERT_EQ(out.size(), count);
    for (size_t i = 0; i < count; ++i) ASSERT_EQ(out.fixed[i], static_cast<char>(bits[i]));
    if (count == 9) {
      std::vector<std::string> expected;
      for (uint64_t b : bits) expected.emplace_back(1, static_cast<char>(b));
      SweepValueTruncations(Encoding::kRle, PhysicalType::kBoolean, 0, Bytes(data.begin(), data.begin() + full), count,
                            expected);
    }
  }
  ValueBuffer out;
  EXPECT_THAT(Decode(Encoding::kRle, PhysicalType::kBoolean, Bytes{9, 0, 0, 0, 2, 1}, 1, &out),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("length 9 exceeds")));
  EXPECT_THAT(Decode(Encoding::kRle, PhysicalType::kBoolean, Bytes{2, 0, 0, 0, 2, 2}, 1, &out),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("exceeds bit width 1")));
  EXPECT_THAT(Decode(Encoding::kRle, PhysicalType::kInt32, Bytes{2, 0, 0, 0, 2, 1}, 1, &out),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("RLE cannot encode INT32")));
}

// ---------------------------------------------------------------------------
// Deprecated BIT_PACKED levels

TEST(BitPackedLevelsTest, SpecExample) {
  // Encodings.md: 0..7 with bit width 3 packs MSB first to 00000101 00111001 01110111.
  const Bytes data = {0x05, 0x39, 0x77, 0xEE};
  std::vector<uint16_t> levels;
  size_t consumed = 0;
  ASSERT_OK(DecodeBitPackedLevels(data, 3, 8, &levels, &consumed));
  EXPECT_THAT(levels, ElementsAre(0, 1, 2, 3, 4, 5, 6, 7));
  EXPECT_EQ(consumed, 3u);
  EXPECT_EQ(BitPackMsb({0, 1, 2, 3, 4, 5, 6, 7}, 3), Bytes(data.begin(), data.begin() + 3));
}

TEST(BitPackedLevelsTest, RoundTripsAndErrors) {
  std::mt19937_64 rng(5);
  for (int width = 0; width <= 16; ++width) {
    for (size_t count : {0, 1, 7, 8, 9, 1000}) {
      std::vector<uint64_t> values = RandomValues(rng, count, width, false);
      Bytes data = BitPackMsb(values, width);
      std::vector<uint16_t> levels;
      size_t consumed = 0;
      ASSERT_OK(DecodeBitPackedLevels(data, width, count, &levels, &consumed));
      EXPECT_EQ(consumed, data.size());
      ASSERT_EQ(levels.size(), count);
      for (size_t i = 0; i < count; ++i) ASSERT_EQ(levels[i], values[i]);
      if (!data.empty()) {
        Bytes shorter(data.begin(), data.end() - 1);
        EXPECT_THAT(DecodeBitPackedLevels(shorter, width, count, &levels, &consumed),
                    StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("BIT_PACKED levels")));
      }
    }
  }
}

// ---------------------------------------------------------------------------
// DELTA_BINARY_PACKED

TEST(DeltaBinaryPackedTest, SpecExample1) {
  // Block size 8, 1 miniblock, 5 values, first value 1; block: min delta 1,
  // bit width 0.
  const Bytes data = {8, 1, 5, 2, 2, 0};
  ValueBuffer out;
  size_t consumed = 0;
  ASSERT_OK(Decode(Encoding::kDeltaBinaryPacked, PhysicalType::kInt32, data, 5, &out, 0, &consumed));
  EXPECT_THAT(Numbers<int32_t>(out), ElementsAre(1, 2, 3, 4, 5));
  EXPECT_EQ(consumed, data.size());
  ASSERT_OK(Decode(Encoding::kDeltaBinaryPacked, PhysicalType::kInt64, data, 5, &out));
  EXPECT_THAT(Numbers<int64_t>(out), ElementsAre(1, 2, 3, 4, 5));
  SweepValueTruncations(Encoding::kDeltaBinaryPacked, PhysicalType::kInt32, 0, data, 5,
                        Values(ValueBuffer{PhysicalType::kInt32, 4, Raw(std::vector<int32_t>{1, 2, 3, 4, 5}), {}, {}}));
}

TEST(DeltaBinaryPackedTest, SpecExample2) {
  // 7, 5, 3, 1, 2, 3, 4, 5: min delta -2 (zigzag 3), bit width 2, relative
  // deltas 0,0,0,3,3,3,3 (+ one padding 0) packed LSB first.
  const Bytes data = {8, 1, 8, 14, 3, 2, 0xC0, 0x3F};
  EXPECT_EQ(DeltaEncode({7, 5, 3, 1, 2, 3, 4, 5}, true, 8, 1), data);
  ValueBuffer out;
  ASSERT_OK(Decode(Encoding::kDeltaBinaryPacked, PhysicalType::kInt32, data, 8, &out));
  EXPECT_THAT(Numbers<int32_t>(out), ElementsAre(7, 5, 3, 1, 2, 3, 4, 5));
  // Fewer values than the header holds: the first ones.
  ASSERT_OK(Decode(Encoding::kDeltaBinaryPacked, PhysicalType::kInt64, data, 3, &out));
  EXPECT_THAT(Numbers<int64_t>(out), ElementsAre(7, 5, 3));
}

TEST(DeltaBinaryPackedTest, RoundTripsInt32AndInt64) {
  std::mt19937_64 rng(6);
  for (size_t count : {0, 1, 2, 7, 8, 9, 127, 128, 129, 1000}) {
    for (bool garbage : {false, true}) {
      std::vector<int64_t> v32, v64;
      for (size_t i = 0; i < count; ++i) {
        v32.push_back(static_cast<int32_t>(rng() % 4 == 0 ? rng() : rng() % 100));
        v64.push_back(static_cast<int64_t>(rng() % 4 == 0 ? rng() : rng() % 100));
      }
      ValueBuffer out;
      size_t consumed = 0;
      Bytes data = DeltaEncode(v32, true, 128, 4, garbage);
      ASSERT_OK(Decode(Encoding::kDeltaBinaryPacked, PhysicalType::kInt32, data, count, &out, 0, &consumed));
      std::vector<int32_t> expected32(v32.begin(), v32.end());
      EXPECT_EQ(Numbers<int32_t>(out), expected32);
      if (count > 0) {
        EXPECT_EQ(consumed, data.size());
      }

      data = DeltaEncode(v64, false, 256, 8, garbage);
      ASSERT_OK(Decode(Encoding::kDeltaBinaryPacked, PhysicalType::kInt64, data, count, &out, 0, &consumed));
      EXPECT_EQ(Numbers<int64_t>(out), v64);
      if (count > 0) {
        EXPECT_EQ(consumed, data.size());
      }
    }
  }
}

TEST(DeltaBinaryPackedTest, EveryBitWidth) {
  std::mt19937_64 rng(8);
  for (int width = 0; width <= 64; ++width) {
    const uint64_t mask = width == 64 ? ~uint64_t{0} : (uint64_t{1} << width) - 1;
    std::vector<int64_t> values = {0};
    uint64_t current = 0;
    for (int i = 1; i < 300; ++i) {
      const uint64_t delta = i == 1 ? 0 : i == 2 ? mask : (rng() & mask);
      current += delta;
      values.push_back(static_cast<int64_t>(current));
    }
    Bytes data = DeltaEncode(values, false);
    ValueBuffer out;
    SCOPED_TRACE(testing::Message() << "width " << width);
    ASSERT_OK(Decode(Encoding::kDeltaBinaryPacked, PhysicalType::kInt64, data, values.size(), &out));
    ASSERT_EQ(Numbers<int64_t>(out), values) << width;
    if (width <= 32) {
      std::vector<int64_t> narrowed;
      for (int64_t v : values) narrowed.push_back(static_cast<int32_t>(static_cast<uint32_t>(v)));
      data = DeltaEncode(narrowed, true);
      ASSERT_OK(Decode(Encoding::kDeltaBinaryPacked, PhysicalType::kInt32, data, values.size(), &out));
      ASSERT_EQ(Numbers<int32_t>(out), std::vector<int32_t>(narrowed.begin(), narrowed.end())) << width;
    }
  }
}

TEST(DeltaBinaryPackedTest, Int32WrapsAround) {
  constexpr int32_t kMax = std::numeric_limits<int32_t>::max();
  constexpr int32_t kMin = std::numeric_limits<int32_t>::min();
  const std::vector<int64_t> values = {kMax, kMin, kMax, 0, kMin, -1, kMax, kMin + 1};
  Bytes data = DeltaEncode(values, true);
  ValueBuffer out;
  ASSERT_OK(Decode(Encoding::kDeltaBinaryPacked, PhysicalType::kInt32, data, values.size(), &out));
  EXPECT_THAT(Numbers<int32_t>(out), ElementsAre(kMax, kMin, kMax, 0, kMin, -1, kMax, kMin + 1));

  constexpr int64_t kMax64 = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin64 = std::numeric_limits<int64_t>::min();
  const std::vector<int64_t> values64 = {kMax64, kMin64, 0, kMax64, -1, kMin64};
  data = DeltaEncode(values64, false);
  ASSERT_OK(Decode(Encoding::kDeltaBinaryPacked, PhysicalType::kInt64, data, values64.size(), &out));
  EXPECT_EQ(Numbers<int64_t>(out), values64);
}

TEST(DeltaBinaryPackedTest, Errors) {
  ValueBuffer out;
  // Bit width 70 in an INT64 miniblock, 33 in an INT32 one.
  EXPECT_THAT(
      Decode(Encoding::kDeltaBinaryPacked, PhysicalType::kInt64, Bytes{8, 1, 2, 0, 0, 70, 0, 0}, 2, &out),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("DELTA_BINARY_PACKED: miniblock bit width 70 > 64")));
  EXPECT_THAT(Decode(Encoding::kDeltaBinaryPacked, PhysicalType::kInt32, Bytes{8, 1, 2, 0, 0, 33, 0, 0}, 2, &out),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("miniblock bit width 33 > 32")));
  // A hostile total value count: refused from the page size, nothing allocated.
  Bytes hostile = {0x80, 0x01, 4};
  PutUleb(&hostile, uint64_t{1} << 60);
  hostile.push_back(0);
  EXPECT_THAT(Decode(Encoding::kDeltaBinaryPacked, PhysicalType::kInt64, hostile, 1, &out),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("the data can hold at most 1")));
  // The caller's count beyond the header's.
  EXPECT_THAT(Decode(Encoding::kDeltaBinaryPacked, PhysicalType::kInt32, Bytes{8, 1, 5, 2, 2, 0}, 6, &out),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("header has 5 values, 6 expected")));
  // Block geometry.
  EXPECT_THAT(Decode(Encoding::kDeltaBinaryPacked, PhysicalType::kInt32, Bytes{0, 1, 1, 0}, 1, &out),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("invalid block")));
  EXPECT_THAT(Decode(Encoding::kDeltaBinaryPacked, PhysicalType::kInt32, Bytes{0x80, 0x01, 0, 1, 0}, 1, &out),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("invalid block")));
  EXPECT_THAT(Decode(Encoding::kDeltaBinaryPacked, PhysicalType::kInt32, Bytes{0x80, 0x01, 32, 1, 0}, 1, &out),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("invalid block")));
  EXPECT_THAT(
      Decode(Encoding::kDeltaBinaryPacked, PhysicalType::kInt32, Bytes{0xFF, 0xFF, 0xFF, 0x7F, 1, 1, 0}, 1, &out),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("invalid block")));
  EXPECT_THAT(Decode(Encoding::kDeltaBinaryPacked, PhysicalType::kDouble, Bytes{8, 1, 1, 0}, 1, &out),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("DELTA_BINARY_PACKED cannot encode DOUBLE")));
  // An 11-byte varint.
  EXPECT_THAT(Decode(Encoding::kDeltaBinaryPacked, PhysicalType::kInt64,
                     Bytes{8, 1, 1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}, 1, &out),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("header truncated or malformed")));
}

TEST(DeltaBinaryPackedTest, TruncationSweep) {
  std::mt19937_64 rng(9);
  std::vector<int64_t> values;
  for (int i = 0; i < 300; ++i) values.push_back(static_cast<int64_t>(rng() % 1000) - 500);
  for (bool garbage : {false, true}) {
    Bytes data = DeltaEncode(values, false, 128, 4, garbage);
    SweepValueTruncations(Encoding::kDeltaBinaryPacked, PhysicalType::kInt64, 0, data, values.size(),
                          Values(ValueBuffer{PhysicalType::kInt64, 8, Raw(values), {}, {}}));
  }
}

// ---------------------------------------------------------------------------
// DELTA_LENGTH_BYTE_ARRAY and DELTA_BYTE_ARRAY

TEST(DeltaLengthByteArrayTest, SpecExample) {
  // Lengths 5, 5, 6, 6 (block 128, 4 miniblocks, first 5, min delta 0, widths
  // 1 0 0 0, relative deltas 0 1 0 in 32 bits), then the bytes.
  Bytes data = {0x80, 0x01, 4, 4, 10, 0, 1, 0, 0, 0, 0x02, 0, 0, 0};
  Append(&data, std::string_view("HelloWorldFoobarABCDEF"));
  EXPECT_EQ(DeltaLengthEncode({"Hello", "World", "Foobar", "ABCDEF"}), data);
  ValueBuffer out;
  size_t consumed = 0;
  ASSERT_OK(Decode(Encoding::kDeltaLengthByteArray, PhysicalType::kByteArray, data, 4, &out, 0, &consumed));
  EXPECT_THAT(Values(out), ElementsAre("Hello", "World", "Foobar", "ABCDEF"));
  EXPECT_EQ(consumed, data.size());
  SweepValueTruncations(Encoding::kDeltaLengthByteArray, PhysicalType::kByteArray, 0, data, 4,
                        {"Hello", "World", "Foobar", "ABCDEF"});
}

TEST(DeltaLengthByteArrayTest, RoundTripsAndErrors) {
  std::mt19937_64 rng(10);
  for (size_t count : {1, 7, 8, 9, 1000}) {
    std::vector<std::string> values;
    for (size_t i = 0; i < count; ++i) values.push_back(std::string(rng() % 20, static_cast<char>('a' + i % 26)));
    ValueBuffer out;
    ASSERT_OK(
        Decode(Encoding::kDeltaLengthByteArray, PhysicalType::kByteArray, DeltaLengthEncode(values), count, &out));
    EXPECT_EQ(Values(out), values);
  }
  ValueBuffer out;
  // A negative length.
  Bytes data = DeltaEncode({3, -1}, true);
  Append(&data, std::string_view("abc"));
  EXPECT_THAT(Decode(Encoding::kDeltaLengthByteArray, PhysicalType::kByteArray, data, 2, &out),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("negative length -1")));
  // Lengths beyond the bytes.
  data = DeltaEncode({3, 4}, true);
  Append(&data, std::string_view("abcdef"));
  EXPECT_THAT(Decode(Encoding::kDeltaLengthByteArray, PhysicalType::kByteArray, data, 2, &out),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("lengths add up to 7 bytes, the page has 6")));
  EXPECT_THAT(Decode(Encoding::kDeltaLengthByteArray, PhysicalType::kByteArray, data, 3, &out),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("2 lengths for 3 values")));
}

TEST(DeltaByteArrayTest, SpecExample) {
  const std::vector<std::string> values = {"axis", "axle", "babble", "babyhood"};
  Bytes data = DeltaEncode({0, 2, 0, 3}, true);
  Append(&data, DeltaEncode({4, 2, 6, 5}, true));
  Append(&data, std::string_view("axislebabbleyhood"));
  EXPECT_EQ(DeltaByteArrayEncode(values), data);
  ValueBuffer out;
  size_t consumed = 0;
  ASSERT_OK(Decode(Encoding::kDeltaByteArray, PhysicalType::kByteArray, data, 4, &out, 0, &consumed));
  EXPECT_EQ(Values(out), values);
  EXPECT_EQ(consumed, data.size());
  SweepValueTruncations(Encoding::kDeltaByteArray, PhysicalType::kByteArray, 0, data, 4, values);
}

TEST(DeltaByteArrayTest, FixedLenByteArrayAndRoundTrips) {
  const std::vector<std::string> fixed = {"abcd", "abce", "xbce", "xbce"};
  Bytes data = DeltaByteArrayEncode(fixed);
  ValueBuffer out;
  ASSERT_OK(Decode(Encoding::kDeltaByteArray, PhysicalType::kFixedLenByteArray, data, 4, &out, 4));
  EXPECT_EQ(Values(out), fixed);
  SweepValueTruncations(Encoding::kDeltaByteArray, PhysicalType::kFixedLenByteArray, 4, data, 4, fixed);
  EXPECT_THAT(
      Decode(Encoding::kDeltaByteArray, PhysicalType::kFixedLenByteArray, data, 4, &out, 5),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("value 0 has 4 bytes, FIXED_LEN_BYTE_ARRAY needs 5")));

  std::mt19937_64 rng(11);
  for (size_t count : {1, 7, 8, 9, 1000}) {
    std::vector<std::string> values;
    std::string previous;
    for (size_t i = 0; i < count; ++i) {
      std::string v = previous.substr(0, rng() % (previous.size() + 1));
      for (size_t k = rng() % 6; k > 0; --k) v.push_back(static_cast<char>('a' + rng() % 3));
      values.push_back(v);
      previous = v;
    }
    ASSERT_OK(Decode(Encoding::kDeltaByteArray, PhysicalType::kByteArray, DeltaByteArrayEncode(values), count, &out));
    EXPECT_EQ(Values(out), values);
  }
}

TEST(DeltaByteArrayTest, Errors) {
  ValueBuffer out;
  // Prefix longer than the previous value (the first value has none).
  Bytes data = DeltaEncode({1, 0}, true);
  Append(&data, DeltaEncode({2, 2}, true));
  Append(&data, std::string_view("abcd"));
  EXPECT_THAT(Decode(Encoding::kDeltaByteArray, PhysicalType::kByteArray, data, 2, &out),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("value 0 has prefix length 1 > previous value's length 0")));
  data = DeltaEncode({0, 3}, true);
  Append(&data, DeltaEncode({2, 2}, true));
  Append(&data, std::string_view("abcd"));
  EXPECT_THAT(Decode(Encoding::kDeltaByteArray, PhysicalType::kByteArray, data, 2, &out),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("prefix length 3 > previous value's length 2")));
  // Suffix bytes missing.
  data = DeltaEncode({0, 0}, true);
  Append(&data, DeltaEncode({2, 3}, true));
  Append(&data, std::string_view("abcd"));
  EXPECT_THAT(Decode(Encoding::kDeltaByteArray, PhysicalType::kByteArray, data, 2, &out),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("suffixes add up to 5 bytes")));
  EXPECT_THAT(Decode(Encoding::kDeltaByteArray, PhysicalType::kInt32, data, 2, &out),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("DELTA_BYTE_ARRAY cannot encode INT32")));
}

// ---------------------------------------------------------------------------
// BYTE_STREAM_SPLIT

TEST(ByteStreamSplitTest, SpecExample) {
  const Bytes data = {0xAA, 0x00, 0xA3, 0xBB, 0x11, 0xB4, 0xCC, 0x22, 0xC5, 0xDD, 0x33, 0xD6};
  ValueBuffer out;
  size_t consumed = 0;
  ASSERT_OK(Decode(Encoding::kByteStreamSplit, PhysicalType::kFloat, data, 3, &out, 0, &consumed));
  EXPECT_EQ(out.fixed, std::string("\xAA\xBB\xCC\xDD\x00\x11\x22\x33\xA3\xB4\xC5\xD6", 12));
  EXPECT_EQ(consumed, 12u);
}

// Splits `raw` (count values of `width` bytes) into `width` streams.
Bytes Split(const std::string& raw, size_t width) {
  const size_t count = raw.size() / width;
  Bytes out(raw.size());
  for (size_t i = 0; i < count; ++i) {
    for (size_t k = 0; k < width; ++k) out[k * count + i] = static_cast<uint8_t>(raw[i * width + k]);
  }
  return out;
}

TEST(ByteStreamSplitTest, EveryType) {
  std::mt19937_64 rng(12);
  struct Case {
    PhysicalType type;
    int32_t type_length;
    size_t width;
  };
  for (const Case& c : {Case{PhysicalType::kFloat, 0, 4}, Case{PhysicalType::kDouble, 0, 8},
                        Case{PhysicalType::kInt32, 0, 4}, Case{PhysicalType::kInt64, 0, 8},
                        Case{PhysicalType::kFixedLenByteArray, 3, 3}, Case{PhysicalType::kFixedLenByteArray, 16, 16}}) {
    for (size_t count : {0, 1, 7, 8, 9, 1000}) {
      std::string raw(count * c.width, '\0');
      for (char& ch : raw) ch = static_cast<char>(rng());
      ValueBuffer out;
      ASSERT_OK(Decode(Encoding::kByteStreamSplit, c.type, Split(raw, c.width), count, &out, c.type_length));
      EXPECT_EQ(out.fixed, raw);
      EXPECT_EQ(out.size(), count);
    }
  }
  ValueBuffer out;
  EXPECT_THAT(
      Decode(Encoding::kByteStreamSplit, PhysicalType::kDouble, Bytes(12, 0), 1, &out),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("12 bytes is not a multiple of the value width 8")));
  EXPECT_THAT(Decode(Encoding::kByteStreamSplit, PhysicalType::kFloat, Bytes(12, 0), 4, &out),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("4 values need 16 bytes, the page has 12")));
  EXPECT_THAT(Decode(Encoding::kByteStreamSplit, PhysicalType::kByteArray, Bytes(12, 0), 1, &out),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("cannot encode BYTE_ARRAY")));
  EXPECT_THAT(Decode(Encoding::kByteStreamSplit, PhysicalType::kInt96, Bytes(12, 0), 1, &out),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("cannot encode INT96")));
}

// ---------------------------------------------------------------------------
// Dispatch, and garbage never crashes.

TEST(DecodeValuesTest, UnsupportedEncodings) {
  ValueBuffer out;
  EXPECT_THAT(Decode(Encoding::kRleDictionary, PhysicalType::kInt32, Bytes{}, 1, &out),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("dictionary indices")));
  EXPECT_THAT(Decode(Encoding::kBitPacked, PhysicalType::kInt32, Bytes{}, 1, &out),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unsupported value encoding BIT_PACKED")));
  EXPECT_THAT(Decode(static_cast<Encoding>(10), PhysicalType::kDouble, Bytes{}, 1, &out),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unsupported value encoding")));
}

TEST(DecodeValuesTest, RandomInputNeverCrashes) {
  std::mt19937_64 rng(13);
  const std::vector<std::pair<Encoding, PhysicalType>> cases = {
      {Encoding::kPlain, PhysicalType::kBoolean},
      {Encoding::kPlain, PhysicalType::kByteArray},
      {Encoding::kPlain, PhysicalType::kInt96},
      {Encoding::kRle, PhysicalType::kBoolean},
      {Encoding::kDeltaBinaryPacked, PhysicalType::kInt32},
      {Encoding::kDeltaBinaryPacked, PhysicalType::kInt64},
      {Encoding::kDeltaLengthByteArray, PhysicalType::kByteArray},
      {Encoding::kDeltaByteArray, PhysicalType::kByteArray},
      {Encoding::kDeltaByteArray, PhysicalType::kFixedLenByteArray},
      {Encoding::kByteStreamSplit, PhysicalType::kFixedLenByteArray},
  };
  for (int round = 0; round < 3000; ++round) {
    Bytes data(rng() % 48);
    for (uint8_t& b : data) b = static_cast<uint8_t>(rng() % 3 == 0 ? rng() % 4 : rng());
    // Plausible-looking delta headers now and then.
    if (data.size() > 4 && rng() % 2 == 0) {
      data[0] = 0x80;
      data[1] = 0x01;
      data[2] = static_cast<uint8_t>(1 << (rng() % 3));
    }
    const size_t count = rng() % 200;
    for (const auto& [encoding, type] : cases) {
      ValueBuffer out;
      absl::Status status = Decode(encoding, type, data, count, &out, 3);
      if (status.ok()) {
        EXPECT_EQ(out.size(), count);
      } else {
        EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
      }
    }
    std::vector<uint32_t> indices;
    absl::Status status = DecodeDictionaryIndices(data, count, &indices);
    if (status.ok()) {
      EXPECT_EQ(indices.size(), count);
    }
    std::vector<uint16_t> levels;
    status = DecodeRleLevels(data, static_cast<int>(rng() % 17), count, &levels);
    if (status.ok()) {
      EXPECT_EQ(levels.size(), count);
    }
  }
}

}  // namespace
}  // namespace predstore::parquet
