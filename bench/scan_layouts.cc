// predstore-bench-layouts: loads one forecast table (store_id x item_id x
// day) in each key encoding (layout and normalisation), once with uniform
// keys (every combination present) and once with Zipf-skewed stores and
// items, runs a fixed, seeded set of box queries of several shapes against
// each, and reports per encoding and shape: keys examined, data blocks
// touched (read from storage or found in the block cache), rows returned
// and the median scan latency; plus point-lookup latency per encoding.
// Writes a Markdown table to stdout and one gnuplot data file per data set.
// In-process (core only): the network is not measured.
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "core/ingest/batch_load.h"
#include "core/snapshot/prediction_store.h"

ABSL_FLAG(int64_t, stores, 200, "Uniform data: distinct store_id values (1..N).");
ABSL_FLAG(int64_t, items, 5000, "Uniform data: distinct item_id values (1..N).");
ABSL_FLAG(int32_t, days, 10, "Distinct days (both data sets).");
ABSL_FLAG(int64_t, zipf_stores, 20000, "Skewed data: store_id domain (1..N), Zipf-distributed.");
ABSL_FLAG(int64_t, zipf_items, 1000000, "Skewed data: item_id domain (1..N), Zipf-distributed.");
ABSL_FLAG(double, zipf_exponent, 1.1, "Skewed data: the Zipf exponent of stores and items.");
ABSL_FLAG(std::string, data, "uniform,zipf", "Data sets to run: uniform, zipf or both.");
ABSL_FLAG(int, placements, 10, "Random placements of each query shape.");
ABSL_FLAG(int, lookups, 20000, "Point lookups per encoding.");
ABSL_FLAG(uint64_t, seed, 1, "Seed of the data and the query placements.");
ABSL_FLAG(std::string, work_dir, "", "Folder for the data (default: a new temporary folder, removed at exit).");
ABSL_FLAG(std::string, dat_prefix, "", "If set, write <prefix>-<data>.dat (blocks per shape) for gnuplot.");

namespace predstore {
namespace {

namespace fs = std::filesystem;
constexpr int32_t kFirstDay = 20600;  // 2026-05-27

struct Shape {
  std::string name;
  // Box size per column as a fraction of its rows (1 = unbounded, 0 = one
  // value): a box over a skewed column is as selective as over a uniform one.
  double store, item, day;
};

const std::vector<Shape> kShapes = {
    {"point", 0, 0, 0},
    {"store slab (leading selective)", 0.01, 1, 1},
    {"item slab (2 cols, leading unselective)", 1, 0.004, 1},
    {"item x week (3 cols, leading unselective)", 1, 0.04, 0.7},
    {"cube 10%", 0.1, 0.1, 0.3},
};

struct Encoding {
  KeyLayout layout;
  KeyNormalization normalization;
  std::string Name() const {
    std::string name(KeyLayoutName(layout));
    if (normalization != KeyNormalization::kNone) name.append("_").append(KeyNormalizationName(normalization));
    return name;
  }
};

const std::vector<Encoding> kEncodings = {
    {KeyLayout::kZOrder, KeyNormalization::kNone},    {KeyLayout::kZOrder, KeyNormalization::kMinMax},
    {KeyLayout::kZOrder, KeyNormalization::kQuantile}, {KeyLayout::kHilbert, KeyNormalization::kNone},
    {KeyLayout::kHilbert, KeyNormalization::kQuantile}, {KeyLayout::kLinear, KeyNormalization::kNone},
};

// One data set: its CSV and where its rows are, for placing boxes.
struct DataSet {
  std::string name;
  fs::path csv;
  int64_t stores = 0, items = 0;
  uint64_t rows = 0;
  // (store, item, day index) of random rows, and each column's values
  // among them sorted (the column's quantiles).
  std::vector<std::array<int64_t, 3>> sample;
  std::array<std::vector<int64_t>, 3> quantiles;
  void SortQuantiles() {
    for (size_t c = 0; c < 3; ++c) {
      for (const auto& row : sample) quantiles[c].push_back(row[c]);
      std::sort(quantiles[c].begin(), quantiles[c].end());
    }
  }
};

struct Totals {
  uint64_t keys = 0, blocks = 0, rows = 0;
  std::vector<double> micros;
  double Median() {
    std::sort(micros.begin(), micros.end());
    return micros.empty() ? 0 : micros[micros.size() / 2];
  }
};

// Zipf-distributed ranks 1..n (exponent s), by inverse transform over the
// cumulative weights.
class Zipf {
 public:
  Zipf(int64_t n, double s) {
    cumulative_.reserve(n);
    double sum = 0;
    for (int64_t k = 1; k <= n; ++k) cumulative_.push_back(sum += std::pow(static_cast<double>(k), -s));
  }
  int64_t operator()(std::mt19937_64& rng) const {
    double u = std::uniform_real_distribution<double>(0, cumulative_.back())(rng);
    return std::lower_bound(cumulative_.begin(), cumulative_.end(), u) - cumulative_.begin() + 1;
  }

