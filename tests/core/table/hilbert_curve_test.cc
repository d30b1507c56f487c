#include "core/table/hilbert_curve.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace predstore {
namespace {

// Every point of the grid, in no particular order.
std::vector<ZPoint> AllPoints(int dims, int bits) {
  std::vector<ZPoint> points(1, ZPoint{});
  for (int j = 0; j < dims; ++j) {
    std::vector<ZPoint> next;
    for (const ZPoint& p : points) {
      for (uint64_t v = 0; v < (uint64_t{1} << bits); ++v) {
        ZPoint q = p;
        q[j] = v;
        next.push_back(q);
      }
    }
    points = std::move(next);
  }
  return points;
}

std::string IndexOf(const HilbertCurve& curve, const ZPoint& point) {
  std::string index;
  curve.Append(point, &index);
  return index;
}

// The index as a number, for curves of at most 64 index bits.
uint64_t SmallIndexOf(const HilbertCurve& curve, const ZPoint& point) {
  uint64_t value = 0;
  for (char c : IndexOf(curve, point)) value = (value << 8) | static_cast<uint8_t>(c);
  return value >> (curve.index_bytes() * 8 - curve.dims() * curve.bits());
}

// The padding bits of an index: the low bits of its last byte.
int PaddingBits(const HilbertCurve& curve) {
  return static_cast<int>(curve.index_bytes() * 8) - curve.dims() * curve.bits();
}

uint64_t Distance(const ZPoint& a, const ZPoint& b, int dims) {
  uint64_t distance = 0;
  for (int j = 0; j < dims; ++j) distance += a[j] > b[j] ? a[j] - b[j] : b[j] - a[j];
  return distance;
}

// Adds one to the index in place; false when it wraps around past the last.
bool Increment(const HilbertCurve& curve, std::string* index) {
  int carry = 1 << PaddingBits(curve);
  for (size_t i = index->size(); i-- > 0 && carry != 0;) {
    int sum = static_cast<uint8_t>((*index)[i]) + carry;
    (*index)[i] = static_cast<char>(sum & 0xff);
    carry = sum >> 8;
  }
  return carry == 0;
}

// Whether the first `count` bits of `a` and `b` agree.
bool SameLeadingBits(const std::string& a, const std::string& b, int count) {
  for (int i = 0; i < count; ++i) {
    int x = (static_cast<uint8_t>(a[i / 8]) >> (7 - i % 8)) & 1;
    int y = (static_cast<uint8_t>(b[i / 8]) >> (7 - i % 8)) & 1;
    if (x != y) return false;
  }
  return true;
}

// The classic two-dimensional Hilbert curve of side 2^bits (after
// Wikipedia's d2xy), computed by quadrant rotations instead of Hamilton's
// transforms: the point at distance `d`, x in [0] and y in [1].
ZPoint ClassicPointAt(int bits, uint64_t d) {
  uint64_t x = 0, y = 0;
  for (uint64_t side = 1; side < (uint64_t{1} << bits); side *= 2) {
    uint64_t rx = 1 & (d / 2), ry = 1 & (d ^ rx);
    if (ry == 0) {
      if (rx == 1) {
        x = side - 1 - x;
        y = side - 1 - y;
      }
      std::swap(x, y);
    }
    x += side * rx;
    y += side * ry;
    d /= 4;
  }
  ZPoint point{};
  point[0] = x;
  point[1] = y;
  return point;
}

TEST(HilbertCurveTest, SmallGridsAreWalkedInUnitStepsThroughNestedCells) {
  const std::vector<std::pair<int, int>> shapes = {{1, 1}, {1, 3}, {1, 8}, {2, 1}, {2, 2}, {2, 3}, {2, 4},
                                                   {2, 5}, {3, 1}, {3, 2}, {3, 3}, {3, 4}, {4, 1}, {4, 2},
                                                   {4, 3}, {5, 1}, {5, 2}, {6, 2}, {7, 1}, {8, 1}, {8, 2}};
  for (const auto& [dims, bits] : shapes) {
    SCOPED_TRACE(testing::Message() << dims << " dims, " << bits << " bits");
    HilbertCurve curve(dims, bits);
    ASSERT_EQ(curve.dims(), dims);
    ASSERT_EQ(curve.bits(), bits);
    ASSERT_EQ(curve.index_bytes(), static_cast<size_t>((dims * bits + 7) / 8));
    const uint64_t size = uint64_t{1} << (dims * bits);
    std::vector<ZPoint> by_index(size);
    std::vector<bool> seen(size, false);
    for (const ZPoint& point : AllPoints(dims, bits)) {
      std::string index = IndexOf(curve, point);
      ASSERT_EQ(index.size(), curve.index_bytes());
      ASSERT_EQ(static_cast<uint8_t>(index.back()) & ((1 << PaddingBits(curve)) - 1), 0) << "padding bits are zero";
      ASSERT_EQ(curve.Read(index), point);
      uint64_t i = SmallIndexOf(curve, point);
      ASSERT_LT(i, size);
      ASSERT_FALSE(seen[i]) << "index " << i << " taken twice";
      seen[i] = true;
      by_index[i] = point;
    }
    // Every index was taken once (there are as many points as indexes).
    EXPECT_EQ(by_index[0], ZPoint{}) << "the curve starts at the origin";
    for (uint64_t i = 1; i < size; ++i) {
      ASSERT_EQ(Distance(by_index[i - 1], by_index[i], dims), 1u) << "indexes " << i - 1 << " and " << i;
    }
    // Each run of 2^(dims*k) indexes starting at a multiple of it fills one
    // aligned cell of side 2^k.
    for (int k = 1; k < bits; ++k) {
      const uint64_t run = uint64_t{1} << (dims * k);
      for (uint64_t i = 0; i < size; ++i) {
        for (int j = 0; j < dims; ++j) {
          ASSERT_EQ(by_index[i][j] >> k, by_index[i - i % run][j] >> k) << "index " << i << " level " << k;
        }
      }
    }
  }
}

TEST(HilbertCurveTest, TwoDimensionsFollowTheClassicCurve) {
  for (int bits = 1; bits <= 6; ++bits) {
    HilbertCurve curve(2, bits);
    for (uint64_t d = 0; d < (uint64_t{1} << (2 * bits)); ++d) {
      ASSERT_EQ(SmallIndexOf(curve, ClassicPointAt(bits, d)), d) << bits << " bits";
    }
  }
}

TEST(HilbertCurveTest, WideCoordinatesRoundTripAndStepToNeighbours) {
  std::mt19937_64 rng(11);
  const std::vector<std::pair<int, int>> shapes = {{1, 64}, {2, 16}, {2, 32}, {3, 64}, {5, 13}, {7, 9}, {8, 64}};
  for (const auto& [dims, bits] : shapes) {
    SCOPED_TRACE(testing::Message() << dims << " dims, " << bits << " bits");
    HilbertCurve curve(dims, bits);
    const uint64_t max = bits == 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
    for (int trial = 0; trial < 500; ++trial) {
      ZPoint point{};
      for (int j = 0; j < dims; ++j) point[j] = rng() & max;
      std::string index = IndexOf(curve, point);
      ASSERT_EQ(index.size(), curve.index_bytes());
      ASSERT_EQ(curve.Read(index), point);
    }
    for (int trial = 0; trial < 500; ++trial) {
      // A random index, or one whose low part is all ones so that the next
      // index carries across many levels.
      std::string index(curve.index_bytes(), '\0');
      for (char& c : index) c = static_cast<char>(rng());
      if (trial % 2 == 1) {
        for (size_t i = 1 + rng() % index.size(); i < index.size(); ++i) index[i] = '\xff';
      }
      index.back() = static_cast<char>(index.back() & ~((1 << PaddingBits(curve)) - 1));
      ZPoint point = curve.Read(index);
      ASSERT_EQ(IndexOf(curve, point), index);
      std::string next = index;
      if (!Increment(curve, &next)) continue;
      ASSERT_EQ(Distance(point, curve.Read(next), dims), 1u);
    }
    // The last index is the far corner of dimension 0.
    std::string last(curve.index_bytes(), '\xff');
    last.back() = static_cast<char>(last.back() & ~((1 << PaddingBits(curve)) - 1));
    ZPoint corner{};
    corner[0] = max;
    EXPECT_EQ(curve.Read(last), corner);
  }
}

TEST(HilbertCurveTest, IndexesBeginWithTheCoarserCurvesIndex) {
  std::mt19937_64 rng(12);
  const std::vector<std::pair<int, int>> shapes = {{2, 16}, {2, 32}, {3, 64}, {4, 9}, {5, 13}, {8, 64}};
  for (const auto& [dims, bits] : shapes) {
    HilbertCurve curve(dims, bits);
    for (int coarse_bits = 1; coarse_bits <= 4; ++coarse_bits) {
      HilbertCurve coarse(dims, coarse_bits);
      for (int trial = 0; trial < 200; ++trial) {
        ZPoint point{}, cell{};
        for (int j = 0; j < dims; ++j) {
          point[j] = bits == 64 ? rng() : rng() & ((uint64_t{1} << bits) - 1);
          cell[j] = point[j] >> (bits - coarse_bits);
        }
        ASSERT_TRUE(SameLeadingBits(IndexOf(curve, point), IndexOf(coarse, cell), dims * coarse_bits))
            << dims << " dims, " << bits << " bits, coarse " << coarse_bits;
      }
    }
  }
}

// A random box over a grid of side `size`; `shape` picks its kind.
std::pair<ZPoint, ZPoint> RandomBox(std::mt19937_64& rng, int dims, uint64_t size, int shape) {
  ZPoint low{}, high{};
  for (int j = 0; j < dims; ++j) {
    uint64_t a = rng() % size, b = rng() % size;
    switch (shape) {
      case 0:  // any box
        low[j] = std::min(a, b), high[j] = std::max(a, b);
        break;
      case 1:  // one point
        low[j] = high[j] = a;
        break;
      case 2:  // the whole grid
        low[j] = 0, high[j] = size - 1;
        break;
      case 3:  // a slab one thick
        if (j == 0) {
          low[j] = high[j] = a;
        } else {
          low[j] = 0, high[j] = size - 1;
        }
        break;
      default:  // a narrow box
        low[j] = a, high[j] = std::min(size - 1, a + b % 2);
    }
  }
  return {low, high};
}

bool InBox(const ZPoint& low, const ZPoint& high, const ZPoint& point, int dims) {
  for (int j = 0; j < dims; ++j) {
    if (point[j] < low[j] || point[j] > high[j]) return false;
  }
  return true;
}

TEST(HilbertCurveTest, NextInBoxMatchesBruteForceForRandomBoxesOfEveryShape) {
  std::mt19937_64 rng(7);
  const std::vector<std::pair<int, int>> shapes = {{1, 6}, {2, 5}, {3, 3}, {4, 2}, {5, 2}, {2, 3}, {3, 4}};
  for (const auto& [dims, bits] : shapes) {
    HilbertCurve curve(dims, bits);
    const uint64_t side = uint64_t{1} << bits;
    std::vector<ZPoint> by_index(uint64_t{1} << (dims * bits));
    for (const ZPoint& point : AllPoints(dims, bits)) by_index[SmallIndexOf(curve, point)] = point;
    for (int trial = 0; trial < 60; ++trial) {
      const auto [low, high] = RandomBox(rng, dims, side, trial % 5);
      // next[i]: the index of the first box point after index i, or none.
      std::vector<std::optional<uint64_t>> next(by_index.size());
      for (uint64_t i = by_index.size() - 1; i > 0; --i) {
        next[i - 1] = InBox(low, high, by_index[i], dims) ? std::optional<uint64_t>(i) : next[i];
      }
      for (uint64_t i = 0; i < by_index.size(); ++i) {
        std::optional<ZPoint> found = curve.NextInBox(low, high, by_index[i]);
        ASSERT_EQ(found.has_value(), next[i].has_value())
            << dims << " dims, " << bits << " bits, trial " << trial << ", index " << i;
        if (found) {
          ASSERT_EQ(*found, by_index[*next[i]]) << dims << " dims, trial " << trial << ", index " << i;
        }
      }
    }
  }
}

TEST(HilbertCurveTest, NextInBoxOfAnEmptyBoxIsNothing) {
  HilbertCurve curve(2, 4);
  ZPoint low{}, high{};
  low[0] = 3, high[0] = 2, high[1] = 15;
  EXPECT_FALSE(curve.NextInBox(low, high, ZPoint{}).has_value());
}

// Small boxes placed anywhere in wide grids, edges included: the answer is
// the first box point, by index bytes, after the given point.
TEST(HilbertCurveTest, NextInBoxFindsSmallBoxesInWideGrids) {
  std::mt19937_64 rng(13);
  const std::vector<std::pair<int, int>> shapes = {{1, 64}, {2, 32}, {3, 64}, {5, 13}, {8, 64}};
  for (const auto& [dims, bits] : shapes) {
    HilbertCurve curve(dims, bits);
    const uint64_t max = bits == 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
    const uint64_t max_extent = dims >= 5 ? 1 : 2;
    for (int trial = 0; trial < (dims >= 5 ? 10 : 40); ++trial) {
      ZPoint low{}, high{};
      for (int j = 0; j < dims; ++j) {
        const uint64_t edge = rng() % 3;  // at the grid's low edge, its high edge, or anywhere
        low[j] = edge == 0 ? 0 : edge == 1 ? max - max_extent : std::min(rng() & max, max - max_extent);
        high[j] = low[j] + rng() % (max_extent + 1);
      }
      // The box's points, by index.
      std::vector<std::pair<std::string, ZPoint>> box(1, {std::string(), low});
      for (int j = 0; j < dims; ++j) {
        std::vector<std::pair<std::string, ZPoint>> wider;
        for (const auto& entry : box) {
          for (uint64_t offset = 0; offset <= high[j] - low[j]; ++offset) {
            ZPoint q = entry.second;
            q[j] = low[j] + offset;
            wider.emplace_back(std::string(), q);
          }
        }
        box = std::move(wider);
      }
      for (auto& [index, point] : box) index = IndexOf(curve, point);
      std::sort(box.begin(), box.end());
      // Probes: the origin, the box's points, the next point along the curve
      // and the diagonal neighbours of each, and random points.
      std::vector<ZPoint> probes = {ZPoint{}};
      for (const auto& entry : box) {
        probes.push_back(entry.second);
        ZPoint before = entry.second, after = entry.second;
        std::string index = entry.first;
        if (Increment(curve, &index)) probes.push_back(curve.Read(index));
        for (int j = 0; j < dims; ++j) {
          before[j] = before[j] == 0 ? 0 : before[j] - 1;
          after[j] = after[j] == max ? max : after[j] + 1;
        }
        probes.push_back(before);
        probes.push_back(after);
      }
      for (int k = 0; k < 20; ++k) {
        ZPoint point{};
        for (int j = 0; j < dims; ++j) point[j] = rng() & max;
        probes.push_back(point);
      }
      for (const ZPoint& probe : probes) {
        std::string index = IndexOf(curve, probe);
        auto it = std::upper_bound(box.begin(), box.end(), index,
                                   [](const std::string& key, const auto& entry) { return key < entry.first; });
        std::optional<ZPoint> found = curve.NextInBox(low, high, probe);
        ASSERT_EQ(found.has_value(), it != box.end()) << dims << " dims, trial " << trial;
        if (found) {
          ASSERT_EQ(*found, it->second) << dims << " dims, trial " << trial;
        }
      }
      // Walking from the origin visits the box's points in index order.
      std::vector<ZPoint> walked;
      for (std::optional<ZPoint> p = curve.NextInBox(low, high, ZPoint{}); p; p = curve.NextInBox(low, high, *p)) {
        walked.push_back(*p);
      }
      std::vector<ZPoint> expected;
      for (const auto& entry : box) {
        if (entry.second != ZPoint{}) expected.push_back(entry.second);
      }
      ASSERT_EQ(walked, expected) << dims << " dims, trial " << trial;
    }
  }
}

}  // namespace
}  // namespace predstore
