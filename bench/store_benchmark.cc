// In-process benchmarks of the read path of PredictionStore, with no network:
// TableSnapshot::Get of random existing keys, Get of missing keys, and
// MultiGet of 100 random keys.
//
// Setup (once per process, before the first benchmark): WriteSampleFile
// writes PREDSTORE_BENCH_ROWS sample rows (default 1,000,000) into a fresh
// temporary folder, LoadSnapshot loads them as table "forecasts", and
// PredictionStore::Open opens the data directory with the default 256 MiB
// block cache. The folder is removed at exit. Keys are drawn with a fixed
// seed and encoded before timing, so the timed loop is the store read plus
// decoding the value with ValueCodec::ForEach, as the server does.
//
// Counters: items_per_second counts keys; "per_key" is the time per key
// (the inverse rate); "hit_ratio" is the fraction of keys found, which must
// be 1 for existing keys and 0 for missing ones.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "core/ingest/batch_load.h"
#include "core/ingest/sample_data.h"
#include "core/snapshot/prediction_store.h"

namespace predstore {
namespace {

constexpr uint64_t kDefaultRows = 1000000;
constexpr uint64_t kKeySeed = 7;
constexpr size_t kKeyPoolSize = size_t{1} << 16;  // a power of two: index with a mask
constexpr size_t kMultiGetKeys = 100;
constexpr char kTable[] = "forecasts";

uint64_t RowsFromEnvironment() {
  const char* text = std::getenv("PREDSTORE_BENCH_ROWS");
  if (text == nullptr || *text == '\0') return kDefaultRows;
  char* end = nullptr;
  unsigned long long rows = std::strtoull(text, &end, 10);
  if (*end != '\0' || rows == 0) {
    std::fprintf(stderr, "store_benchmark: PREDSTORE_BENCH_ROWS=%s is not a positive integer; using %llu\n", text,
                 static_cast<unsigned long long>(kDefaultRows));
    return kDefaultRows;
  }
  return rows;
}

// The sample's key cells of row `index`: the formula of WriteSampleFile.
std::vector<Cell> SampleKey(const SampleOptions& options, uint64_t index) {
  return {Cell(static_cast<int64_t>(index / (options.horizons * options.items) + 1)),
          Cell(static_cast<int64_t>((index / options.horizons) % options.items + 1000)),
          Cell(static_cast<int64_t>(index % options.horizons + 1))};
}

// The loaded sample table, built on first use and removed at exit.
class SampleStore {
 public:
  static SampleStore& Get() {
    static SampleStore store;
    return store;
  }

  SampleStore(const SampleStore&) = delete;
  SampleStore& operator=(const SampleStore&) = delete;

  ~SampleStore() {
    snapshot_.reset();
    store_.reset();
    if (!root_.empty()) {
      std::error_code ignored;  // best effort: a leftover temp folder is harmless
      std::filesystem::remove_all(root_, ignored);
    }
  }

  // Null when setup failed (error() says why).
  const TableSnapshot* snapshot() const { return snapshot_.get(); }
  const std::string& error() const { return error_; }
  const SampleOptions& options() const { return options_; }

  // kKeyPoolSize encoded keys of random existing rows, or of absent rows:
  // stores in range but item ids past the sample's items, so they fall
  // between existing keys in z-order rather than past the end.
  std::vector<std::string> Keys(bool existing) const {
    std::mt19937_64 rng(kKeySeed + (existing ? 0 : 1));
    std::vector<std::string> keys(kKeyPoolSize);
    const uint64_t stores =
        (options_.rows + options_.horizons * options_.items - 1) / (options_.horizons * options_.items);
    for (auto& key : keys) {
      std::vector<Cell> cells = SampleKey(options_, rng() % options_.rows);
      if (!existing) {
        cells[0] = Cell(static_cast<int64_t>(rng() % stores + 1));
        cells[1] = Cell(static_cast<int64_t>(1000 + options_.items + rng() % options_.items));
      }
      snapshot_->key_codec().Encode(cells, &key);
    }
    return keys;
  }

