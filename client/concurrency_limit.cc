#include "client/concurrency_limit.h"

#include <algorithm>
#include <cmath>

#include "client/adaptive_throttle.h"

namespace predstore {
namespace {

constexpr double kSmoothing = 1.0 / 8;  // weight of the newest round trip

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Lowers `target` to `value` if it is smaller or unset (0).
void StoreMin(std::atomic<double>& target, double value) {
  double seen = target.load(std::memory_order_relaxed);
  while ((seen == 0 || value < seen) && !target.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
  }
}

// The smaller of two baselines, either of which may be unset (0).
double Lower(double a, double b) { return a == 0 ? b : b == 0 ? a : std::min(a, b); }

AdaptiveConcurrencyLimit::Options InRange(AdaptiveConcurrencyLimit::Options options) {
  options.min_limit = std::max(1.0, options.min_limit);
  options.max_limit = std::max(options.min_limit, options.max_limit);
  options.initial_limit = std::clamp(options.initial_limit, options.min_limit, options.max_limit);
  options.tolerance = std::max(1.05, options.tolerance);
  options.backoff = std::clamp(options.backoff, 0.1, 0.95);
  options.baseline_window = std::max(options.baseline_window, std::chrono::milliseconds(1));
  return options;
}

}  // namespace

AdaptiveConcurrencyLimit::AdaptiveConcurrencyLimit(Options options)
    : options_(InRange(options)), limit_(options_.initial_limit) {}

bool AdaptiveConcurrencyLimit::TryAcquire() {
  const int64_t before = in_flight_.fetch_add(1, std::memory_order_relaxed);
  double limit = limit_.load(std::memory_order_relaxed);
  if (static_cast<double>(before) < std::floor(limit)) return true;
  // At the limit but with answers as fast as the baseline: the limit is
  // short of the demand, not of the server. Raise it to fit this call.
  const double baseline = Lower(baseline_current_ns_.load(std::memory_order_relaxed),
                                baseline_previous_ns_.load(std::memory_order_relaxed));
  const double wanted = static_cast<double>(before + 1);
  if (baseline > 0 && smoothed_ns_.load(std::memory_order_relaxed) <= options_.tolerance * baseline &&
      wanted <= options_.max_limit &&
      static_cast<double>(NowNs() - last_backoff_ns_.load(std::memory_order_relaxed)) >= 2 * baseline) {
    while (limit < wanted && !limit_.compare_exchange_weak(limit, wanted, std::memory_order_relaxed)) {
    }
    return true;
  }
  in_flight_.fetch_sub(1, std::memory_order_relaxed);
  return false;
}

double AdaptiveConcurrencyLimit::Smooth(int64_t now_ns, double sample_ns, double* baseline_ns) {
  double smoothed = smoothed_ns_.load(std::memory_order_relaxed);
  double next;
  do {
    next = smoothed == 0 ? sample_ns : smoothed + kSmoothing * (sample_ns - smoothed);
  } while (!smoothed_ns_.compare_exchange_weak(smoothed, next, std::memory_order_relaxed));
  const int64_t window_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(options_.baseline_window).count();
  int64_t start = window_start_ns_.load(std::memory_order_relaxed);
  // The first caller past the window rolls it; a value that lands in
  // between may go to either window, which the minimum tolerates.
  if (now_ns - start >= window_ns &&
      window_start_ns_.compare_exchange_strong(start, now_ns, std::memory_order_relaxed)) {
    baseline_previous_ns_.store(baseline_current_ns_.exchange(next, std::memory_order_relaxed),
                                std::memory_order_relaxed);
  } else {
    StoreMin(baseline_current_ns_, next);
  }
  *baseline_ns = Lower(baseline_current_ns_.load(std::memory_order_relaxed),
                       baseline_previous_ns_.load(std::memory_order_relaxed));
  return next;
}

void AdaptiveConcurrencyLimit::Release(std::chrono::nanoseconds round_trip, grpc::StatusCode code) {
  const int64_t in_use = in_flight_.fetch_sub(1, std::memory_order_relaxed);  // this call included
  const int64_t now = NowNs();
  const bool refused = RefusedForLoad(code);
  // A refusal's round trip says nothing about serving time.
  double smoothed = smoothed_ns_.load(std::memory_order_relaxed), baseline = 0;
  if (!refused) smoothed = Smooth(now, static_cast<double>(std::max<int64_t>(round_trip.count(), 1)), &baseline);
  double limit = limit_.load(std::memory_order_relaxed);
  // The limit moves only while it is in use: an idle client's round trips
  // say nothing about its own share, and its limit must not grow unused.
  const bool limit_in_use = static_cast<double>(in_use) * 2 >= limit;
  if (refused || (limit_in_use && smoothed > options_.tolerance * baseline)) {
    int64_t last = last_backoff_ns_.load(std::memory_order_relaxed);
    if (static_cast<double>(now - last) < smoothed) return;  // this round trip already backed off
    if (!last_backoff_ns_.compare_exchange_strong(last, now, std::memory_order_relaxed)) return;
    while (!limit_.compare_exchange_weak(limit, std::max(options_.min_limit, limit * options_.backoff),
                                         std::memory_order_relaxed)) {
    }
    return;
  }
  // Below its initial value the limit grows on any fast answer, so that a
  // client back at light load after an overload returns to where it began
  // instead of keeping the low limit its few calls in flight never reach.
  if (!limit_in_use && limit >= options_.initial_limit) return;
  while (!limit_.compare_exchange_weak(limit, std::min(options_.max_limit, limit + 1 / limit),
                                       std::memory_order_relaxed)) {
  }
}

}  // namespace predstore
