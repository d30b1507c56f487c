// Generates seeded sample prediction files: a demand forecast keyed by three
// integer columns (store_id, item_id, horizon_days) with two values
// (forecast, p90). Used by the quick-start demo, tests and benchmarks.
#pragma once

#include <cstdint>
#include <filesystem>

#include "absl/status/status.h"
#include "core/ingest/record_reader.h"
#include "core/table/schema.h"

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

// Writes `options.rows` rows with unique keys to `path` as CSV, JSON Lines
// or Parquet (written by core/parquet's own writer; the same values as the
// CSV form). The same options always produce the same file. kInternal/kResourceExhausted on write errors.
absl::Status WriteSampleFile(const std::filesystem::path& path, const SampleOptions& options);

// The key of the sample's row `index`: store_id = index / (horizons * items)
// + 1, item_id = (index / horizons) % items + kSampleFirstItemId,
// horizon_days = index % horizons + 1.
inline constexpr int64_t kSampleFirstItemId = 1000;
struct SampleKey {
  int64_t store_id = 0;
  int64_t item_id = 0;
  int64_t horizon_days = 0;
};
SampleKey SampleKeyAt(const SampleOptions& options, uint64_t index);
// The inverse: the row index SampleKeyAt maps to `key`. REQUIRES: store_id
// >= 1, item_id and horizon_days within the options' items and horizons
// (the row may lie past options.rows; the caller compares).
uint64_t SampleIndexOf(const SampleOptions& options, const SampleKey& key);

// Writes a features file for batch scoring: the sample's keys (rows
// 0..rows-1) then `features` columns f0..f<features-1> of
// SampleFeatureRows(rows, features, seed) values, as CSV or JSON Lines.
absl::Status WriteSampleFeaturesFile(const std::filesystem::path& path, const SampleOptions& options, int features);

// The forecast value of the row at `index` for `seed`, as written to the file.
double SampleForecast(uint64_t seed, uint64_t index);

}  // namespace predstore
