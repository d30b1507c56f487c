#include "core/model/scoring_batcher.h"

#include <atomic>
#include <future>
#include <thread>

#include "core/model/sample_model.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/scratch_dir.h"

namespace predstore {
namespace {

constexpr int kFeatures = 6;

std::shared_ptr<const ServedModel> SampleServedModel(const test_support::ScratchDir& scratch, uint64_t seed) {
  SampleModelOptions options;
  options.features = kFeatures;
  options.trees = 10;
  options.depth = 4;
  options.seed = seed;
  options.objective = "reg:squarederror";
  const std::string dir = (scratch.path() / ("model-" + std::to_string(seed))).string();
  EXPECT_TRUE(WriteSampleModel(options, dir).ok());
  auto model = LoadServedModel("m", static_cast<int64_t>(seed), dir, 1);
  EXPECT_TRUE(model.ok()) << model.status();
  return *model;
}

std::vector<float> ScoreDirectly(const ServedModel& model, const std::vector<float>& rows) {
  std::vector<float> outputs;
  EXPECT_TRUE(model.scorer->Predict(rows, &outputs).ok());
  return outputs;
}

// Submits `rows` and waits for the answer.
std::vector<float> ScoreThrough(ScoringBatcher& batcher, std::shared_ptr<const ServedModel> model,
                                std::vector<float> rows) {
  std::promise<std::vector<float>> answer;
  batcher.Submit(std::move(model), OutputKind::kProbability, std::move(rows),
                 std::chrono::steady_clock::time_point::max(),
                 [&answer](absl::Status status, std::vector<float> outputs) {
    EXPECT_TRUE(status.ok()) << status;
    answer.set_value(std::move(outputs));
  });
  return answer.get_future().get();
}

TEST(ScoringBatcher, ConcurrentRequestsForTwoModelsGetTheirOwnAnswers) {
  test_support::ScratchDir scratch;
  const std::shared_ptr<const ServedModel> models[] = {SampleServedModel(scratch, 1), SampleServedModel(scratch, 2)};
  ScoringBatcher batcher({.max_batch_rows = 64, .max_wait = std::chrono::microseconds(500), .workers = 2});
  std::atomic<int> wrong{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 8; ++t) {
    callers.emplace_back([&, t] {
      for (int i = 0; i < 40; ++i) {
        const ServedModel& model = *models[(t + i) % 2];
        const std::vector<float> rows = SampleFeatureRows(1 + i % 3, kFeatures, 1000 * t + i);
        if (ScoreThrough(batcher, models[(t + i) % 2], rows) != ScoreDirectly(model, rows)) ++wrong;
      }
    });
  }
  for (std::thread& caller : callers) caller.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(batcher.requests_scored(), 8u * 40u);
}

TEST(ScoringBatcher, RequestsQueuedTogetherShareOneScoringCall) {
  test_support::ScratchDir scratch;
  const std::shared_ptr<const ServedModel> model = SampleServedModel(scratch, 3);
  // One worker that waits up to 200 ms for a full batch of 16 one-row requests.
  ScoringBatcher batcher({.max_batch_rows = 16, .max_wait = std::chrono::milliseconds(200), .workers = 1});
  std::vector<std::future<std::vector<float>>> answers;
  for (int i = 0; i < 16; ++i) {
    answers.push_back(std::async(std::launch::async, [&, i] {
      return ScoreThrough(batcher, model, SampleFeatureRows(1, kFeatures, i));
    }));
  }
  for (int i = 0; i < 16; ++i) EXPECT_EQ(answers[i].get(), ScoreDirectly(*model, SampleFeatureRows(1, kFeatures, i)));
  EXPECT_EQ(batcher.requests_scored(), 16u);
  EXPECT_LT(batcher.batches_scored(), 8u) << "16 requests queued within 200 ms should share a few calls";
}

TEST(ScoringBatcher, UnbatchedScoresOnTheCallersThreadBeforeReturning) {
  test_support::ScratchDir scratch;
  const std::shared_ptr<const ServedModel> model = SampleServedModel(scratch, 4);
  ScoringBatcher batcher({.max_batch_rows = 1});
  EXPECT_FALSE(batcher.batching());
  const std::thread::id caller = std::this_thread::get_id();
  bool answered = false;
  batcher.Submit(model, OutputKind::kProbability, SampleFeatureRows(2, kFeatures, 9),
                 std::chrono::steady_clock::time_point::max(),
                 [&](absl::Status status, std::vector<float> outputs) {
    EXPECT_TRUE(status.ok());
    EXPECT_EQ(outputs.size(), 2u);
    EXPECT_EQ(std::this_thread::get_id(), caller);
    answered = true;
  });
  EXPECT_TRUE(answered);
}

TEST(ScoringBatcher, DestructionAnswersEveryQueuedRequest) {
  test_support::ScratchDir scratch;
  const std::shared_ptr<const ServedModel> model = SampleServedModel(scratch, 5);
  std::atomic<int> answered{0};
  {
    ScoringBatcher batcher({.max_batch_rows = 1000, .max_wait = std::chrono::seconds(5), .workers = 1});
    for (int i = 0; i < 20; ++i) {
      batcher.Submit(model, OutputKind::kProbability, SampleFeatureRows(1, kFeatures, i),
                     std::chrono::steady_clock::time_point::max(),
                     [&](absl::Status status, std::vector<float>) { answered += status.ok() ? 1 : 0; });
    }
  }  // must not wait the 5 s batch window, and must not drop any request
  EXPECT_EQ(answered.load(), 20);
}

// The worker gathers model A's batch for `max_wait`; requests for model B
// wait in the queue meanwhile, which is what the budget counts.
TEST(ScoringBatcher, RefusesAtOnceWhenTheQueuedRowsWouldPassTheBudget) {
  test_support::ScratchDir scratch;
  const std::shared_ptr<const ServedModel> a = SampleServedModel(scratch, 6), b = SampleServedModel(scratch, 7);
  MetricsRegistry metrics;
  std::atomic<int> scored{0};
  const auto no_deadline = std::chrono::steady_clock::time_point::max();
  auto count = [&](absl::Status status, std::vector<float>) { scored += status.ok(); };
  {
    ScoringBatcher batcher({.max_batch_rows = 1000,
                            .max_wait = std::chrono::milliseconds(300),
                            .workers = 1,
                            .max_queued_rows = 3,
                            .max_queued_rows_name = "max_scoring_queue_rows",
                            .metrics = &metrics});
    batcher.Submit(a, OutputKind::kProbability, SampleFeatureRows(1, kFeatures, 1), no_deadline, count);
    while (batcher.queued_requests() > 0) std::this_thread::yield();  // the worker holds A's batch
    batcher.Submit(b, OutputKind::kProbability, SampleFeatureRows(2, kFeatures, 2), no_deadline, count);
    batcher.Submit(b, OutputKind::kProbability, SampleFeatureRows(1, kFeatures, 3), no_deadline, count);
    absl::Status refusal;
    bool answered = false;
    batcher.Submit(b, OutputKind::kProbability, SampleFeatureRows(1, kFeatures, 4), no_deadline,
                   [&](absl::Status status, std::vector<float>) {
                     refusal = status;
                     answered = true;
                   });
    ASSERT_TRUE(answered) << "a refusal is answered before Submit returns";
    EXPECT_EQ(refusal.code(), absl::StatusCode::kResourceExhausted);
    EXPECT_THAT(refusal.message(), ::testing::HasSubstr("3 rows wait to be scored (--max_scoring_queue_rows)"));
  }
  EXPECT_EQ(scored.load(), 3) << "what was queued within the budget is scored";
  EXPECT_THAT(metrics.Exposition(),
              ::testing::HasSubstr("predstore_scoring_refused_total{reason=\"capacity\"} 1\n"));
}

TEST(ScoringBatcher, DropsARequestWhoseDeadlinePassedWhileItWaited) {
  test_support::ScratchDir scratch;
  const std::shared_ptr<const ServedModel> a = SampleServedModel(scratch, 8), b = SampleServedModel(scratch, 9);
  MetricsRegistry metrics;
  ScoringBatcher batcher(
      {.max_batch_rows = 1000, .max_wait = std::chrono::milliseconds(100), .workers = 1, .metrics = &metrics});
  std::promise<absl::Status> first, late;
  batcher.Submit(a, OutputKind::kProbability, SampleFeatureRows(1, kFeatures, 1),
                 std::chrono::steady_clock::time_point::max(),
                 [&](absl::Status status, std::vector<float>) { first.set_value(status); });
  while (batcher.queued_requests() > 0) std::this_thread::yield();
  // B waits behind A's 100 ms batch window, past its 10 ms deadline.
  batcher.Submit(b, OutputKind::kProbability, SampleFeatureRows(1, kFeatures, 2),
                 std::chrono::steady_clock::now() + std::chrono::milliseconds(10),
                 [&](absl::Status status, std::vector<float>) { late.set_value(status); });
  EXPECT_TRUE(first.get_future().get().ok());
  const absl::Status status = late.get_future().get();
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_EQ(batcher.requests_scored(), 1u) << "the late request was not scored";
  EXPECT_THAT(metrics.Exposition(),
              ::testing::HasSubstr("predstore_scoring_refused_total{reason=\"deadline\"} 1\n"));
}

}  // namespace
}  // namespace predstore
