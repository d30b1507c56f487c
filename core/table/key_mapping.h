// KeyMapping: how a normalised curve layout (zorder or hilbert with
// KeyNormalization kMinMax or kQuantile) turns each integer-like key
// column's ordinal (key_codec.h) into a 16-bit curve coordinate ("code"),
// so that every column gets the same bit budget whatever its range or skew.
// A mapping is fitted to one load's keys (KeyStatistics::Fit) and stored
// with the snapshot version it encodes, so that lookups and scans of that
// version encode keys identically.
//
// Every mapping is total and monotone: it maps every ordinal of the column's
// domain (absent keys, keys a stream adds later), and a <= b implies
// Code(a) <= Code(b), so a range of ordinals maps to a range of codes. The
// empty mapping maps every ordinal to 0. Immutable; concurrent use is safe.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/table/schema.h"
#include "core/table/z_order_range.h"

namespace predstore {

class KeyMapping {
 public:
  static constexpr int kCodeBits = 16;
  static constexpr uint64_t kMaxCode = (uint64_t{1} << kCodeBits) - 1;
  // Most buckets a quantile mapping cuts a column into (as lake-house
  // range ids do); a single value never spans two buckets.
  static constexpr size_t kMaxQuantileBuckets = 1024;

  // One column's mapping: kMinMax scales [min, max] linearly onto codes 0..kMaxCode
  // (clamping outside it); kQuantile cuts the ordinals into buckets at
  // `bounds` (ascending, distinct: bucket 0 holds the ordinals below
  // bounds[0], bucket i those in [bounds[i-1], bounds[i])) and gives bucket
  // i the code codes[i] (ascending, codes[0] = 0): the share of the fitted
  // keys below its lower bound, scaled to kMaxCode. A code's top bit thus
  // splits the keys about in half, even when one value holds many of them.
  struct Column {
    KeyNormalization kind = KeyNormalization::kMinMax;
    uint64_t min = 0;
    uint64_t max = 0;
    std::vector<uint64_t> bounds;
    std::vector<uint64_t> codes;  // bounds.size() + 1 of them
    bool operator==(const Column&) const = default;
  };

  KeyMapping() = default;
  explicit KeyMapping(std::vector<Column> columns) : columns_(std::move(columns)) {}

  bool empty() const { return columns_.empty(); }
  const std::vector<Column>& columns() const { return columns_; }

  // The code of curve column `column`'s ordinal; 0 for the empty mapping.
  uint64_t Code(size_t column, uint64_t ordinal) const;

  // The persisted form (in the table manifest): a JSON array with one
  // object per curve column. Ordinals are written as decimal strings.
  std::string ToJson() const;
  // kDataLoss when `json` is not a mapping of `columns` curve columns.
  static absl::StatusOr<KeyMapping> FromJson(std::string_view json, size_t columns);

  bool operator==(const KeyMapping&) const = default;

 private:
  std::vector<Column> columns_;
};

// Collects what fitting a mapping needs from a stream of keys: per curve
// column the min, the max and a uniform sample (reservoir sampling with a
// fixed seed, so the same rows in the same order give the same mapping).
// Not thread-safe.
class KeyStatistics {
 public:
  explicit KeyStatistics(size_t columns, size_t sample_size = 1 << 16);

  // Adds one key's curve-column ordinals.
  void Add(const ZPoint& ordinals);
  uint64_t count() const { return count_; }

  // The mapping of the keys added so far. REQUIRES: count() > 0 and
  // normalization != kNone.
  KeyMapping Fit(KeyNormalization normalization) const;

 private:
  size_t columns_;
  size_t sample_size_;
  uint64_t count_ = 0;
  ZPoint min_{};
  ZPoint max_{};
  std::vector<ZPoint> sample_;
  std::mt19937_64 random_{0x5eed};
};

}  // namespace predstore
