#include "core/stream/stream_store.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/scratch_dir.h"
#include "tests/support/status_matchers.h"

namespace predstore {
namespace {

using test_support::ValueOrDie;
using ::testing::HasSubstr;

// Fixed-width keys are prefix-free, as the key codec's are.
std::string KeyOf(int id) {
  std::string key(8, '\0');
  for (int i = 0; i < 8; ++i) key[7 - i] = static_cast<char>((static_cast<uint64_t>(id) >> (8 * i)) & 0xFF);
  return key;
}

StreamEvent Event(int id, int64_t time, std::string value) {
  return StreamEvent{KeyOf(id), time, std::move(value), "key " + std::to_string(id) + " at " + std::to_string(time)};
}

// The answer computed without the store: the newest event at or before
// `as_of`, the greater value on a tie of event times.
std::optional<std::pair<int64_t, std::string>> Expected(const std::vector<StreamEvent>& events, int id,
                                                       int64_t as_of) {
  std::optional<std::pair<int64_t, std::string>> best;
  for (const StreamEvent& e : events) {
    if (e.key != KeyOf(id) || e.event_time_micros > as_of) continue;
    std::pair<int64_t, std::string> candidate{e.event_time_micros, e.value};
    if (!best || candidate > *best) best = candidate;
  }
  return best;
}

TEST(StreamStore, OutOfOrderBatchesGiveTheNewestEventPerKeyLatestAndAsOf) {
  test_support::ScratchDir scratch;
  StreamOptions options;
  options.allowed_lateness = std::chrono::hours(1000);  // nothing is late here
  auto store = ValueOrDie(StreamStore::Open(scratch.path() / "stream", options));
  std::mt19937_64 random(17);
  std::vector<StreamEvent> events;
  for (int i = 0; i < 3000; ++i) {
    // Few distinct times and values: many ties of event time, some identical events.
    events.push_back(Event(static_cast<int>(random() % 40), static_cast<int64_t>(random() % 500) * 1000,
                           std::string(1, static_cast<char>('a' + random() % 4))));
  }
  std::vector<StreamEvent> arrival = events;
  std::shuffle(arrival.begin(), arrival.end(), random);
  uint64_t sequence = 0;
  for (size_t begin = 0; begin < arrival.size();) {
    const size_t size = std::min<size_t>(1 + random() % 100, arrival.size() - begin);
    ASSERT_TRUE(store->Apply("producer", ++sequence, "at " + std::to_string(begin + size),
                             std::span<const StreamEvent>(arrival.data() + begin, size))
                    .ok());
    begin += size;
  }
  for (int id = 0; id < 41; ++id) {
    for (int64_t as_of : {INT64_MAX, int64_t{0}, int64_t{-1}, int64_t{123456}, int64_t{250000}, int64_t{499000}}) {
      const auto expected = Expected(events, id, as_of);
      const auto hit = ValueOrDie(store->Get(KeyOf(id), as_of == INT64_MAX ? std::nullopt : std::optional(as_of)));
      ASSERT_EQ(hit.has_value(), expected.has_value()) << "key " << id << " as of " << as_of;
      if (!hit) continue;
      EXPECT_EQ(hit->event_time_micros, expected->first) << "key " << id << " as of " << as_of;
      EXPECT_EQ(hit->value, expected->second) << "key " << id << " as of " << as_of;
    }
  }
  const SourceState state = store->State("producer");
  EXPECT_EQ(state.sequence, sequence);
  EXPECT_EQ(state.late, 0u);
  EXPECT_GT(state.duplicates, 0u);
  EXPECT_GT(state.superseded, 0u);
}

TEST(StreamStore, EventsOlderThanTheWatermarkAreDeadLetteredNotApplied) {
  test_support::ScratchDir scratch;
  StreamOptions options;
  options.allowed_lateness = std::chrono::microseconds(100);
  options.dead_letter_file = scratch.path() / "dead.jsonl";
  auto store = ValueOrDie(StreamStore::Open(scratch.path() / "stream", options));
  const std::vector<StreamEvent> first = {Event(1, 1000, "a"), Event(1, 1050, "b")};
  ASSERT_TRUE(store->Apply("s", 1, "p1", first).ok());
  // Watermark 950: 850 is late, 960 is not (and is older than 1050, so the
  // latest answer stays 1050).
  const std::vector<StreamEvent> second = {Event(1, 850, "late"), Event(1, 960, "c")};
  SourceState state = ValueOrDie(store->Apply("s", 2, "p2", second));
  EXPECT_EQ(state.late, 1u);
  EXPECT_EQ(state.applied, 3u);
  EXPECT_EQ(state.watermark_micros, 950);
  EXPECT_EQ(ValueOrDie(store->Get(KeyOf(1), std::nullopt))->value, "b");
  EXPECT_EQ(ValueOrDie(store->Get(KeyOf(1), 1000))->value, "a");
  EXPECT_EQ(ValueOrDie(store->Get(KeyOf(1), 970))->value, "c");
  EXPECT_FALSE(ValueOrDie(store->Get(KeyOf(1), 900)).has_value());  // the late event was never applied
  std::ifstream dead(options.dead_letter_file);
  std::string line;
  ASSERT_TRUE(std::getline(dead, line));
  EXPECT_THAT(line, HasSubstr("\"event_time_micros\":850"));
  EXPECT_THAT(line, HasSubstr("older than the watermark"));
  EXPECT_THAT(line, HasSubstr("key 1 at 850"));
  EXPECT_FALSE(std::getline(dead, line));
}

TEST(StreamStore, AReplayedBatchChangesNothingAndStateSurvivesAReopen) {
  test_support::ScratchDir scratch;
  {
    auto store = ValueOrDie(StreamStore::Open(scratch.path() / "stream", StreamOptions()));
    const std::vector<StreamEvent> batch = {Event(1, 10, "a"), Event(2, 20, "b")};
    ASSERT_TRUE(store->Apply("s", 1, "file-1\t2", batch).ok());
    const std::vector<StreamEvent> changed = {Event(1, 30, "z")};
    SourceState replay = ValueOrDie(store->Apply("s", 1, "ignored", changed));  // same sequence: a replay
    EXPECT_EQ(replay.sequence, 1u);
    EXPECT_EQ(replay.position, "file-1\t2");
    EXPECT_EQ(ValueOrDie(store->Get(KeyOf(1), std::nullopt))->event_time_micros, 10);
    EXPECT_THAT(store->Apply("s", 0, "", changed).status(),
                test_support::StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("sequence")));
  }
  auto reopened = ValueOrDie(StreamStore::Open(scratch.path() / "stream", StreamOptions()));
  const SourceState state = reopened->State("s");
  EXPECT_EQ(state.sequence, 1u);
  EXPECT_EQ(state.position, "file-1\t2");
  EXPECT_EQ(state.applied, 2u);
  EXPECT_EQ(state.max_event_time_micros, 20);
  EXPECT_EQ(ValueOrDie(reopened->Get(KeyOf(2), std::nullopt))->value, "b");
  EXPECT_EQ(reopened->State("other").sequence, 0u);
}

// The bounds that once stopped a source for good: an event at INT64_MIN
// overflowed the watermark (every later event was late), and batch 2^64-1
// left no sequence to commit next.
TEST(StreamStore, EventTimesAndSequencesAreBoundedSoASourceNeverStops) {
  test_support::ScratchDir scratch;
  auto store = ValueOrDie(StreamStore::Open(scratch.path() / "stream", StreamOptions()));
  for (int64_t bad : {std::numeric_limits<int64_t>::min(), kMinEventTimeMicros - 1, kMaxEventTimeMicros + 1,
                      std::numeric_limits<int64_t>::max()}) {
    EXPECT_THAT(store->Apply("s", 1, "", std::vector<StreamEvent>{Event(1, 10, "a"), Event(2, bad, "b")}).status(),
                test_support::StatusIs(absl::StatusCode::kInvalidArgument,
                                       HasSubstr("events[1]: event_time_micros " + std::to_string(bad))));
  }
  EXPECT_EQ(store->State("s").sequence, 0u);  // nothing of the refused batches was kept
  EXPECT_FALSE(ValueOrDie(store->Get(KeyOf(1), std::nullopt)).has_value());
  // The bounds themselves are events like any other; neither stops the source.
  ASSERT_TRUE(store->Apply("s", 1, "", std::vector<StreamEvent>{Event(1, kMinEventTimeMicros, "first")}).ok());
  ASSERT_TRUE(store->Apply("s", 2, "", std::vector<StreamEvent>{Event(2, 1000, "b")}).ok());
  SourceState state = ValueOrDie(store->Apply("s", 3, "", std::vector<StreamEvent>{Event(3, kMaxEventTimeMicros, "c")}));
  EXPECT_EQ(state.applied, 3u);
  EXPECT_EQ(state.late, 0u);

  // Sequences: replays are acknowledged, a gap is refused naming the next one.
  EXPECT_THAT(store->Apply("s", std::numeric_limits<uint64_t>::max(), "", std::vector<StreamEvent>{}).status(),
              test_support::StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("its next batch is 4")));
  EXPECT_THAT(store->Apply("s", 5, "", std::vector<StreamEvent>{}).status(),
              test_support::StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("skips ahead")));
  EXPECT_EQ(ValueOrDie(store->Apply("s", 2, "", std::vector<StreamEvent>{})).sequence, 3u);  // a replay
  // Batch 4 commits; after an event at the last time, an older one is late (no overflow either way).
  state = ValueOrDie(store->Apply("s", 4, "", std::vector<StreamEvent>{Event(4, 2000, "d")}));
  EXPECT_EQ(state.sequence, 4u);
  EXPECT_EQ(state.late, 1u);
  StreamOptions negative;
  negative.allowed_lateness = std::chrono::hours(-1);
  EXPECT_THAT(StreamStore::Open(scratch.path() / "other", negative).status(),
              test_support::StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("lateness")));
}

