// libFuzzer target: boxes and points from the fuzz input on the two curves a
// range scan walks: the Morton order (ZBox, columns of any width from 1 to 64
// bits) and the Hilbert curve (1 to 8 dimensions of 1 to 64 bits). The box
// is small (at most 64 points, fewer in many dimensions) but anywhere in the
// coordinate space, so every point of it is listed and sorted along the
// curve. Walking the box as a scan does (from its first point on the curve,
// each next point by stepping or by the NextInBox jump) must visit every
// point of the box, once, in curve order; NextInBox from any other point
// must land on the first box point after it, or report none when none is
// left; the order must be a strict total order; a Hilbert index must read
// back to its point, and any index bytes to a point whose index they are.
// No crash either (AddressSanitizer, UBSan). Run by tests/fuzz/run_fuzz.sh.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "core/table/hilbert_curve.h"
#include "core/table/z_order_range.h"

namespace {

using predstore::ZPoint;

constexpr uint64_t kMaxBoxPoints = 64;
constexpr int kMaxJumps = 16;  // from points outside the walk

uint64_t Mask(int bits) { return bits == 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1; }

// A box of `widths.size()` columns from the input: each column's low corner
// anywhere within its width, its extent small enough that the box holds at
// most `max_points` points.
void ConsumeBox(const std::vector<int>& widths, uint64_t max_points, FuzzedDataProvider* input, ZPoint* low,
                ZPoint* high) {
  *low = {};
  *high = {};
  uint64_t volume = 1;
  for (size_t j = 0; j < widths.size(); ++j) {
    const uint64_t mask = Mask(widths[j]);
    (*low)[j] = input->ConsumeIntegral<uint64_t>() & mask;
    const uint64_t room = std::min<uint64_t>(mask - (*low)[j], max_points / volume - 1);
    const uint64_t extent = input->ConsumeIntegralInRange<uint64_t>(0, room);
    (*high)[j] = (*low)[j] + extent;
    volume *= extent + 1;
  }
}

// Every point of the box [low, high] over `columns` columns.
std::vector<ZPoint> BoxPoints(size_t columns, const ZPoint& low, const ZPoint& high) {
  std::vector<ZPoint> points;
  ZPoint point = low;
  while (true) {
    points.push_back(point);
    size_t j = 0;
    for (; j < columns && point[j] == high[j]; ++j) point[j] = low[j];
    if (j == columns) return points;
    ++point[j];
  }
}

// A point anywhere within the widths, near the box more often than not.
ZPoint ConsumePoint(const std::vector<int>& widths, const ZPoint& low, const ZPoint& high, FuzzedDataProvider* input) {
  ZPoint point{};
  for (size_t j = 0; j < widths.size(); ++j) {
    const uint64_t mask = Mask(widths[j]);
    switch (input->ConsumeIntegralInRange<int>(0, 3)) {
      case 0:
        point[j] = input->ConsumeIntegral<uint64_t>() & mask;
        break;
      case 1:
        point[j] = (low[j] - input->ConsumeIntegralInRange<uint64_t>(0, 2)) & mask;
        break;
      case 2:
        point[j] = (high[j] + input->ConsumeIntegralInRange<uint64_t>(0, 2)) & mask;
        break;
      default:
        point[j] = low[j] + (high[j] - low[j]) / 2;
        break;
    }
  }
  return point;
}

// The next point in z-order (the Morton value plus one), or none after the last.
std::optional<ZPoint> ZSuccessor(const std::vector<int>& widths, ZPoint point) {
  int max_width = *std::max_element(widths.begin(), widths.end());
  for (int r = 0; r < max_width; ++r) {
    for (size_t j = widths.size(); j-- > 0;) {
      if (widths[j] <= r) continue;
      const uint64_t bit = uint64_t{1} << r;
      point[j] ^= bit;
      if (point[j] & bit) return point;  // 0 -> 1: no carry
    }
  }
  return std::nullopt;
}

void FuzzZOrder(FuzzedDataProvider* input) {
  std::vector<int> widths(input->ConsumeIntegralInRange<size_t>(1, 16));
  for (int& w : widths) w = input->ConsumeIntegralInRange<int>(1, 64);
  ZPoint low, high;
  ConsumeBox(widths, kMaxBoxPoints, input, &low, &high);
  const predstore::ZBox box(widths, low, high);
  std::vector<ZPoint> points = BoxPoints(widths.size(), low, high);
  std::sort(points.begin(), points.end(), [&](const ZPoint& a, const ZPoint& b) { return box.Compare(a, b) < 0; });
  for (size_t i = 0; i + 1 < points.size(); ++i) {
    if (box.Compare(points[i], points[i + 1]) >= 0 || box.Compare(points[i + 1], points[i]) <= 0) std::abort();
  }
  // A scan starts at the low corner (KeyCodec::FirstInBox), steps while the
  // next z-value is inside and jumps when it is not.
  if (points.front() != low) std::abort();
  for (size_t i = 0; i < points.size(); ++i) {
    std::optional<ZPoint> next = ZSuccessor(widths, points[i]);
    if (next && !box.Contains(*next)) next = box.NextInBox(*next);
    const bool last = i + 1 == points.size();
    if (last ? next.has_value() : (!next || *next != points[i + 1])) std::abort();
  }
  // A jump from anywhere outside the box.
  for (int jumps = 0; jumps < kMaxJumps && input->remaining_bytes() > 0; ++jumps) {
    const ZPoint point = ConsumePoint(widths, low, high, input);
    if (box.Contains(point)) continue;
    const auto after = std::upper_bound(points.begin(), points.end(), point,
                                        [&](const ZPoint& a, const ZPoint& b) { return box.Compare(a, b) < 0; });
    const std::optional<ZPoint> next = box.NextInBox(point);
    if (after == points.end() ? next.has_value() : (!next || *next != *after)) std::abort();
  }
}

void FuzzHilbert(FuzzedDataProvider* input) {
  const int dims = input->ConsumeIntegralInRange<int>(1, 8);
  const int bits = input->ConsumeIntegralInRange<int>(1, 64);
  const predstore::HilbertCurve curve(dims, bits);
  const std::vector<int> widths(dims, bits);
  // A jump costs up to bits * 2^dims steps: fewer of them in many dimensions.
  const int shrink = std::max(0, dims - 4);
  ZPoint low, high;
  ConsumeBox(widths, kMaxBoxPoints >> shrink, input, &low, &high);
  auto index_of = [&](const ZPoint& point) {
    std::string index;
    curve.Append(point, &index);
    if (index.size() != curve.index_bytes() || curve.Read(index) != point) std::abort();
    return index;
  };
  std::vector<std::pair<std::string, ZPoint>> points;
  for (const ZPoint& point : BoxPoints(dims, low, high)) points.emplace_back(index_of(point), point);
  std::sort(points.begin(), points.end());
  for (size_t i = 0; i + 1 < points.size(); ++i) {
    if (points[i].first == points[i + 1].first) std::abort();  // two points, one index
  }
  // A scan starts at the origin if the box holds it, else at the first box
  // point after it (KeyCodec::FirstInBox), then jumps from point to point.
  const ZPoint origin{};
  const bool origin_inside = low == origin;
  std::optional<ZPoint> next = origin_inside ? std::optional<ZPoint>(origin) : curve.NextInBox(low, high, origin);
  for (size_t i = 0; i < points.size(); ++i) {
    if (!next || *next != points[i].second) std::abort();
    next = curve.NextInBox(low, high, points[i].second);
  }
  if (next) std::abort();
  // A jump from anywhere, and index bytes of any content.
  const std::string raw = input->ConsumeBytesAsString(curve.index_bytes());
  if (raw.size() == curve.index_bytes()) {
    const ZPoint point = curve.Read(raw);
    for (int j = 0; j < dims; ++j) {
      if (point[j] > Mask(bits)) std::abort();
    }
    std::string masked = raw;
    const int padding = static_cast<int>(curve.index_bytes() * 8) - dims * bits;
    masked.back() = static_cast<char>(static_cast<uint8_t>(masked.back()) & (0xFF << padding));
    if (index_of(point) != masked) std::abort();
  }
  for (int jumps = 0; jumps < (kMaxJumps >> shrink) + 1 && input->remaining_bytes() > 0; ++jumps) {
    const ZPoint point = ConsumePoint(widths, low, high, input);
    const std::string index = index_of(point);
    const auto after = std::upper_bound(points.begin(), points.end(), index,
                                        [](const std::string& i, const auto& entry) { return i < entry.first; });
    const std::optional<ZPoint> jump = curve.NextInBox(low, high, point);
    if (after == points.end() ? jump.has_value() : (!jump || *jump != after->second)) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider input(data, size);
  if (input.ConsumeBool()) {
    FuzzZOrder(&input);
  } else {
    FuzzHilbert(&input);
  }
  return 0;
}
