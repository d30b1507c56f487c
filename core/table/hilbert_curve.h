// HilbertCurve: the n-dimensional Hilbert curve over a grid of `dims`
// dimensions with `bits` bits each, as a byte-string index, and the jump that
// makes range scans over such indexes read little: NextInBox returns the
// first point of a box that follows a given point along the curve. Unlike the
// Morton order (z_order_range.h), consecutive indexes are always neighbouring
// grid points, which tends to cut a box into fewer index runs.
//
// The curve is Hamilton's formulation ("Compact Hilbert Indices", Dalhousie
// tech report CS-2006-07): levels run from the coordinates' top bit down; at
// each level the `dims` coordinate bits (dimension j at bit j) are mapped
// through the current cell's orientation (entry corner, direction) to one
// base-2^dims digit. The index is those digits, top level first, packed
// big-endian into index_bytes() bytes with the unused low bits of the last
// byte zero, so comparing indexes as byte strings follows the curve. The top
// cell enters at the origin with direction 0, whatever `bits` is, so a
// curve's index with its digits truncated is the index of the coarser curve.
// Indexes may be stored: this layout and orientation must not change.
//
// Immutable; concurrent use is safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/table/z_order_range.h"

namespace predstore {

class HilbertCurve {
 public:
  // REQUIRES: 1 <= dims <= 8 and 1 <= bits <= 64.
  HilbertCurve(int dims, int bits);

  int dims() const { return dims_; }
  int bits() const { return bits_; }
  // ceil(dims * bits / 8).
  size_t index_bytes() const { return (static_cast<size_t>(dims_) * bits_ + 7) / 8; }

  // Appends the index of `point` (coordinates 0..dims-1; the rest are
  // ignored) to `out`: index_bytes() bytes.
  // REQUIRES: point[j] < 2^bits for every dimension j.
  void Append(const ZPoint& point, std::string* out) const;

  // The point whose index is the first index_bytes() bytes of `index`;
  // coordinates past dims() are zero and the padding bits are ignored.
  // REQUIRES: index.size() >= index_bytes().
  ZPoint Read(std::string_view index) const;

  // Among the points p with low[j] <= p[j] <= high[j] for every dimension j,
  // the one with the smallest index strictly greater than `point`'s; nothing
  // when there is none, or when the box is empty (some low[j] > high[j]).
  // `point` may lie inside or outside the box. Takes O(bits * 2^dims) steps
  // and a recursion `bits` deep; allocates nothing.
  // REQUIRES: point[j] < 2^bits and high[j] < 2^bits for every dimension j.
  std::optional<ZPoint> NextInBox(const ZPoint& low, const ZPoint& high, const ZPoint& point) const;

 private:
  int dims_;
  int bits_;
  // For dims <= kTabulatedDims, one level's step as table lookups: the
  // orientation (entry corner, direction) numbered entry * dims + direction;
  // by_corner_[state << dims | corner] = next state << 8 | digit, and
  // by_digit_[state << dims | digit] = next state << 8 | corner. Empty for
  // more dimensions, which compute each step.
  static constexpr int kTabulatedDims = 5;
  std::vector<uint32_t> by_corner_;
  std::vector<uint32_t> by_digit_;
};

}  // namespace predstore
