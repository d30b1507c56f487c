// The memory index of PredictionStore: MemoryIndex finds exactly the rows
// added to it, point reads from memory answer exactly what RocksDB answers,
// and parts that do not fit the budget read RocksDB.
#include "core/snapshot/memory_index.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <random>
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

// Random keys and values of 0 to 300 bytes (lengths of one and two varint
// bytes), and as many keys never added: Find, and the batch order of
// Prefetch, PrefetchEntry and Find, answer as a std::map does.
TEST(MemoryIndexTableTest, FindsExactlyTheRowsAdded) {
  std::mt19937_64 random(7);
  auto text = [&](size_t max_size) {
    std::string bytes(random() % (max_size + 1), '\0');
    for (char& c : bytes) c = static_cast<char>(random());
    return bytes;
  };
  std::map<std::string, std::string> rows;
  while (rows.size() < 20000) rows.emplace(text(300), text(300));
  MemoryIndex index;
  for (const auto& [key, value] : rows) index.Add(key, value);
  index.Seal();
  EXPECT_EQ(index.rows(), rows.size());
  std::vector<std::string> probes;
  for (const auto& [key, value] : rows) {
    probes.push_back(key);
    probes.push_back(key + "x");  // a near miss, unless it was added too
  }
  std::vector<uint64_t> hashes;
  for (const std::string& probe : probes) {
    hashes.push_back(MemoryIndex::HashOf(probe));
    index.Prefetch(hashes.back());
  }
  for (uint64_t hash : hashes) index.PrefetchEntry(hash);
  size_t misses = 0;
  for (size_t i = 0; i < probes.size(); ++i) {
    const auto stored = rows.find(probes[i]);
    const std::optional<std::string_view> found = index.Find(probes[i], hashes[i]);
    ASSERT_EQ(found.has_value(), stored != rows.end()) << "probe " << i;
    if (found) {
      EXPECT_EQ(*found, stored->second);
    }
    EXPECT_EQ(index.Find(probes[i]), found);
    misses += !found;
  }
  EXPECT_GT(misses, 19000u);
  // Slots: 8 bytes for each of 1.25 per row; the arena: whole 1 MiB blocks.
  EXPECT_EQ(index.bytes() % 8, 0u);
  EXPECT_GE(index.bytes(), (rows.size() + rows.size() / 4) * 8 + (size_t{1} << 20));
}

TEST(MemoryIndexTableTest, EmptyIndexFindsNothing) {
  MemoryIndex index;
  index.Seal();
  EXPECT_EQ(index.Find("anything"), std::nullopt);
  EXPECT_EQ(index.Find(""), std::nullopt);
  EXPECT_EQ(index.rows(), 0u);
}

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

// With room for one index of the table and not two, a new version and a
// rollback are indexed too: the version they replace is let go.
TEST_F(MemoryIndexTest, ATableIndexedOnceStaysIndexedAcrossPublishesAndRollbacks) {
  const uint64_t one_index = Open(uint64_t{64} << 20)->memory_index_bytes_in_use();
  ASSERT_GT(one_index, 0u);
  auto store = Open(one_index + one_index / 2);
  EXPECT_EQ(store->memory_index_bytes_in_use(), one_index);
  SampleOptions sample;
  sample.rows = 5000;
  LoadRequest request;
  request.data_dir = scratch_.path() / "data";
  request.table = "forecasts";
  request.schema = SampleSchema();
  request.inputs = {scratch_.path() / "sample.csv"};
  ASSERT_TRUE(LoadSnapshot(request).ok());  // version 2
  ASSERT_TRUE(store->Refresh("forecasts").ok());
  EXPECT_EQ(store->Find("forecasts")->version(), 2u);
  EXPECT_EQ(store->memory_index_bytes_in_use(), one_index);
  ASSERT_TRUE(store->Rollback("forecasts", 1).ok());
  EXPECT_EQ(store->Find("forecasts")->version(), 1u);
  EXPECT_EQ(store->memory_index_bytes_in_use(), one_index);
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