TEST(StreamStore, SweepKeepsTheWindowAndTheVersionInForceWhenItStarts) {
  test_support::ScratchDir scratch;
  StreamOptions options;
  options.retention = std::chrono::microseconds(1000);
  options.allowed_lateness = std::chrono::microseconds(10);
  auto store = ValueOrDie(StreamStore::Open(scratch.path() / "stream", options));
  EXPECT_EQ(ValueOrDie(store->Sweep()), 0u);  // nothing applied: no watermark yet
  // Event times in 1970: retention counts back from the watermark (event
  // time), not the wall clock, so a backfill keeps its history.
  const int64_t now = 1'000'000;
  const std::vector<StreamEvent> events = {Event(2, now - 9000, "only"), Event(1, now - 5000, "old"),
                                           Event(1, now - 3000, "older-but-newer"), Event(1, now, "new")};
  ASSERT_EQ(ValueOrDie(store->Apply("s", 1, "", events)).late, 0u);
  // Watermark now - 10; window: now - 1010 .. now - 10. Key 1 keeps "new"
  // (inside) and "older-but-newer" (in force when the window starts); "old" goes.
  EXPECT_EQ(ValueOrDie(store->Sweep()), 1u);
  EXPECT_EQ(ValueOrDie(store->Get(KeyOf(1), std::nullopt))->value, "new");
  EXPECT_EQ(ValueOrDie(store->Get(KeyOf(1), now - 500))->value, "older-but-newer");  // exact inside the window
  EXPECT_FALSE(ValueOrDie(store->Get(KeyOf(1), now - 4000)).has_value());              // before it: swept
  EXPECT_EQ(ValueOrDie(store->Get(KeyOf(2), std::nullopt))->value, "only");  // a key's newest version stays
}

