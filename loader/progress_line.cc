#include "loader/progress_line.h"

#include <cmath>
#include <cstdio>

namespace predstore {
namespace {

std::string Count(double n) {
  char text[32];
  if (n >= 1e6) {
    std::snprintf(text, sizeof(text), "%.1fM", n / 1e6);
  } else if (n >= 1e3) {
    std::snprintf(text, sizeof(text), "%.1fk", n / 1e3);
  } else {
    std::snprintf(text, sizeof(text), "%.0f", n);
  }
  return text;
}

}  // namespace

std::string ProgressLine(const LoadProgress& p) {
  const char* phase = p.phase == LoadProgress::Phase::kReading   ? "reading"
                      : p.phase == LoadProgress::Phase::kWriting ? "writing"
                                                                 : "publishing";
  double rate = p.elapsed_seconds > 0 ? p.rows / p.elapsed_seconds : 0;
  std::string line = std::string(phase) + "  " + Count(p.rows) + " rows";
  if (p.phase == LoadProgress::Phase::kReading) {
    line += "  " + Count(rate) + " rows/s";
    if (p.total_bytes > 0) {
      double fraction = static_cast<double>(p.bytes_read) / p.total_bytes;
      char text[64];
      std::snprintf(text, sizeof(text), "  %3.0f%%", 100 * fraction);
      line += text;
      if (fraction > 0.01) {
        double eta = p.elapsed_seconds * (1 - fraction) / fraction;
        std::snprintf(text, sizeof(text), "  ETA %.0fs", std::ceil(eta));
        line += text;
      }
    }
  } else if (p.phase == LoadProgress::Phase::kWriting && p.total_rows > 0) {
    char text[32];
    std::snprintf(text, sizeof(text), "  %3.0f%%", 100.0 * p.rows / p.total_rows);
    line += " of " + Count(p.total_rows) + text;
  }
  return line;
}

}  // namespace predstore
