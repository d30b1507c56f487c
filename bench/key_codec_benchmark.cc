// Micro-benchmarks of the row codecs on the request path: KeyCodec::Encode
// and Decode for three int64 key columns and for two int64 plus one string
// column, and ValueCodec::Encode / ForEach for two double value columns.
// Inputs are seeded random rows, cycled so the loop is not one cached value.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "core/table/key_codec.h"
#include "core/table/key_mapping.h"
#include "core/table/schema.h"
#include "core/table/value_codec.h"

namespace predstore {
namespace {

constexpr size_t kRowCount = 4096;  // a power of two: index with a mask
constexpr uint64_t kSeed = 20240611;

Schema ThreeInt64Schema(KeyLayout layout = KeyLayout::kZOrder,
                        KeyNormalization normalization = KeyNormalization::kNone) {
  return *Schema::Create(
      {{"store_id", ColumnType::kInt64}, {"item_id", ColumnType::kInt64}, {"horizon_days", ColumnType::kInt64}},
      {{"forecast", ColumnType::kDouble}, {"p90", ColumnType::kDouble}}, std::nullopt, layout, normalization);
}

Schema TwoInt64OneStringSchema() {
  return *Schema::Create(
      {{"store_id", ColumnType::kInt64}, {"item_id", ColumnType::kInt64}, {"sku", ColumnType::kString}},
      {{"forecast", ColumnType::kDouble}, {"p90", ColumnType::kDouble}}, std::nullopt);
}

// Key cells in the ranges of the sample data: a few thousand stores, 500
// items, 14 horizons; strings like "SKU-00012345" (12 bytes).
std::vector<std::vector<Cell>> RandomKeyRows(bool with_string) {
  std::mt19937_64 rng(kSeed);
  std::vector<std::vector<Cell>> rows(kRowCount);
  for (auto& row : rows) {
    row.emplace_back(static_cast<int64_t>(rng() % 5000 + 1));
    row.emplace_back(static_cast<int64_t>(rng() % 500 + 1000));
    if (with_string) {
      char sku[32];
      std::snprintf(sku, sizeof(sku), "SKU-%08llu", static_cast<unsigned long long>(rng() % 100000000));
      row.emplace_back(std::string(sku));
    } else {
      row.emplace_back(static_cast<int64_t>(rng() % 14 + 1));
    }
  }
  return rows;
}

std::vector<std::string> EncodeAll(const KeyCodec& codec, const std::vector<std::vector<Cell>>& rows) {
  std::vector<std::string> keys;
  keys.reserve(rows.size());
  for (const auto& row : rows) codec.Encode(row, &keys.emplace_back());
  return keys;
}

// Encodes the rows in turn, one per iteration.
void EncodeLoop(benchmark::State& state, const KeyCodec& codec, const std::vector<std::vector<Cell>>& rows) {
  std::string key;
  size_t i = 0;
  for (auto _ : state) {
    key.clear();  // keeps its capacity, as the server's per-call buffer would after the first key
    codec.Encode(rows[i++ & (kRowCount - 1)], &key);
    benchmark::DoNotOptimize(key.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["key_bytes"] = static_cast<double>(key.size());
}

void KeyEncode(benchmark::State& state, bool with_string) {
  const Schema schema = with_string ? TwoInt64OneStringSchema() : ThreeInt64Schema();
  EncodeLoop(state, KeyCodec(schema), RandomKeyRows(with_string));
}

void KeyDecode(benchmark::State& state, bool with_string) {
  const Schema schema = with_string ? TwoInt64OneStringSchema() : ThreeInt64Schema();
  const KeyCodec codec(schema);
  const auto keys = EncodeAll(codec, RandomKeyRows(with_string));
  size_t i = 0;
  for (auto _ : state) {
    auto cells = codec.Decode(keys[i++ & (kRowCount - 1)]);
    if (!cells.ok()) {
      state.SkipWithError("Decode failed");
      break;
    }
    benchmark::DoNotOptimize(cells->data());
  }
  state.SetItemsProcessed(state.iterations());
}

// Encoding in each layout, normalised keys with the mapping fitted to the rows.
void KeyEncodeIn(benchmark::State& state, KeyLayout layout, KeyNormalization normalization) {
  const Schema schema = ThreeInt64Schema(layout, normalization);
  const auto rows = RandomKeyRows(false);
  KeyMapping mapping;
  if (normalization != KeyNormalization::kNone) {
    KeyStatistics statistics(3);
    for (const auto& row : rows) {
      statistics.Add(ZPoint{KeyCodec::OrdinalOf(row[0]), KeyCodec::OrdinalOf(row[1]), KeyCodec::OrdinalOf(row[2])});
    }
    mapping = statistics.Fit(normalization);
  }
  EncodeLoop(state, KeyCodec(schema, mapping), rows);
}

void BM_KeyEncode_3xInt64(benchmark::State& state) { KeyEncode(state, false); }
void BM_KeyEncode_3xInt64_Linear(benchmark::State& state) {
  KeyEncodeIn(state, KeyLayout::kLinear, KeyNormalization::kNone);
}
void BM_KeyEncode_3xInt64_ZOrderQuantile(benchmark::State& state) {
  KeyEncodeIn(state, KeyLayout::kZOrder, KeyNormalization::kQuantile);
}
void BM_KeyEncode_3xInt64_Hilbert(benchmark::State& state) {
  KeyEncodeIn(state, KeyLayout::kHilbert, KeyNormalization::kNone);
}
void BM_KeyEncode_3xInt64_HilbertQuantile(benchmark::State& state) {
  KeyEncodeIn(state, KeyLayout::kHilbert, KeyNormalization::kQuantile);
}
BENCHMARK(BM_KeyEncode_3xInt64_Linear);
BENCHMARK(BM_KeyEncode_3xInt64_ZOrderQuantile);
BENCHMARK(BM_KeyEncode_3xInt64_Hilbert);
BENCHMARK(BM_KeyEncode_3xInt64_HilbertQuantile);
void BM_KeyDecode_3xInt64(benchmark::State& state) { KeyDecode(state, false); }
void BM_KeyEncode_2xInt64_String(benchmark::State& state) { KeyEncode(state, true); }
void BM_KeyDecode_2xInt64_String(benchmark::State& state) { KeyDecode(state, true); }
BENCHMARK(BM_KeyEncode_3xInt64);
BENCHMARK(BM_KeyDecode_3xInt64);
BENCHMARK(BM_KeyEncode_2xInt64_String);
BENCHMARK(BM_KeyDecode_2xInt64_String);

std::vector<std::vector<Cell>> RandomValueRows() {
  std::mt19937_64 rng(kSeed + 1);
  std::uniform_real_distribution<double> forecast(0, 1000);
  std::vector<std::vector<Cell>> rows(kRowCount);
  for (auto& row : rows) {
    double f = forecast(rng);
    row = {Cell(f), Cell(f * 1.25)};
  }
  return rows;
}

void BM_ValueEncode_2xDouble(benchmark::State& state) {
  const Schema schema = ThreeInt64Schema();
  const ValueCodec codec(schema);
  const auto rows = RandomValueRows();
  std::string value;
  size_t i = 0;
  for (auto _ : state) {
    value.clear();
    codec.Encode(rows[i++ & (kRowCount - 1)], &value);
    benchmark::DoNotOptimize(value.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ValueEncode_2xDouble);

void BM_ValueForEach_2xDouble(benchmark::State& state) {
  const Schema schema = ThreeInt64Schema();
  const ValueCodec codec(schema);
  std::vector<std::string> values;
  for (const auto& row : RandomValueRows()) codec.Encode(row, &values.emplace_back());
  size_t i = 0;
  for (auto _ : state) {
    double sum = 0;
    absl::Status status = codec.ForEach(values[i++ & (kRowCount - 1)],
                                        [&sum](size_t, const CellView& cell) { sum += std::get<double>(cell); });
    if (!status.ok()) {
      state.SkipWithError("ForEach failed");
      break;
    }
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ValueForEach_2xDouble);

}  // namespace
}  // namespace predstore
