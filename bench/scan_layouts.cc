// predstore-bench-layouts: loads one forecast table (store_id x item_id x
// day, every combination present) in each key layout, runs a fixed, seeded
// set of box queries of several shapes against each, and reports per layout
// and shape: keys examined, data blocks touched (read from storage or found
// in the block cache), rows returned and the median scan latency; plus
// point-lookup latency per layout. Writes a Markdown table to stdout and a
// gnuplot data file. In-process (core only): the network is not measured.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "core/batch_load.h"
#include "core/prediction_store.h"

ABSL_FLAG(int64_t, stores, 200, "Distinct store_id values (1..N).");
ABSL_FLAG(int64_t, items, 5000, "Distinct item_id values (1..N).");
ABSL_FLAG(int32_t, days, 10, "Distinct days.");
ABSL_FLAG(int, placements, 10, "Random placements of each query shape.");
ABSL_FLAG(int, lookups, 20000, "Point lookups per layout.");
ABSL_FLAG(uint64_t, seed, 1, "Seed of the query placements.");
ABSL_FLAG(std::string, work_dir, "", "Folder for the data (default: a new temporary folder, removed at exit).");
ABSL_FLAG(std::string, dat, "", "If set, write the blocks-per-shape table here for gnuplot.");

namespace predstore {
namespace {

namespace fs = std::filesystem;
constexpr int32_t kFirstDay = 20600;  // 2026-05-27

struct Shape {
  std::string name;
  // Box size per column as a fraction of its domain (1 = unbounded, 0 = one value).
  double store, item, day;
};

const std::vector<Shape> kShapes = {
    {"point", 0, 0, 0},
    {"store slab (leading selective)", 0.01, 1, 1},
    {"item slab (2 cols, leading unselective)", 1, 0.004, 1},
    {"item x week (3 cols, leading unselective)", 1, 0.04, 0.7},
    {"cube 10%", 0.1, 0.1, 0.3},
};

struct Totals {
  uint64_t keys = 0, blocks = 0, rows = 0;
  std::vector<double> micros;
  double Median() {
    std::sort(micros.begin(), micros.end());
    return micros.empty() ? 0 : micros[micros.size() / 2];
  }
};

ScanQuery::Range RangeOver(std::mt19937_64& rng, int64_t size, double fraction, auto make) {
  ScanQuery::Range range;
  if (fraction >= 1) return range;
  int64_t width = std::max<int64_t>(1, static_cast<int64_t>(fraction * size));
  int64_t low = static_cast<int64_t>(rng() % (size - width + 1));
  range.low.emplace(make(low));
  range.high.emplace(make(low + width - 1));
  return range;
}

int Run() {
  const int64_t stores = absl::GetFlag(FLAGS_stores), items = absl::GetFlag(FLAGS_items);
  const int32_t days = absl::GetFlag(FLAGS_days);
  fs::path work = absl::GetFlag(FLAGS_work_dir);
  const bool temporary = work.empty();
  if (temporary) work = fs::temp_directory_path() / ("predstore-layouts-" + std::to_string(getpid()));
  fs::create_directories(work);

  fs::path csv = work / "forecasts.csv";
  {
    std::FILE* out = std::fopen(csv.c_str(), "w");
    std::fputs("store_id,item_id,day,forecast\n", out);
    for (int64_t s = 1; s <= stores; ++s) {
      for (int64_t i = 1; i <= items; ++i) {
        for (int32_t d = 0; d < days; ++d) {
          std::fprintf(out, "%lld,%lld,%s,%.2f\n", (long long)s, (long long)i,
                       FormatCell(Date{kFirstDay + d}).c_str(), static_cast<double>((s * 31 + i * 7 + d) % 1000) / 10);
        }
      }
    }
    std::fclose(out);
  }
  const uint64_t total_rows = static_cast<uint64_t>(stores) * items * days;
  std::printf("# Key layouts: %llu rows (%lld stores x %lld items x %d days), %d placements per shape\n\n",
              (unsigned long long)total_rows, (long long)stores, (long long)items, days,
              absl::GetFlag(FLAGS_placements));

  std::vector<std::string> dat_lines;
  std::printf("| layout | query shape | keys examined | data blocks | rows | median scan (us) |\n");
  std::printf("| --- | --- | ---: | ---: | ---: | ---: |\n");
  std::vector<std::pair<std::string, double>> lookup_medians;
  for (KeyLayout layout : {KeyLayout::kZOrder, KeyLayout::kLinear}) {
    std::string name(KeyLayoutName(layout));
    auto schema = Schema::Create({{"store_id", ColumnType::kInt64}, {"item_id", ColumnType::kInt64},
                                  {"day", ColumnType::kDate}},
                                 {{"forecast", ColumnType::kDouble}}, std::nullopt, layout);
    LoadRequest request;
    request.data_dir = work / "data";
    request.table = name;
    request.schema = *schema;
    request.inputs = {csv};
    auto loaded = LoadSnapshot(request);
    if (!loaded.ok()) {
      std::fprintf(stderr, "load failed: %s\n", std::string(loaded.status().message()).c_str());
      return 1;
    }
    std::fprintf(stderr, "%s: loaded %llu rows in %.1f s\n", name.c_str(), (unsigned long long)loaded->rows,
                 loaded->seconds);
  }
  auto store = PredictionStore::Open({work / "data"});
  if (!store.ok()) return 1;

  for (const Shape& shape : kShapes) {
    std::string dat = "\"" + shape.name + "\"";
    for (KeyLayout layout : {KeyLayout::kZOrder, KeyLayout::kLinear}) {
      auto snapshot = (*store)->Find(std::string(KeyLayoutName(layout)));
      std::mt19937_64 rng(absl::GetFlag(FLAGS_seed));  // the same boxes for every layout
      Totals totals;
      for (int p = 0; p < absl::GetFlag(FLAGS_placements); ++p) {
        ScanQuery query;
        query.ranges.push_back(RangeOver(rng, stores, shape.store, [](int64_t v) { return Cell(v + 1); }));
        query.ranges.push_back(RangeOver(rng, items, shape.item, [](int64_t v) { return Cell(v + 1); }));
        query.ranges.push_back(
            RangeOver(rng, days, shape.day, [](int64_t v) { return Cell(Date{kFirstDay + static_cast<int32_t>(v)}); }));
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
      std::printf("| %s | %s | %llu | %llu | %llu | %.0f |\n", std::string(KeyLayoutName(layout)).c_str(),
                  shape.name.c_str(), (unsigned long long)totals.keys, (unsigned long long)totals.blocks,
                  (unsigned long long)totals.rows, totals.Median());
      dat += " " + std::to_string(totals.blocks);
    }
    dat_lines.push_back(dat);
  }

  // Point lookups (encode + Get): the same random keys in each layout,
  // interleaved key by key (alternating which layout goes first) so that
  // both see the same machine state; a first unmeasured round warms the
  // block cache with the looked-up blocks.
  std::printf("\n| layout | point lookup (encode + Get) median us | p99 us |\n| --- | ---: | ---: |\n");
  const std::vector<KeyLayout> layouts = {KeyLayout::kZOrder, KeyLayout::kLinear};
  std::vector<std::shared_ptr<const TableSnapshot>> snapshots;
  for (KeyLayout layout : layouts) snapshots.push_back((*store)->Find(std::string(KeyLayoutName(layout))));
  std::vector<std::vector<double>> micros(layouts.size());
  std::string key;
  for (int round = 0; round < 2; ++round) {
    std::mt19937_64 rng(absl::GetFlag(FLAGS_seed) + 1);
    for (int n = 0; n < absl::GetFlag(FLAGS_lookups); ++n) {
      std::vector<Cell> cells = {Cell(static_cast<int64_t>(rng() % stores + 1)),
                                 Cell(static_cast<int64_t>(rng() % items + 1)),
                                 Cell(Date{kFirstDay + static_cast<int32_t>(rng() % days)})};
      for (size_t k = 0; k < layouts.size(); ++k) {
        size_t l = (n % 2 == 0) ? k : layouts.size() - 1 - k;
        auto start = std::chrono::steady_clock::now();
        key.clear();
        snapshots[l]->key_codec().Encode(cells, &key);
        auto found = snapshots[l]->Get(key, [](std::string_view) {});
        double elapsed = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
        if (!found.ok() || !*found) return 1;
        if (round == 1) micros[l].push_back(elapsed);
      }
    }
  }
  for (size_t l = 0; l < layouts.size(); ++l) {
    std::sort(micros[l].begin(), micros[l].end());
    std::printf("| %s | %.2f | %.2f |\n", std::string(KeyLayoutName(layouts[l])).c_str(), micros[l][micros[l].size() / 2],
                micros[l][micros[l].size() * 99 / 100]);
  }

  if (std::string dat = absl::GetFlag(FLAGS_dat); !dat.empty()) {
    std::ofstream out(dat);
    out << "# shape zorder_blocks linear_blocks\n";
    for (const std::string& line : dat_lines) out << line << "\n";
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
