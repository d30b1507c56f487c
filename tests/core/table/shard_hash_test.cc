// ShardOfKey against the formula its header documents, written out here
// independently of KeyCodec (so that a client in another language can
// follow the same text), and its spread over shards.
#include "core/table/shard_hash.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace predstore {
namespace {

using test_support::StatusHasCode;

// The documented formula over already-built canonical bytes.
uint32_t Reference(const std::string& bytes, uint32_t count) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : bytes) h = (h ^ c) * 0x100000001b3ull;
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
  h ^= h >> 31;
  return static_cast<uint32_t>((static_cast<unsigned __int128>(h) * count) >> 64);
}

std::string BigEndian(uint64_t v, int bytes) {
  std::string out;
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>(v >> (8 * i)));
  return out;
}

TEST(ShardHashTest, FollowsTheDocumentedFormula) {
  Schema schema = Schema::Create({{"user", ColumnType::kInt64}, {"name", ColumnType::kString}},
                                 {{"score", ColumnType::kDouble}}, Column{"day", ColumnType::kDate})
                      .value();
  for (int64_t user : {-5, 0, 7, 1'000'000'007}) {
    const std::vector<Cell> key = {Date{20'000}, user, std::string("a\0b", 3)};
    std::string bytes = BigEndian(static_cast<uint32_t>(20'000) ^ 0x80000000u, 4);
    bytes += BigEndian(static_cast<uint64_t>(user) ^ 0x8000000000000000ull, 8);
    bytes += std::string("a\0\xff" "b\0\x01", 6);
    for (uint32_t count : {1u, 2u, 3u, 7u, 4096u}) EXPECT_EQ(ShardOfKey(schema, key, count), Reference(bytes, count));
  }
}

TEST(ShardHashTest, SpreadsKeysEvenly) {
  Schema schema = Schema::Create({{"id", ColumnType::kInt64}}, {{"v", ColumnType::kDouble}}, std::nullopt).value();
  std::vector<int> per_shard(3);
  for (int64_t id = 0; id < 30'000; ++id) {
    const std::vector<Cell> key = {id};
    ++per_shard.at(ShardOfKey(schema, key, 3));
  }
  for (int n : per_shard) EXPECT_NEAR(n, 10'000, 500);
}

TEST(ShardHashTest, ParsesShardSpecs) {
  EXPECT_EQ(ParseShardSpec("0/3").value(), (ShardSpec{0, 3}));
  EXPECT_EQ(ParseShardSpec("2/3").value(), (ShardSpec{2, 3}));
  for (const char* bad : {"3/3", "1", "a/3", "0/0", "-1/3", "0/5000", "1/2/3", ""}) {
    EXPECT_THAT(ParseShardSpec(bad).status(), StatusHasCode(absl::StatusCode::kInvalidArgument)) << bad;
  }
}

}  // namespace
}  // namespace predstore
