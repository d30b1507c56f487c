// The Prometheus exposition, read back by the Prometheus project's own
// parser (Debian's python3-prometheus-client), and counters that lose
// nothing under concurrent recording.
#include "core/base/metrics.h"

#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/python_output.h"
#include "tests/support/scratch_dir.h"

namespace predstore {
namespace {

using ::testing::HasSubstr;

// Every sample prometheus_client's parser reads from `text`, one per line:
// "name{label=value,...} value", labels sorted.
std::string ParsedByPrometheus(const std::string& text) {
  test_support::ScratchDir dir;
  const std::string file = (dir.path() / "metrics.txt").string();
  std::ofstream(file) << text;
  return test_support::PythonOutput(
      "import sys\nfrom prometheus_client.parser import text_string_to_metric_families as parse\n"
      "for f in parse(open(sys.argv[1]).read()):\n"
      "  for s in f.samples:\n"
      "    print(f.type, s.name + '{' + ','.join(k + '=' + v for k, v in sorted(s.labels.items())) + '}', "
      "repr(s.value))\n",
      file);
}

TEST(MetricsTest, TheExpositionReadsBackThroughPrometheussOwnParser) {
  MetricsRegistry registry;
  registry.GetCounter("predstore_requests_total", "Requests.\nSecond line \\ backslash",
                      {{"method", "Lookup"}, {"code", "OK"}})
      ->Add(3);
  registry.GetCounter("predstore_requests_total", "Requests.", {{"method", "a\"b\\c\nd"}, {"code", "OK"}})->Add();
  Histogram* latency = registry.GetHistogram("predstore_request_duration_seconds", "Latency.", {{"method", "Lookup"}},
                                             {0.001, 0.01});
  latency->Observe(0.0005);
  latency->Observe(0.001);  // on a bound: counted in that bucket (le)
  latency->Observe(0.5);
  registry.AddCollected("predstore_table_rows", "Rows.", "gauge",
                        [] { return MetricSamples{{{{"table", "t1"}}, 1e6}, {{{"table", "t2"}}, 0.25}}; });
  const std::string text = registry.Exposition();
  EXPECT_THAT(text, HasSubstr("# TYPE predstore_request_duration_seconds histogram\n"));
  const std::string parsed = ParsedByPrometheus(text);
  EXPECT_THAT(parsed, HasSubstr("counter predstore_requests_total{code=OK,method=Lookup} 3.0"));
  EXPECT_THAT(parsed, HasSubstr("counter predstore_requests_total{code=OK,method=a\"b\\c\nd} 1.0"));
  EXPECT_THAT(parsed, HasSubstr("histogram predstore_request_duration_seconds_bucket{le=0.001,method=Lookup} 2.0"));
  EXPECT_THAT(parsed, HasSubstr("histogram predstore_request_duration_seconds_bucket{le=0.01,method=Lookup} 2.0"));
  EXPECT_THAT(parsed, HasSubstr("histogram predstore_request_duration_seconds_bucket{le=+Inf,method=Lookup} 3.0"));
  EXPECT_THAT(parsed, HasSubstr("histogram predstore_request_duration_seconds_count{method=Lookup} 3.0"));
  EXPECT_THAT(parsed, HasSubstr("histogram predstore_request_duration_seconds_sum{method=Lookup} 0.5015"));
  EXPECT_THAT(parsed, HasSubstr("gauge predstore_table_rows{table=t1} 1000000.0"));
  EXPECT_THAT(parsed, HasSubstr("gauge predstore_table_rows{table=t2} 0.25"));
}

// An owner that ends before its registry removes its collector; the
// others stay. (Under ASan, a scrape after the owner ended was a
// stack-use-after-scope: the scoring batcher's test found it.)
TEST(MetricsTest, ARemovedCollectorIsNeverCalledAgain) {
  MetricsRegistry registry;
  int calls = 0;
  const uint64_t first = registry.AddCollected("predstore_a", "A.", "gauge", [&] {
    ++calls;
    return MetricSamples{{{{"which", "first"}}, 1}};
  });
  const uint64_t second =
      registry.AddCollected("predstore_a", "A.", "gauge", [] { return MetricSamples{{{{"which", "second"}}, 2}}; });
  EXPECT_NE(first, second);
  EXPECT_THAT(registry.Exposition(), HasSubstr("predstore_a{which=\"first\"} 1\n"));
  registry.RemoveCollected(first);
  const std::string text = registry.Exposition();
  EXPECT_THAT(text, ::testing::Not(HasSubstr("first")));
  EXPECT_THAT(text, HasSubstr("predstore_a{which=\"second\"} 2\n"));
  EXPECT_EQ(calls, 1);
}

TEST(MetricsTest, ConcurrentRecordingLosesNothing) {
  MetricsRegistry registry;
  Counter* counter = registry.GetCounter("c_total", "c", {});
  EXPECT_EQ(registry.GetCounter("c_total", "c", {}), counter);  // the same series, the same counter
  Histogram* histogram = registry.GetHistogram("h_seconds", "h", {}, {1.0});
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100000; ++i) {
        counter->Add();
        histogram->Observe(i % 2 == 0 ? 0.5 : 2.0);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(counter->Value(), 800000u);
  const Histogram::Reading reading = histogram->Read();
  EXPECT_EQ(reading.cumulative[0], 400000u);
  EXPECT_EQ(reading.cumulative[1], 800000u);
  EXPECT_DOUBLE_EQ(reading.sum, 400000 * 0.5 + 400000 * 2.0);
}

TEST(MetricsTest, ProcessReadingsAreLive) {
  EXPECT_GT(ProcessResidentBytes(), 1u << 20);
  const uint64_t files = ProcessOpenFiles();
  std::FILE* extra = std::fopen("/proc/self/status", "r");
  EXPECT_EQ(ProcessOpenFiles(), files + 1);
  std::fclose(extra);
}

}  // namespace
}  // namespace predstore
