// ZBox: an axis-aligned box over the Morton (z-order) part of a key, and the
// jump that makes range scans read little: given a z-value outside the box,
// NextInBox returns the smallest z-value greater than it that lies inside
// (BIGMIN, after Tropf & Herzog, "Multidimensional Range Search in
// Dynamically Balanced Trees", 1981). Points are per-column ordinals (see
// key_codec.h); the bit order is the codec's interleave order: rounds from
// the widest column's top bit down, within a round columns in schema order,
// each column taking part while it is wider than the round. Immutable;
// concurrent use is safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace predstore {

// Per-column ordinals of one z-value (up to 16 columns).
using ZPoint = std::array<uint64_t, 16>;

class ZBox {
 public:
  // `widths[j]` is column j's ordinal width in bits (1..64); `low` and
  // `high` its closed range. REQUIRES: low[j] <= high[j] and both fit the
  // width, for every column.
  ZBox(std::vector<int> widths, ZPoint low, ZPoint high);

  size_t columns() const { return widths_.size(); }
  const ZPoint& low() const { return low_; }
  const ZPoint& high() const { return high_; }

  bool Contains(const ZPoint& point) const;

  // The smallest z-value inside the box that is greater than `point`'s, or
  // nothing when no such value exists. REQUIRES: !Contains(point).
  std::optional<ZPoint> NextInBox(const ZPoint& point) const;

  // Compares two points in z-order: <0, 0, >0.
  int Compare(const ZPoint& a, const ZPoint& b) const;

 private:
  std::vector<int> widths_;
  int max_width_ = 0;
  ZPoint low_;
  ZPoint high_;
};

}  // namespace predstore
