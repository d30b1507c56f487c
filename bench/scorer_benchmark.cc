// XGBoost scoring cost in process, for the figures the end-to-end
// benchmark compares against: one row and batches of rows through
// XGBoostScorer (in-place prediction), single-threaded and through the
// ScoringBatcher. The model is the benchmark's: 100 trees of depth 6 over
// 30 features (predstore-load sample-model's defaults), trained once; or,
// with PREDSTORE_BENCH_MODEL_DIR set, the model in that folder (an XGBoost
// model folder as `predstore-load sample-model --out` writes it), as
// bench/run_bench.sh uses it to time its own model in process.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory>

#include "benchmark/benchmark.h"
#include "core/model/sample_model.h"
#include "core/model/scoring_batcher.h"
#include "core/model/served_model.h"

namespace predstore {
namespace {

// Never destroyed: a booster freed by the exit handlers, after the main
// thread's XGBoost thread-local state is gone, crashes in ~LearnerImpl.
const ServedModel& BenchModel() {
  static const auto* model = new std::shared_ptr<const ServedModel>([] {
    if (const char* given = std::getenv("PREDSTORE_BENCH_MODEL_DIR"); given != nullptr && *given != '\0') {
      auto loaded = LoadServedModel("bench", 1, given, /*scorer_threads=*/1);
      if (!loaded.ok()) {
        std::fprintf(stderr, "scorer_benchmark: PREDSTORE_BENCH_MODEL_DIR=%s: %s\n", given,
                     std::string(loaded.status().message()).c_str());
        std::exit(2);
      }
      return *loaded;
    }
    const std::string dir = (std::filesystem::temp_directory_path() /
                             ("predstore-scorer-benchmark-" + std::to_string(::getpid())))
                                .string();
    SampleModelOptions options;  // 100 trees, depth 6, 30 features
    if (!WriteSampleModel(options, dir).ok()) std::abort();
    auto loaded = LoadServedModel("bench", 1, dir, /*scorer_threads=*/1);
    if (!loaded.ok()) std::abort();
    std::filesystem::remove_all(dir);
    return *loaded;
  }());
  return **model;
}

int Features() { return static_cast<int>(BenchModel().features.size()); }

void BM_PredictRows(benchmark::State& state) {
  const ServedModel& model = BenchModel();
  const int rows = static_cast<int>(state.range(0));
  const std::vector<float> features = SampleFeatureRows(rows, Features(), 11);
  std::vector<float> outputs;
  for (auto _ : state) {
    if (!model.scorer->Predict(features, &outputs).ok()) state.SkipWithError("predict failed");
    benchmark::DoNotOptimize(outputs.data());
  }
  state.SetItemsProcessed(state.iterations() * rows);
}
BENCHMARK(BM_PredictRows)->Arg(1)->Arg(10)->Arg(100)->Arg(1000);

// One row through the batcher, as a lone Predict call sends it: with
// max_wait 0 it is scored on the caller's thread; with a batching window
// (state.range(0) µs) it waits for the window on a worker thread.
void BM_PredictOneRowThroughBatcher(benchmark::State& state) {
  std::shared_ptr<const ServedModel> model(&BenchModel(), [](const ServedModel*) {});
  ScoringBatcher batcher(
      {.max_batch_rows = 256, .max_wait = std::chrono::microseconds(state.range(0)), .workers = 1});
  const std::vector<float> features = SampleFeatureRows(1, Features(), 12);
  for (auto _ : state) {
    std::promise<void> done;
    batcher.Submit(model, OutputKind::kProbability, features,
                 std::chrono::steady_clock::time_point::max(), [&done](absl::Status, std::vector<float>) { done.set_value(); });
    done.get_future().wait();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PredictOneRowThroughBatcher)->Arg(0)->Arg(1)->UseRealTime();

// 32 threads each scoring one row at a time through one shared batcher:
// state.range(0) = max_batch_rows (1: every row its own XGBoost call; 256:
// rows queued meanwhile share a call). Scoring alone, without gRPC.
void BM_ConcurrentOneRowCalls(benchmark::State& state) {
  static std::shared_ptr<const ServedModel> model(&BenchModel(), [](const ServedModel*) {});
  static ScoringBatcher unbatched({.max_batch_rows = 1});
  static ScoringBatcher batched({.max_batch_rows = 256, .max_wait = std::chrono::microseconds(0), .workers = 2});
  ScoringBatcher& batcher = state.range(0) == 1 ? unbatched : batched;
  const std::vector<float> features = SampleFeatureRows(1, Features(), 13 + state.thread_index());
  for (auto _ : state) {
    std::promise<void> done;
    batcher.Submit(model, OutputKind::kProbability, features,
                 std::chrono::steady_clock::time_point::max(), [&done](absl::Status, std::vector<float>) { done.set_value(); });
    done.get_future().wait();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ConcurrentOneRowCalls)->Arg(1)->Arg(256)->Threads(32)->UseRealTime();

}  // namespace
}  // namespace predstore
