#include "core/model/scoring_batcher.h"

#include <algorithm>
#include <utility>

#include "core/base/strings.h"

namespace predstore {

ScoringBatcher::ScoringBatcher(BatchingOptions options) : options_(options) {
  if (MetricsRegistry* metrics = options_.metrics) {
    batch_rows_ = metrics->GetHistogram("predstore_scoring_batch_rows", "Rows per XGBoost call (a batch of requests).",
                                        {}, {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384});
    scoring_seconds_ = metrics->GetHistogram("predstore_scoring_duration_seconds", "Duration of each XGBoost call.",
                                             {}, LatencySecondsBuckets());
    constexpr std::string_view kRefused = "predstore_scoring_refused_total";
    constexpr std::string_view kRefusedHelp =
        "Scoring requests refused unscored: at capacity (the queue held --max_scoring_queue_rows rows), or past "
        "their deadline while they waited.";
    refused_capacity_ = metrics->GetCounter(kRefused, kRefusedHelp, {{"reason", "capacity"}});
    refused_deadline_ = metrics->GetCounter(kRefused, kRefusedHelp, {{"reason", "deadline"}});
    queue_depth_collector_ = metrics->AddCollected(
        "predstore_scoring_queue_depth", "Scoring requests waiting for a scorer.", "gauge",
        [this] { return MetricSamples{{{}, static_cast<double>(queued_requests())}}; });
  }
  if (!batching()) return;
  for (int i = 0; i < std::max(1, options_.workers); ++i) workers_.emplace_back([this] { RunWorker(); });
}

ScoringBatcher::~ScoringBatcher() {
  // The registry may outlive this batcher: no scrape may read it after.
  if (queue_depth_collector_ != 0) options_.metrics->RemoveCollected(queue_depth_collector_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  queued_.notify_all();
  for (std::thread& worker : workers_) worker.join();
}

void ScoringBatcher::Submit(std::shared_ptr<const ServedModel> model, OutputKind kind, std::vector<float> rows,
                            std::chrono::steady_clock::time_point deadline, Done done) {
  bool score_here = !batching();
  if (!score_here) {
    const size_t row_count = rows.size() / std::max<size_t>(1, model->features.size());
    bool refused = false;
    size_t waiting_rows = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      // Nothing queued and a scorer free: waking a worker would only add a
      // thread hand-off (about 0.1 ms here), so the caller scores its request.
      score_here = options_.max_wait.count() == 0 && queue_.empty() && scoring_ < options_.workers;
      if (score_here) {
        ++scoring_;
      } else if (options_.max_queued_rows > 0 && queued_rows_ + row_count > options_.max_queued_rows) {
        refused = true;
        waiting_rows = queued_rows_;
      } else {
        queued_rows_ += row_count;
        queue_.push_back({std::move(model), kind, std::move(rows), std::move(done), std::chrono::steady_clock::now(),
                          deadline, row_count});
      }
    }
    if (refused) {
      if (refused_capacity_ != nullptr) refused_capacity_->Add();
      return done(absl::ResourceExhaustedError(StrCat(
                      "scoring is at capacity: ", waiting_rows, " rows wait to be scored (--",
                      options_.max_queued_rows_name, "); lookups of stored predictions are not affected; retry "
                      "with backoff")),
                  {});
    }
    if (!score_here) {
      queued_.notify_all();  // a worker waiting to fill a batch may be for another model
      return;
    }
  }
  std::vector<float> outputs;
  absl::Status status = Predict(*model, kind, rows, 1, &outputs);
  if (batching()) {
    std::lock_guard<std::mutex> lock(mutex_);
    --scoring_;
    if (!queue_.empty()) queued_.notify_all();  // requests that queued meanwhile
  }
  done(std::move(status), std::move(outputs));
}

void ScoringBatcher::TakeSameModel(const ServedModel* model, OutputKind kind, std::vector<Request>* batch,
                                   size_t* rows) {
  const size_t row_width = model->features.size();
  for (auto it = queue_.begin(); it != queue_.end() && *rows < options_.max_batch_rows;) {
    if (it->model.get() != model || it->kind != kind) {
      ++it;
      continue;
    }
    *rows += it->rows.size() / row_width;
    queued_rows_ -= it->row_count;
    batch->push_back(std::move(*it));
    it = queue_.erase(it);
  }
}

void ScoringBatcher::RunWorker() {
  std::vector<Request> batch;
  while (true) {
    batch.clear();
    size_t rows = 0;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      queued_.wait(lock, [this] { return stopping_ || (!queue_.empty() && scoring_ < options_.workers); });
      if (queue_.empty()) return;  // stopping, and nothing left to finish
      ++scoring_;
      const ServedModel* model = queue_.front().model.get();
      const OutputKind kind = queue_.front().kind;
      const auto deadline = queue_.front().queued_at + options_.max_wait;
      TakeSameModel(model, kind, &batch, &rows);
      while (rows < options_.max_batch_rows && !stopping_ &&
             queued_.wait_until(lock, deadline) != std::cv_status::timeout) {
        TakeSameModel(model, kind, &batch, &rows);
      }
      TakeSameModel(model, kind, &batch, &rows);
    }
    DropExpired(&batch, &rows);
    if (!batch.empty()) Score(batch, rows);
    std::lock_guard<std::mutex> lock(mutex_);
    --scoring_;
    if (!queue_.empty()) queued_.notify_all();
  }
}

