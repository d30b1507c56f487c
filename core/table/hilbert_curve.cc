#include "core/table/hilbert_curve.h"

#include <bit>
#include <cassert>
#include <cstdint>

namespace predstore {
namespace {

// The names follow Hamilton's report: gc is the binary reflected Gray code,
// e(w) and d(w) the entry corner and direction of sub-cell w of a cell in
// standard orientation, T_(e,d) the map from a cell's corners to standard
// orientation.

uint32_t Gray(uint32_t w) { return w ^ (w >> 1); }

// The inverse of Gray for values of up to 8 bits.
uint32_t GrayInverse(uint32_t g) {
  g ^= g >> 1;
  g ^= g >> 2;
  g ^= g >> 4;
  return g;
}

// e(w): gc(2 * floor((w - 1) / 2)), and 0 for w = 0.
uint32_t EntryCorner(uint32_t w) { return w == 0 ? 0 : Gray((w - 1) & ~uint32_t{1}); }

// d(w): 0 for w = 0, g(w - 1) for even w, g(w) for odd w, where g(i), the
// bit in which gc(i) and gc(i + 1) differ, is the count of i's trailing ones.
int Direction(uint32_t w, int n) {
  if (w == 0) return 0;
  return std::countr_one(w % 2 == 0 ? w - 1 : w) % n;
}

// Rotations within the low `n` bits.
uint32_t RotateRight(uint32_t x, int r, int n) {
  r %= n;
  if (r == 0) return x;
  return ((x >> r) | (x << (n - r))) & ((uint32_t{1} << n) - 1);
}

uint32_t RotateLeft(uint32_t x, int r, int n) { return RotateRight(x, n - r % n, n); }

// Where the curve enters a cell, a corner with one bit per dimension, and
// its direction: the corner where it leaves differs in that dimension alone.
struct Orientation {
  uint32_t entry = 0;
  int direction = 0;
};

// The digit of the sub-cell whose coordinate bits are `corner`:
// gc^-1(T_(e,d)(corner)), with T_(e,d)(b) = (b xor e) rotated right by d + 1.
uint32_t DigitOf(uint32_t corner, Orientation o, int n) {
  return GrayInverse(RotateRight(corner ^ o.entry, o.direction + 1, n));
}

// The inverse of DigitOf: T_(e,d)^-1(gc(w)).
uint32_t CornerOf(uint32_t digit, Orientation o, int n) {
  return RotateLeft(Gray(digit), o.direction + 1, n) ^ o.entry;
}

// The orientation of sub-cell `digit` of a cell oriented `o`.
Orientation SubCell(Orientation o, uint32_t digit, int n) {
  return {o.entry ^ RotateLeft(EntryCorner(digit), o.direction + 1, n), (o.direction + Direction(digit, n) + 1) % n};
}

// Bit `level` of each coordinate, dimension j at bit j.
uint32_t CornerAt(const ZPoint& point, int level, int n) {
  uint32_t corner = 0;
  for (int j = 0; j < n; ++j) corner |= static_cast<uint32_t>((point[j] >> level) & 1) << j;
  return corner;
}

// The depth-first search behind NextInBox.
class BoxSearch {
 public:
  BoxSearch(int dims, const ZPoint& low, const ZPoint& high, const ZPoint& point)
      : dims_(dims), all_(static_cast<uint32_t>((1 << dims) - 1)), low_(low), high_(high), point_(point) {}

  // The box point with the smallest index in the cell `origin` (bits `level`
  // and below free), oriented `o`. When `tight`, the cell holds `point_` and
  // only indexes greater than the point's count.
  std::optional<ZPoint> First(int level, Orientation o, const ZPoint& origin, bool tight) const {
    const uint64_t half = uint64_t{1} << level;  // the sub-cells' side
    // Per coordinate bit b at this level: the dimensions in which the
    // sub-cells with that bit meet, and lie within, the box's range.
    uint32_t meets[2] = {0, 0}, within[2] = {0, 0};
    for (int j = 0; j < dims_; ++j) {
      for (int b = 0; b < 2; ++b) {
        const uint64_t lo = origin[j] | (b == 1 ? half : 0), hi = lo | (half - 1);
        if (lo <= high_[j] && hi >= low_[j]) meets[b] |= uint32_t{1} << j;
        if (low_[j] <= lo && hi <= high_[j]) within[b] |= uint32_t{1} << j;
      }
    }
    const uint32_t point_digit = tight ? DigitOf(CornerAt(point_, level, dims_), o, dims_) : 0;
    for (uint32_t digit = point_digit; digit <= all_; ++digit) {
      const uint32_t corner = CornerOf(digit, o, dims_);
      if (!Holds(corner, meets)) continue;
      ZPoint sub = origin;
      for (int j = 0; j < dims_; ++j) {
        if ((corner >> j) & 1) sub[j] |= half;
      }
      const Orientation sub_orientation = SubCell(o, digit, dims_);
      const bool sub_tight = tight && digit == point_digit;
      if (!sub_tight && Holds(corner, within)) {
        // The whole sub-cell is in the box: its entry corner comes first.
        for (int j = 0; j < dims_; ++j) {
          if ((sub_orientation.entry >> j) & 1) sub[j] |= half - 1;
        }
        return sub;
      }
      // A unit sub-cell that meets the box lies within it, so only the
      // point's own cell gets here at the last level: it is excluded.
      if (level == 0) continue;
      // A sub-cell past the point's own that meets the box holds a box
      // point, so this returns; only the point's own may come back empty.
      if (std::optional<ZPoint> found = First(level - 1, sub_orientation, sub, sub_tight)) return found;
    }
    return std::nullopt;
  }

