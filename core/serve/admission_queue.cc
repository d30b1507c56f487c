#include "core/serve/admission_queue.h"

#include <sched.h>

#include <algorithm>

#include "core/base/strings.h"

namespace predstore {

namespace {

double Seconds(AdmissionQueue::Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// The CPUs this process may run on (its affinity mask: a cpuset or taskset
// narrows it), at least 1.
int UsableCpus() {
  cpu_set_t cpus;
  if (sched_getaffinity(0, sizeof(cpus), &cpus) == 0) return std::max(1, CPU_COUNT(&cpus));
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

}  // namespace

AdmissionQueue::AdmissionQueue(AdmissionOptions options)
    : options_(std::move(options)),
      max_running_(options_.max_running > 0 ? options_.max_running : UsableCpus()) {
  if (options_.metrics != nullptr) {
    constexpr std::string_view kRefused = "predstore_admission_refused_total";
    constexpr std::string_view kRefusedHelp =
        "Data-plane calls refused before they ran: at capacity (RESOURCE_EXHAUSTED, HTTP 429, a Redis error), or "
        "past their deadline while waiting.";
    refused_busy_ = options_.metrics->GetCounter(kRefused, kRefusedHelp, {{"reason", "capacity"}});
    refused_deadline_ = options_.metrics->GetCounter(kRefused, kRefusedHelp, {{"reason", "deadline"}});
    queue_wait_ = options_.metrics->GetHistogram("predstore_admission_queue_wait_seconds",
                                                 "How long queued data-plane calls waited for a worker.", {},
                                                 LatencySecondsBuckets());
    queued_collector_ = options_.metrics->AddCollected(
        "predstore_admission_queued", "Data-plane calls waiting for a worker.", "gauge",
        [this] { return MetricSamples{{{}, static_cast<double>(queued())}}; });
  }
  for (int i = 0; i < max_running_; ++i) workers_.emplace_back([this] { RunWorker(); });
}

AdmissionQueue::~AdmissionQueue() {
  // The registry may outlive this queue: no scrape may read it after.
  if (queued_collector_ != 0) options_.metrics->RemoveCollected(queued_collector_);
  std::deque<Waiting> refused;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    refused.swap(waiting_);
    queued_.store(0, std::memory_order_relaxed);
  }
  wake_.notify_all();
  for (std::thread& worker : workers_) worker.join();
  for (Waiting& call : refused) call.work(absl::UnavailableError("the server is shutting down"));
}

bool AdmissionQueue::TryRunNow() {
  if (queued_.load(std::memory_order_acquire) != 0) return false;
  if (running_.fetch_add(1, std::memory_order_acq_rel) < max_running_) return true;
  Release();  // no slot after all; giving it back may wake a worker
  return false;
}

void AdmissionQueue::Enqueue(Clock::time_point deadline, Work work) {
  absl::Status refusal;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const Clock::time_point now = Clock::now();
    if (stopping_) {
      refusal = absl::UnavailableError("the server is shutting down");
    } else if (waiting_.size() >= options_.max_queued) {
      refusal = absl::ResourceExhaustedError(StrCat("the server is at capacity: ", waiting_.size(),
                                                    " calls wait for a worker (--", options_.max_queued_name,
                                                    "); retry with backoff"));
    } else if (!waiting_.empty() && now - waiting_.front().queued_at > options_.max_queue_wait) {
      refusal = absl::ResourceExhaustedError(
          StrCat("the server is at capacity: calls have waited ",
                 std::chrono::duration_cast<std::chrono::microseconds>(now - waiting_.front().queued_at).count() / 1000,
                 " ms for a worker, past --", options_.max_queue_wait_name, "; retry with backoff"));
    } else {
      waiting_.push_back(Waiting{deadline, now, std::move(work)});
      queued_.fetch_add(1, std::memory_order_release);
    }
  }
  if (refusal.ok()) {
    wake_.notify_one();
    return;
  }
  if (refused_busy_ != nullptr && refusal.code() == absl::StatusCode::kResourceExhausted) refused_busy_->Add();
  work(std::move(refusal));
}

void AdmissionQueue::Release() {
  running_.fetch_sub(1, std::memory_order_acq_rel);
  if (queued_.load(std::memory_order_acquire) == 0) return;
  // Pass through the lock so that a worker between its check and its wait
  // cannot miss the wake-up.
  { std::lock_guard<std::mutex> lock(mutex_); }
  wake_.notify_one();
}

void AdmissionQueue::RunWorker() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] {
      return stopping_ || (!waiting_.empty() && running_.load(std::memory_order_acquire) < max_running_);
    });
    if (stopping_) return;
    int running = running_.load(std::memory_order_acquire);
    if (running >= max_running_ ||
        !running_.compare_exchange_strong(running, running + 1, std::memory_order_acq_rel)) {
      continue;  // a caller took the slot first
    }
    Waiting call = std::move(waiting_.front());
    waiting_.pop_front();
    queued_.fetch_sub(1, std::memory_order_release);
    lock.unlock();
    const Clock::time_point now = Clock::now();
    if (queue_wait_ != nullptr) queue_wait_->Observe(Seconds(now - call.queued_at));
    if (now >= call.deadline) {
      if (refused_deadline_ != nullptr) refused_deadline_->Add();
      call.work(absl::DeadlineExceededError("the deadline passed while the call waited for a worker"));
    } else {
      call.work(absl::OkStatus());
    }
    call = Waiting{};  // free what the call held before taking the next
    Release();
    lock.lock();
  }
}

}  // namespace predstore
