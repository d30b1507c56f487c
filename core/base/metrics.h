// Metrics in Prometheus's text exposition format (version 0.0.4:
// https://prometheus.io/docs/instrumenting/exposition_formats/), written
// here because Debian has no Prometheus client library for C++.
//
// Recording never locks: a Counter or Histogram is kMetricShards
// cache-line-sized slots of relaxed atomics, each thread adds to the slot its
// id hashes to, and a scrape sums the slots. Registration (Get*, Add*) takes
// a mutex and belongs at setup; the pointers it returns live as long as the
// registry. Gauges and externally kept counters are read by callbacks at
// scrape time. Thread-safe throughout.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace predstore {

inline constexpr size_t kMetricShards = 16;
// The slot this thread records into.
size_t MetricShard();

class Counter {
 public:
  void Add(uint64_t n = 1) { slots_[MetricShard()].value.fetch_add(n, std::memory_order_relaxed); }
  uint64_t Value() const;

 private:
  struct alignas(64) Slot {
    std::atomic<uint64_t> value{0};
  };
  std::array<Slot, kMetricShards> slots_;
};

class Histogram {
 public:
  // `bounds`: the buckets' upper bounds, ascending (the +Inf bucket is
  // implied).
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);

  struct Reading {
    std::vector<uint64_t> cumulative;  // per bound, then +Inf
    double sum = 0;
  };
  Reading Read() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  struct alignas(64) Slot {
    std::unique_ptr<std::atomic<uint64_t>[]> buckets;
    std::atomic<double> sum{0};
  };
  std::vector<double> bounds_;
  std::array<Slot, kMetricShards> slots_;
};

// Request latency buckets in seconds, 25 us to 10 s.
std::vector<double> LatencySecondsBuckets();

using MetricLabels = std::vector<std::pair<std::string, std::string>>;
// Samples a callback reports at scrape time: labels and value.
using MetricSamples = std::vector<std::pair<MetricLabels, double>>;

class MetricsRegistry {
 public:
  // The counter `name` with `labels` (created on first call; the same
  // pointer afterwards). `name` should end in _total.
  Counter* GetCounter(std::string_view name, std::string_view help, const MetricLabels& labels);
  Histogram* GetHistogram(std::string_view name, std::string_view help, const MetricLabels& labels,
                          const std::vector<double>& bounds);
  // A family whose samples `collect` reads at scrape time; `type` is
  // "gauge" or "counter". `collect` runs under the registry's lock: it must
  // not call the registry. Returns the collector's id: an owner that may
  // end before the registry must RemoveCollected it first.
  uint64_t AddCollected(std::string_view name, std::string_view help, std::string_view type,
                        std::function<MetricSamples()> collect);
  // Stops collecting `id`; once this returns, no scrape calls it.
  void RemoveCollected(uint64_t id);

  // Every family, sorted by name, in the text format.
  std::string Exposition() const;

 private:
  struct Family {
    std::string help;
    std::string type;
    std::map<std::string, std::unique_ptr<Counter>> counters;      // by label text
    std::map<std::string, std::unique_ptr<Histogram>> histograms;  // by label text
    std::vector<std::pair<uint64_t, std::function<MetricSamples()>>> collectors;  // by id
  };
  Family& FamilyOf(std::string_view name, std::string_view help, std::string_view type);

  mutable std::mutex mu_;
  std::map<std::string, Family, std::less<>> families_;
  uint64_t last_collector_id_ = 0;  // guarded by mu_
};

// This process's resident memory (/proc/self/statm) and open file
// descriptors (/proc/self/fd, counting the one reading it); 0 when /proc
// cannot be read.
uint64_t ProcessResidentBytes();
uint64_t ProcessOpenFiles();

// The C allocator's heap over all its arenas (glibc's mallinfo2): bytes
// allocated and not yet freed, and free bytes it holds instead of giving
// them back to the system. Resident memory that grows while allocated bytes
// stay flat is the allocator's retention, not a leak. Walks every arena
// under its lock: for scrapes, not hot paths. nullopt in a build with
// AddressSanitizer or ThreadSanitizer, whose own allocator serves malloc.
struct HeapReading {
  uint64_t allocated_bytes = 0;
  uint64_t free_held_bytes = 0;
};
std::optional<HeapReading> ProcessHeap();

}  // namespace predstore
