#include "client/adaptive_throttle.h"

#include <algorithm>
#include <random>

namespace predstore {

AdaptiveThrottle::AdaptiveThrottle(double k, std::chrono::milliseconds window)
    : k_(k), slice_(std::chrono::duration_cast<std::chrono::nanoseconds>(window) / kBuckets) {}

int64_t AdaptiveThrottle::Tick() const {
  return std::chrono::steady_clock::now().time_since_epoch() / slice_;
}

AdaptiveThrottle::Bucket& AdaptiveThrottle::Current() {
  const int64_t tick = Tick();
  Bucket& bucket = buckets_[tick % kBuckets];
  int64_t seen = bucket.tick.load(std::memory_order_acquire);
  // The first caller of a new slice empties the bucket; a count that lands
  // in between is lost, which the estimate tolerates.
  if (seen != tick && bucket.tick.compare_exchange_strong(seen, tick, std::memory_order_acq_rel)) {
    bucket.requests.store(0, std::memory_order_relaxed);
    bucket.accepts.store(0, std::memory_order_relaxed);
  }
  return bucket;
}

double AdaptiveThrottle::RefusalProbability() const {
  const int64_t now = Tick();
  double requests = 0, accepts = 0;
  for (const Bucket& bucket : buckets_) {
    if (now - bucket.tick.load(std::memory_order_acquire) >= kBuckets) continue;  // older than the window
    requests += static_cast<double>(bucket.requests.load(std::memory_order_relaxed));
    accepts += static_cast<double>(bucket.accepts.load(std::memory_order_relaxed));
  }
  return std::max(0.0, (requests - k_ * accepts) / (requests + 1));
}

bool AdaptiveThrottle::Admit() {
  const double refuse = RefusalProbability();
  if (refuse <= 0) return true;
  thread_local std::minstd_rand random(std::random_device{}());
  if (std::uniform_real_distribution<double>(0, 1)(random) >= refuse) return true;
  Current().requests.fetch_add(1, std::memory_order_relaxed);
  return false;
}

void AdaptiveThrottle::Record(grpc::StatusCode code) {
  Bucket& bucket = Current();
  bucket.requests.fetch_add(1, std::memory_order_relaxed);
  if (RefusedForLoad(code)) return;
  bucket.accepts.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace predstore
