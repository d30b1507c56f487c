// The memory index of PredictionStore: point reads from memory answer
// exactly what RocksDB answers, and parts that do not fit the budget read
// RocksDB.
#include <algorithm>
#include <fstream>
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

// String keys and values of every length up to 48 bytes and around the
// memory index's one-byte length limit (127 bytes; longer lengths take more
// bytes in an entry), up to 900-byte values: all answer as RocksDB does.
TEST(MemoryIndexKeysTest, ShortAndLongStringKeysAnswerAsRocksDb) {
  test_support::ScratchDir scratch;
  const auto file = scratch.path() / "names.csv";
  std::vector<std::string> names;
  {
    std::ofstream out(file);
    out << "name,score,note\n";
    std::vector<size_t> lengths;
    for (size_t length = 1; length <= 48; ++length) lengths.push_back(length);
    for (size_t length : {120, 125, 126, 127, 128, 129, 200, 300}) lengths.push_back(length);
    for (size_t length : lengths) {
      for (char c : {'a', 'b'}) {
        names.push_back(std::string(length, c));
        out << names.back() << "," << length * (c == 'a' ? 1.5 : 2.5) << "," << std::string(length * 3, 'n') << "\n";
      }
    }
  }
  LoadRequest request;
  request.data_dir = scratch.path() / "data";
  request.table = "names";
  request.schema = *Schema::Create({{"name", ColumnType::kString}},
                                   {{"score", ColumnType::kDouble}, {"note", ColumnType::kString}}, std::nullopt);
  request.inputs = {file};
  ASSERT_TRUE(LoadSnapshot(request).ok());
  auto answers = [&](uint64_t memory_index_bytes) {
    StoreOptions options;
    options.data_dir = scratch.path() / "data";
    options.memory_index_bytes = memory_index_bytes;
    auto store = ValueOrDie(PredictionStore::Open(options));
    EXPECT_EQ(store->memory_index_bytes_in_use() > 0, memory_index_bytes > 0);
    auto table = store->Find("names");
    std::vector<std::string> keys;
    for (const std::string& name : names) {
      for (const std::string& probe : {name, name + "x", name.substr(1)}) {  // stored, and near misses
        keys.emplace_back();
        table->key_codec().Encode(std::vector<Cell>{Cell(probe)}, &keys.back());
      }
    }
    std::vector<std::string> out;
    for (const std::string& key : keys) {
      if (!ValueOrDie(table->Get(key, [&](std::string_view value) { out.emplace_back(value); }))) {
        out.emplace_back("<miss>");
      }
    }
    std::vector<std::string_view> views(keys.begin(), keys.end());
    EXPECT_TRUE(table
                    ->MultiGet(views, [&](size_t, const std::string_view* value) {
                      out.emplace_back(value ? std::string(*value) : "<miss>");
                    })
                    .ok());
    return out;
  };
  const std::vector<std::string> from_rocksdb = answers(0);
  // Misses: every name + "x", and every name minus its first letter that
  // is not itself a name, once by Get and once by MultiGet.
  long misses = 0;
  for (const std::string& name : names) {
    misses += 1 + (std::find(names.begin(), names.end(), name.substr(1)) == names.end());
  }
  EXPECT_EQ(std::count(from_rocksdb.begin(), from_rocksdb.end(), "<miss>"), 2 * misses);
  EXPECT_EQ(answers(uint64_t{64} << 20), from_rocksdb);
}

}  // namespace
}  // namespace predstore
