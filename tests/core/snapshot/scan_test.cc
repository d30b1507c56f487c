// TableSnapshot::Scan against a brute-force filter of the loaded rows, for
// random data and many random boxes of every shape.
#include <algorithm>
#include <random>

#include "core/base/strings.h"
#include "core/ingest/batch_load.h"
#include "core/snapshot/prediction_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/cell_printers.h"
#include "tests/support/scratch_dir.h"
#include "tests/support/status_matchers.h"

namespace predstore {
namespace {

using test_support::StatusHasCode;
using test_support::ValueOrDie;

struct Row {
  std::vector<Cell> lookup;  // day (partition), store, item, region
  double score;
};

struct KeyEncoding {
  KeyLayout layout;
  KeyNormalization normalization;
};

class ScanTest : public ::testing::TestWithParam<KeyEncoding> {
 protected:
  void SetUp() override {
    schema_ = ValueOrDie(Schema::Create(
        {{"store", ColumnType::kInt64}, {"item", ColumnType::kUint64}, {"region", ColumnType::kString}},
        {{"score", ColumnType::kDouble}}, Column{"day", ColumnType::kDate}, GetParam().layout,
        GetParam().normalization));
    std::mt19937_64 rng(11);
    std::set<std::vector<Cell>> seen;
    const char* regions[] = {"north", "south", "east", "west"};
    std::string csv = "day,store,item,region,score\n";
    while (rows_.size() < 6000) {
      Row row;
      row.lookup = {Cell(Date{20000 + static_cast<int32_t>(rng() % 3)}), Cell(static_cast<int64_t>(rng() % 200) - 100),
                    Cell(uint64_t{rng() % 300}), Cell(std::string(regions[rng() % 4]))};
      if (!seen.insert(row.lookup).second) continue;
      row.score = static_cast<double>(rows_.size());
      csv += StrCat(FormatCell(ViewOf(row.lookup[0])), ",", std::get<int64_t>(row.lookup[1]), ",",
                    std::get<uint64_t>(row.lookup[2]), ",", std::get<std::string>(row.lookup[3]), ",", row.score, "\n");
      rows_.push_back(std::move(row));
    }
    Load(csv, PublishMode::kReplaceTable);
    store_ = ValueOrDie(PredictionStore::Open({dir_.path() / "data"}));
    snapshot_ = store_->Find("t");
    ASSERT_NE(snapshot_, nullptr);
  }

  void Load(const std::string& csv, PublishMode mode) {
    LoadRequest request;
    request.data_dir = dir_.path() / "data";
    request.table = "t";
    request.schema = schema_;
    request.inputs = {dir_.WriteFile("rows.csv", csv)};
    request.mode = mode;
    ValueOrDie(LoadSnapshot(request));
  }

  // Scores of the rows inside the query's box, in key order, by brute force.
  std::vector<double> BruteForce(const ScanQuery& query) const {
    std::vector<std::pair<std::string, double>> hits;
    for (const Row& row : rows_) {
      bool inside = true;
      for (size_t i = 0; i < query.ranges.size(); ++i) {
        const auto& r = query.ranges[i];
        if (r.low && row.lookup[i] < *r.low) inside = false;
        if (r.high && *r.high < row.lookup[i]) inside = false;
      }
      if (!inside) continue;
      std::string key;
      snapshot_->key_codec().Encode(row.lookup, &key);
      hits.emplace_back(key, row.score);
    }
    std::sort(hits.begin(), hits.end());
    std::vector<double> scores;
    for (const auto& hit : hits) scores.push_back(hit.second);
    return scores;
  }

  std::vector<double> Scan(const ScanQuery& query, ScanResult* result = nullptr) const {
    std::vector<double> scores;
    auto scanned = snapshot_->Scan(query, [&](std::string_view, std::string_view value) {
      scores.push_back(std::get<double>(ValueOrDie(snapshot_->value_codec().Decode(value))[0]));
    });
    EXPECT_TRUE(scanned.ok()) << scanned.status();
    if (result && scanned.ok()) *result = *scanned;
    return scores;
  }

