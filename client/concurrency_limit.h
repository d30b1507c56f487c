// Client-side adaptive concurrency limit (AIMD on latency, as in TCP Vegas
// and Netflix's concurrency-limits): the client keeps at most Limit() calls
// in flight and refuses the next one locally, at once. Without it, calls
// past the server's HTTP/2 stream limit wait in gRPC's client queue, in
// order, until a stream frees; past capacity the calls that reach the
// server are then the oldest, close to their deadline, and fail there after
// costing the server nearly as much as fresh ones.
//
// After each call that was let through:
//   - refused (RESOURCE_EXHAUSTED, UNAVAILABLE or DEADLINE_EXCEEDED), or
//     slow while at least half the limit was in use (a smoothed round trip
//     over `tolerance` times the baseline): the limit is multiplied by
//     `backoff`, at most once per smoothed round trip, so one burst of slow
//     answers counts once;
//   - otherwise, if at least half the limit was in use, or the limit is
//     below `initial_limit`: the limit grows by 1 / limit, about one call
//     per round trip.
// Otherwise a limit not in use does not move: a lightly loaded client's
// round trips say nothing about its share, and an idle limit must not grow
// past its initial value and later let a burst through. Below it, the limit
// recovers on fast answers alone, so that a client back at light load after
// an overload does not keep refusing its occasional bursts.
// The smoothed round trip is an average over about the last 8 answered
// calls; the baseline is its lowest value over the current and previous
// `baseline_window`, so it follows a server that became slower for good.
// Single round trips are too noisy to compare: a batch call's p99 is 3 to
// 4 times its fastest even when nothing queues.
// Thread-safe, no lock: a few atomic operations per call.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "grpcpp/support/status.h"

namespace predstore {

class AdaptiveConcurrencyLimit {
 public:
  struct Options {
    double initial_limit = 8;
    double min_limit = 1;
    double max_limit = 1000;
    double tolerance = 1.3;  // a smoothed round trip past tolerance x the baseline means queuing
    double backoff = 0.7;  // in (0, 1)
    std::chrono::milliseconds baseline_window{10000};
  };
  // Options out of range are brought into it: 1 <= min_limit <=
  // initial_limit <= max_limit, tolerance >= 1.05, 0.1 <= backoff <= 0.95,
  // baseline_window >= 1 ms.
  explicit AdaptiveConcurrencyLimit(Options options);
  AdaptiveConcurrencyLimit() : AdaptiveConcurrencyLimit(Options()) {}

  // Whether a call may start now. True: the caller must call Release when
  // it ends. False: refuse it locally; do not call Release.
  bool TryAcquire();
  // The end of a call TryAcquire let through: how long it took and how.
  void Release(std::chrono::nanoseconds round_trip, grpc::StatusCode code);

  double Limit() const { return limit_.load(std::memory_order_relaxed); }
  // The options in effect (brought into range).
  const Options& options() const { return options_; }
  int64_t InFlight() const { return in_flight_.load(std::memory_order_relaxed); }

 private:
  // Adds `sample_ns` to the smoothed round trip; returns the new smoothed
  // value and sets *baseline_ns to the baseline after it.
  double Smooth(int64_t now_ns, double sample_ns, double* baseline_ns);

  const Options options_;
  std::atomic<double> limit_;
  std::atomic<int64_t> in_flight_{0};
  std::atomic<double> smoothed_ns_{0};  // 0: no sample yet
  std::atomic<int64_t> window_start_ns_{0};
  std::atomic<double> baseline_current_ns_{0};   // 0: none in this window yet
  std::atomic<double> baseline_previous_ns_{0};  // 0: none
  std::atomic<int64_t> last_backoff_ns_{0};
};

}  // namespace predstore
