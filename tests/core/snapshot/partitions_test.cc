// Partition replacement and dropping through LoadSnapshot, TableDirectory
// and PredictionStore.
#include <filesystem>

#include "core/ingest/batch_load.h"
#include "core/snapshot/prediction_store.h"
#include "core/snapshot/table_directory.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/scratch_dir.h"
#include "tests/support/status_matchers.h"

namespace predstore {
namespace {

namespace fs = std::filesystem;
using test_support::StatusHasCode;
using test_support::ValueOrDie;

class PartitionsTest : public ::testing::Test {
 protected:
  LoadResult Load(const std::string& name, const std::string& csv, PublishMode mode,
                  std::optional<Schema> schema = std::nullopt) {
    LoadRequest request;
    request.data_dir = data();
    request.table = "t";
    request.schema = schema;
    request.mode = mode;
    request.inputs = {dir_.WriteFile(name, csv)};
    return ValueOrDie(LoadSnapshot(request));
  }
  fs::path data() const { return dir_.path() / "data"; }

  // day -> score of user "ann" in the store's current snapshot (or -1).
  double Score(PredictionStore& store, int32_t day_offset, const std::string& user) {
    auto snapshot = store.Find("t");
    std::string key;
    snapshot->key_codec().Encode(std::vector<Cell>{Date{20000 + day_offset}, user}, &key);
    double score = -1;
    auto found = snapshot->Get(key, [&](std::string_view value) {
      score = std::get<double>(ValueOrDie(snapshot->value_codec().Decode(value))[0]);
    });
    EXPECT_TRUE(found.ok());
    return score;
  }

  test_support::ScratchDir dir_;
  Schema schema_ = ValueOrDie(Schema::Create({{"user", ColumnType::kString}}, {{"score", ColumnType::kDouble}},
                                             Column{"day", ColumnType::kDate}));
};

// Day 20000 is 2024-10-04.
TEST_F(PartitionsTest, ReplacingOnePartitionKeepsTheOthersWithoutRewritingThem) {
  Load("a.csv", "day,user,score\n2024-10-04,ann,1\n2024-10-05,ann,2\n2024-10-06,ann,3\n", PublishMode::kReplaceTable,
       schema_);
  LoadResult replaced =
      Load("b.csv", "day,user,score\n2024-10-06,ann,30\n2024-10-06,bob,31\n", PublishMode::kReplacePartitions);
  EXPECT_EQ(replaced.version, 2u);
  EXPECT_EQ(replaced.rows, 2u);
  EXPECT_EQ(replaced.table_rows, 4u);

  TableManifest manifest = ValueOrDie(TableDirectory(data(), "t").ReadManifest());
  const SnapshotVersion& active = *manifest.Find(2);
  ASSERT_EQ(active.parts.size(), 3u);
  EXPECT_EQ(active.parts[0].partition, "2024-10-04");
  EXPECT_EQ(active.parts[0].version, 1u);
  EXPECT_EQ(active.parts[0].dir, manifest.Find(1)->parts[0].dir);  // the same files
  EXPECT_EQ(active.parts[2].partition, "2024-10-06");
  EXPECT_EQ(active.parts[2].version, 2u);

  auto store = ValueOrDie(PredictionStore::Open({data()}));
  EXPECT_EQ(Score(*store, 0, "ann"), 1);
  EXPECT_EQ(Score(*store, 1, "ann"), 2);
  EXPECT_EQ(Score(*store, 2, "ann"), 30);
  EXPECT_EQ(Score(*store, 2, "bob"), 31);
}

TEST_F(PartitionsTest, PartitionsSortInKeyOrderNotTextOrder) {
  Schema by_int = ValueOrDie(Schema::Create({{"user", ColumnType::kString}}, {{"score", ColumnType::kDouble}},
                                            Column{"bucket", ColumnType::kInt64}));
  Load("a.csv", "bucket,user,score\n9,ann,1\n-3,ann,2\n", PublishMode::kReplaceTable, by_int);
  Load("b.csv", "bucket,user,score\n10,ann,3\n", PublishMode::kReplacePartitions);
  TableManifest manifest = ValueOrDie(TableDirectory(data(), "t").ReadManifest());
  std::vector<std::string> order;
  for (const PartInfo& part : manifest.Find(manifest.active_version)->parts) order.push_back(*part.partition);
  EXPECT_THAT(order, ::testing::ElementsAre("-3", "9", "10"));
}

TEST_F(PartitionsTest, DroppingAPartitionPublishesAVersionWithoutIt) {
  Load("a.csv", "day,user,score\n2024-10-04,ann,1\n2024-10-05,ann,2\n", PublishMode::kReplaceTable, schema_);
  TableDirectory directory(data(), "t");
  TableManifest manifest = ValueOrDie(directory.DropPartition("2024-10-04", 1));
  EXPECT_EQ(manifest.active_version, 2u);
  EXPECT_EQ(manifest.Find(2)->row_count, 1u);
  EXPECT_EQ(manifest.versions.size(), 1u);
  // keep_versions=1: version 1's folder of the dropped partition is gone, the kept one stays.
  EXPECT_FALSE(fs::exists(data() / "t" / "parts" / "v1-0"));
  EXPECT_TRUE(fs::exists(data() / "t" / "parts" / "v1-1"));

  auto store = ValueOrDie(PredictionStore::Open({data()}));
  EXPECT_EQ(Score(*store, 0, "ann"), -1);
  EXPECT_EQ(Score(*store, 1, "ann"), 2);

  EXPECT_THAT(directory.DropPartition("2024-10-04", 1).status(), StatusHasCode(absl::StatusCode::kNotFound));
  EXPECT_THAT(directory.DropPartition("yesterday", 1).status(), StatusHasCode(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(directory.DropPartition("2024-10-05", 1).status(),
              StatusHasCode(absl::StatusCode::kFailedPrecondition));
}

TEST_F(PartitionsTest, ReplacingPartitionsOfAnUnpartitionedTableIsRejected) {
  Schema flat = ValueOrDie(Schema::Create({{"user", ColumnType::kString}}, {{"score", ColumnType::kDouble}},
                                          std::nullopt));
  LoadRequest request;
  request.data_dir = data();
  request.table = "t";
  request.schema = flat;
  request.mode = PublishMode::kReplacePartitions;
  request.inputs = {dir_.WriteFile("a.csv", "user,score\nann,1\n")};
  EXPECT_THAT(LoadSnapshot(request).status(), StatusHasCode(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(TableDirectory(data(), "t").DropPartition("x", 1).status(),
              StatusHasCode(absl::StatusCode::kNotFound));  // the table was never created
}

}  // namespace
}  // namespace predstore
