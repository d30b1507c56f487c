#include "core/sample_data.h"

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>

#include "core/strings.h"

namespace predstore {
namespace {

// SplitMix64: a fast, well-mixed hash of (seed, index).
uint64_t Mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace

Schema SampleSchema() {
  return *Schema::Create({{"store_id", ColumnType::kInt64}, {"item_id", ColumnType::kInt64},
                          {"horizon_days", ColumnType::kInt64}},
                         {{"forecast", ColumnType::kDouble}, {"p90", ColumnType::kDouble}}, std::nullopt);
}

double SampleForecast(uint64_t seed, uint64_t index) {
  // Two decimals, so the text form round-trips exactly.
  return static_cast<double>(Mix(seed ^ Mix(index)) % 100000) / 100.0;
}

absl::Status WriteSampleFile(const std::filesystem::path& path, const SampleOptions& options) {
  if (options.items == 0 || options.horizons == 0) return absl::InvalidArgumentError("items and horizons must be > 0");
  FILE* file = std::fopen(path.c_str(), "w");
  if (!file) return absl::InternalError(StrCat(path.string(), ": cannot create: ", std::strerror(errno)));
  std::setvbuf(file, nullptr, _IOFBF, 1 << 20);
  const bool csv = options.format == InputFormat::kCsv;
  if (csv) std::fputs("store_id,item_id,horizon_days,forecast,p90\n", file);
  char line[256];
  for (uint64_t i = 0; i < options.rows; ++i) {
    uint64_t horizon = i % options.horizons + 1;
    uint64_t item = (i / options.horizons) % options.items + 1000;
    uint64_t store = i / (options.horizons * options.items) + 1;
    double forecast = SampleForecast(options.seed, i);
    double p90 = forecast * 1.25;
    int n = csv ? std::snprintf(line, sizeof(line), "%llu,%llu,%llu,%.2f,%.4f\n", (unsigned long long)store,
                                (unsigned long long)item, (unsigned long long)horizon, forecast, p90)
                : std::snprintf(line, sizeof(line),
                                "{\"store_id\":%llu,\"item_id\":%llu,\"horizon_days\":%llu,\"forecast\":%.2f,"
                                "\"p90\":%.4f}\n",
                                (unsigned long long)store, (unsigned long long)item, (unsigned long long)horizon,
                                forecast, p90);
    std::fwrite(line, 1, n, file);
  }
  if (std::fclose(file) != 0) return absl::ResourceExhaustedError(StrCat(path.string(), ": write failed (disk full?)"));
  return absl::OkStatus();
}

}  // namespace predstore
