// Generates seeded sample prediction files: a demand forecast keyed by three
// integer columns (store_id, item_id, horizon_days) with two values
// (forecast, p90). Used by the quick-start demo, tests and benchmarks.
#pragma once

#include <cstdint>
#include <filesystem>

#include "absl/status/status.h"
#include "core/record_reader.h"
#include "core/schema.h"

namespace predstore {

struct SampleOptions {
  uint64_t rows = 1000;
  uint64_t seed = 42;
  // Distinct items per store and horizons per item; stores grow with rows.
  uint64_t items = 500;
  uint64_t horizons = 14;
  InputFormat format = InputFormat::kCsv;
};

// The sample's schema: keys store_id, item_id, horizon_days (int64);
// values forecast, p90 (double).
Schema SampleSchema();

// Writes `options.rows` rows with unique keys to `path`. The same options
// always produce the same file. kInternal/kResourceExhausted on write errors.
absl::Status WriteSampleFile(const std::filesystem::path& path, const SampleOptions& options);

// The forecast value of the row at `index` for `seed`, as written to the file.
double SampleForecast(uint64_t seed, uint64_t index);

}  // namespace predstore
