// KeyCodec turns a row's lookup cells (partition value, then key columns)
// into the RocksDB key of the row, and back. Immutable after construction;
// concurrent use is safe. Encoding allocates nothing beyond growing `out`.
//
// Key format version 1 (persisted: never give an old byte a new meaning).
// Every column type has an order-preserving fixed-width "ordinal":
//   int64      value XOR 2^63, 64 bits      uint64  value, 64 bits
//   timestamp  micros XOR 2^63, 64 bits     date    days XOR 2^31, 32 bits
// The key is the concatenation of:
//   1. the partition prefix, if the table is partitioned: the partition
//      column's ordinal, big-endian (or, for a string column, part 3's form);
//   2. the Morton (z-order) part: the ordinals of the integer-like key
//      columns interleaved bit by bit, most significant bit first. In round r
//      (from the widest column's top bit down to bit 0) every column wider
//      than r contributes its bit r, in schema order; 32-bit columns therefore
//      join the interleave for the low 32 rounds. Its length is the sum of the
//      widths, a whole number of bytes;
//   3. each string key column in schema order, with every 0x00 byte written
//      as 0x00 0xFF and a terminator 0x00 0x01: byte order equals string
//      order, and no encoded string is a prefix of another.
// Rows with equal partition values therefore sit together, in z-order of
// their integer key columns, ties broken by their string key columns.
// The linear layout (KeyLayout::kLinear) replaces parts 2 and 3 by every key
// column in schema order: integer-like ones as big-endian ordinals, strings
// as in part 3; rows sort by the first key column, then the second, ...
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/schema.h"
#include "core/z_order_range.h"

namespace predstore {

inline constexpr int kKeyFormatVersion = 1;

class KeyCodec {
 public:
  // `schema` must outlive the codec.
  explicit KeyCodec(const Schema& schema);

  // Appends the key of `cells` (one per schema.lookup_columns(), in that
  // order) to `out`. REQUIRES: each cell holds its column's type.
  void Encode(std::span<const Cell> cells, std::string* out) const;

  // Appends the partition prefix of a partitioned table's row to `out`.
  // REQUIRES: the table is partitioned and `partition` has its type.
  void EncodePartition(const Cell& partition, std::string* out) const;

  // Length of the partition prefix at the start of `key` (0 when the table
  // is not partitioned); kDataLoss when the key is malformed.
  absl::StatusOr<size_t> PartitionPrefixLength(std::string_view key) const;

  // Decodes a key made by Encode into one cell per lookup column.
  // kDataLoss when `key` is not a well-formed key of this schema.
  absl::StatusOr<std::vector<Cell>> Decode(std::string_view key) const;

  // The Morton part's layout (zorder layout only), for range scans: the positions in
  // lookup_columns() of the interleaved columns, their ordinal widths in
  // bits (32 or 64), and the part's length in bytes.
  const std::vector<int>& morton_columns() const { return morton_columns_; }
  const std::vector<int>& morton_widths() const { return morton_widths_; }
  size_t morton_bytes() const { return morton_bytes_; }
  // The order-preserving ordinal of an integer-like cell.
  static uint64_t OrdinalOf(const Cell& cell);
  // Appends the Morton part of the given per-column ordinals.
  void AppendInterleaved(const ZPoint& ordinals, std::string* out) const;
  // The ordinals of a Morton part. REQUIRES: morton.size() >= morton_bytes().
  ZPoint ReadInterleaved(std::string_view morton) const;

  // Appends one column in its stand-alone form (the partition prefix's,
  // and every key column's in the linear layout).
  // REQUIRES: `cell` holds `type`.
  static void AppendColumn(const Cell& cell, ColumnType type, std::string* out);

 private:
  static absl::StatusOr<Cell> ReadColumn(ColumnType type, std::string_view* key);

  const Schema& schema_;
  // Positions in lookup_columns() of the key columns, linear layout only.
  std::vector<int> linear_columns_;
  // Positions in lookup_columns() of the Morton columns and string key columns.
  std::vector<int> morton_columns_;
  std::vector<int> morton_widths_;  // bits: 32 or 64
  std::vector<int> string_columns_;
  int morton_bytes_ = 0;
  // The Morton part by byte-rounds, most significant first: which columns
  // (indices into morton_columns_) contribute their byte `byte`.
  struct ByteRound {
    int byte = 0;
    int columns = 0;
    std::array<uint8_t, 16> index{};
  };
  std::vector<ByteRound> byte_rounds_;
};

}  // namespace predstore
