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
// The hilbert layout (KeyLayout::kHilbert) writes, in place of the Morton
// part, the Hilbert index of the same ordinals (hilbert_curve.h; every
// column as wide as the widest, the index big-endian, same length).
// A normalised curve layout (KeyNormalization other than kNone) places each
// column's 16-bit code (key_mapping.h: the snapshot version's mapping) on
// the curve instead of its ordinal: part 2 is the curve over the codes (2
// bytes per column), followed by each interleaved column's ordinal
// big-endian in schema order, so that keys stay unique and decodable
// whatever the mapping. Keys encoded without a mapping have all-zero codes:
// the stream store keys rows that way (a mapping changes with each load).
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
#include "core/table/hilbert_curve.h"
#include "core/table/key_mapping.h"
#include "core/table/schema.h"
#include "core/table/z_order_range.h"

namespace predstore {

inline constexpr int kKeyFormatVersion = 1;

class KeyCodec {
 public:
  // `schema` must outlive the codec. `mapping` (normalised layouts only)
  // gives the curve codes; empty: every code is 0.
  explicit KeyCodec(const Schema& schema, KeyMapping mapping = {});

  // Appends the key of `cells` (one per schema.lookup_columns(), in that
  // order) to `out`. REQUIRES: each cell holds its column's type.
  void Encode(std::span<const Cell> cells, std::string* out) const;

  // Appends the partition prefix of a partitioned table's row to `out`.
  // REQUIRES: the table is partitioned and `partition` has its type.
  void EncodePartition(const Cell& partition, std::string* out) const;

  // Length of the partition prefix at the start of `key` (0 when the table
  // is not partitioned); kDataLoss when the key is malformed.
  absl::StatusOr<size_t> PartitionPrefixLength(std::string_view key) const;

  // Decodes a key made by Encode (with any mapping) into one cell per
  // lookup column. kDataLoss when `key` is not a well-formed key of this schema.
  absl::StatusOr<std::vector<Cell>> Decode(std::string_view key) const;

  // True for a normalised curve layout (codes on the curve, ordinals after).
  bool normalized() const { return normalized_; }
  const KeyMapping& mapping() const { return mapping_; }
  // Appends `key`, a key of the same schema encoded with any mapping, as
  // this codec encodes it (same row, this codec's codes). REQUIRES:
  // normalized(). kDataLoss when `key` is malformed.
  absl::Status Remap(std::string_view key, std::string* out) const;
  // Appends `key` as a codec without a mapping encodes it (all-zero codes:
  // how the stream store keys rows). REQUIRES: normalized(). kDataLoss
  // when `key` is malformed.
  absl::Status AppendUnmapped(std::string_view key, std::string* out) const;
  // The curve columns' ordinals of a key of a normalised layout.
  // REQUIRES: normalized(). kDataLoss when `key` is malformed.
  absl::StatusOr<ZPoint> ReadOrdinals(std::string_view key) const;

  // The curve part (zorder and hilbert layouts), for range scans: the
  // positions in lookup_columns() of the columns on the curve, their
  // coordinate widths in bits (16 when normalised, else the ordinal's 32 or
  // 64), and the part's length in bytes.
  const std::vector<int>& curve_columns() const { return curve_columns_; }
  const std::vector<int>& curve_widths() const { return curve_widths_; }
  size_t curve_bytes() const { return curve_bytes_; }
  // The curve coordinate of curve column j's cell (its ordinal, or its code
  // when normalised); monotone in the cell's value.
  uint64_t CurveCoordinate(size_t j, const Cell& cell) const;
  // Appends the curve part of the given coordinates.
  void AppendCurve(const ZPoint& coordinates, std::string* out) const;
  // The coordinates of a curve part. REQUIRES: curve.size() >= curve_bytes().
  ZPoint ReadCurve(std::string_view curve) const;
  // The point of `box` first along the curve; and the first after `point`
  // (nothing when none is left). `box` is over the curve coordinates.
  std::optional<ZPoint> FirstInBox(const ZBox& box) const;
  std::optional<ZPoint> NextInBox(const ZBox& box, const ZPoint& point) const;

  // The order-preserving ordinal of an integer-like cell.
  static uint64_t OrdinalOf(const Cell& cell);
  // Appends one column in its stand-alone form (the partition prefix's,
  // and every key column's in the linear layout).
  // REQUIRES: `cell` holds `type`.
  static void AppendColumn(const Cell& cell, ColumnType type, std::string* out);

 private:
  static absl::StatusOr<Cell> ReadColumn(ColumnType type, std::string_view* key);
  // Appends the curve part and (normalised) the ordinals of `ordinals`.
  void AppendCurveColumns(const ZPoint& ordinals, std::string* out) const;
  void AppendInterleaved(const ZPoint& coordinates, std::string* out) const;
  ZPoint ReadInterleaved(std::string_view morton) const;
  // The ordinals written after a normalised curve part.
  ZPoint ReadOrdinalPart(std::string_view ordinals) const;

  const Schema& schema_;
  KeyMapping mapping_;
  bool normalized_ = false;
  // Positions in lookup_columns() of the key columns, linear layout only.
  std::vector<int> linear_columns_;
  // Positions in lookup_columns() of the curve columns and string key columns.
  std::vector<int> curve_columns_;
  std::vector<int> ordinal_widths_;  // bits: 32 or 64
  std::vector<int> curve_widths_;    // bits: 16, 32 or 64
  std::vector<int> string_columns_;
  size_t curve_bytes_ = 0;
  size_t ordinal_bytes_ = 0;  // the ordinals after a normalised curve part
  std::optional<HilbertCurve> hilbert_;
  // The Morton part by byte-rounds, most significant first: which columns
  // (indices into curve_columns_) contribute their byte `byte`.
  struct ByteRound {
    int byte = 0;
    int columns = 0;
    std::array<uint8_t, 16> index{};
  };
  std::vector<ByteRound> byte_rounds_;
};

}  // namespace predstore
