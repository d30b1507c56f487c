#include "core/base/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include <malloc.h>
#include <unistd.h>

namespace predstore {
namespace {

// Label pairs inside the braces: a="x",b="y".
std::string LabelText(const MetricLabels& labels) {
  std::string out;
  for (const auto& [name, value] : labels) {
    if (!out.empty()) out.push_back(',');
    out.append(name).append("=\"");
    for (char c : value) {
      if (c == '\\') {
        out.append("\\\\");
      } else if (c == '"') {
        out.append("\\\"");
      } else if (c == '\n') {
        out.append("\\n");
      } else {
        out.push_back(c);
      }
    }
    out.push_back('"');
  }
  return out;
}

void AppendNumber(std::string* out, double value) {
  if (std::isnan(value)) return out->append("NaN"), void();
  if (std::isinf(value)) return out->append(value > 0 ? "+Inf" : "-Inf"), void();
  char buffer[32];
  const auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value);
  out->append(buffer, end);
}

void AppendSample(std::string* out, std::string_view name, std::string_view labels, double value) {
  out->append(name);
  if (!labels.empty()) out->append("{").append(labels).append("}");
  out->push_back(' ');
  AppendNumber(out, value);
  out->push_back('\n');
}

}  // namespace

size_t MetricShard() {
  thread_local const size_t shard = std::hash<std::thread::id>()(std::this_thread::get_id()) % kMetricShards;
  return shard;
}

uint64_t Counter::Value() const {
  uint64_t total = 0;
  for (const Slot& slot : slots_) total += slot.value.load(std::memory_order_relaxed);
  return total;
}

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  for (Slot& slot : slots_) {
    slot.buckets = std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1);
    for (size_t i = 0; i <= bounds_.size(); ++i) slot.buckets[i].store(0, std::memory_order_relaxed);
  }
}

void Histogram::Observe(double value) {
  const size_t bucket = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  Slot& slot = slots_[MetricShard()];
  slot.buckets[bucket].fetch_add(1, std::memory_order_relaxed);
  slot.sum.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Reading Histogram::Read() const {
  Reading reading;
  reading.cumulative.assign(bounds_.size() + 1, 0);
  for (const Slot& slot : slots_) {
    for (size_t i = 0; i <= bounds_.size(); ++i) reading.cumulative[i] += slot.buckets[i].load(std::memory_order_relaxed);
    reading.sum += slot.sum.load(std::memory_order_relaxed);
  }
  for (size_t i = 1; i < reading.cumulative.size(); ++i) reading.cumulative[i] += reading.cumulative[i - 1];
  return reading;
}

std::vector<double> LatencySecondsBuckets() {
  return {25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 500e-3,
          1, 2.5, 5, 10};
}

uint64_t ProcessResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t pages = 0, resident = 0;
  if (!(statm >> pages >> resident)) return 0;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

uint64_t ProcessOpenFiles() {
  std::error_code error;
  uint64_t count = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", error), end; !error && it != end; it.increment(error)) {
    ++count;
  }
  return count;
}

std::optional<HeapReading> ProcessHeap() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return std::nullopt;
#else
  const struct mallinfo2 info = mallinfo2();
  return HeapReading{.allocated_bytes = info.uordblks + info.hblkhd, .free_held_bytes = info.fordblks};
#endif
}

MetricsRegistry::Family& MetricsRegistry::FamilyOf(std::string_view name, std::string_view help,
                                                   std::string_view type) {
  auto it = families_.find(name);
  if (it == families_.end()) {
    it = families_.try_emplace(std::string(name)).first;
    it->second.help = help;
    it->second.type = type;
  }
  return it->second;
}

Counter* MetricsRegistry::GetCounter(std::string_view name, std::string_view help, const MetricLabels& labels) {
  std::lock_guard<std::mutex> lock(mu_);
  std::unique_ptr<Counter>& counter = FamilyOf(name, help, "counter").counters[LabelText(labels)];
  if (!counter) counter = std::make_unique<Counter>();
  return counter.get();
}

Histogram* MetricsRegistry::GetHistogram(std::string_view name, std::string_view help, const MetricLabels& labels,
                                         const std::vector<double>& bounds) {
  std::lock_guard<std::mutex> lock(mu_);
  std::unique_ptr<Histogram>& histogram = FamilyOf(name, help, "histogram").histograms[LabelText(labels)];
  if (!histogram) histogram = std::make_unique<Histogram>(bounds);
  return histogram.get();
}

uint64_t MetricsRegistry::AddCollected(std::string_view name, std::string_view help, std::string_view type,
                                       std::function<MetricSamples()> collect) {
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t id = ++last_collector_id_;
  FamilyOf(name, help, type).collectors.emplace_back(id, std::move(collect));
  return id;
}

void MetricsRegistry::RemoveCollected(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [name, family] : families_) {
    std::erase_if(family.collectors, [id](const auto& collector) { return collector.first == id; });
  }
}

std::string MetricsRegistry::Exposition() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  for (const auto& [name, family] : families_) {
    out.append("# HELP ").append(name).push_back(' ');
    for (char c : family.help) {
      if (c == '\\') {
        out.append("\\\\");
      } else if (c == '\n') {
        out.append("\\n");
      } else {
        out.push_back(c);
      }
    }
    out.append("\n# TYPE ").append(name).append(" ").append(family.type).push_back('\n');
    for (const auto& [labels, counter] : family.counters) AppendSample(&out, name, labels, counter->Value());
    for (const auto& [labels, histogram] : family.histograms) {
      const Histogram::Reading reading = histogram->Read();
      const std::string prefix = labels.empty() ? "" : labels + ",";
      for (size_t i = 0; i < reading.cumulative.size(); ++i) {
        std::string le;
        if (i < histogram->bounds().size()) {
          AppendNumber(&le, histogram->bounds()[i]);
        } else {
          le = "+Inf";
        }
        AppendSample(&out, name + "_bucket", prefix + "le=\"" + le + "\"", reading.cumulative[i]);
      }
      AppendSample(&out, name + "_sum", labels, reading.sum);
      AppendSample(&out, name + "_count", labels, reading.cumulative.back());
    }
    for (const auto& [id, collect] : family.collectors) {
      for (const auto& [labels, value] : collect()) AppendSample(&out, name, LabelText(labels), value);
    }
  }
  return out;
}

}  // namespace predstore