void ScoringBatcher::DropExpired(std::vector<Request>* batch, size_t* rows) {
  const auto now = std::chrono::steady_clock::now();
  auto expired = std::stable_partition(batch->begin(), batch->end(),
                                       [now](const Request& request) { return request.deadline > now; });
  for (auto it = expired; it != batch->end(); ++it) {
    *rows -= it->row_count;
    if (refused_deadline_ != nullptr) refused_deadline_->Add();
    it->done(absl::DeadlineExceededError("the deadline passed while the request waited to be scored"), {});
  }
  batch->erase(expired, batch->end());
}

void ScoringBatcher::Score(std::vector<Request>& batch, size_t total_rows) {
  const ServedModel& model = *batch.front().model;
  if (batch.size() == 1) {
    std::vector<float> outputs;
    absl::Status status = Predict(model, batch.front().kind, batch.front().rows, 1, &outputs);
    batch.front().done(std::move(status), std::move(outputs));
    return;
  }
  std::vector<float> rows;
  rows.reserve(total_rows * model.features.size());
  for (const Request& request : batch) rows.insert(rows.end(), request.rows.begin(), request.rows.end());
  std::vector<float> outputs;
  const absl::Status status = Predict(model, batch.front().kind, rows, batch.size(), &outputs);
  const size_t width = model.features.size();
  const size_t per_row = model.scorer->outputs_per_row(batch.front().kind);
  size_t offset = 0;
  for (Request& request : batch) {
    const size_t count = request.rows.size() / width * per_row;
    if (status.ok()) {
      request.done(absl::OkStatus(), std::vector<float>(outputs.begin() + offset, outputs.begin() + offset + count));
    } else {
      request.done(status, {});
    }
    offset += count;
  }
}

absl::Status ScoringBatcher::Predict(const ServedModel& model, OutputKind kind, const std::vector<float>& rows,
                                     size_t requests, std::vector<float>* outputs) {
  batches_scored_.fetch_add(1, std::memory_order_relaxed);
  requests_scored_.fetch_add(requests, std::memory_order_relaxed);
  if (scoring_seconds_ == nullptr) return model.scorer->Predict(rows, outputs, kind);
  const auto start = std::chrono::steady_clock::now();
  absl::Status status = model.scorer->Predict(rows, outputs, kind);
  scoring_seconds_->Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  batch_rows_->Observe(static_cast<double>(rows.size() / std::max<size_t>(1, model.features.size())));
  return status;
}

size_t ScoringBatcher::queued_requests() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queue_.size();
}

}  // namespace predstore
