#include "core/table/z_order_range.h"

#include <algorithm>
#include <random>

#include "gtest/gtest.h"

namespace predstore {
namespace {

// The z-value of `point`, computed independently: bits in interleave order.
uint64_t Interleave(const std::vector<int>& widths, const ZPoint& point) {
  int max_width = *std::max_element(widths.begin(), widths.end());
  uint64_t z = 0;
  for (int r = max_width - 1; r >= 0; --r) {
    for (size_t j = 0; j < widths.size(); ++j) {
      if (widths[j] > r) z = (z << 1) | ((point[j] >> r) & 1);
    }
  }
  return z;
}

// Every point of the domain, in z-order.
std::vector<ZPoint> AllPointsInZOrder(const std::vector<int>& widths) {
  std::vector<ZPoint> points(1);
  for (size_t j = 0; j < widths.size(); ++j) {
    std::vector<ZPoint> next;
    for (const ZPoint& p : points) {
      for (uint64_t v = 0; v < (uint64_t{1} << widths[j]); ++v) {
        ZPoint q = p;
        q[j] = v;
        next.push_back(q);
      }
    }
    points = std::move(next);
  }
  std::sort(points.begin(), points.end(),
            [&](const ZPoint& a, const ZPoint& b) { return Interleave(widths, a) < Interleave(widths, b); });
  return points;
}

TEST(ZBoxTest, NextInBoxMatchesBruteForceForRandomBoxesOfEveryShape) {
  std::mt19937_64 rng(7);
  const std::vector<std::vector<int>> shapes = {{4, 4}, {3, 5}, {2, 3, 4}, {4, 2, 2, 3}, {6}, {5, 5, 2}};
  for (const auto& widths : shapes) {
    std::vector<ZPoint> domain = AllPointsInZOrder(widths);
    for (int trial = 0; trial < 60; ++trial) {
      ZPoint low{}, high{};
      for (size_t j = 0; j < widths.size(); ++j) {
        uint64_t size = uint64_t{1} << widths[j];
        uint64_t a = rng() % size, b = rng() % size;
        switch (trial % 4) {
          case 0: low[j] = std::min(a, b), high[j] = std::max(a, b); break;  // any box
          case 1: low[j] = high[j] = a; break;                                 // a point
          case 2: low[j] = 0, high[j] = size - 1; break;                      // full domain
          default:                                                             // thin slab
            if (j == 0) {
              low[j] = high[j] = a;
            } else {
              low[j] = 0, high[j] = size - 1;
            }
        }
      }
      ZBox box(widths, low, high);
      for (size_t i = 0; i < domain.size(); ++i) {
        const ZPoint& point = domain[i];
        bool inside = true;
        for (size_t j = 0; j < widths.size(); ++j) inside = inside && low[j] <= point[j] && point[j] <= high[j];
        ASSERT_EQ(box.Contains(point), inside);
        if (inside) continue;
        std::optional<ZPoint> expected;
        for (size_t k = i + 1; k < domain.size(); ++k) {
          if (box.Contains(domain[k])) {
            expected = domain[k];
            break;
          }
        }
        std::optional<ZPoint> next = box.NextInBox(point);
        ASSERT_EQ(next.has_value(), expected.has_value()) << "trial " << trial << " point " << i;
        if (expected) {
          ASSERT_EQ(Interleave(widths, *next), Interleave(widths, *expected)) << "trial " << trial << " point " << i;
        }
      }
    }
  }
}

TEST(ZBoxTest, CompareFollowsTheInterleave) {
  std::vector<int> widths = {3, 5};
  std::vector<ZPoint> domain = AllPointsInZOrder(widths);
  ZBox box(widths, ZPoint{}, ZPoint{7, 31});
  for (size_t i = 1; i < domain.size(); ++i) {
    EXPECT_LT(box.Compare(domain[i - 1], domain[i]), 0);
    EXPECT_EQ(box.Compare(domain[i], domain[i]), 0);
  }
}

}  // namespace
}  // namespace predstore