  // A random range over a column whose values are drawn from `values`.
  ScanQuery::Range RandomRange(std::mt19937_64& rng, const std::vector<Cell>& values, int shape) const {
    const Cell& a = values[rng() % values.size()];
    const Cell& b = values[rng() % values.size()];
    ScanQuery::Range range;
    switch (shape) {
      case 0:  // closed range
        range.low.emplace(a < b ? a : b);
        range.high.emplace(a < b ? b : a);
        break;
      case 1:  // equality
        range.low.emplace(a);
        range.high.emplace(a);
        break;
      case 2:  // at least
        range.low.emplace(a);
        break;
      case 3:  // at most
        range.high.emplace(a);
        break;
      default:  // any
        break;
    }
    return range;
  }

  test_support::ScratchDir dir_;
  Schema schema_;
  std::vector<Row> rows_;
  std::unique_ptr<PredictionStore> store_;
  std::shared_ptr<const TableSnapshot> snapshot_;
};

TEST_P(ScanTest, EveryBoxShapeMatchesBruteForce) {
  std::mt19937_64 rng(5);
  std::vector<std::vector<Cell>> domain(4);
  for (int32_t d = 19999; d <= 20003; ++d) domain[0].push_back(Date{d});
  for (int64_t s = -110; s <= 110; ++s) domain[1].push_back(s);
  for (uint64_t i = 0; i <= 310; ++i) domain[2].push_back(i);
  for (const char* r : {"a", "east", "north", "south", "west", "zz"}) domain[3].push_back(std::string(r));
  int nonempty = 0;
  for (int trial = 0; trial < 400; ++trial) {
    ScanQuery query;
    for (size_t c = 0; c < 4; ++c) query.ranges.push_back(RandomRange(rng, domain[c], rng() % 6));
    std::vector<double> expected = BruteForce(query);
    nonempty += !expected.empty();
    ScanResult result;
    ASSERT_EQ(Scan(query, &result), expected) << "trial " << trial;
    EXPECT_EQ(result.stats.rows_returned, expected.size());
    EXPECT_GE(result.stats.keys_examined, expected.size());
  }
  EXPECT_GT(nonempty, 100);
}

TEST_P(ScanTest, FullDomainReturnsEveryRowInKeyOrder) {
  ScanResult result;
  std::vector<double> all = Scan(ScanQuery{}, &result);
  EXPECT_EQ(all, BruteForce(ScanQuery{}));
  EXPECT_EQ(all.size(), rows_.size());
  EXPECT_EQ(result.stats.parts_visited, 3u);
}

TEST_P(ScanTest, SelectiveBoxesJumpInsteadOfFilteringEveryKey) {
  // A thin box on the second interleaved column, unselective on the first.
  ScanQuery query;
  query.ranges = {{}, {}, ScanQuery::Range{Cell(uint64_t{100}), Cell(uint64_t{102})}};
  ScanResult result;
  std::vector<double> rows = Scan(query, &result);
  EXPECT_EQ(rows, BruteForce(query));
  if (GetParam().layout == KeyLayout::kLinear) {
    // The baseline: with the leading column unbounded, every key is examined.
    EXPECT_EQ(result.stats.keys_examined, rows_.size());
    return;
  }
  EXPECT_GT(result.stats.seeks, 3u);
  EXPECT_LT(result.stats.keys_examined, rows_.size() / 4) << "keys examined " << result.stats.keys_examined;
}

TEST_P(ScanTest, PartitionRangeVisitsOnlyItsParts) {
  ScanQuery query;
  query.ranges = {ScanQuery::Range{Cell(Date{20001}), Cell(Date{20001})}};
  ScanResult result;
  EXPECT_EQ(Scan(query, &result), BruteForce(query));
  EXPECT_EQ(result.stats.parts_visited, 1u);
}

TEST_P(ScanTest, PagesResumeWhereTheLimitStopped) {
  ScanQuery query;
  query.ranges = {{}, ScanQuery::Range{Cell(int64_t{-50}), Cell(int64_t{50})}};
  std::vector<double> expected = BruteForce(query);
  ASSERT_GT(expected.size(), 500u);
  std::vector<double> pages;
  query.limit = 97;
  for (int page = 0; page < 100; ++page) {
    ScanResult result;
    std::vector<double> rows = Scan(query, &result);
    pages.insert(pages.end(), rows.begin(), rows.end());
    if (result.resume_after.empty()) break;
    EXPECT_EQ(rows.size(), 97u);
    query.resume_after = result.resume_after;
  }
  EXPECT_EQ(pages, expected);
}

TEST_P(ScanTest, BadQueriesAreInvalidArguments) {
  ScanQuery low_above_high;
  low_above_high.ranges = {{}, ScanQuery::Range{Cell(int64_t{5}), Cell(int64_t{4})}};
  auto result = snapshot_->Scan(low_above_high, [](std::string_view, std::string_view) {});
  EXPECT_THAT(result.status(), StatusHasCode(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(result.status().message()), ::testing::HasSubstr("column \"store\""));

  ScanQuery wrong_type;
  wrong_type.ranges = {{}, ScanQuery::Range{Cell(std::string("x")), std::nullopt}};
  EXPECT_THAT(snapshot_->Scan(wrong_type, [](std::string_view, std::string_view) {}).status(),
              StatusHasCode(absl::StatusCode::kInvalidArgument));

  ScanQuery bad_token;
  bad_token.resume_after = "garbage";
  EXPECT_THAT(snapshot_->Scan(bad_token, [](std::string_view, std::string_view) {}).status(),
              StatusHasCode(absl::StatusCode::kInvalidArgument));
}

TEST_P(ScanTest, PartitionLoadKeepsTheKeyMappingAndFindsKeysOutsideIt) {
  // A new partition whose stores lie far outside the range the table's
  // mapping was fitted to: every code clamps to an end, yet lookups and
  // scans find every row.
  const KeyMapping fitted = snapshot_->info().key_mapping;
  EXPECT_EQ(fitted.empty(), GetParam().normalization == KeyNormalization::kNone);
  std::string csv = "day,store,item,region,score\n";
  for (int64_t store = 5000; store < 5040; ++store) {
    for (uint64_t item = 0; item < 5; ++item) {
      Row row;
      row.lookup = {Cell(Date{20010}), Cell(store), Cell(item), Cell(std::string("north"))};
      row.score = -static_cast<double>(rows_.size());
      csv += StrCat("2024-10-14,", store, ",", item, ",north,", row.score, "\n");
      rows_.push_back(std::move(row));
    }
  }
  ASSERT_EQ(FormatCell(ViewOf(Cell(Date{20010}))), "2024-10-14");
  Load(csv, PublishMode::kReplacePartitions);
  ValueOrDie(store_->Refresh("t"));
  snapshot_ = store_->Find("t");
  EXPECT_EQ(snapshot_->info().key_mapping, fitted);
  EXPECT_EQ(snapshot_->info().parts.size(), 4u);

  for (const Row& row : rows_) {
    std::string key;
    snapshot_->key_codec().Encode(row.lookup, &key);
    double found = 0;
    ASSERT_TRUE(ValueOrDie(snapshot_->Get(key, [&](std::string_view value) {
      found = std::get<double>(ValueOrDie(snapshot_->value_codec().Decode(value))[0]);
    })));
    ASSERT_EQ(found, row.score);
  }
  ScanQuery query;
  query.ranges = {{}, ScanQuery::Range{Cell(int64_t{90}), Cell(int64_t{5010})}, ScanQuery::Range{Cell(uint64_t{1}), Cell(uint64_t{3})}};
  EXPECT_EQ(Scan(query), BruteForce(query));
  EXPECT_EQ(Scan(ScanQuery{}), BruteForce(ScanQuery{}));
}

INSTANTIATE_TEST_SUITE_P(Layouts, ScanTest,
                         ::testing::Values(KeyEncoding{KeyLayout::kZOrder, KeyNormalization::kNone},
                                           KeyEncoding{KeyLayout::kZOrder, KeyNormalization::kMinMax},
                                           KeyEncoding{KeyLayout::kZOrder, KeyNormalization::kQuantile},
                                           KeyEncoding{KeyLayout::kHilbert, KeyNormalization::kNone},
                                           KeyEncoding{KeyLayout::kHilbert, KeyNormalization::kMinMax},
                                           KeyEncoding{KeyLayout::kHilbert, KeyNormalization::kQuantile},
                                           KeyEncoding{KeyLayout::kLinear, KeyNormalization::kNone}),
                         [](const ::testing::TestParamInfo<KeyEncoding>& info) {
                           std::string name(KeyLayoutName(info.param.layout));
                           if (info.param.normalization != KeyNormalization::kNone) {
                             name.append("_").append(KeyNormalizationName(info.param.normalization));
                           }
                           return name;
                         });

}  // namespace
}  // namespace predstore
