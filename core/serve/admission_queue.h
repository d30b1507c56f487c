// AdmissionQueue decides, for each data-plane call every front end
// receives, whether it runs now, waits briefly, or is refused at once, so
// that past capacity the server answers the calls it accepts on time
// instead of queueing every call until its deadline.
//
// A call runs at once on the caller's thread when fewer than `max_running`
// calls run and none waits (the common case: no thread hand-off). Otherwise
// it waits in a FIFO queue for one of `max_running` workers, unless the
// oldest waiting call has already waited `max_queue_wait`, or
// `max_queued` calls wait: then it is refused at once with
// kResourceExhausted naming the flag. A call whose deadline passes while it
// waits is dropped before it runs, with kDeadlineExceeded.
//
// `work` is called exactly once with the decision: OK means run now (on the
// caller's thread or a worker's); an error means answer it and do nothing
// else. Thread-safe. The destructor refuses what still waits, then joins.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "core/base/metrics.h"

namespace predstore {

struct AdmissionOptions {
  // Calls running at once; 0: one per CPU the process may use.
  int max_running = 0;
  // How long the oldest waiting call may have waited before new calls are
  // refused. Default 5 ms.
  std::chrono::microseconds max_queue_wait{5000};
  // Most calls waiting. Default 10000.
  size_t max_queued = 10000;
  // The options' names in refusals (the server's flags).
  std::string max_queue_wait_name = "max_queue_wait";
  std::string max_queued_name = "max_queued";
  // Where refusals and waits are counted (predstore_admission_*); null:
  // nowhere. Must outlive the queue.
  MetricsRegistry* metrics = nullptr;
};

class AdmissionQueue {
 public:
  using Clock = std::chrono::steady_clock;
  using Work = absl::AnyInvocable<void(absl::Status admitted)>;

  explicit AdmissionQueue(AdmissionOptions options);
  ~AdmissionQueue();
  AdmissionQueue(const AdmissionQueue&) = delete;
  AdmissionQueue& operator=(const AdmissionQueue&) = delete;

  // Runs, queues or refuses `work` (see above), a callable taking
  // absl::Status. `deadline`: Clock::time_point::max() for none. The fast
  // path neither locks nor allocates.
  template <typename Callable>
  void Submit(Clock::time_point deadline, Callable&& work) {
    if (TryRunNow()) {
      work(absl::OkStatus());
      Release();
      return;
    }
    Enqueue(deadline, Work(std::forward<Callable>(work)));
  }

  size_t queued() const { return queued_.load(std::memory_order_relaxed); }
  int max_running() const { return max_running_; }

 private:
  struct Waiting {
    Clock::time_point deadline;
    Clock::time_point queued_at;
    Work work;
  };
  // Takes a running slot when nothing waits and one is free.
  bool TryRunNow();
  // Queues `work`, or refuses it at once.
  void Enqueue(Clock::time_point deadline, Work work);
  void RunWorker();
  // Ends one running call; wakes a worker when calls wait.
  void Release();

  const AdmissionOptions options_;
  const int max_running_;
  Counter* refused_busy_ = nullptr;      // null without metrics
  Counter* refused_deadline_ = nullptr;  // null without metrics
  uint64_t queued_collector_ = 0;        // its id in options_.metrics; 0 without metrics
  Histogram* queue_wait_ = nullptr;      // null without metrics
  std::atomic<int> running_{0};
  std::atomic<size_t> queued_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Waiting> waiting_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace predstore
