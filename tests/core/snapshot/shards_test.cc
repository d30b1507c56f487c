// Hash-sharded tables through LoadSnapshot, TableDirectory and
// PredictionStore: one load writing every shard, independent loads each
// building one shard of a build (the last one publishes), and servers that
// open one shard each.
#include <filesystem>
#include <string>
#include <vector>

#include "core/ingest/batch_load.h"
#include "core/snapshot/prediction_store.h"
#include "core/snapshot/table_directory.h"
#include "core/table/shard_hash.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/scratch_dir.h"
#include "tests/support/status_matchers.h"

namespace predstore {
namespace {

namespace fs = std::filesystem;
using test_support::StatusHasCode;
using test_support::StatusIs;
using test_support::ValueOrDie;
using ::testing::HasSubstr;

constexpr int kUsers = 600;
constexpr uint32_t kShards = 3;

class ShardsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string csv = "day,user,score\n";
    for (int user = 0; user < kUsers; ++user) {
      csv += (user % 2 ? "2024-10-04," : "2024-10-05,") + std::to_string(user) + "," + std::to_string(user) + ".5\n";
    }
    input_ = dir_.WriteFile("in.csv", csv);
  }

  absl::StatusOr<LoadResult> Load(const fs::path& data, uint32_t shards, std::optional<ShardBuild> build = {},
                                  PublishMode mode = PublishMode::kReplaceTable) {
    LoadRequest request;
    request.data_dir = data;
    request.table = "t";
    request.schema = schema_;
    request.mode = mode;
    request.inputs = {input_};
    request.shards = shards;
    request.shard_build = std::move(build);
    return LoadSnapshot(request);
  }

  static std::vector<Cell> KeyOf(int user) { return {Date{20000 + (user % 2 ? 0 : 1)}, int64_t{user}}; }

  // Users found in the store's snapshot of t (every user looked up, those
  // of other shards refused by CheckShard and skipped).
  std::vector<int> UsersServed(const PredictionStore& store) {
    auto snapshot = store.Find("t");
    std::vector<int> found;
    for (int user = 0; user < kUsers; ++user) {
      const std::vector<Cell> key = KeyOf(user);
      if (!snapshot->CheckShard(key, "key").ok()) continue;
      std::string encoded;
      snapshot->key_codec().Encode(key, &encoded);
      if (ValueOrDie(snapshot->Get(encoded, [](std::string_view) {}))) found.push_back(user);
    }
    return found;
  }

  fs::path Data(const std::string& name) const { return dir_.path() / name; }

  test_support::ScratchDir dir_;
  fs::path input_;
  Schema schema_ = ValueOrDie(Schema::Create({{"user", ColumnType::kInt64}}, {{"score", ColumnType::kDouble}},
                                             Column{"day", ColumnType::kDate}));
};

TEST_F(ShardsTest, OneLoadWritesEveryShardAndEachServerHoldsExactlyItsKeys) {
  LoadResult loaded = ValueOrDie(Load(Data("one"), kShards));
  EXPECT_EQ(loaded.rows, static_cast<uint64_t>(kUsers));
  TableManifest manifest = ValueOrDie(TableDirectory(Data("one"), "t").ReadManifest());
  const SnapshotVersion& version = *manifest.Find(manifest.active_version);
  EXPECT_EQ(version.shard_count, kShards);
  EXPECT_EQ(version.parts.size(), 2 * kShards);  // two days in each shard

  std::vector<int> every;
  for (uint32_t shard = 0; shard < kShards; ++shard) {
    auto store = ValueOrDie(PredictionStore::Open({.data_dir = Data("one"), .shard = ShardSpec{shard, kShards}}));
    std::vector<int> served = UsersServed(*store);
    for (int user : served) EXPECT_EQ(ShardOfKey(schema_, KeyOf(user), kShards), shard) << user;
    EXPECT_NEAR(served.size(), kUsers / kShards, kUsers / kShards / 4);
    every.insert(every.end(), served.begin(), served.end());
    // A key of another shard is refused, not missed.
    int stranger = 0;
    while (ShardOfKey(schema_, KeyOf(stranger), kShards) == shard) ++stranger;
    const uint32_t owner = ShardOfKey(schema_, KeyOf(stranger), kShards);
    EXPECT_THAT(store->Find("t")->CheckShard(KeyOf(stranger), "keys[4]"),
                StatusIs(absl::StatusCode::kFailedPrecondition,
                         HasSubstr("keys[4] belongs to shard " + std::to_string(owner) + " of table \"t\" (3 shards); "
                                   "this server serves shard " + std::to_string(shard))));
  }
  std::sort(every.begin(), every.end());
  ASSERT_EQ(every.size(), static_cast<size_t>(kUsers));
  for (int user = 0; user < kUsers; ++user) EXPECT_EQ(every[user], user);

  // A server without --shard, or with another count, does not serve it.
  EXPECT_EQ(ValueOrDie(PredictionStore::Open({.data_dir = Data("one")}))->Find("t"), nullptr);
  EXPECT_EQ(ValueOrDie(PredictionStore::Open({.data_dir = Data("one"), .shard = ShardSpec{0, 2}}))->Find("t"),
            nullptr);
}

