// ShardedTable: a BatchLookup split by the key hash and merged back in
// request order, for both forms, with features and nullable columns; and
// what it refuses.
#include "client/sharded_table.h"

#include <vector>

#include "core/table/shard_hash.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace predstore::internal {
namespace {

using ::testing::HasSubstr;

v1::TableInfo Info(uint32_t shards) {
  v1::TableInfo info;
  info.set_name("t");
  v1::Column* user = info.mutable_schema()->add_key_columns();
  user->set_name("user");
  user->set_type(v1::COLUMN_TYPE_INT64);
  v1::Column* score = info.mutable_schema()->add_value_columns();
  score->set_name("score");
  score->set_type(v1::COLUMN_TYPE_DOUBLE);
  score->set_nullable(true);
  info.mutable_schema()->set_layout(v1::KEY_LAYOUT_ZORDER);
  info.mutable_schema()->set_normalization(v1::KEY_NORMALIZATION_NONE);
  info.mutable_shards()->set_count(shards);
  info.mutable_shards()->set_hash(std::string(kShardHashName));
  return info;
}

uint32_t ShardOfUser(int64_t user, uint32_t shards) {
  const Schema schema =
      Schema::Create({{"user", ColumnType::kInt64}}, {{"score", ColumnType::kDouble, true}}, std::nullopt).value();
  const std::vector<Cell> key = {user};
  return ShardOfKey(schema, key, shards);
}

TEST(ShardedTableTest, SplitsARowBatchByShardWithItsFeaturesAndMergesItBackInOrder) {
  auto table = ShardedTable::FromInfo(Info(3)).value();
  v1::BatchLookupRequest request;
  request.set_table("t");
  request.add_key_columns("user");
  request.add_feature_names("f");
  request.set_min_version(4);
  for (int64_t user = 0; user < 30; ++user) {
    request.add_keys()->add_values()->set_int64_value(user);
    request.add_features()->add_values()->set_double_value(static_cast<double>(user) / 2);
  }
  std::vector<ShardedTable::SubBatch> subs = table->Split(request).value();
  ASSERT_EQ(subs.size(), 3u);
  std::vector<v1::BatchLookupResponse> answers(subs.size());
  size_t keys = 0;
  for (size_t s = 0; s < subs.size(); ++s) {
    const ShardedTable::SubBatch& sub = subs[s];
    EXPECT_EQ(sub.request.min_version(), 4u);
    ASSERT_EQ(sub.request.keys_size(), static_cast<int>(sub.positions.size()));
    ASSERT_EQ(sub.request.features_size(), sub.request.keys_size());
    for (int k = 0; k < sub.request.keys_size(); ++k) {
      const int64_t user = sub.request.keys(k).values(0).int64_value();
      EXPECT_EQ(user, static_cast<int64_t>(sub.positions[k]));
      EXPECT_EQ(ShardOfUser(user, 3), sub.shard);
      EXPECT_EQ(sub.request.features(k).values(0).double_value(), static_cast<double>(user) / 2);
      // The answer a shard would give: the score is the user.
      v1::LookupResult* result = answers[s].add_results();
      result->set_found(true);
      result->add_values()->set_double_value(static_cast<double>(user));
    }
    answers[s].set_snapshot_version(4);
    keys += sub.positions.size();
  }
  EXPECT_EQ(keys, 30u);
  v1::BatchLookupResponse merged = table->Merge(request, subs, answers);
  ASSERT_EQ(merged.results_size(), 30);
  for (int k = 0; k < 30; ++k) EXPECT_EQ(merged.results(k).values(0).double_value(), k);
  EXPECT_EQ(merged.snapshot_version(), 4u);
}

TEST(ShardedTableTest, MergesColumnarAnswersWithTheirNullsAtTheirPositions) {
  auto table = ShardedTable::FromInfo(Info(2)).value();
  v1::BatchLookupRequest request;
  request.set_table("t");
  request.add_key_columns("user");
  v1::KeyColumnValues* users = request.add_key_values();
  for (int64_t user = 0; user < 12; ++user) users->add_int64_values(user);
  std::vector<ShardedTable::SubBatch> subs = table->Split(request).value();
  ASSERT_EQ(subs.size(), 2u);
  std::vector<v1::BatchLookupResponse> answers(subs.size());
  for (size_t s = 0; s < subs.size(); ++s) {
    const v1::KeyColumnValues& keys = subs[s].request.key_values(0);
    v1::ValueColumnValues* scores = answers[s].add_columns();
    for (int k = 0; k < keys.int64_values_size(); ++k) {
      const int64_t user = keys.int64_values(k);
      answers[s].add_found(user % 4 != 0);  // multiples of 4: missing
      answers[s].add_sources(v1::SOURCE_PRECOMPUTED);
      scores->add_double_values(user % 3 == 0 ? 0 : static_cast<double>(user));
      if (user % 3 == 0) scores->add_null_indexes(static_cast<uint32_t>(k));  // multiples of 3: null
    }
  }
  v1::BatchLookupResponse merged = table->Merge(request, subs, answers);
  ASSERT_EQ(merged.found_size(), 12);
  ASSERT_EQ(merged.columns(0).double_values_size(), 12);
  for (int user = 0; user < 12; ++user) {
    EXPECT_EQ(merged.found(user), user % 4 != 0) << user;
    EXPECT_EQ(merged.columns(0).double_values(user), user % 3 == 0 ? 0 : user) << user;
  }
  EXPECT_THAT(merged.columns(0).null_indexes(), ::testing::ElementsAre(0, 3, 6, 9));
}

TEST(ShardedTableTest, RefusesWhatItCannotRoute) {
  EXPECT_THAT(ShardedTable::FromInfo(Info(0)).status().message(), HasSubstr("is not sharded"));
  v1::TableInfo other_hash = Info(3);
  other_hash.mutable_shards()->set_hash("murmur3");
  EXPECT_THAT(ShardedTable::FromInfo(other_hash).status().message(), HasSubstr("does not know"));
  auto table = ShardedTable::FromInfo(Info(3)).value();
  v1::BatchLookupRequest request;
  request.set_table("t");
  request.add_key_columns("account");
  request.add_keys()->add_values()->set_int64_value(1);
  EXPECT_EQ(table->Split(request).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace predstore::internal
