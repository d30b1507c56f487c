// The memory index of PredictionStore: point reads from memory answer
// exactly what RocksDB answers, and parts that do not fit the budget read
// RocksDB.
#include <string>
#include <vector>

#include "core/ingest/batch_load.h"
#include "core/ingest/sample_data.h"
#include "core/snapshot/prediction_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/scratch_dir.h"
#include "tests/support/status_matchers.h"

namespace predstore {
namespace {

using test_support::ValueOrDie;

class MemoryIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SampleOptions sample;
    sample.rows = 5000;
    const auto file = scratch_.path() / "sample.csv";
    ASSERT_TRUE(WriteSampleFile(file, sample).ok());
    LoadRequest request;
    request.data_dir = scratch_.path() / "data";
    request.table = "forecasts";
    request.schema = SampleSchema();
    request.inputs = {file};
    ASSERT_TRUE(LoadSnapshot(request).ok());
  }

  std::unique_ptr<PredictionStore> Open(uint64_t memory_index_bytes) const {
    StoreOptions options;
    options.data_dir = scratch_.path() / "data";
    options.memory_index_bytes = memory_index_bytes;
    return ValueOrDie(PredictionStore::Open(options));
  }

  // Every answer (Get and MultiGet) for the stored keys and as many misses.
  static std::vector<std::string> Answers(const TableSnapshot& table) {
    std::vector<std::string> answers;
    std::vector<std::string> keys;
    SampleOptions sample;
    for (uint64_t i = 0; i < 10000; ++i) {
      const SampleKey key = SampleKeyAt(sample, i);  // rows 5000.. are misses
      keys.emplace_back();
      table.key_codec().Encode(std::vector<Cell>{Cell(key.store_id), Cell(key.item_id), Cell(key.horizon_days)},
                               &keys.back());
    }
    for (const std::string& key : keys) {
      bool found = ValueOrDie(table.Get(key, [&](std::string_view value) { answers.emplace_back(value); }));
      if (!found) answers.emplace_back("<miss>");
    }
    std::vector<std::string_view> views(keys.begin(), keys.end());
    EXPECT_TRUE(table
                    .MultiGet(views, [&](size_t, const std::string_view* value) {
                      answers.emplace_back(value ? std::string(*value) : "<miss>");
                    })
                    .ok());
    return answers;
  }

  test_support::ScratchDir scratch_;
};

TEST_F(MemoryIndexTest, PointReadsFromMemoryEqualRocksDbReads) {
  auto rocksdb_only = Open(0);
  auto in_memory = Open(uint64_t{64} << 20);
  auto too_small = Open(4096);  // the part does not fit: it reads RocksDB
  EXPECT_EQ(rocksdb_only->memory_index_bytes_in_use(), 0u);
  EXPECT_GT(in_memory->memory_index_bytes_in_use(), 5000u * 40);
  EXPECT_EQ(too_small->memory_index_bytes_in_use(), 0u);
  const auto from_rocksdb = Answers(*rocksdb_only->Find("forecasts"));
  const auto from_memory = Answers(*in_memory->Find("forecasts"));
  const auto over_budget = Answers(*too_small->Find("forecasts"));
  ASSERT_EQ(from_rocksdb.size(), 20000u);
  EXPECT_EQ(std::count(from_rocksdb.begin(), from_rocksdb.end(), "<miss>"), 10000);
  EXPECT_EQ(from_memory, from_rocksdb);
  EXPECT_EQ(over_budget, from_rocksdb);
}

}  // namespace
}  // namespace predstore
