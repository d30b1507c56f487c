#include "core/snapshot/memory_index.h"

#include <algorithm>
#include <cstring>

#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"

namespace predstore {
namespace {

constexpr size_t kBlockBytes = size_t{1} << 20;
constexpr uint64_t kTagBits = 16;
constexpr uint64_t kTagMask = (uint64_t{1} << kTagBits) - 1;
constexpr size_t kSlotsPerLine = 64 / sizeof(uint64_t);
static_assert(sizeof(const char*) == sizeof(uint64_t), "a slot packs a 64-bit address");

size_t LengthBytes(uint32_t length) {
  size_t bytes = 1;
  for (; length >= 0x80; length >>= 7) ++bytes;
  return bytes;
}

char* PutLength(char* out, uint32_t length) {
  for (; length >= 0x80; length >>= 7) *out++ = static_cast<char>(length | 0x80);
  *out++ = static_cast<char>(length);
  return out;
}

const char* GetLength(const char* in, uint32_t* length) {
  uint32_t result = 0;
  for (int shift = 0;; shift += 7) {
    const auto byte = static_cast<unsigned char>(*in++);
    result |= static_cast<uint32_t>(byte & 0x7f) << shift;
    if (byte < 0x80) break;
  }
  *length = result;
  return in;
}

const char* EntryOf(uint64_t slot) { return reinterpret_cast<const char*>(slot >> kTagBits); }

struct Entry {
  std::string_view key;
  std::string_view value;
};
Entry ReadEntry(const char* at) {
  uint32_t key_size = 0, value_size = 0;
  const char* bytes = GetLength(GetLength(at, &key_size), &value_size);
  return Entry{std::string_view(bytes, key_size), std::string_view(bytes + key_size, value_size)};
}

}  // namespace

uint64_t MemoryIndex::HashOf(std::string_view key) {
  return absl::Hash<absl::string_view>()(absl::string_view(key.data(), key.size()));
}

void MemoryIndex::Add(std::string_view key, std::string_view value) {
  const size_t entry_bytes = LengthBytes(static_cast<uint32_t>(key.size())) +
                             LengthBytes(static_cast<uint32_t>(value.size())) + key.size() + value.size();
  if (arena_.empty() || arena_.back().size - arena_.back().used < entry_bytes) {
    const size_t size = std::max(kBlockBytes, entry_bytes);
    arena_.push_back(Block{std::make_unique<char[]>(size), 0, size});
    arena_bytes_ += size;
  }
  Block& block = arena_.back();
  char* out = block.bytes.get() + block.used;
  out = PutLength(out, static_cast<uint32_t>(key.size()));
  out = PutLength(out, static_cast<uint32_t>(value.size()));
  std::memcpy(out, key.data(), key.size());
  std::memcpy(out + key.size(), value.data(), value.size());
  block.used += entry_bytes;
  ++rows_;
}

void MemoryIndex::Seal() {
  slot_count_ = SlotCount(rows_);
  slots_ = std::make_unique<uint64_t[]>(slot_count_);  // zeroed: every slot empty
  for (const Block& block : arena_) {
    for (const char* at = block.bytes.get(); at < block.bytes.get() + block.used;) {
      const Entry entry = ReadEntry(at);
      const uint64_t hash = HashOf(entry.key);
      size_t i = Start(hash);
      while (slots_[i] != 0) i = i + 1 == slot_count_ ? 0 : i + 1;
      slots_[i] = reinterpret_cast<uint64_t>(at) << kTagBits | (hash & kTagMask);
      at = entry.value.data() + entry.value.size();
    }
  }
}

void MemoryIndex::Prefetch(uint64_t hash) const { __builtin_prefetch(&slots_[Start(hash)]); }

void MemoryIndex::PrefetchEntry(uint64_t hash) const {
  const size_t start = Start(hash);
  const size_t line_end = std::min(slot_count_, (start / kSlotsPerLine + 1) * kSlotsPerLine);
  for (size_t i = start; i < line_end && slots_[i] != 0; ++i) {
    if ((slots_[i] & kTagMask) == (hash & kTagMask)) __builtin_prefetch(EntryOf(slots_[i]));
  }
}

std::optional<std::string_view> MemoryIndex::Find(std::string_view key, uint64_t hash) const {
  for (size_t i = Start(hash); slots_[i] != 0; i = i + 1 == slot_count_ ? 0 : i + 1) {
    if ((slots_[i] & kTagMask) != (hash & kTagMask)) continue;
    const Entry entry = ReadEntry(EntryOf(slots_[i]));
    if (entry.key == key) return entry.value;
  }
  return std::nullopt;
}

}  // namespace predstore
