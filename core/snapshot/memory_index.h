// MemoryIndex: the rows of one table part copied into memory, found by key
// with a hash probe (StoreOptions::memory_index_bytes; docs/serving.md).
//
// Every row is one entry in arena blocks of 1 MiB: its key's length and its
// value's (LEB128 varints, one byte each below 128), then the key's bytes,
// then the value's. The table is an array of 8-byte slots, at most 80% full
// and probed linearly: each slot holds an entry's address (48 bits: Linux
// maps user space no higher on x86-64 and arm64 unless asked to) and 16
// bits of its key's hash, so that a probe reads an entry only when those 16
// bits match (a miss almost never does). For n rows of k-byte keys and
// v-byte values it holds about n × (k + v + 2) + 10 × n bytes.
//
// Built once (Add every row, then Seal), then read by any number of threads.
// A batch overlaps its cache misses: Prefetch every key's slot, then
// PrefetchEntry every key, then Find each.
#ifndef PREDSTORE_CORE_SNAPSHOT_MEMORY_INDEX_H_
#define PREDSTORE_CORE_SNAPSHOT_MEMORY_INDEX_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

namespace predstore {

class MemoryIndex {
 public:
  // Copies a row into the arena. REQUIRES: not sealed; keys distinct.
  void Add(std::string_view key, std::string_view value);
  // Builds the table over the rows added.
  void Seal();

  uint64_t rows() const { return rows_; }
  // Bytes allocated: arena blocks and, once sealed, the table. Before Seal,
  // what Seal would bring it to.
  uint64_t bytes() const { return arena_bytes_ + SlotCount(rows_) * sizeof(uint64_t); }

  // The hash Find and the prefetches take (any process-local hash).
  static uint64_t HashOf(std::string_view key);
  // Brings the slot where `hash`'s probe starts into the cache.
  void Prefetch(uint64_t hash) const;
  // Brings into the cache the entries whose slots match `hash`, from the
  // probe's start to the first empty slot in its cache line.
  void PrefetchEntry(uint64_t hash) const;
  // The value stored under `key`, or nullopt. REQUIRES: sealed; `hash` is
  // HashOf(key).
  std::optional<std::string_view> Find(std::string_view key, uint64_t hash) const;
  std::optional<std::string_view> Find(std::string_view key) const { return Find(key, HashOf(key)); }

 private:
  static uint64_t SlotCount(uint64_t rows) { return rows + rows / 4 + 1; }  // at most 80% full
  size_t Start(uint64_t hash) const {
    return static_cast<size_t>((static_cast<unsigned __int128>(hash) * slot_count_) >> 64);
  }

  struct Block {
    std::unique_ptr<char[]> bytes;
    size_t used = 0;
    size_t size = 0;
  };
  std::vector<Block> arena_;
  uint64_t arena_bytes_ = 0;
  uint64_t rows_ = 0;
  std::unique_ptr<uint64_t[]> slots_;  // 0: empty; else entry address << 16 | 16 bits of the hash
  size_t slot_count_ = 0;
};

}  // namespace predstore

#endif  // PREDSTORE_CORE_SNAPSHOT_MEMORY_INDEX_H_
