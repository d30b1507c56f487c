#include "core/snapshot/external_sorter.h"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "core/base/strings.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/scratch_dir.h"
#include "tests/support/status_matchers.h"

namespace predstore {
namespace {

using test_support::IsOkAndHolds;

struct Row {
  std::string key;
  std::string value;
  uint32_t file = 0;
  uint64_t line = 0;
  bool operator==(const Row&) const = default;
};

void PrintTo(const Row& row, std::ostream* os) {
  *os << ::testing::PrintToString(row.key) << " -> " << ::testing::PrintToString(row.value) << " @" << row.file << ":"
      << row.line;
}

// Random keys that stress the sorter: many share long prefixes (beyond its
// 8-byte comparison prefix), some are short with trailing zero bytes, and
// some repeat.
std::vector<Row> RandomRows(size_t count, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::string> repeated;
  for (int i = 0; i < 20; ++i) repeated.push_back(StrCat("dup", i));
  std::vector<Row> rows;
  for (size_t i = 0; i < count; ++i) {
    std::string key;
    switch (rng() % 5) {
      case 0:
        key = repeated[rng() % repeated.size()];
        break;
      case 1:
        key = StrCat("common-prefix-", rng() % 50);
        break;
      case 2:
        key = std::string(rng() % 4, '\0') + std::string(1, static_cast<char>(rng() % 3));
        break;
      case 3:
        key = std::string(rng() % 12, '\xFF');
        break;
      default:
        key.resize(rng() % 20);
        for (char& c : key) c = static_cast<char>(rng());
    }
    std::string value(rng() % 30, 'v');
    if (!value.empty()) value[0] = static_cast<char>(i);
    rows.push_back(Row{std::move(key), std::move(value), static_cast<uint32_t>(i % 3), i + 1});
  }
  return rows;
}

std::vector<Row> StableSortedByKey(std::vector<Row> rows) {
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.key < b.key; });
  return rows;
}

absl::StatusOr<std::vector<Row>> Drain(SortedRowStream& stream) {
  std::vector<Row> rows;
  for (;;) {
    auto has_row = stream.Next();
    if (!has_row.ok()) return has_row.status();
    if (!*has_row) return rows;
    const SortedRow& row = stream.current();
    rows.push_back(Row{std::string(row.key), std::string(row.value), row.origin.file, row.origin.line});
  }
}

class ExternalSorterTest : public ::testing::Test {
 protected:
  std::filesystem::path spill_dir() const { return dir_.path() / "spill"; }

  // Sorts `input` with the given budget; returns the output and the number
  // of spilled runs.
  void Sort(const std::vector<Row>& input, uint64_t budget, std::vector<Row>* output, int* runs) {
    ExternalSorter sorter({budget, spill_dir()});
    for (const Row& row : input) {
      ASSERT_OK(sorter.Add(row.key, row.value, RowOrigin{row.file, row.line}));
    }
    EXPECT_EQ(sorter.rows(), input.size());
    ASSERT_OK_AND_ASSIGN(auto stream, sorter.Finish());
    ASSERT_OK_AND_ASSIGN(*output, Drain(*stream));
    EXPECT_THAT(stream->Next(), IsOkAndHolds(false));
    *runs = sorter.spilled_runs();
  }

  test_support::ScratchDir dir_;
};

TEST_F(ExternalSorterTest, SortsInMemory) {
  std::vector<Row> input = RandomRows(3000, 1);
  std::vector<Row> output;
  int runs = -1;
  ASSERT_NO_FATAL_FAILURE(Sort(input, uint64_t{64} << 20, &output, &runs));
  EXPECT_EQ(runs, 0);
  EXPECT_EQ(output, StableSortedByKey(input));
  EXPECT_FALSE(std::filesystem::exists(spill_dir()) && !std::filesystem::is_empty(spill_dir()));
}

TEST_F(ExternalSorterTest, SpillsManyRunsWithATinyBudgetAndMergesStably) {
  std::vector<Row> input = RandomRows(5000, 2);
  std::vector<Row> output;
  int runs = -1;
  ASSERT_NO_FATAL_FAILURE(Sort(input, 4096, &output, &runs));
  EXPECT_GT(runs, 1);
  EXPECT_EQ(output, StableSortedByKey(input));
}

TEST_F(ExternalSorterTest, MoreRunsThanOneMergeOpensAreMergedInGroupsStably) {
  // Few distinct keys, so stability across merged groups is visible.
  std::vector<Row> input;
  for (uint64_t i = 0; i < 20000; ++i) input.push_back(Row{StrCat("k", (i * 13) % 17), StrCat("v", i), 1, i + 1});
  std::vector<Row> output;
  int runs = -1;
  ASSERT_NO_FATAL_FAILURE(Sort(input, 2048, &output, &runs));
  EXPECT_GT(runs, 300);  // more than the 128 runs merged at once
  EXPECT_EQ(output, StableSortedByKey(input));
}

TEST_F(ExternalSorterTest, EqualKeysKeepInsertionOrderAcrossRuns) {
  // Three keys, each added many times; the line records the insertion order.
  std::vector<Row> input;
  for (uint64_t i = 0; i < 3000; ++i) {
    input.push_back(Row{StrCat("key", (i * 7) % 3), StrCat("value", i), 0, i + 1});
  }
  for (uint64_t budget : {uint64_t{1} << 30, uint64_t{4096}}) {
    SCOPED_TRACE(budget);
    std::vector<Row> output;
    int runs = -1;
    ASSERT_NO_FATAL_FAILURE(Sort(input, budget, &output, &runs));
    EXPECT_EQ(runs > 1, budget < 100000);
    ASSERT_EQ(output.size(), input.size());
    for (size_t i = 1; i < output.size(); ++i) {
      ASSERT_LE(output[i - 1].key, output[i].key);
      if (output[i - 1].key == output[i].key) {
        ASSERT_LT(output[i - 1].line, output[i].line) << i;
      }
    }
    EXPECT_EQ(output, StableSortedByKey(input));
  }
}

TEST_F(ExternalSorterTest, EmptyInputYieldsNothing) {
  for (uint64_t budget : {uint64_t{4096}, uint64_t{0}}) {
    std::vector<Row> output;
    int runs = -1;
    ASSERT_NO_FATAL_FAILURE(Sort({}, budget, &output, &runs));
    EXPECT_TRUE(output.empty());
    EXPECT_EQ(runs, 0);
  }
}

TEST_F(ExternalSorterTest, DestructorRemovesRunFiles) {
  {
    ExternalSorter sorter({1024, spill_dir()});
    for (const Row& row : RandomRows(500, 3)) ASSERT_OK(sorter.Add(row.key, row.value, RowOrigin{0, row.line}));
    ASSERT_GT(sorter.spilled_runs(), 1);
    EXPECT_FALSE(std::filesystem::is_empty(spill_dir()));
  }
  EXPECT_TRUE(std::filesystem::is_empty(spill_dir()));
}

}  // namespace
}  // namespace predstore