 private:
  std::vector<double> cumulative_;
};

void WriteRow(std::FILE* out, int64_t store, int64_t item, int32_t day) {
  std::fprintf(out, "%lld,%lld,%s,%.2f\n", (long long)store, (long long)item, FormatCell(Date{kFirstDay + day}).c_str(),
               static_cast<double>((store * 31 + item * 7 + day) % 1000) / 10);
}

// An empty data set named `name`, its CSV in `work`, with the given domains.
DataSet Named(const std::string& name, const fs::path& work, int64_t stores, int64_t items) {
  DataSet data;
  data.name = name;
  data.csv = work / name;
  data.csv += ".csv";
  data.stores = stores;
  data.items = items;
  return data;
}

DataSet Uniform(const fs::path& work, std::mt19937_64& rng) {
  DataSet data = Named("uniform", work, absl::GetFlag(FLAGS_stores), absl::GetFlag(FLAGS_items));
  const int32_t days = absl::GetFlag(FLAGS_days);
  std::FILE* out = std::fopen(data.csv.c_str(), "w");
  std::fputs("store_id,item_id,day,forecast\n", out);
  for (int64_t s = 1; s <= data.stores; ++s) {
    for (int64_t i = 1; i <= data.items; ++i) {
      for (int32_t d = 0; d < days; ++d) WriteRow(out, s, i, d);
    }
  }
  std::fclose(out);
  data.rows = static_cast<uint64_t>(data.stores) * data.items * days;
  for (int n = 0; n < 4096; ++n) {
    data.sample.push_back({static_cast<int64_t>(rng() % data.stores) + 1, static_cast<int64_t>(rng() % data.items) + 1,
                           static_cast<int64_t>(rng() % days)});
  }
  data.SortQuantiles();
  return data;
}

// As many rows as the uniform set: per day, distinct (store, item) pairs
// drawn from two Zipf distributions (a few hot stores, hot items).
DataSet Skewed(const fs::path& work, std::mt19937_64& rng) {
  DataSet data = Named("zipf", work, absl::GetFlag(FLAGS_zipf_stores), absl::GetFlag(FLAGS_zipf_items));
  const int32_t days = absl::GetFlag(FLAGS_days);
  const uint64_t per_day = static_cast<uint64_t>(absl::GetFlag(FLAGS_stores)) * absl::GetFlag(FLAGS_items);
  const Zipf stores(data.stores, absl::GetFlag(FLAGS_zipf_exponent));
  const Zipf items(data.items, absl::GetFlag(FLAGS_zipf_exponent));
  std::FILE* out = std::fopen(data.csv.c_str(), "w");
  std::fputs("store_id,item_id,day,forecast\n", out);
  std::unordered_set<uint64_t> seen;
  for (int32_t d = 0; d < days; ++d) {
    seen.clear();
    while (seen.size() < per_day) {
      const int64_t store = stores(rng), item = items(rng);
      if (!seen.insert(static_cast<uint64_t>(store) * (data.items + 1) + item).second) continue;
      WriteRow(out, store, item, d);
      if (rng() % std::max<uint64_t>(1, per_day * days / 4096) == 0) data.sample.push_back({store, item, d});
    }
  }
  std::fclose(out);
  data.rows = per_day * days;
  data.SortQuantiles();
  return data;
}

std::string TableName(const DataSet& data, const Encoding& encoding) { return data.name + "_" + encoding.Name(); }

// A range holding about `fraction` of a column's rows: between two of its
// quantiles, at a random place.
ScanQuery::Range RangeOver(std::mt19937_64& rng, const std::vector<int64_t>& quantiles, double fraction, auto make) {
  ScanQuery::Range range;
  if (fraction >= 1) return range;
  const size_t width = std::max<size_t>(1, static_cast<size_t>(fraction * quantiles.size()));
  const size_t low = rng() % (quantiles.size() - width + 1);
  range.low.emplace(make(quantiles[low]));
  range.high.emplace(make(quantiles[low + width - 1]));
  return range;
}

int RunScans(PredictionStore& store, const DataSet& data) {
  const int32_t days = absl::GetFlag(FLAGS_days);
  std::printf("\n## %s: %llu rows (store_id 1..%lld, item_id 1..%lld, %d days), %d placements per shape\n\n",
              data.name.c_str(), (unsigned long long)data.rows, (long long)data.stores, (long long)data.items, days,
              absl::GetFlag(FLAGS_placements));
  std::printf("| encoding | query shape | keys examined | data blocks | rows | median scan (us) |\n");
  std::printf("| --- | --- | ---: | ---: | ---: | ---: |\n");
  std::vector<std::string> dat_lines;
  for (const Shape& shape : kShapes) {
    // The shape's name up to its parenthesis, for the figure's axis.
    std::string dat = "\"";
    dat.append(shape.name, 0, shape.name.find(" (")).append("\"");
    for (const Encoding& encoding : kEncodings) {
      auto snapshot = store.Find(TableName(data, encoding));
      std::mt19937_64 rng(absl::GetFlag(FLAGS_seed));  // the same boxes for every encoding
      Totals totals;
      for (int p = 0; p < absl::GetFlag(FLAGS_placements); ++p) {
        ScanQuery query;
        if (shape.store == 0 && shape.item == 0 && shape.day == 0) {  // a point: a row of the data
          const auto& [store_id, item_id, day] = data.sample[rng() % data.sample.size()];
          for (const Cell& cell : {Cell(store_id), Cell(item_id), Cell(Date{kFirstDay + static_cast<int32_t>(day)})}) {
            query.ranges.push_back(ScanQuery::Range{cell, cell});
          }
        } else {
          query.ranges.push_back(RangeOver(rng, data.quantiles[0], shape.store, [](int64_t v) { return Cell(v); }));
          query.ranges.push_back(RangeOver(rng, data.quantiles[1], shape.item, [](int64_t v) { return Cell(v); }));
          query.ranges.push_back(RangeOver(rng, data.quantiles[2], shape.day, [](int64_t v) {
            return Cell(Date{kFirstDay + static_cast<int32_t>(v)});
          }));
        }
        for (int pass = 0; pass < 2; ++pass) {  // the second pass is measured: caches warm
          auto start = std::chrono::steady_clock::now();
          auto result = snapshot->Scan(query, [](std::string_view, std::string_view) {});
          double micros = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
          if (!result.ok()) return 1;
          if (pass == 1) {
            totals.keys += result->stats.keys_examined;
            totals.blocks += result->stats.data_blocks_read + result->stats.data_blocks_cached;
            totals.rows += result->stats.rows_returned;
            totals.micros.push_back(micros);
          }
        }
      }
      std::printf("| %s | %s | %llu | %llu | %llu | %.0f |\n", encoding.Name().c_str(), shape.name.c_str(),
                  (unsigned long long)totals.keys, (unsigned long long)totals.blocks, (unsigned long long)totals.rows,
                  totals.Median());
      dat.append(" ").append(std::to_string(totals.blocks));
    }
    dat_lines.push_back(dat);
  }

  // Point lookups (encode + Get) of the same keys in each encoding, key by
  // key in rotating order so that all see the same machine state; a first
  // unmeasured round warms the block cache with the looked-up blocks.
  std::printf("\n| encoding | point lookup (encode + Get) median us | p99 us |\n| --- | ---: | ---: |\n");
  std::vector<std::shared_ptr<const TableSnapshot>> snapshots;
  for (const Encoding& encoding : kEncodings) snapshots.push_back(store.Find(TableName(data, encoding)));
  const size_t n_encodings = kEncodings.size();
  std::vector<std::vector<double>> micros(n_encodings);
  std::string key;
  for (int round = 0; round < 2; ++round) {
    std::mt19937_64 rng(absl::GetFlag(FLAGS_seed) + 1);
    for (int n = 0; n < absl::GetFlag(FLAGS_lookups); ++n) {
      const auto& [store_id, item_id, day] = data.sample[rng() % data.sample.size()];
      std::vector<Cell> cells = {Cell(store_id), Cell(item_id), Cell(Date{kFirstDay + static_cast<int32_t>(day)})};
      for (size_t k = 0; k < n_encodings; ++k) {
        const size_t e = (k + n) % n_encodings;
        auto start = std::chrono::steady_clock::now();
        key.clear();
        snapshots[e]->key_codec().Encode(cells, &key);
        auto found = snapshots[e]->Get(key, [](std::string_view) {});
        double elapsed = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
        if (!found.ok() || !*found) {
          std::fprintf(stderr, "lookup of a loaded key failed in %s\n", kEncodings[e].Name().c_str());
          return 1;
        }
        if (round == 1) micros[e].push_back(elapsed);
      }
    }
  }
  for (size_t e = 0; e < n_encodings; ++e) {
    std::sort(micros[e].begin(), micros[e].end());
    std::printf("| %s | %.2f | %.2f |\n", kEncodings[e].Name().c_str(), micros[e][micros[e].size() / 2],
                micros[e][micros[e].size() * 99 / 100]);
  }

  if (std::string prefix = absl::GetFlag(FLAGS_dat_prefix); !prefix.empty()) {
    std::ofstream out(prefix + "-" + data.name + ".dat");
    out << "shape";  // a header line: gnuplot's columnheader titles
    for (const Encoding& encoding : kEncodings) out << " " << encoding.Name();
    out << "\n";
    for (const std::string& line : dat_lines) out << line << "\n";
  }
  return 0;
}

int Run() {
  fs::path work = absl::GetFlag(FLAGS_work_dir);
  const bool temporary = work.empty();
  if (temporary) work = fs::temp_directory_path() / ("predstore-layouts-" + std::to_string(getpid()));
  fs::create_directories(work);
  const std::string wanted = absl::GetFlag(FLAGS_data);
  std::mt19937_64 rng(absl::GetFlag(FLAGS_seed));

  std::vector<DataSet> data_sets;
  if (wanted.find("uniform") != std::string::npos) data_sets.push_back(Uniform(work, rng));
  if (wanted.find("zipf") != std::string::npos) data_sets.push_back(Skewed(work, rng));
  std::printf("# Key layouts and normalisation\n");
  for (const DataSet& data : data_sets) {
    for (const Encoding& encoding : kEncodings) {
      auto schema = Schema::Create({{"store_id", ColumnType::kInt64}, {"item_id", ColumnType::kInt64},
                                    {"day", ColumnType::kDate}},
                                   {{"forecast", ColumnType::kDouble}}, std::nullopt, encoding.layout,
                                   encoding.normalization);
      LoadRequest request;
      request.data_dir = work / "data";
      request.table = TableName(data, encoding);
      request.schema = *schema;
      request.inputs = {data.csv};
      auto loaded = LoadSnapshot(request);
      if (!loaded.ok()) {
        std::fprintf(stderr, "load failed: %s\n", std::string(loaded.status().message()).c_str());
        return 1;
      }
      std::fprintf(stderr, "%s: loaded %llu rows in %.1f s\n", request.table.c_str(), (unsigned long long)loaded->rows,
                   loaded->seconds);
    }
    fs::remove(data.csv);
  }
  // RocksDB reads only: the memory index would answer point lookups from a
  // hash map whatever the layout.
  StoreOptions options;
  options.data_dir = work / "data";
  options.memory_index_bytes = 0;
  auto store = PredictionStore::Open(options);
  if (!store.ok()) return 1;
  for (const DataSet& data : data_sets) {
    if (int failed = RunScans(**store, data); failed != 0) return failed;
  }
  store->reset();
  if (temporary) fs::remove_all(work);
  return 0;
}

}  // namespace
}  // namespace predstore

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return predstore::Run();
}