// Two sources applying batches on their own threads while readers read
// their keys and states and a sweeper runs: a reader never sees a key go
// back in time nor a value that is not its event's, and every batch is
// applied once. (Also the ThreadSanitizer pass's stream-ingest test:
// tests/sanitizers/.)
TEST(StreamStore, ConcurrentSourcesReadersAndSweepsApplyEveryBatchOnce) {
  test_support::ScratchDir scratch;
  auto store = ValueOrDie(StreamStore::Open(scratch.path() / "stream", StreamOptions()));
  constexpr int kBatches = 40;
  constexpr int kKeysPerSource = 10;
  // Batch n of source s writes its keys at event time n ms, value "<s><n>".
  auto name_of = [](int source) { return std::string(1, static_cast<char>('a' + source)); };
  auto value_at = [&](int source, int64_t time) { return absl::StrCat(name_of(source), time / 1000); };
  std::atomic<int> writing{2};
  auto write = [&](int source) {
    const std::string name = name_of(source);
    for (int n = 1; n <= kBatches; ++n) {
      std::vector<StreamEvent> batch;
      for (int k = 0; k < kKeysPerSource; ++k) batch.push_back(Event(source * kKeysPerSource + k, n * 1000, value_at(source, n * 1000)));
      ASSERT_TRUE(store->Apply(name, static_cast<uint64_t>(n), "batch " + std::to_string(n), batch).ok());
    }
    writing.fetch_sub(1);
  };
  auto read = [&](uint64_t seed) {
    std::mt19937_64 random(seed);
    std::vector<int64_t> newest(2 * kKeysPerSource, INT64_MIN);
    uint64_t sequence_seen[2] = {0, 0};
    while (writing.load() > 0) {
      const int id = static_cast<int>(random() % (2 * kKeysPerSource));
      const auto hit = ValueOrDie(store->Get(KeyOf(id), std::nullopt));
      if (hit) {
        ASSERT_GE(hit->event_time_micros, newest[id]) << "key " << id;
        ASSERT_EQ(hit->value, value_at(id / kKeysPerSource, hit->event_time_micros)) << "key " << id;
        newest[id] = hit->event_time_micros;
      }
      for (int source = 0; source < 2; ++source) {
        const uint64_t sequence = store->State(name_of(source)).sequence;
        ASSERT_GE(sequence, sequence_seen[source]);
        sequence_seen[source] = sequence;
      }
    }
  };
  std::vector<std::thread> threads;
  threads.emplace_back(write, 0);
  threads.emplace_back(write, 1);
  threads.emplace_back(read, 1);
  threads.emplace_back(read, 2);
  threads.emplace_back([&] {
    while (writing.load() > 0) ASSERT_TRUE(store->Sweep().ok());
  });
  for (std::thread& thread : threads) thread.join();

  for (int source = 0; source < 2; ++source) {
    const SourceState state = store->State(name_of(source));
    EXPECT_EQ(state.sequence, static_cast<uint64_t>(kBatches));
    EXPECT_EQ(state.applied, static_cast<uint64_t>(kBatches * kKeysPerSource));
    EXPECT_EQ(state.duplicates + state.late, 0u);
    for (int k = 0; k < kKeysPerSource; ++k) {
      const auto hit = ValueOrDie(store->Get(KeyOf(source * kKeysPerSource + k), std::nullopt));
      ASSERT_TRUE(hit.has_value());
      EXPECT_EQ(hit->event_time_micros, kBatches * 1000);
    }
  }
}

