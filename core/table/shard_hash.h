// The shard of a key in a hash-sharded table (docs/scale-out.md#shards).
// Shards are numbered 0..count-1. A key's shard, "fnv1a64-splitmix-v1":
//   bytes  = every lookup column in schema order (the partition column
//            first), each in its stand-alone form (KeyCodec::AppendColumn:
//            an integer-like column's order-preserving ordinal big-endian,
//            8 bytes, or 4 for a date; a string with each 0x00 written as
//            0x00 0xFF, then 0x00 0x01);
//   h      = FNV-1a 64 of the bytes;
//   m      = SplitMix64's finalizer of h;
//   shard  = (m * count) >> 64, over the 128-bit product.
// The loader, the server and the client compute it with this one function;
// the manifest records the name, and a name never changes meaning.
// Stateless; thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/table/schema.h"

namespace predstore {

inline constexpr std::string_view kShardHashName = "fnv1a64-splitmix-v1";

// Shard `index` of `count` (count >= 1, index < count).
struct ShardSpec {
  uint32_t index = 0;
  uint32_t count = 1;
  bool operator==(const ShardSpec&) const = default;
};

// Parses "i/N" (0 <= i < N <= 4096). kInvalidArgument otherwise.
absl::StatusOr<ShardSpec> ParseShardSpec(std::string_view text);

// The shard of the key `cells` (one per schema.lookup_columns(), each of
// its column's type) among `count`. REQUIRES: count >= 1.
uint32_t ShardOfKey(const Schema& schema, std::span<const Cell> cells, uint32_t count);

}  // namespace predstore
