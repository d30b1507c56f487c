// Client-side adaptive throttling (Google SRE book, "Handling Overload"):
// a client that sees the server refuse its calls refuses a share of its
// own next calls locally, at once, instead of sending them. Refusing a call
// costs a gRPC server a large part of what serving it does (the transport,
// HTTP/2 and message parsing come first), so past capacity only the client
// can keep the refused load off the wire.
//
// Over the last `window`, with `requests` the calls the application
// attempted (counted when they end, or when refused locally: calls in
// flight do not count yet) and `accepts` those the server did not refuse,
// a new call is refused locally with probability
//     max(0, (requests - k * accepts) / (requests + 1)).
// A call counts as refused by the server when it ends RESOURCE_EXHAUSTED,
// UNAVAILABLE or DEADLINE_EXCEEDED (a server at capacity holds extra calls
// in the client's HTTP/2 queue until their deadline). k = 2 lets through
// twice what the server accepts; smaller is stricter. Thread-safe, no lock.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

#include "grpcpp/support/status.h"

namespace predstore {

// Whether a call's status says the server refused it for load (or held it
// past its deadline): the overload signal of AdaptiveThrottle and of
// AdaptiveConcurrencyLimit.
inline bool RefusedForLoad(grpc::StatusCode code) {
  return code == grpc::RESOURCE_EXHAUSTED || code == grpc::UNAVAILABLE || code == grpc::DEADLINE_EXCEEDED;
}

class AdaptiveThrottle {
 public:
  // REQUIRES: k >= 1.
  explicit AdaptiveThrottle(double k, std::chrono::milliseconds window = std::chrono::milliseconds(1000));

  // Whether to send the next call. False: refuse it locally (counted as
  // attempted), and do not call Record for it.
  bool Admit();
  // The outcome of a call that Admit let through (counted as attempted).
  void Record(grpc::StatusCode code);
  // The share of calls Admit refuses now, in [0, 1).
  double RefusalProbability() const;

 private:
  static constexpr int kBuckets = 20;
  struct Bucket {
    std::atomic<int64_t> tick{-1};  // which slice of time the counts belong to
    std::atomic<uint64_t> requests{0};
    std::atomic<uint64_t> accepts{0};
  };
  // The bucket for now, emptied first if it holds an older slice's counts.
  Bucket& Current();
  int64_t Tick() const;

  const double k_;
  const std::chrono::nanoseconds slice_;
  std::array<Bucket, kBuckets> buckets_;
};

}  // namespace predstore
