#include "core/table/shard_hash.h"

#include <string>

#include "absl/strings/numbers.h"
#include "core/base/strings.h"
#include "core/table/key_codec.h"

namespace predstore {

absl::StatusOr<ShardSpec> ParseShardSpec(std::string_view text) {
  constexpr uint32_t kMaxShards = 4096;
  const size_t slash = text.find('/');
  ShardSpec spec;
  const bool parsed =
      slash != std::string_view::npos && absl::SimpleAtoi(absl::string_view(text.data(), slash), &spec.index) &&
      absl::SimpleAtoi(absl::string_view(text.data() + slash + 1, text.size() - slash - 1), &spec.count);
  if (!parsed || spec.count == 0 || spec.count > kMaxShards || spec.index >= spec.count) {
    return absl::InvalidArgumentError(StrCat("shard \"", text, "\": expected i/N with 0 <= i < N <= ", kMaxShards,
                                             " (shard i of N, counted from 0)"));
  }
  return spec;
}

uint32_t ShardOfKey(const Schema& schema, std::span<const Cell> cells, uint32_t count) {
  thread_local std::string bytes;
  bytes.clear();
  const auto& columns = schema.lookup_columns();
  for (size_t i = 0; i < cells.size() && i < columns.size(); ++i) KeyCodec::AppendColumn(cells[i], columns[i].type, &bytes);
  uint64_t h = 14695981039346656037ull;  // FNV-1a 64 offset basis
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;  // FNV-1a 64 prime
  }
  // SplitMix64's finalizer: every input bit reaches every output bit.
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return static_cast<uint32_t>((static_cast<unsigned __int128>(h) * count) >> 64);
}

}  // namespace predstore
