#include "core/serve/admission_queue.h"

#include <atomic>
#include <future>
#include <latch>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace predstore {
namespace {

using ::testing::HasSubstr;
using Clock = AdmissionQueue::Clock;
constexpr Clock::time_point kNoDeadline = Clock::time_point::max();

// Holds the queue's only running slot until Release(): a call that runs on
// the submitting thread and blocks there.
class SlotHolder {
 public:
  explicit SlotHolder(AdmissionQueue& queue) {
    thread_ = std::thread([this, &queue] {
      queue.Submit(kNoDeadline, [this](absl::Status admitted) {
        EXPECT_TRUE(admitted.ok()) << admitted;
        started_.count_down();
        release_.get_future().wait();
      });
    });
    started_.wait();
  }
  ~SlotHolder() {
    if (thread_.joinable()) Release();
  }
  void Release() {
    release_.set_value();
    thread_.join();
  }

 private:
  std::latch started_{1};
  std::promise<void> release_;
  std::thread thread_;
};

TEST(AdmissionQueueTest, RunsACallOnTheCallersThreadWhenASlotIsFree) {
  AdmissionQueue queue({.max_running = 2});
  std::thread::id ran_on;
  queue.Submit(kNoDeadline, [&](absl::Status admitted) {
    EXPECT_TRUE(admitted.ok());
    ran_on = std::this_thread::get_id();
  });
  EXPECT_EQ(ran_on, std::this_thread::get_id());
  EXPECT_EQ(queue.queued(), 0u);
}

TEST(AdmissionQueueTest, QueuesWhileEverySlotIsTakenThenRunsOnAWorker) {
  AdmissionQueue queue({.max_running = 1, .max_queue_wait = std::chrono::seconds(10)});
  SlotHolder holder(queue);
  std::promise<std::thread::id> ran_on;
  queue.Submit(kNoDeadline, [&](absl::Status admitted) {
    EXPECT_TRUE(admitted.ok()) << admitted;
    ran_on.set_value(std::this_thread::get_id());
  });
  EXPECT_EQ(queue.queued(), 1u);
  holder.Release();
  const std::thread::id worker = ran_on.get_future().get();
  EXPECT_NE(worker, std::this_thread::get_id());
  EXPECT_EQ(queue.queued(), 0u);
}

TEST(AdmissionQueueTest, RefusesAtOnceWhenTheOldestWaitingCallHasWaitedTooLong) {
  MetricsRegistry metrics;
  AdmissionQueue queue({.max_running = 1,
                        .max_queue_wait = std::chrono::milliseconds(20),
                        .max_queue_wait_name = "max_queue_wait_ms",
                        .metrics = &metrics});
  SlotHolder holder(queue);
  std::atomic<int> ran{0};
  queue.Submit(kNoDeadline, [&](absl::Status admitted) { ran += admitted.ok(); });
  // Within the wait bound, more calls may queue behind the first.
  queue.Submit(kNoDeadline, [&](absl::Status admitted) { ran += admitted.ok(); });
  EXPECT_EQ(queue.queued(), 2u);
  std::this_thread::sleep_for(std::chrono::milliseconds(40));
  absl::Status refusal;
  bool answered = false;
  queue.Submit(kNoDeadline, [&](absl::Status admitted) {
    refusal = admitted;
    answered = true;
  });
  ASSERT_TRUE(answered) << "a refusal is answered before Submit returns";
  EXPECT_EQ(refusal.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(refusal.message(), HasSubstr("--max_queue_wait_ms"));
  EXPECT_THAT(metrics.Exposition(), HasSubstr("predstore_admission_refused_total{reason=\"capacity\"} 1\n"));
  holder.Release();
  while (queue.queued() > 0) std::this_thread::yield();
  // Calls admitted before the refusal still run.
  for (int i = 0; i < 1000 && ran.load() < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(ran.load(), 2);
}

TEST(AdmissionQueueTest, RefusesAtOnceWhenTheQueueIsFull) {
  AdmissionQueue queue({.max_running = 1, .max_queue_wait = std::chrono::seconds(10), .max_queued = 2,
                        .max_queued_name = "max_queued_calls"});
  SlotHolder holder(queue);
  std::atomic<int> ran{0};
  for (int i = 0; i < 2; ++i) queue.Submit(kNoDeadline, [&](absl::Status admitted) { ran += admitted.ok(); });
  absl::Status refusal;
  queue.Submit(kNoDeadline, [&](absl::Status admitted) { refusal = admitted; });
  EXPECT_EQ(refusal.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(refusal.message(), HasSubstr("2 calls wait for a worker (--max_queued_calls)"));
  holder.Release();
  for (int i = 0; i < 1000 && ran.load() < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(ran.load(), 2);
}

TEST(AdmissionQueueTest, DropsACallWhoseDeadlinePassedWhileItWaited) {
  MetricsRegistry metrics;
  AdmissionQueue queue({.max_running = 1, .max_queue_wait = std::chrono::seconds(10), .metrics = &metrics});
  SlotHolder holder(queue);
  std::promise<absl::Status> decision;
  queue.Submit(Clock::now() + std::chrono::milliseconds(10),
               [&](absl::Status admitted) { decision.set_value(admitted); });
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  holder.Release();
  const absl::Status status = decision.get_future().get();
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(status.message(), HasSubstr("waited for a worker"));
  EXPECT_THAT(metrics.Exposition(), HasSubstr("predstore_admission_refused_total{reason=\"deadline\"} 1\n"));
  EXPECT_THAT(metrics.Exposition(), HasSubstr("predstore_admission_queue_wait_seconds_count 1\n"));
}

TEST(AdmissionQueueTest, NeverRunsMoreThanMaxRunningAtOnceAndAnswersEveryCall) {
  constexpr int kMaxRunning = 2;
  AdmissionQueue queue({.max_running = kMaxRunning, .max_queue_wait = std::chrono::seconds(10)});
  std::atomic<int> running{0}, most{0}, answered{0}, ran{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 8; ++t) {
    callers.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        queue.Submit(kNoDeadline, [&](absl::Status admitted) {
          if (admitted.ok()) {
            const int now = ++running;
            int seen = most.load();
            while (now > seen && !most.compare_exchange_weak(seen, now)) {
            }
            std::this_thread::yield();
            --running;
            ++ran;
          }
          ++answered;
        });
      }
    });
  }
  for (std::thread& caller : callers) caller.join();
  for (int i = 0; i < 5000 && answered.load() < 4000; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(answered.load(), 4000);
  EXPECT_EQ(ran.load(), 4000) << "nothing waited 10 s, so nothing was refused";
  EXPECT_LE(most.load(), kMaxRunning);
}

TEST(AdmissionQueueTest, RefusesWhatStillWaitsWhenDestroyed) {
  auto queue = std::make_unique<AdmissionQueue>(
      AdmissionOptions{.max_running = 1, .max_queue_wait = std::chrono::seconds(10)});
  // A worker runs a call that blocks, so that the next call waits.
  std::latch on_worker(1);
  std::promise<void> unblock;
  {
    SlotHolder holder(*queue);
    queue->Submit(kNoDeadline, [&](absl::Status) {
      on_worker.count_down();
      unblock.get_future().wait();
    });
  }
  on_worker.wait();
  absl::Status status;
  queue->Submit(kNoDeadline, [&](absl::Status admitted) { status = admitted; });
  ASSERT_EQ(queue->queued(), 1u);
  std::thread destroy([&] { queue.reset(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the destructor now joins the worker
  unblock.set_value();
  destroy.join();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(status.message(), HasSubstr("shutting down"));
}

}  // namespace
}  // namespace predstore
