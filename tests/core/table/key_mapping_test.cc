// KeyMapping and KeyStatistics, and the key codec's hilbert and normalised
// layouts built on them.
#include "core/table/key_mapping.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <vector>

#include "core/base/strings.h"
#include "core/table/key_codec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/cell_printers.h"
#include "tests/support/status_matchers.h"

namespace predstore {
namespace {

using test_support::StatusHasCode;
using test_support::ValueOrDie;

// Zipf-distributed ranks 0..n-1 with exponent 1.1 (rank 0 the hottest).
class Zipf {
 public:
  explicit Zipf(int n) {
    double sum = 0;
    for (int k = 1; k <= n; ++k) cumulative_.push_back(sum += 1.0 / std::pow(k, 1.1));
  }
  uint64_t operator()(std::mt19937_64& rng) {
    double u = std::uniform_real_distribution<double>(0, cumulative_.back())(rng);
    return std::lower_bound(cumulative_.begin(), cumulative_.end(), u) - cumulative_.begin();
  }

 private:
  std::vector<double> cumulative_;
};

TEST(KeyMappingTest, EmptyMappingCodesEverythingZero) {
  KeyMapping mapping;
  EXPECT_TRUE(mapping.empty());
  EXPECT_EQ(mapping.Code(0, 12345), 0u);
}

TEST(KeyMappingTest, MinMaxIsMonotoneTotalAndSpansTheCodes) {
  KeyMapping mapping({KeyMapping::Column{KeyNormalization::kMinMax, 1000, 3000, {}, {}}});
  EXPECT_EQ(mapping.Code(0, 0), 0u);
  EXPECT_EQ(mapping.Code(0, 1000), 0u);
  EXPECT_EQ(mapping.Code(0, 3000), KeyMapping::kMaxCode);
  EXPECT_EQ(mapping.Code(0, UINT64_MAX), KeyMapping::kMaxCode);
  EXPECT_EQ(mapping.Code(0, 2000), KeyMapping::kMaxCode / 2);
  uint64_t previous = 0;
  for (uint64_t x = 900; x < 3100; ++x) {
    ASSERT_GE(mapping.Code(0, x), previous) << x;
    previous = mapping.Code(0, x);
  }
}

TEST(KeyMappingTest, QuantileBucketsHoldEqualShares) {
  // Zipf-skewed ids: min/max would give the few hot ids a sliver of the
  // codes; quantile buckets give each bucket about the same number of rows.
  std::mt19937_64 rng(3);
  Zipf zipf(100000);
  std::vector<uint64_t> values;
  KeyStatistics statistics(1);
  for (int i = 0; i < 200000; ++i) {
    values.push_back(zipf(rng) * 7);
    ZPoint point{};
    point[0] = values.back();
    statistics.Add(point);
  }
  KeyMapping quantile = statistics.Fit(KeyNormalization::kQuantile);
  KeyMapping minmax = statistics.Fit(KeyNormalization::kMinMax);
  ASSERT_EQ(quantile.columns().size(), 1u);
  const auto& bounds = quantile.columns()[0].bounds;
  EXPECT_GT(bounds.size(), 500u);
  EXPECT_LE(bounds.size(), KeyMapping::kMaxQuantileBuckets - 1);
  EXPECT_TRUE(std::is_sorted(bounds.begin(), bounds.end()));

  // The top code bit splits the rows: about half on each side with
  // quantiles; nearly all on one side with min/max.
  auto share_high = [&](const KeyMapping& mapping) {
    size_t high = 0;
    for (uint64_t v : values) high += mapping.Code(0, v) > KeyMapping::kMaxCode / 2;
    return static_cast<double>(high) / values.size();
  };
  EXPECT_NEAR(share_high(quantile), 0.5, 0.05);
  EXPECT_LT(share_high(minmax), 0.05);
  // Monotone over the whole domain, values never seen included.
  uint64_t previous = 0;
  for (uint64_t x = 0; x < 800000; x += 3) {
    ASSERT_GE(quantile.Code(0, x), previous);
    previous = quantile.Code(0, x);
  }
  EXPECT_EQ(quantile.Code(0, UINT64_MAX), quantile.columns()[0].codes.back());
  EXPECT_GT(quantile.Code(0, UINT64_MAX), KeyMapping::kMaxCode * 99 / 100);
}

TEST(KeyMappingTest, AHeavyValueGetsOneBucketOfItsOwn) {
  KeyStatistics statistics(1);
  for (uint64_t i = 0; i < 10000; ++i) {
    ZPoint point{};
    point[0] = i % 2 == 0 ? 500 : i;  // half the rows have the value 500
    statistics.Add(point);
  }
  KeyMapping mapping = statistics.Fit(KeyNormalization::kQuantile);
  EXPECT_EQ(mapping.Code(0, 500), mapping.Code(0, 501));
  EXPECT_LT(mapping.Code(0, 499), mapping.Code(0, 500));
  EXPECT_EQ(std::count(mapping.columns()[0].bounds.begin(), mapping.columns()[0].bounds.end(), 500u), 1);
}

TEST(KeyMappingTest, SameRowsGiveTheSameMapping) {
  auto fit = [] {
    KeyStatistics statistics(2, 100);
    std::mt19937_64 rng(9);
    for (int i = 0; i < 5000; ++i) statistics.Add(ZPoint{rng() % 1000, rng() % 77});
    return statistics.Fit(KeyNormalization::kQuantile);
  };
  EXPECT_EQ(fit(), fit());
}

TEST(KeyMappingTest, JsonRoundTripsAndRejectsCorruption) {
  KeyMapping mapping({KeyMapping::Column{KeyNormalization::kMinMax, 5, UINT64_MAX, {}, {}},
                      KeyMapping::Column{KeyNormalization::kQuantile, 0, 0, {3, 9, uint64_t{1} << 63}, {0, 7, 7, 900}}});
  EXPECT_EQ(ValueOrDie(KeyMapping::FromJson(mapping.ToJson(), 2)), mapping);
  EXPECT_THAT(KeyMapping::FromJson(mapping.ToJson(), 3).status(), StatusHasCode(absl::StatusCode::kDataLoss));
  EXPECT_THAT(KeyMapping::FromJson("{}", 2).status(), StatusHasCode(absl::StatusCode::kDataLoss));
  EXPECT_THAT(KeyMapping::FromJson(R"([{"kind":"quantile","bounds":[9,3],"codes":[0,1,2]}])", 1).status(),
              StatusHasCode(absl::StatusCode::kDataLoss));
  EXPECT_THAT(KeyMapping::FromJson(R"([{"kind":"quantile","bounds":[3,9],"codes":[0,2]}])", 1).status(),
              StatusHasCode(absl::StatusCode::kDataLoss));
  EXPECT_THAT(KeyMapping::FromJson(R"([{"kind":"none"}])", 1).status(), StatusHasCode(absl::StatusCode::kDataLoss));
}

Schema CurveSchema(KeyLayout layout, KeyNormalization normalization) {
  return ValueOrDie(Schema::Create({{"store", ColumnType::kInt64}, {"day", ColumnType::kDate}, {"name", ColumnType::kString}},
                                   {{"v", ColumnType::kDouble}}, Column{"p", ColumnType::kUint64}, layout,
                                   normalization));
}

std::vector<Cell> RandomCells(std::mt19937_64& rng) {
  return {Cell(uint64_t{rng() % 3}), Cell(static_cast<int64_t>(rng() % 2001) - 1000),
          Cell(Date{static_cast<int32_t>(rng() % 400) - 200}), Cell(std::string(1 + rng() % 3, 'a' + rng() % 3))};
}

TEST(KeyCodecCurveTest, HilbertAndNormalisedKeysDecodeAndStayUnique) {
  std::mt19937_64 rng(17);
  KeyMapping mapping({KeyMapping::Column{KeyNormalization::kMinMax, KeyCodec::OrdinalOf(int64_t{-100}),
                                         KeyCodec::OrdinalOf(int64_t{100}), {}, {}},
                      KeyMapping::Column{KeyNormalization::kQuantile, 0, 0,
                                         {KeyCodec::OrdinalOf(Date{-50}), KeyCodec::OrdinalOf(Date{0})},
                                         {0, 20000, 40000}}});
  for (KeyLayout layout : {KeyLayout::kZOrder, KeyLayout::kHilbert}) {
    for (KeyNormalization normalization :
         {KeyNormalization::kNone, KeyNormalization::kMinMax, KeyNormalization::kQuantile}) {
      SCOPED_TRACE(StrCat(KeyLayoutName(layout), " ", KeyNormalizationName(normalization)));
      const Schema schema = CurveSchema(layout, normalization);
      const KeyCodec codec(schema, normalization == KeyNormalization::kNone ? KeyMapping() : mapping);
      const KeyCodec unmapped(schema);
      std::map<std::string, std::vector<Cell>> keys;
      for (int i = 0; i < 3000; ++i) {
        std::vector<Cell> cells = RandomCells(rng);
        std::string key;
        codec.Encode(cells, &key);
        ASSERT_EQ(ValueOrDie(codec.Decode(key)), cells);
        auto [it, added] = keys.emplace(key, cells);
        if (!added) {
          ASSERT_EQ(it->second, cells);  // equal keys only for equal rows
        }
        if (normalization == KeyNormalization::kNone) continue;
        // Re-keying either way gives the other codec's key of the same row.
        std::string plain, remapped, stripped;
        unmapped.Encode(cells, &plain);
        ASSERT_TRUE(codec.Remap(plain, &remapped).ok());
        EXPECT_EQ(remapped, key);
        ASSERT_TRUE(codec.AppendUnmapped(key, &stripped).ok());
        EXPECT_EQ(stripped, plain);
        ZPoint ordinals = ValueOrDie(codec.ReadOrdinals(key));
        EXPECT_EQ(ordinals[0], KeyCodec::OrdinalOf(cells[1]));
        EXPECT_EQ(ordinals[1], KeyCodec::OrdinalOf(cells[2]));
      }
      // Keys sort by partition, then curve point (its coordinates read back
      // from the key equal the cells' coordinates).
      for (const auto& [key, cells] : keys) {
        const std::string_view curve = std::string_view(key).substr(8);
        ZPoint point = codec.ReadCurve(curve);
        ASSERT_EQ(point[0], codec.CurveCoordinate(0, cells[1]));
        ASSERT_EQ(point[1], codec.CurveCoordinate(1, cells[2]));
      }
    }
  }
}

TEST(KeyCodecCurveTest, HilbertNeighboursAlongTheCurveAreNeighboursInSpace) {
  // Over a dense 2-column grid, consecutive keys of the hilbert layout
  // (without normalisation) differ by 1 in exactly one column.
  const Schema schema = ValueOrDie(Schema::Create({{"x", ColumnType::kUint64}, {"y", ColumnType::kUint64}},
                                                  {{"v", ColumnType::kDouble}}, std::nullopt, KeyLayout::kHilbert));
  const KeyCodec codec(schema);
  std::map<std::string, std::pair<uint64_t, uint64_t>> keys;
  for (uint64_t x = 0; x < 16; ++x) {
    for (uint64_t y = 0; y < 16; ++y) {
      std::string key;
      codec.Encode(std::vector<Cell>{Cell(x), Cell(y)}, &key);
      keys.emplace(key, std::make_pair(x, y));
    }
  }
  ASSERT_EQ(keys.size(), 256u);
  std::pair<uint64_t, uint64_t> previous = keys.begin()->second;
  for (auto it = std::next(keys.begin()); it != keys.end(); ++it) {
    const auto [x, y] = it->second;
    const uint64_t distance = (x > previous.first ? x - previous.first : previous.first - x) +
                              (y > previous.second ? y - previous.second : previous.second - y);
    EXPECT_EQ(distance, 1u) << x << "," << y;
    previous = it->second;
  }
}

TEST(SchemaCurveTest, NormalisationNeedsACurveLayoutAndHilbertAtMostEightColumns) {
  EXPECT_THAT(Schema::Create({{"a", ColumnType::kInt64}}, {{"v", ColumnType::kDouble}}, std::nullopt,
                             KeyLayout::kLinear, KeyNormalization::kQuantile)
                  .status(),
              StatusHasCode(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Schema::Create({{"a", ColumnType::kString}}, {{"v", ColumnType::kDouble}}, std::nullopt,
                             KeyLayout::kZOrder, KeyNormalization::kMinMax)
                  .status(),
              StatusHasCode(absl::StatusCode::kInvalidArgument));
  std::vector<Column> nine;
  for (int i = 0; i < 9; ++i) nine.push_back({StrCat("k", i), ColumnType::kInt64});
  EXPECT_THAT(Schema::Create(nine, {{"v", ColumnType::kDouble}}, std::nullopt, KeyLayout::kHilbert).status(),
              StatusHasCode(absl::StatusCode::kInvalidArgument));
  const Schema schema = CurveSchema(KeyLayout::kHilbert, KeyNormalization::kQuantile);
  EXPECT_EQ(ValueOrDie(Schema::FromJson(schema.ToJson())), schema);
  EXPECT_THAT(schema.Describe(), ::testing::HasSubstr("[hilbert, quantile]"));
}

}  // namespace
}  // namespace predstore
