// Scores concurrent requests together. Requests for the same model that are
// queued at the same time are concatenated into one XGBoost call of up to
// max_batch_rows rows, the way TF Serving batches: a worker takes the oldest
// request, gathers every queued request for the same model, and if the batch
// is still short of max_batch_rows waits up to max_wait for more.
// At most `workers` scoring calls run at once. With max_wait = 0 batches
// form only from requests that queued while every scorer was busy, so a
// lone request never waits: when nothing is queued and a scorer is free,
// Submit scores on the caller's thread (no thread hand-off); requests that
// arrive while all scorers are busy queue and are batched by the workers.
// max_batch_rows <= 1 turns batching off: Submit scores on the caller's
// thread (the unbatched baseline of the benchmarks).
//
// Scoring has its own budget, so that a storm of fallbacks cannot starve
// precomputed lookups or grow memory without end: past max_queued_rows
// waiting rows, Submit refuses at once (kResourceExhausted naming the
// option), and a request whose deadline passes while it waits is dropped
// unscored (kDeadlineExceeded).
//
// Thread-safe. The destructor finishes the queued requests, then joins.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "core/base/metrics.h"
#include "core/model/served_model.h"

namespace predstore {

struct BatchingOptions {
  size_t max_batch_rows = 256;
  std::chrono::microseconds max_wait{0};
  int workers = 2;
  // Most rows waiting to be scored; 0: no limit. Default 100000.
  size_t max_queued_rows = 100000;
  // The option's name in refusals (the server's flag).
  std::string max_queued_rows_name = "max_queued_rows";
  // Where each XGBoost call's rows and duration, and the queue depth, are
  // recorded (predstore_scoring_*); null: nowhere. The registry must
  // outlive the batcher, and not be scraped once the batcher is gone.
  MetricsRegistry* metrics = nullptr;
};

class ScoringBatcher {
 public:
  // Receives the status and, on success, outputs_per_row(kind) floats per row.
  using Done = absl::AnyInvocable<void(absl::Status status, std::vector<float> outputs)>;

  explicit ScoringBatcher(BatchingOptions options);
  ~ScoringBatcher();
  ScoringBatcher(const ScoringBatcher&) = delete;
  ScoringBatcher& operator=(const ScoringBatcher&) = delete;

  // Scores `rows` (row-major, model->features.size() per row) with `model`
  // for output `kind`, and calls `done` exactly once, on a worker thread or
  // on the caller's thread before returning (unbatched, a free scorer and
  // empty queue, or refused). Only requests for the same model and kind
  // share a batch. `deadline`: time_point::max() for none.
  void Submit(std::shared_ptr<const ServedModel> model, OutputKind kind, std::vector<float> rows,
              std::chrono::steady_clock::time_point deadline, Done done);

  bool batching() const { return options_.max_batch_rows > 1; }
  // Scoring calls made and requests answered so far (requests / batches is
  // the mean batch size).
  uint64_t batches_scored() const { return batches_scored_.load(std::memory_order_relaxed); }
  uint64_t requests_scored() const { return requests_scored_.load(std::memory_order_relaxed); }
  // Requests waiting for a scorer now.
  size_t queued_requests() const;

 private:
  struct Request {
    std::shared_ptr<const ServedModel> model;
    OutputKind kind;
    std::vector<float> rows;
    Done done;
    std::chrono::steady_clock::time_point queued_at;
    std::chrono::steady_clock::time_point deadline;
    size_t row_count = 0;
  };
  void RunWorker();
  // Moves queued requests for `model` and `kind` into `batch` until `rows`
  // reaches the cap.
  void TakeSameModel(const ServedModel* model, OutputKind kind, std::vector<Request>* batch, size_t* rows);
  // Answers the requests of `batch` whose deadline has passed, and removes
  // them (and their rows from `rows`).
  void DropExpired(std::vector<Request>* batch, size_t* rows);
  void Score(std::vector<Request>& batch, size_t total_rows);
  // One XGBoost call for `requests` requests, counted and timed.
  absl::Status Predict(const ServedModel& model, OutputKind kind, const std::vector<float>& rows, size_t requests,
                       std::vector<float>* outputs);

  const BatchingOptions options_;
  Histogram* batch_rows_ = nullptr;        // null without metrics
  Histogram* scoring_seconds_ = nullptr;   // null without metrics
  mutable std::mutex mutex_;
  std::condition_variable queued_;
  std::deque<Request> queue_;
  size_t queued_rows_ = 0;  // rows of queue_
  Counter* refused_capacity_ = nullptr;  // null without metrics
  Counter* refused_deadline_ = nullptr;  // null without metrics
  uint64_t queue_depth_collector_ = 0;   // its id in options_.metrics; 0 without metrics
  bool stopping_ = false;
  int scoring_ = 0;  // scoring calls running (callers' and workers')
  std::vector<std::thread> workers_;
  std::atomic<uint64_t> batches_scored_{0};
  std::atomic<uint64_t> requests_scored_{0};
};

}  // namespace predstore
