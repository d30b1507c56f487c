#include "core/ingest/sample_data.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>

#include "core/base/status_macros.h"
#include "core/base/strings.h"
#include "core/parquet/file_writer.h"
#include "core/model/sample_model.h"

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

SampleKey SampleKeyAt(const SampleOptions& options, uint64_t index) {
  return SampleKey{static_cast<int64_t>(index / (options.horizons * options.items) + 1),
                   static_cast<int64_t>((index / options.horizons) % options.items) + kSampleFirstItemId,
                   static_cast<int64_t>(index % options.horizons + 1)};
}

uint64_t SampleIndexOf(const SampleOptions& options, const SampleKey& key) {
  return static_cast<uint64_t>(key.store_id - 1) * options.items * options.horizons +
         static_cast<uint64_t>(key.item_id - kSampleFirstItemId) * options.horizons +
         static_cast<uint64_t>(key.horizon_days - 1);
}

absl::Status WriteSampleFeaturesFile(const std::filesystem::path& path, const SampleOptions& options, int features) {
  if (options.items == 0 || options.horizons == 0) return absl::InvalidArgumentError("items and horizons must be > 0");
  if (features < 1) return absl::InvalidArgumentError("features must be >= 1");
  if (options.format == InputFormat::kParquet) {
    return absl::InvalidArgumentError("sample features are written as .csv or .jsonl");
  }
  FILE* file = std::fopen(path.c_str(), "w");
  if (!file) return absl::InternalError(StrCat(path.string(), ": cannot create: ", std::strerror(errno)));
  std::setvbuf(file, nullptr, _IOFBF, 1 << 20);
  const bool csv = options.format == InputFormat::kCsv;
  if (csv) {
    std::fputs("store_id,item_id,horizon_days", file);
    for (int f = 0; f < features; ++f) std::fprintf(file, ",f%d", f);
    std::fputc('\n', file);
  }
  constexpr uint64_t kBlockRows = 4096;  // feature values are drawn per block of rows
  for (uint64_t block = 0; block < options.rows; block += kBlockRows) {
    const uint64_t rows = std::min(kBlockRows, options.rows - block);
    const std::vector<float> values = SampleFeatureRows(static_cast<int>(rows), features, options.seed + block);
    for (uint64_t r = 0; r < rows; ++r) {
      const SampleKey key = SampleKeyAt(options, block + r);
      if (csv) {
        std::fprintf(file, "%lld,%lld,%lld", (long long)key.store_id, (long long)key.item_id,
                     (long long)key.horizon_days);
        for (int f = 0; f < features; ++f) std::fprintf(file, ",%.6g", values[r * features + f]);
      } else {
        std::fprintf(file, "{\"store_id\":%lld,\"item_id\":%lld,\"horizon_days\":%lld", (long long)key.store_id,
                     (long long)key.item_id, (long long)key.horizon_days);
        for (int f = 0; f < features; ++f) std::fprintf(file, ",\"f%d\":%.6g", f, values[r * features + f]);
        std::fputc('}', file);
      }
      std::fputc('\n', file);
    }
  }
  if (std::fclose(file) != 0) return absl::ResourceExhaustedError(StrCat(path.string(), ": write failed (disk full?)"));
  return absl::OkStatus();
}

// The sample as Parquet, as a Spark job writes it: SNAPPY pages, row groups
// of about a million rows, required INT64 keys and DOUBLE values holding
// exactly the values the CSV form writes (rounded to 2 and 4 decimals), so
// both forms load the same table.
absl::Status WriteSampleParquet(const std::filesystem::path& path, const SampleOptions& options) {
  using parquet::ColumnValues;
  using parquet::PhysicalType;
  std::vector<parquet::ParquetColumnSpec> columns;
  for (const char* name : {"store_id", "item_id", "horizon_days"}) columns.push_back({name, PhysicalType::kInt64, {}, false});
  for (const char* name : {"forecast", "p90"}) columns.push_back({name, PhysicalType::kDouble, {}, false});
  parquet::ParquetWriterOptions writer_options;
  writer_options.codec = parquet::Codec::kSnappy;
  PREDSTORE_ASSIGN_OR_RETURN(auto writer, parquet::ParquetWriter::Create(path.string(), columns, writer_options));
  constexpr uint64_t kRowGroupRows = 1 << 20;
  char text[64];
  auto rounded = [&](const char* format, double value) {
    std::snprintf(text, sizeof(text), format, value);
    return std::strtod(text, nullptr);
  };
  for (uint64_t begin = 0; begin < options.rows; begin += kRowGroupRows) {
    const uint64_t rows = std::min(kRowGroupRows, options.rows - begin);
    std::vector<int64_t> stores(rows), items(rows), horizons(rows);
    std::vector<double> forecasts(rows), p90s(rows);
    for (uint64_t r = 0; r < rows; ++r) {
      const SampleKey key = SampleKeyAt(options, begin + r);
      stores[r] = key.store_id;
      items[r] = key.item_id;
      horizons[r] = key.horizon_days;
      const double forecast = SampleForecast(options.seed, begin + r);
      forecasts[r] = rounded("%.2f", forecast);
      p90s[r] = rounded("%.4f", forecast * 1.25);
    }
    std::vector<ColumnValues> group(5);
    group[0].values = std::move(stores);
    group[1].values = std::move(items);
    group[2].values = std::move(horizons);
    group[3].values = std::move(forecasts);
    group[4].values = std::move(p90s);
    PREDSTORE_RETURN_IF_ERROR(writer->WriteRowGroup(group));
  }
  return writer->Close();
}

absl::Status WriteSampleFile(const std::filesystem::path& path, const SampleOptions& options) {
  if (options.items == 0 || options.horizons == 0) return absl::InvalidArgumentError("items and horizons must be > 0");
  if (options.format == InputFormat::kParquet) return WriteSampleParquet(path, options);
  FILE* file = std::fopen(path.c_str(), "w");
  if (!file) return absl::InternalError(StrCat(path.string(), ": cannot create: ", std::strerror(errno)));
  std::setvbuf(file, nullptr, _IOFBF, 1 << 20);
  const bool csv = options.format == InputFormat::kCsv;
  if (csv) std::fputs("store_id,item_id,horizon_days,forecast,p90\n", file);
  char line[256];
  for (uint64_t i = 0; i < options.rows; ++i) {
    const SampleKey key = SampleKeyAt(options, i);
    const auto store = key.store_id, item = key.item_id, horizon = key.horizon_days;
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
