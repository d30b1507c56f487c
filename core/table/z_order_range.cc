#include "core/table/z_order_range.h"

#include <algorithm>
#include <cassert>

namespace predstore {
namespace {

uint64_t Bit(uint64_t value, int r) { return (value >> r) & 1; }
// Bits r and above of `value`, bit r set to 1, the bits below r cleared: "1000...".
uint64_t LoadOneZeros(uint64_t value, int r) {
  uint64_t below = r == 0 ? 0 : (uint64_t{1} << r) - 1;
  return (value & ~below) | (uint64_t{1} << r);
}
// Bit r cleared, the bits below r set: "0111...".
uint64_t LoadZeroOnes(uint64_t value, int r) {
  uint64_t below = r == 0 ? 0 : (uint64_t{1} << r) - 1;
  return (value & ~(uint64_t{1} << r)) | below;
}

}  // namespace

ZBox::ZBox(std::vector<int> widths, ZPoint low, ZPoint high)
    : widths_(std::move(widths)), low_(low), high_(high) {
  assert(widths_.size() <= low_.size());
  for (int w : widths_) max_width_ = std::max(max_width_, w);
  for (size_t j = 0; j < widths_.size(); ++j) assert(low_[j] <= high_[j]);
}

bool ZBox::Contains(const ZPoint& point) const {
  for (size_t j = 0; j < widths_.size(); ++j) {
    if (point[j] < low_[j] || point[j] > high_[j]) return false;
  }
  return true;
}

int ZBox::Compare(const ZPoint& a, const ZPoint& b) const {
  for (int r = max_width_ - 1; r >= 0; --r) {
    for (size_t j = 0; j < widths_.size(); ++j) {
      if (widths_[j] <= r) continue;
      uint64_t x = Bit(a[j], r), y = Bit(b[j], r);
      if (x != y) return x < y ? -1 : 1;
    }
  }
  return 0;
}

std::optional<ZPoint> ZBox::NextInBox(const ZPoint& point) const {
  // Walk the bits in z-order with a shrinking box [min, max] that still
  // holds every in-box candidate sharing the point's prefix so far.
  ZPoint min = low_, max = high_;
  std::optional<ZPoint> bigmin;
  for (int r = max_width_ - 1; r >= 0; --r) {
    for (size_t j = 0; j < widths_.size(); ++j) {
      if (widths_[j] <= r) continue;
      const uint64_t p = Bit(point[j], r), lo = Bit(min[j], r), hi = Bit(max[j], r);
      if (p == 0 && lo == 0 && hi == 1) {
        // The upper half (bit 1) is all greater: its least corner is a
        // candidate; keep searching the lower half.
        ZPoint candidate = min;
        candidate[j] = LoadOneZeros(min[j], r);
        bigmin = candidate;
        max[j] = LoadZeroOnes(max[j], r);
      } else if (p == 0 && lo == 1 && hi == 1) {
        return min;  // the whole box lies above the point
      } else if (p == 1 && lo == 0 && hi == 0) {
        return bigmin;  // the whole box lies below the point
      } else if (p == 1 && lo == 0 && hi == 1) {
        min[j] = LoadOneZeros(min[j], r);  // continue in the upper half
      }
      // (0,0,0) and (1,1,1): the point is in the same half as the box.
    }
  }
  // The point's bits all matched the shrunk box: it is inside, which the
  // caller excluded; nothing in the box is greater along this path.
  return bigmin;
}

}  // namespace predstore