 private:
  // Whether each dimension's bit of `corner` is allowed by masks[bit].
  bool Holds(uint32_t corner, const uint32_t (&masks)[2]) const {
    return (corner & ~masks[1]) == 0 && (~corner & all_ & ~masks[0]) == 0;
  }

  int dims_;
  uint32_t all_;  // the largest digit, all dims_ bits set
  const ZPoint& low_;
  const ZPoint& high_;
  const ZPoint& point_;
};

}  // namespace

HilbertCurve::HilbertCurve(int dims, int bits) : dims_(dims), bits_(bits) {
  assert(dims_ >= 1 && dims_ <= 8);
  assert(bits_ >= 1 && bits_ <= 64);
  if (dims_ > kTabulatedDims) return;
  const uint32_t corners = uint32_t{1} << dims_;
  by_corner_.resize(corners * dims_ * corners);
  by_digit_.resize(by_corner_.size());
  for (uint32_t entry = 0; entry < corners; ++entry) {
    for (int direction = 0; direction < dims_; ++direction) {
      const Orientation o{entry, direction};
      const uint32_t state = entry * dims_ + direction;
      for (uint32_t x = 0; x < corners; ++x) {
        const uint32_t digit = DigitOf(x, o, dims_);
        Orientation next = SubCell(o, digit, dims_);
        by_corner_[state << dims_ | x] = (next.entry * dims_ + next.direction) << 8 | digit;
        next = SubCell(o, x, dims_);
        by_digit_[state << dims_ | x] = (next.entry * dims_ + next.direction) << 8 | CornerOf(x, o, dims_);
      }
    }
  }
}

void HilbertCurve::Append(const ZPoint& point, std::string* out) const {
  for (int j = 0; j < dims_; ++j) assert(bits_ == 64 || point[j] >> bits_ == 0);
  out->reserve(out->size() + index_bytes());
  Orientation o;
  uint32_t pending = 0;  // index bits not yet written, fewer than 16
  int pending_bits = 0;
  uint32_t state = 0;  // the tables' number of `o`
  for (int level = bits_ - 1; level >= 0; --level) {
    const uint32_t corner = CornerAt(point, level, dims_);
    uint32_t digit;
    if (by_corner_.empty()) {
      digit = DigitOf(corner, o, dims_);
      o = SubCell(o, digit, dims_);
    } else {
      const uint32_t step = by_corner_[state << dims_ | corner];
      digit = step & 0xFF;
      state = step >> 8;
    }
    pending = (pending << dims_) | digit;
    pending_bits += dims_;
    while (pending_bits >= 8) {
      pending_bits -= 8;
      out->push_back(static_cast<char>(pending >> pending_bits));
      pending &= (uint32_t{1} << pending_bits) - 1;
    }
  }
  if (pending_bits > 0) out->push_back(static_cast<char>(pending << (8 - pending_bits)));
}

ZPoint HilbertCurve::Read(std::string_view index) const {
  assert(index.size() >= index_bytes());
  ZPoint point{};
  Orientation o;
  uint32_t pending = 0;  // index bits read but not yet used, fewer than 16
  int pending_bits = 0;
  size_t next = 0;
  uint32_t state = 0;  // the tables' number of `o`
  for (int level = bits_ - 1; level >= 0; --level) {
    while (pending_bits < dims_) {
      pending = (pending << 8) | static_cast<uint8_t>(index[next++]);
      pending_bits += 8;
    }
    pending_bits -= dims_;
    const uint32_t digit = pending >> pending_bits;
    pending &= (uint32_t{1} << pending_bits) - 1;
    uint32_t corner;
    if (by_digit_.empty()) {
      corner = CornerOf(digit, o, dims_);
      o = SubCell(o, digit, dims_);
    } else {
      const uint32_t step = by_digit_[state << dims_ | digit];
      corner = step & 0xFF;
      state = step >> 8;
    }
    for (int j = 0; j < dims_; ++j) point[j] |= static_cast<uint64_t>((corner >> j) & 1) << level;
  }
  return point;
}

std::optional<ZPoint> HilbertCurve::NextInBox(const ZPoint& low, const ZPoint& high, const ZPoint& point) const {
  for (int j = 0; j < dims_; ++j) {
    assert(bits_ == 64 || (point[j] >> bits_ == 0 && high[j] >> bits_ == 0));
    if (low[j] > high[j]) return std::nullopt;
  }
  return BoxSearch(dims_, low, high, point).First(bits_ - 1, Orientation{}, ZPoint{}, /*tight=*/true);
}

}  // namespace predstore