// Applied events stay in memory only up to the memtable's bound: past it
// they are written to files, and every event still reads back. Sizes out of
// range are refused.
TEST(StreamStore, EventsInMemoryStayWithinTwiceTheMemtableSize) {
  test_support::ScratchDir scratch;
  StreamOptions options;
  options.memtable_bytes = kMinStreamMemtableBytes;
  auto store = ValueOrDie(StreamStore::Open(scratch.path() / "stream", options));
  const std::string value(200, 'v');
  uint64_t most_in_memory = 0;
  constexpr int kBatches = 200, kPerBatch = 100;  // about 4 MiB of events: 4 memtables' worth
  for (int n = 1; n <= kBatches; ++n) {
    std::vector<StreamEvent> batch;
    for (int k = 0; k < kPerBatch; ++k) batch.push_back(Event(n * kPerBatch + k, n, value));
    ASSERT_TRUE(store->Apply("s", static_cast<uint64_t>(n), "", batch).ok());
    most_in_memory = std::max(most_in_memory, store->memtable_bytes_in_use());
  }
  EXPECT_GT(most_in_memory, 0u);
  EXPECT_LE(most_in_memory, 2 * options.memtable_bytes);
  bool wrote_files = false;
  for (const auto& entry : std::filesystem::directory_iterator(scratch.path() / "stream" / "db")) {
    wrote_files |= entry.path().extension() == ".sst";
  }
  EXPECT_TRUE(wrote_files);
  for (int id : {kPerBatch, kPerBatch * kBatches / 2, kPerBatch * kBatches + kPerBatch - 1}) {
    const auto hit = ValueOrDie(store->Get(KeyOf(id), std::nullopt));
    ASSERT_TRUE(hit.has_value()) << "key " << id;
    EXPECT_EQ(hit->value, value);
  }

  for (uint64_t bytes : {kMinStreamMemtableBytes - 1, kMaxStreamMemtableBytes + 1}) {
    options.memtable_bytes = bytes;
    EXPECT_THAT(StreamStore::Open(scratch.path() / "other", options).status(),
                test_support::StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("must be 1 MiB to 1 GiB")));
  }
}

}  // namespace
}  // namespace predstore