TEST_F(ShardsTest, IndependentShardLoadsPublishOnceTheLastShardIsStaged) {
  const TableDirectory table(Data("built"), "t");
  LoadResult first = ValueOrDie(Load(Data("built"), 0, ShardBuild{"run-7", 2, kShards}));
  EXPECT_FALSE(first.published);
  EXPECT_EQ(first.rows + first.rows_other_shards, static_cast<uint64_t>(kUsers));
  EXPECT_THAT(table.ReadManifest().status(), StatusHasCode(absl::StatusCode::kNotFound));
  // A re-run of a shard replaces what it staged; another count is refused.
  ValueOrDie(Load(Data("built"), 0, ShardBuild{"run-7", 0, kShards}));
  EXPECT_FALSE(ValueOrDie(Load(Data("built"), 0, ShardBuild{"run-7", 0, kShards})).published);
  EXPECT_THAT(Load(Data("built"), 0, ShardBuild{"run-7", 1, 4}).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("one of 3 shards, this one as one of 4")));
  EXPECT_THAT(table.ReadManifest().status(), StatusHasCode(absl::StatusCode::kNotFound));
  LoadResult last = ValueOrDie(Load(Data("built"), 0, ShardBuild{"run-7", 1, kShards}));
  EXPECT_TRUE(last.published);
  EXPECT_EQ(last.version, 1u);
  EXPECT_EQ(last.table_rows, static_cast<uint64_t>(kUsers));
  EXPECT_FALSE(fs::exists(table.path() / "staging" / "shards-run-7"));

  // The same shards as one load writes.
  ValueOrDie(Load(Data("one"), kShards));
  for (uint32_t shard = 0; shard < kShards; ++shard) {
    auto built = ValueOrDie(PredictionStore::Open({.data_dir = Data("built"), .shard = ShardSpec{shard, kShards}}));
    auto one = ValueOrDie(PredictionStore::Open({.data_dir = Data("one"), .shard = ShardSpec{shard, kShards}}));
    EXPECT_EQ(UsersServed(*built), UsersServed(*one)) << "shard " << shard;
  }
}

TEST_F(ShardsTest, ShardedTablesAreReplacedWholeAndNeedAFixedKeyOrder) {
  ValueOrDie(Load(Data("d"), kShards));
  EXPECT_THAT(Load(Data("d"), kShards, {}, PublishMode::kReplacePartitions).status(),
              StatusHasCode(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Load(Data("d"), 0, {}, PublishMode::kReplacePartitions).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("is sharded")));
  EXPECT_THAT(TableDirectory(Data("d"), "t").DropPartition("2024-10-04", 3).status(),
              StatusHasCode(absl::StatusCode::kFailedPrecondition));
  // Unsharded again: served whole by a server without a shard.
  EXPECT_EQ(ValueOrDie(Load(Data("d"), 0)).version, 2u);
  EXPECT_EQ(UsersServed(*ValueOrDie(PredictionStore::Open({.data_dir = Data("d")}))).size(),
            static_cast<size_t>(kUsers));

  schema_ = ValueOrDie(Schema::Create({{"user", ColumnType::kInt64}}, {{"score", ColumnType::kDouble}},
                                      Column{"day", ColumnType::kDate}, KeyLayout::kZOrder,
                                      KeyNormalization::kMinMax));
  EXPECT_THAT(Load(Data("n"), kShards).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("shards must share one key order")));
}

}  // namespace
}  // namespace predstore