 private:
  SampleStore() {
    options_.rows = RowsFromEnvironment();
    char pattern[] = "/tmp/predstore-store-bench-XXXXXX";
    if (mkdtemp(pattern) == nullptr) {
      error_ = "cannot create a temporary folder";
      return;
    }
    root_ = pattern;
    const std::filesystem::path sample = root_ / "sample.csv";
    absl::Status written = WriteSampleFile(sample, options_);
    if (!written.ok()) {
      error_ = written.ToString();
      return;
    }
    LoadRequest request;
    request.data_dir = root_ / "data";
    request.table = kTable;
    request.schema = SampleSchema();
    request.inputs = {sample};
    auto loaded = LoadSnapshot(request);
    if (!loaded.ok()) {
      error_ = loaded.status().ToString();
      return;
    }
    std::filesystem::remove(sample);
    std::fprintf(stderr, "store_benchmark: loaded %llu sample rows in %.2f s (%zu part(s)) into %s\n",
                 static_cast<unsigned long long>(loaded->rows), loaded->seconds, loaded->parts,
                 request.data_dir.c_str());
    StoreOptions store_options;
    store_options.data_dir = request.data_dir;
    auto store = PredictionStore::Open(store_options);
    if (!store.ok()) {
      error_ = store.status().ToString();
      return;
    }
    store_ = std::move(*store);
    snapshot_ = store_->Find(kTable);
    if (!snapshot_) error_ = "the loaded table is not served";
  }

  SampleOptions options_;
  std::filesystem::path root_;
  std::unique_ptr<PredictionStore> store_;
  std::shared_ptr<const TableSnapshot> snapshot_;
  std::string error_;
};

void ReportKeys(benchmark::State& state, uint64_t keys, uint64_t hits) {
  state.SetItemsProcessed(static_cast<int64_t>(keys));
  state.counters["per_key"] =
      benchmark::Counter(static_cast<double>(keys), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["hit_ratio"] = keys ? static_cast<double>(hits) / static_cast<double>(keys) : 0.0;
  state.counters["rows"] = static_cast<double>(SampleStore::Get().options().rows);
}

// Get of one encoded key at a time; a hit decodes both doubles.
void GetKeys(benchmark::State& state, bool existing) {
  const SampleStore& sample = SampleStore::Get();
  const TableSnapshot* table = sample.snapshot();
  if (table == nullptr) {
    state.SkipWithError(("setup failed: " + sample.error()).c_str());
    return;
  }
  const std::vector<std::string> keys = sample.Keys(existing);
  uint64_t done = 0, hits = 0;
  double sum = 0;
  for (auto _ : state) {
    absl::Status decoded;
    auto found = table->Get(keys[done++ & (kKeyPoolSize - 1)], [&](std::string_view value) {
      decoded =
          table->value_codec().ForEach(value, [&sum](size_t, const CellView& cell) { sum += std::get<double>(cell); });
    });
    if (!found.ok() || !decoded.ok()) {
      state.SkipWithError("Get failed");
      return;
    }
    hits += *found;
  }
  benchmark::DoNotOptimize(sum);
  ReportKeys(state, done, hits);
}

void BM_Get_Existing(benchmark::State& state) { GetKeys(state, true); }
void BM_Get_Missing(benchmark::State& state) { GetKeys(state, false); }
BENCHMARK(BM_Get_Existing);
BENCHMARK(BM_Get_Missing);

// MultiGet of kMultiGetKeys random existing keys per iteration.
void BM_MultiGet_100(benchmark::State& state) {
  const SampleStore& sample = SampleStore::Get();
  const TableSnapshot* table = sample.snapshot();
  if (table == nullptr) {
    state.SkipWithError(("setup failed: " + sample.error()).c_str());
    return;
  }
  const std::vector<std::string> pool = sample.Keys(true);
  std::vector<std::string_view> batch(kMultiGetKeys);
  uint64_t next = 0, keys = 0, hits = 0;
  double sum = 0;
  for (auto _ : state) {
    for (auto& key : batch) key = pool[next++ & (kKeyPoolSize - 1)];
    absl::Status decoded;
    absl::Status status = table->MultiGet(batch, [&](size_t, const std::string_view* value) {
      if (value == nullptr) return;
      ++hits;
      absl::Status s =
          table->value_codec().ForEach(*value, [&sum](size_t, const CellView& cell) { sum += std::get<double>(cell); });
      if (!s.ok()) decoded = s;
    });
    if (!status.ok() || !decoded.ok()) {
      state.SkipWithError("MultiGet failed");
      return;
    }
    keys += batch.size();
  }
  benchmark::DoNotOptimize(sum);
  ReportKeys(state, keys, hits);
}
BENCHMARK(BM_MultiGet_100);

}  // namespace
}  // namespace predstore
