// End-to-end: streaming ingestion (predstore-server --ingest) fed by the
// real predstore-load stream and predstore-cli ingest, and by the client
// library's Ingest stream; read back through Lookup, BatchLookup and
// LookupStream, latest and as of a time. Every expected answer comes from
// ReferenceStream below: the documented rules applied, independently of the
// code under test, to the events in the order they were sent.
#include <signal.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "client/predstore_client.h"
#include "core/model/sample_model.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/e2e/forecast_requests.h"
#include "tests/e2e/metrics_scrape.h"
#include "tests/e2e/subprocess.h"
#include "tests/e2e/xgboost_reference.h"
#include "tests/support/scratch_dir.h"

namespace predstore::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr int64_t kSecond = 1'000'000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// RFC 3339 with microseconds, e.g. 2026-11-26T10:00:00.250000Z.
std::string Rfc3339(int64_t micros) {
  const std::time_t seconds = static_cast<std::time_t>(micros / kSecond);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[64];
  const size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(text + n, sizeof text - n, ".%06lldZ", static_cast<long long>(micros % kSecond));
  return text;
}

std::string ReadText(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// (store_id, item_id, horizon_days) of the forecasts table.
using Key = std::tuple<int64_t, int64_t, int64_t>;

std::string KeyText(const Key& key) {
  return "(" + std::to_string(std::get<0>(key)) + ", " + std::to_string(std::get<1>(key)) + ", " +
         std::to_string(std::get<2>(key)) + ")";
}

// One streamed prediction of the forecasts table.
struct Event {
  Key key;
  int64_t time = 0;  // event time, microseconds since the epoch
  double forecast = 0;
  double p90 = 0;

  bool operator==(const Event&) const = default;
};

// The stored form of an event's values: value format version 1
// (core/value_codec.h), the value columns in schema order as little-endian
// IEEE doubles. Of two events of one key and event time, the one whose
// encoding is the greater byte string wins; this is not numeric order (1.0
// beats 2.0: their first differing byte is 0xf0 against 0x00).
std::string EncodedValue(const Event& event) {
  static_assert(std::endian::native == std::endian::little);
  std::string out(16, '\0');
  std::memcpy(out.data(), &event.forecast, 8);
  std::memcpy(out.data() + 8, &event.p90, 8);
  return out;
}

// The documented rules of one source (core/stream_store.h), applied to
// events in the order they were sent: an event older than the watermark
// (the greatest event time applied minus the allowed lateness) is late; an
// event identical to a stored one is a duplicate; at an equal key and event
// time the greater encoded value wins (superseded counts both outcomes);
// per key the newest event time answers.
class ReferenceStream {
 public:
  struct Counts {
    uint64_t applied = 0, duplicates = 0, late = 0, superseded = 0;
    bool operator==(const Counts&) const = default;
  };
  explicit ReferenceStream(int64_t lateness_micros) : lateness_(lateness_micros) {}

  void Apply(const Event& event) {
    if (max_time_.has_value() && event.time < *max_time_ - lateness_) {
      ++counts_.late;
      late_events_.push_back(event);
      return;
    }
    std::map<int64_t, Event>& versions = versions_[event.key];
    auto stored = versions.find(event.time);
    if (stored != versions.end() && EncodedValue(stored->second) == EncodedValue(event)) {
      ++counts_.duplicates;
      return;
    }
    max_time_ = std::max(max_time_.value_or(event.time), event.time);
    if (stored != versions.end()) {
      ++counts_.superseded;
      if (EncodedValue(stored->second) > EncodedValue(event)) return;
    }
    ++counts_.applied;
    versions[event.time] = event;
  }

  // The newest event of `key` at or before `as_of` (the latest without).
  std::optional<Event> Newest(const Key& key, std::optional<int64_t> as_of) const {
    auto found = versions_.find(key);
    if (found == versions_.end()) return std::nullopt;
    const std::map<int64_t, Event>& versions = found->second;
    auto after = as_of.has_value() ? versions.upper_bound(*as_of) : versions.end();
    if (after == versions.begin()) return std::nullopt;
    return std::prev(after)->second;
  }

  const Counts& counts() const { return counts_; }
  int64_t max_time() const { return max_time_.value_or(INT64_MIN); }
  const std::vector<Event>& late_events() const { return late_events_; }

 private:
  int64_t lateness_;
  std::optional<int64_t> max_time_;
  Counts counts_;
  std::map<Key, std::map<int64_t, Event>> versions_;
  std::vector<Event> late_events_;
};

void PrintTo(const ReferenceStream::Counts& c, std::ostream* out) {
  *out << "applied " << c.applied << ", duplicates " << c.duplicates << ", late " << c.late << ", superseded "
       << c.superseded;
}

ReferenceStream::Counts CountsOf(const v1::SourceStatus& status) {
  return {status.applied(), status.duplicates(), status.late(), status.superseded()};
}

// The rows of the loaded snapshot by key, and when it was published.
struct Snapshot {
  std::map<Key, Row> rows;
  int64_t published_micros = 0;
};

// What a lookup must answer: the active snapshot counts as written at its
// publish time; the newest of it and the stream at or before `as_of`
// answers, the snapshot on a tie.
struct Expected {
  bool found = false;
  v1::Source source = v1::SOURCE_UNSPECIFIED;
  int64_t event_time = 0;  // when source is SOURCE_STREAM
  double forecast = 0;
  double p90 = 0;
};

Expected ExpectedAnswer(const ReferenceStream& stream, const Snapshot& snapshot, const Key& key,
                        std::optional<int64_t> as_of) {
  const std::optional<Event> hit = stream.Newest(key, as_of);
  auto row = snapshot.rows.find(key);
  const bool snapshot_counts =
      row != snapshot.rows.end() && (!as_of.has_value() || snapshot.published_micros <= *as_of);
  if (hit.has_value() && (!snapshot_counts || hit->time > snapshot.published_micros)) {
    return {true, v1::SOURCE_STREAM, hit->time, hit->forecast, hit->p90};
  }
  if (snapshot_counts) return {true, v1::SOURCE_PRECOMPUTED, 0, row->second.forecast, row->second.p90};
  return {};
}

// A LookupResponse or LookupResult against the expected answer.
template <typename Answer>
::testing::AssertionResult Matches(const Answer& answer, const Expected& expected) {
  auto failure = [&] {
    return ::testing::AssertionFailure() << "answer {" << answer.ShortDebugString()
                                         << "}, expected found=" << expected.found << " source=" << expected.source
                                         << " event_time=" << expected.event_time << " values=" << expected.forecast
                                         << "," << expected.p90;
  };
  if (answer.found() != expected.found) return failure();
  if (!expected.found) return answer.values_size() == 0 ? ::testing::AssertionSuccess() : failure();
  if (answer.source() != expected.source || answer.values_size() != 2 ||
      answer.values(0).double_value() != expected.forecast || answer.values(1).double_value() != expected.p90) {
    return failure();
  }
  // event_time_micros is set for stream answers only.
  if (answer.event_time_micros() != (expected.source == v1::SOURCE_STREAM ? expected.event_time : 0)) {
    return failure();
  }
  return ::testing::AssertionSuccess();
}

v1::LookupRequest LookupAt(const Key& key, std::optional<int64_t> as_of) {
  v1::LookupRequest request = LookupOf("forecasts", std::get<0>(key), std::get<1>(key), std::get<2>(key));
  if (as_of.has_value()) request.set_as_of_micros(*as_of);
  return request;
}

v1::BatchLookupRequest BatchAt(const std::vector<Key>& keys, std::optional<int64_t> as_of) {
  std::vector<Row> rows;
  for (const Key& key : keys) rows.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key), 0, 0});
  v1::BatchLookupRequest request = BatchOf("forecasts", rows, 0, rows.size());
  if (as_of.has_value()) request.set_as_of_micros(*as_of);
  return request;
}

v1::KeyField Field(const std::string& column, const v1::Value& value) {
  v1::KeyField field;
  field.set_column(column);
  *field.mutable_value() = value;
  return field;
}

v1::StreamEvent WireEvent(const Event& event) {
  v1::StreamEvent wire;
  *wire.add_key() = Field("store_id", Int(std::get<0>(event.key)));
  *wire.add_key() = Field("item_id", Int(std::get<1>(event.key)));
  *wire.add_key() = Field("horizon_days", Int(std::get<2>(event.key)));
  wire.set_event_time_micros(event.time);
  *wire.add_values() = Field("forecast", Double(event.forecast));
  *wire.add_values() = Field("p90", Double(event.p90));
  return wire;
}

v1::IngestRequest BatchOfEvents(const std::string& source, uint64_t sequence, const std::vector<Event>& events,
                                const std::string& table = "forecasts") {
  v1::IngestRequest request;
  request.set_table(table);
  request.set_source(source);
  request.set_sequence(sequence);
  request.set_position("after batch " + std::to_string(sequence));
  for (const Event& event : events) *request.add_events() = WireEvent(event);
  return request;
}

// One event as a JSON line of an events file; the event time as RFC 3339
// text or as integer microseconds.
std::string JsonLine(const Event& event, bool rfc3339) {
  char values[96];
  std::snprintf(values, sizeof values, "\"forecast\":%.17g,\"p90\":%.17g", event.forecast, event.p90);
  const std::string time = rfc3339 ? "\"" + Rfc3339(event.time) + "\"" : std::to_string(event.time);
  return "{\"item_id\":" + std::to_string(std::get<1>(event.key)) +
         ",\"store_id\":" + std::to_string(std::get<0>(event.key)) +
         ",\"horizon_days\":" + std::to_string(std::get<2>(event.key)) + ",\"event_time\":" + time + "," + values + "}";
}

// The acks of `batches` sent in order over one Ingest stream, and the
// stream's final status.
struct IngestOutcome {
  std::vector<v1::IngestAck> acks;
  absl::Status finish;
};

IngestOutcome SendBatches(const PredstoreClient& client, const std::vector<v1::IngestRequest>& batches) {
  IngestOutcome outcome;
  std::unique_ptr<IngestStream> stream = client.OpenIngestStream();
  for (const v1::IngestRequest& batch : batches) {
    v1::IngestAck ack;
    if (!stream->Write(batch) || !stream->Read(&ack)) break;
    outcome.acks.push_back(ack);
  }
  stream->WritesDone();
  v1::IngestAck ignored;
  while (stream->Read(&ignored)) {
  }
  outcome.finish = stream->Finish();
  return outcome;
}

// Whether `key` has an answer in the store (no fallback), latest or as of.
bool Found(const PredstoreClient& client, const Key& key, std::optional<int64_t> as_of) {
  v1::LookupRequest request = LookupAt(key, as_of);
  request.set_no_fallback(true);
  auto response = client.Lookup(request);
  EXPECT_TRUE(response.ok()) << response.status();
  return response.ok() && response->found();
}

// The committed state of `source` on the server (empty if none).
v1::SourceStatus SourceOf(const PredstoreClient& client, const std::string& source) {
  auto status = client.IngestStatus("forecasts");
  EXPECT_TRUE(status.ok()) << status.status();
  if (status.ok()) {
    for (const v1::SourceStatus& s : status->sources()) {
      if (s.source() == source) return s;
    }
  }
  return v1::SourceStatus();
}

class StreamingTest : public ::testing::Test {
 protected:
  fs::path Path(const std::string& name) const { return dir_.path() / name; }
  fs::path data() const { return Path("data"); }

  // Loads `rows` sample forecasts as table "forecasts" in `data_dir`.
  std::vector<Row> LoadForecasts(const fs::path& data_dir, int rows) {
    const fs::path csv = Path("forecasts.csv");
    ProgramResult sample =
        RunProgram({LoaderBinary(), "sample", "--rows=" + std::to_string(rows), "--out=" + csv.string()});
    EXPECT_EQ(sample.exit_code, 0) << sample.err;
    ProgramResult load = RunProgram(
        {LoaderBinary(), "load", "--data_dir=" + data_dir.string(), "--table=forecasts", kKeys, kValues, csv.string()});
    EXPECT_EQ(load.exit_code, 0) << load.err;
    return ReadSampleCsv(csv);
  }

  // Trains a small model into <scratch>/model and registers it as
  // models:/m/Production in <scratch>/mlruns; returns the model directory.
  fs::path RegisterProductionModel() {
    const fs::path model_dir = Path("model");
    EXPECT_TRUE(WriteSampleModel(SmallSampleModel(1), model_dir.string()).ok());
    EXPECT_TRUE(
        WriteSampleRegistration(Path("mlruns").string(), {"m", 1, "Production", {}, model_dir.string()}).ok());
    return model_dir;
  }

  // Loads <scratch>/features.csv as table "store_features" (f0..f4 doubles).
  void LoadStoreFeatures() {
    ProgramResult load =
        RunProgram({LoaderBinary(), "load", "--data_dir=" + data().string(), "--table=store_features", kKeys,
                    "--values=f0:double,f1:double,f2:double,f3:double,f4:double", Path("features.csv").string()});
    ASSERT_EQ(load.exit_code, 0) << load.err;
  }

  // The served snapshot: its rows and publish time (TableInfo.loaded_at).
  static Snapshot SnapshotOf(const PredstoreClient& client, const std::vector<Row>& rows) {
    Snapshot snapshot;
    for (const Row& row : rows) snapshot.rows[{row.store, row.item, row.horizon}] = row;
    auto table = client.GetTable("forecasts");
    EXPECT_TRUE(table.ok()) << table.status();
    if (table.ok()) {
      snapshot.published_micros = table->loaded_at().seconds() * kSecond + table->loaded_at().nanos() / 1000;
    }
    EXPECT_GT(snapshot.published_micros, 0);
    return snapshot;
  }

  ProgramResult Cli(const ServerProcess& server, std::vector<std::string> args) {
    args.insert(args.begin(), {CliBinary(), "--server=" + server.target()});
    return RunProgram(args);
  }

  test_support::ScratchDir dir_;
};

// --------------------------------------------------------------------------
// Exactly once through crashes: predstore-load stream against a server
// killed with SIGKILL several times, and itself killed and rerun.

class StreamCrashTest : public StreamingTest {
 protected:
  static constexpr int kKeys = 200;
  static constexpr int kEvents = 4000;
  static constexpr int kFiles = 10;
  static constexpr int kBatchSize = 50;
  static constexpr int64_t kLateness = 100 * kSecond;

  void SetUp() override {
    // One snapshot, copied, so that every run serves the same one.
    rows_ = LoadForecasts(Path("pristine"), 100);
    // Ten keys of the snapshot (whose events, all older than it, answer
    // only as of earlier times), the others in the stream only (the
    // sample's stores are small numbers).
    for (int k = 0; k < 10; ++k) keys_.push_back({rows_[k * 7].store, rows_[k * 7].item, rows_[k * 7].horizon});
    for (int k = 10; k < kKeys; ++k) keys_.push_back({500 + k % 4, 7000 + k, 1 + k % 14});
    base_ = (NowMicros() / kSecond - 3 * 3600) * kSecond;  // well inside the retention
    GenerateEvents();
    WriteEventFiles();
  }

  // Seeded: per position i a nominal time base + i s, most events up to 50 s
  // earlier (out of order, within the lateness), some 60 to 400 s earlier
  // (late or not, depending on what came before), exact repeats of a recent
  // event (duplicates) and events at a recent event's key and time with
  // other values (ties).
  void GenerateEvents() {
    std::mt19937_64 rng(20261126);
    auto uniform = [&](int64_t low, int64_t high) { return std::uniform_int_distribution<int64_t>(low, high)(rng); };
    auto price = [&] { return static_cast<double>(uniform(0, 200000)) / 100.0; };
    for (int i = 0; i < kEvents; ++i) {
      const int64_t kind = uniform(0, 99);
      if (i > 20 && kind < 3) {
        events_.push_back(events_[i - uniform(1, 15)]);
      } else if (i > 20 && kind < 6) {
        Event tie = events_[i - uniform(1, 15)];
        tie.forecast = price();
        tie.p90 = price();
        events_.push_back(tie);
      } else {
        const int64_t back = kind < 90 ? uniform(0, 50 * kSecond) : uniform(60 * kSecond, 400 * kSecond);
        events_.push_back({keys_[uniform(0, kKeys - 1)], base_ + i * kSecond - back, price(), price()});
      }
    }
  }

  // kFiles files in name order, with a blank line now and then (line
  // numbers in positions count them), and two files the source must ignore.
  void WriteEventFiles() {
    fs::create_directories(events_dir());
    for (int f = 0; f < kFiles; ++f) {
      char name[32];
      std::snprintf(name, sizeof name, "events-%02d.jsonl", f);
      std::ofstream out(events_dir() / name);
      int line = 0;
      for (int i = f * kEvents / kFiles; i < (f + 1) * kEvents / kFiles; ++i) {
        out << JsonLine(events_[i], i % 3 == 0) << "\n";
        last_position_ = std::string(name) + "\t" + std::to_string(++line);
        if (i % 97 == 0) {
          out << "\n";
          ++line;
        }
      }
    }
    Event newest{keys_[0], base_ + kEvents * kSecond, 1, 1};
    std::ofstream(events_dir() / ".events-99.jsonl") << JsonLine(newest, false) << "\n";
    std::ofstream(events_dir() / "events-99.jsonl.tmp") << JsonLine(newest, false) << "\n";
  }

  fs::path events_dir() const { return Path("events"); }

  // A fresh data directory holding the pristine snapshot.
  fs::path FreshData(const std::string& name) const {
    fs::copy(Path("pristine"), Path(name), fs::copy_options::recursive);
    return Path(name);
  }

  std::vector<std::string> ServerArgs() const { return {"--ingest", "--allowed_lateness_s=100"}; }

  std::vector<std::string> LoaderArgs(int port) const {
    return {LoaderBinary(),
            "stream",
            "--table=forecasts",
            "--source=folder:" + events_dir().string(),
            "--source_name=files",
            "--server=127.0.0.1:" + std::to_string(port),
            "--once",
            "--batch_size=" + std::to_string(kBatchSize)};
  }

  // The reference after every event file was sent once, in order.
  ReferenceStream Reference() const {
    ReferenceStream reference(kLateness);
    for (const Event& event : events_) reference.Apply(event);
    return reference;
  }

  // The as_of times the runs are compared at: before any event, inside
  // the stream, exactly at an event time and a microsecond before it.
  std::vector<int64_t> AsOfTimes() const {
    return {base_ - kHour,          base_ + 500 * kSecond, base_ + 1500 * kSecond,   events_[1234].time,
            events_[1234].time - 1, events_[2500].time,    base_ + kEvents * kSecond};
  }

  // Every key looked up (Lookup, and BatchLookup latest and at each
  // AsOfTimes()) and checked against the reference. Returns the answers,
  // to compare runs.
  std::vector<std::string> CheckAnswers(const PredstoreClient& client, const ReferenceStream& reference,
                                        const Snapshot& snapshot) {
    std::vector<std::string> answers;
    int mismatches = 0;
    for (const Key& key : keys_) {
      auto response = client.Lookup(LookupAt(key, std::nullopt));
      EXPECT_TRUE(response.ok()) << response.status();
      if (!response.ok()) return answers;
      const bool matches = Matches(*response, ExpectedAnswer(reference, snapshot, key, std::nullopt));
      if (!matches && ++mismatches <= 5) {
        ADD_FAILURE() << KeyText(key) << " latest: "
                      << Matches(*response, ExpectedAnswer(reference, snapshot, key, std::nullopt)).message();
      }
      answers.push_back(response->ShortDebugString());
    }
    std::vector<std::optional<int64_t>> times = {std::nullopt};
    for (int64_t t : AsOfTimes()) times.push_back(t);
    for (const std::optional<int64_t>& as_of : times) {
      auto response = client.BatchLookup(BatchAt(keys_, as_of));
      EXPECT_TRUE(response.ok()) << response.status();
      if (!response.ok()) return answers;
      EXPECT_EQ(response->results_size(), kKeys);
      for (int k = 0; k < response->results_size(); ++k) {
        const Expected expected = ExpectedAnswer(reference, snapshot, keys_[k], as_of);
        if (!Matches(response->results(k), expected) && ++mismatches <= 5) {
          ADD_FAILURE() << KeyText(keys_[k]) << " as of " << as_of.value_or(-1) << ": "
                        << Matches(response->results(k), expected).message();
        }
        answers.push_back(response->results(k).ShortDebugString());
      }
    }
    EXPECT_EQ(mismatches, 0);
    return answers;
  }

  // (event time, item) of each dead-lettered event in `path`.
  static std::multiset<std::pair<int64_t, int64_t>> DeadLettered(const fs::path& path) {
    std::multiset<std::pair<int64_t, int64_t>> found;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
      const nlohmann::json json = nlohmann::json::parse(line, nullptr, false);
      EXPECT_TRUE(json.is_object()) << line;
      if (!json.is_object()) continue;
      EXPECT_THAT(json.value("reason", ""), HasSubstr("watermark"));
      const std::string event = json.value("event", "");
      // The event's text names its item_id (the second key column).
      const size_t item = event.find("column: \"item_id\" value { int64_value: ");
      EXPECT_NE(item, std::string::npos) << event;
      if (item == std::string::npos) continue;
      found.emplace(json.value("event_time_micros", int64_t{0}),
                    std::atoll(event.c_str() + item + std::strlen("column: \"item_id\" value { int64_value: ")));
    }
    return found;
  }

  std::multiset<std::pair<int64_t, int64_t>> LateEvents(const ReferenceStream& reference) const {
    std::multiset<std::pair<int64_t, int64_t>> late;
    for (const Event& event : reference.late_events()) late.emplace(event.time, std::get<1>(event.key));
    return late;
  }

  // The batch number in one of the loader's state lines ("source S: batch
  // N, applied ...").
  static uint64_t BatchIn(const std::string& state_line) {
    const size_t at = state_line.find(": batch ");
    return at == std::string::npos ? 0 : std::strtoull(state_line.c_str() + at + 8, nullptr, 10);
  }

  std::vector<Key> keys_;
  int64_t base_ = 0;
  std::vector<Event> events_;
  std::vector<Row> rows_;
  std::string last_position_;  // of the last event: "<file>\t<line>"
};

TEST_F(StreamCrashTest, ServerAndLoaderKilledMidStreamEndInTheCleanRunsExactState) {
  const ReferenceStream reference = Reference();
  // The data exercise every rule.
  ASSERT_GT(reference.counts().late, 50u);
  ASSERT_GT(reference.counts().duplicates, 20u);
  ASSERT_GT(reference.counts().superseded, 20u);

  // (a) The clean run.
  std::vector<std::string> clean_answers;
  {
    ServerProcess server(FreshData("clean"), ServerArgs());
    ASSERT_TRUE(server.started());
    ProgramResult loader = RunProgram(LoaderArgs(server.port()));
    ASSERT_EQ(loader.exit_code, 0) << loader.err;
    PredstoreClient client(ClientFor(server.target()));
    const Snapshot snapshot = SnapshotOf(client, rows_);
    const v1::SourceStatus status = SourceOf(client, "files");
    EXPECT_EQ(CountsOf(status), reference.counts());
    EXPECT_EQ(status.max_event_time_micros(), reference.max_time());
    EXPECT_EQ(status.watermark_micros(), reference.max_time() - kLateness);
    EXPECT_EQ(status.position(), last_position_);
    clean_answers = CheckAnswers(client, reference, snapshot);
    auto ingest = client.IngestStatus("forecasts");
    ASSERT_TRUE(ingest.ok());
    EXPECT_EQ(DeadLettered(ingest->dead_letter_file()), LateEvents(reference));
  }
  ASSERT_FALSE(HasFailure());

  // (b) The server killed with SIGKILL at seeded points, restarted on the
  // same port each time: the loader, given that address once, carries on.
  {
    const fs::path data_dir = FreshData("server-kills");
    auto server = std::make_unique<ServerProcess>(data_dir, ServerArgs());
    ASSERT_TRUE(server->started());
    const int port = server->port();
    ChildProcess loader(LoaderArgs(port), Path("loader.err"));
    ASSERT_TRUE(loader.started());
    // The loader prints a line per commit into a one-page pipe (about 20
    // lines) that the test reads as far as it likes, so at each kill the
    // loader is at most about 20 batches past the last line read. Each kill
    // comes a seeded 0 to 4 lines after the first batch the current server
    // committed: always into a live stream, never near the end (a clean run
    // takes 80 batches).
    std::mt19937 rng(4242);
    constexpr int kKills = 4;
    uint64_t committed = 0;  // the sequence the current server started from
    for (int kill = 0; kill < kKills; ++kill) {
      while (loader.lines().empty() || BatchIn(loader.lines().back()) <= committed) {
        const size_t next = loader.lines().size() + 1;
        ASSERT_EQ(loader.ReadLines(next, std::chrono::seconds(30)), next) << ReadText(Path("loader.err"));
      }
      const size_t lines = loader.lines().size() + std::uniform_int_distribution<size_t>(0, 4)(rng);
      ASSERT_EQ(loader.ReadLines(lines, std::chrono::seconds(30)), lines) << ReadText(Path("loader.err"));
      server->Kill();
      server.reset();
      server = std::make_unique<ServerProcess>(data_dir, ServerArgs(), port);
      ASSERT_TRUE(server->started()) << ReadText(server->log_path());
      ASSERT_EQ(server->port(), port);
      // What was acknowledged survived the kill, and there was more to send.
      const v1::SourceStatus status = SourceOf(PredstoreClient(ClientFor(server->target())), "files");
      EXPECT_GE(status.sequence(), BatchIn(loader.lines().back())) << "kill " << kill;
      EXPECT_NE(status.position(), last_position_) << "kill " << kill;
      committed = status.sequence();
    }
    EXPECT_EQ(loader.Wait(), 0) << ReadText(Path("loader.err"));
    // Every kill broke the loader's open stream.
    const std::string warnings = ReadText(Path("loader.err"));
    size_t retries = 0;
    for (size_t at = warnings.find("; retrying"); at != std::string::npos; at = warnings.find("; retrying", at + 1)) {
      ++retries;
    }
    EXPECT_GE(retries, static_cast<size_t>(kKills)) << warnings;

    PredstoreClient client(ClientFor(server->target()));
    const Snapshot snapshot = SnapshotOf(client, rows_);
    const v1::SourceStatus status = SourceOf(client, "files");
    // Nothing applied twice (a replayed event would count as a duplicate)
    // and nothing lost (it would be missing from applied).
    EXPECT_EQ(CountsOf(status), reference.counts());
    EXPECT_EQ(status.max_event_time_micros(), reference.max_time());
    EXPECT_EQ(CheckAnswers(client, reference, snapshot), clean_answers);
    // A crash between the dead-letter write and the commit may write a late
    // event twice, never zero times; nothing else is dead-lettered.
    auto ingest = client.IngestStatus("forecasts");
    ASSERT_TRUE(ingest.ok());
    const auto dead = DeadLettered(ingest->dead_letter_file());
    const auto late = LateEvents(reference);
    EXPECT_GE(dead.size(), late.size());
    EXPECT_EQ(std::set(dead.begin(), dead.end()), std::set(late.begin(), late.end()));
  }

  // (c) The loader killed with SIGKILL twice mid-run (paced as above: at
  // most about 20 batches past the line read); the third run finishes.
  {
    ServerProcess server(FreshData("loader-kills"), ServerArgs());
    ASSERT_TRUE(server.started());
    PredstoreClient client(ClientFor(server.target()));
    for (size_t lines : {5u, 10u}) {
      ChildProcess loader(LoaderArgs(server.port()), Path("killed.err"));
      ASSERT_EQ(loader.ReadLines(lines, std::chrono::seconds(30)), lines) << ReadText(Path("killed.err"));
      EXPECT_EQ(loader.Kill(), -1);
      EXPECT_NE(SourceOf(client, "files").position(), last_position_);
    }
    ProgramResult rerun = RunProgram(LoaderArgs(server.port()));
    ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
    const Snapshot snapshot = SnapshotOf(client, rows_);
    EXPECT_EQ(CountsOf(SourceOf(client, "files")), reference.counts());
    EXPECT_EQ(CheckAnswers(client, reference, snapshot), clean_answers);

    // Once everything is committed, another run sends nothing.
    ProgramResult again = RunProgram(LoaderArgs(server.port()));
    ASSERT_EQ(again.exit_code, 0) << again.err;
    EXPECT_EQ(again.out, "");
    EXPECT_EQ(CountsOf(SourceOf(client, "files")), reference.counts());
  }
}

// --------------------------------------------------------------------------
// Out of order, as of a time, and the snapshot's publish time.

class StreamAsOfTest : public StreamingTest {
 protected:
  static constexpr int64_t kLateness = 10 * 24 * kHour;  // nothing here is late

  void SetUp() override {
    rows_ = LoadForecasts(data(), 300);
    server_ =
        std::make_unique<ServerProcess>(data(), std::vector<std::string>{"--ingest", "--allowed_lateness_s=864000"});
    ASSERT_TRUE(server_->started());
    client_ = std::make_unique<PredstoreClient>(ClientFor(server_->target()));
    snapshot_ = SnapshotOf(*client_, rows_);
    published_ = snapshot_.published_micros;
  }

  Key SnapshotKey(int i) const { return {rows_[i].store, rows_[i].item, rows_[i].horizon}; }

  // Sends `batches` as batches 1, 2, ... of `source`, each acked without
  // error, and applies them to `reference` in the same order.
  void Send(const std::string& source, const std::vector<std::vector<Event>>& batches, ReferenceStream* reference) {
    std::vector<v1::IngestRequest> requests;
    for (size_t b = 0; b < batches.size(); ++b) {
      requests.push_back(BatchOfEvents(source, b + 1, batches[b]));
      for (const Event& event : batches[b]) reference->Apply(event);
    }
    IngestOutcome outcome = SendBatches(*client_, requests);
    ASSERT_TRUE(outcome.finish.ok()) << outcome.finish;
    ASSERT_EQ(outcome.acks.size(), batches.size());
    for (size_t b = 0; b < batches.size(); ++b) {
      EXPECT_EQ(outcome.acks[b].error_code(), 0) << outcome.acks[b].error_message();
      EXPECT_EQ(outcome.acks[b].sequence(), b + 1);
      EXPECT_EQ(outcome.acks[b].status().sequence(), b + 1);
      EXPECT_EQ(outcome.acks[b].status().position(), "after batch " + std::to_string(b + 1));
    }
    EXPECT_EQ(CountsOf(outcome.acks.back().status()), reference->counts());
  }

  // Lookup of every key at every time (and latest) against the reference.
  void CheckEverywhere(const ReferenceStream& reference, const std::vector<Key>& keys,
                       const std::vector<int64_t>& times) {
    std::vector<std::optional<int64_t>> as_ofs = {std::nullopt};
    for (int64_t t : times) as_ofs.insert(as_ofs.end(), {t - 1, t, t + 1});
    for (const Key& key : keys) {
      for (const std::optional<int64_t>& as_of : as_ofs) {
        auto response = client_->Lookup(LookupAt(key, as_of));
        ASSERT_TRUE(response.ok()) << response.status();
        EXPECT_TRUE(Matches(*response, ExpectedAnswer(reference, snapshot_, key, as_of)))
            << KeyText(key) << " as of " << (as_of.has_value() ? Rfc3339(*as_of) : "latest");
      }
    }
  }

  std::vector<Row> rows_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<PredstoreClient> client_;
  Snapshot snapshot_;
  int64_t published_ = 0;
};

TEST_F(StreamAsOfTest, OutOfOrderEventsAnswerLatestAndAsOfLikeBruteForce) {
  const Key older = SnapshotKey(0);  // in the snapshot; its events are older than the publish time
  const Key both = SnapshotKey(1);   // in the snapshot; one event before, one after the publish time
  const Key plain = SnapshotKey(2);  // in the snapshot only
  const Key streamed{900, 1, 1};     // in the stream only
  const Key missing{901, 1, 1};
  const int64_t p = published_;
  // `streamed` gets eight versions in three batches, out of order, with a
  // tie at p + 3h (1.0 beats 2.0 by encoded value) and an exact duplicate.
  const std::vector<std::vector<Event>> batches = {
      {{streamed, p + 3 * kHour, 2.0, 20},
       {older, p - kHour, 11, 12},
       {streamed, p - 2 * kHour, 3, 30},
       {both, p + kHour, 21, 22}},
      {{streamed, p - 5 * kHour, 4, 40},
       {older, p - 3 * kHour, 13, 14},
       {streamed, p + 30 * kMinute, 5, 50},
       {streamed, p + 3 * kHour, 1.0, 10}},
      {{streamed, p - kHour, 6, 60},
       {both, p - kHour, 23, 24},
       {streamed, p + 2 * kHour, 7, 70},
       {streamed, p - 4 * kHour, 8, 80},
       {streamed, p - 2 * kHour, 3, 30}},
  };
  ReferenceStream reference(kLateness);
  ASSERT_NO_FATAL_FAILURE(Send("producer", batches, &reference));
  EXPECT_EQ(reference.counts().duplicates, 1u);
  EXPECT_EQ(reference.counts().superseded, 1u);

  std::vector<int64_t> times = {p, p - 10 * kHour, p + 10 * kHour};
  for (const auto& batch : batches) {
    for (const Event& event : batch) times.push_back(event.time);
  }
  CheckEverywhere(reference, {older, both, plain, streamed, missing}, times);

  // The same, spelled out.
  auto at = [&](const Key& key, std::optional<int64_t> as_of) {
    auto response = client_->Lookup(LookupAt(key, as_of));
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? *response : v1::LookupResponse();
  };
  // A stream event older than the snapshot's publish time loses to it.
  v1::LookupResponse latest = at(older, std::nullopt);
  EXPECT_EQ(latest.source(), v1::SOURCE_PRECOMPUTED);
  EXPECT_EQ(latest.values(0).double_value(), rows_[0].forecast);
  v1::LookupResponse before = at(older, p - 2 * kHour);
  EXPECT_EQ(before.source(), v1::SOURCE_STREAM);
  EXPECT_EQ(before.event_time_micros(), p - 3 * kHour);
  EXPECT_EQ(before.values(0).double_value(), 13);
  // Before the publish time a key only in the snapshot is not found; at it, it is.
  EXPECT_FALSE(at(plain, p - 1).found());
  EXPECT_EQ(at(plain, p).source(), v1::SOURCE_PRECOMPUTED);
  EXPECT_FALSE(at(older, p - 4 * kHour).found());
  // A later stream event beats the snapshot.
  EXPECT_EQ(at(both, std::nullopt).values(0).double_value(), 21);
  EXPECT_EQ(at(both, p + 30 * kMinute).source(), v1::SOURCE_PRECOMPUTED);
  EXPECT_EQ(at(both, p - 30 * kMinute).values(0).double_value(), 23);
  // The newest event time wins whatever the arrival order; at a tie the
  // greater encoded value.
  v1::LookupResponse newest = at(streamed, std::nullopt);
  EXPECT_EQ(newest.event_time_micros(), p + 3 * kHour);
  EXPECT_EQ(newest.values(0).double_value(), 1.0);
  EXPECT_EQ(at(streamed, p + 3 * kHour - 1).values(0).double_value(), 7);
  EXPECT_EQ(at(streamed, p - 4 * kHour - 1).values(0).double_value(), 4);
  EXPECT_FALSE(at(streamed, p - 5 * kHour - 1).found());

  // The CLI reads as_of as RFC 3339 and says where the answer came from.
  ProgramResult cli =
      Cli(*server_, {"lookup", "--table=forecasts", "--as_of=" + Rfc3339(p - 2 * kHour),
                     "store_id=" + std::to_string(rows_[0].store), "item_id=" + std::to_string(rows_[0].item),
                     "horizon_days=" + std::to_string(rows_[0].horizon)});
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_THAT(cli.out, HasSubstr("\"forecast\":13.0"));
  EXPECT_THAT(cli.out, HasSubstr("\"source\":\"stream event of "));
  ProgramResult bad =
      Cli(*server_, {"lookup", "--table=forecasts", "--as_of=yesterday", "store_id=1", "item_id=1", "horizon_days=1"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, HasSubstr("--as_of"));
}

TEST_F(StreamAsOfTest, AReplayedBatchChangesNothing) {
  const Key key{900, 2, 1};
  const int64_t p = published_;
  ReferenceStream reference(kLateness);
  ASSERT_NO_FATAL_FAILURE(
      Send("producer", {{{key, p + kHour, 1, 1}}, {{key, p + 2 * kHour, 2, 2}, {{900, 3, 1}, p, 3, 3}}}, &reference));
  const v1::SourceStatus committed = SourceOf(*client_, "producer");
  ASSERT_EQ(committed.sequence(), 2u);

  // Batch 2 again, and batch 1, even with other events: a replay.
  std::vector<v1::IngestRequest> replays = {BatchOfEvents("producer", 2, {{key, p + 2 * kHour, 2, 2}}),
                                            BatchOfEvents("producer", 1, {{key, p + 5 * kHour, 9, 9}}),
                                            BatchOfEvents("producer", 2, {{{900, 4, 1}, p + 5 * kHour, 9, 9}})};
  replays[1].set_position("elsewhere");
  IngestOutcome outcome = SendBatches(*client_, replays);
  ASSERT_TRUE(outcome.finish.ok()) << outcome.finish;
  ASSERT_EQ(outcome.acks.size(), 3u);
  for (const v1::IngestAck& ack : outcome.acks) {
    EXPECT_EQ(ack.error_code(), 0) << ack.error_message();
    EXPECT_EQ(ack.status().sequence(), 2u);
  }
  const v1::SourceStatus after = SourceOf(*client_, "producer");
  EXPECT_EQ(after.sequence(), 2u);
  EXPECT_EQ(after.position(), "after batch 2");
  EXPECT_EQ(CountsOf(after), CountsOf(committed));
  EXPECT_EQ(after.max_event_time_micros(), committed.max_event_time_micros());
  EXPECT_EQ(after.watermark_micros(), committed.watermark_micros());
  CheckEverywhere(reference, {key, {900, 3, 1}, {900, 4, 1}}, {p, p + kHour, p + 2 * kHour, p + 5 * kHour});

  // Another source has its own numbering: its batch 1 is new.
  ReferenceStream other(kLateness);
  ASSERT_NO_FATAL_FAILURE(Send("other", {{{key, p + 5 * kHour, 9, 9}}}, &other));
  auto response = client_->Lookup(LookupAt(key, std::nullopt));
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->event_time_micros(), p + 5 * kHour);
  auto status = client_->IngestStatus("forecasts");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->sources_size(), 2);
}

// --------------------------------------------------------------------------
// BatchLookup (and LookupStream) mixing stream, snapshot and missing keys.

TEST_F(StreamAsOfTest, BatchLookupMixesStreamSnapshotAndMissingKeys) {
  const int64_t p = published_;
  // Keys of the snapshot: with a later event, an earlier one, one at its
  // publish time (the snapshot wins the tie), none. Keys of the stream
  // only: two events, one after the publish time.
  const Key newer = SnapshotKey(10), older = SnapshotKey(11), tie = SnapshotKey(13), plain = SnapshotKey(12);
  const Key stream_only{900, 10, 1}, after_only{900, 11, 2}, missing{901, 10, 1};
  ReferenceStream reference(kLateness);
  ASSERT_NO_FATAL_FAILURE(
      Send("mix",
           {{{stream_only, p - kHour, 1, 2}, {newer, p + 30 * kMinute, 3, 4}, {tie, p, 11, 12}},
            {{older, p - 30 * kMinute, 5, 6}, {stream_only, p + kHour, 7, 8}, {after_only, p + 2 * kHour, 9, 10}}},
           &reference));
  const std::vector<Key> keys = {stream_only, newer, missing, older, plain, after_only, missing, newer, tie};
  for (std::optional<int64_t> as_of :
       {std::optional<int64_t>(), std::optional<int64_t>(p - 45 * kMinute), std::optional<int64_t>(p - 1),
        std::optional<int64_t>(p), std::optional<int64_t>(p + 45 * kMinute), std::optional<int64_t>(p + 3 * kHour)}) {
    auto response = client_->BatchLookup(BatchAt(keys, as_of));
    ASSERT_TRUE(response.ok()) << response.status();
    ASSERT_EQ(response->results_size(), static_cast<int>(keys.size()));
    EXPECT_EQ(response->snapshot_version(), 1u);
    for (size_t k = 0; k < keys.size(); ++k) {
      EXPECT_TRUE(Matches(response->results(static_cast<int>(k)), ExpectedAnswer(reference, snapshot_, keys[k], as_of)))
          << "keys[" << k << "] " << KeyText(keys[k]) << " as of " << (as_of.has_value() ? Rfc3339(*as_of) : "latest");
    }
  }
  // Spelled out for the latest answers.
  auto latest = client_->BatchLookup(BatchAt(keys, std::nullopt));
  ASSERT_TRUE(latest.ok());
  std::vector<v1::Source> sources;
  for (const v1::LookupResult& result : latest->results())
    sources.push_back(result.found() ? result.source() : v1::SOURCE_UNSPECIFIED);
  EXPECT_THAT(sources, ::testing::ElementsAre(v1::SOURCE_STREAM, v1::SOURCE_STREAM, v1::SOURCE_UNSPECIFIED,
                                              v1::SOURCE_PRECOMPUTED, v1::SOURCE_PRECOMPUTED, v1::SOURCE_STREAM,
                                              v1::SOURCE_UNSPECIFIED, v1::SOURCE_STREAM, v1::SOURCE_PRECOMPUTED));

  // LookupStream answers as_of lookups the same way.
  std::unique_ptr<LookupStream> stream = client_->OpenLookupStream();
  const std::vector<std::optional<int64_t>> as_ofs = {std::nullopt, p - 45 * kMinute, p, p + 45 * kMinute};
  for (size_t k = 0; k < keys.size(); ++k) {
    for (size_t t = 0; t < as_ofs.size(); ++t) {
      v1::StreamLookupRequest request;
      request.set_id(k * 10 + t);
      *request.mutable_lookup() = LookupAt(keys[k], as_ofs[t]);
      ASSERT_TRUE(stream->Write(request));
    }
  }
  stream->WritesDone();
  size_t answers = 0;
  v1::StreamLookupResponse response;
  while (stream->Read(&response)) {
    ++answers;
    const size_t k = response.id() / 10, t = response.id() % 10;
    EXPECT_EQ(response.error_code(), 0) << response.error_message();
    EXPECT_TRUE(Matches(response.result(), ExpectedAnswer(reference, snapshot_, keys[k], as_ofs[t])))
        << KeyText(keys[k]) << " #" << t;
  }
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_EQ(answers, keys.size() * as_ofs.size());
}

// --------------------------------------------------------------------------
// The watermark (late events are dead-lettered and counted, not applied)
// and the source status.

TEST_F(StreamingTest, EventsOlderThanTheWatermarkAreDeadLetteredAndCounted) {
  LoadForecasts(data(), 100);
  const fs::path dead_letters = Path("late.jsonl");
  ServerProcess server(data(), {"--ingest", "--allowed_lateness_s=60", "--dead_letter_file=" + dead_letters.string(),
                                "--stream_memtable_mb=8", "--http_listen=127.0.0.1:0",
                                "--http_port_file=" + Path("http_port").string()});
  ASSERT_TRUE(server.started());
  int http_port = 0;
  std::ifstream(Path("http_port")) >> http_port;
  const int64_t t = (NowMicros() / kSecond - 600) * kSecond;
  auto key = [](int i) { return Key{950, i, 1}; };
  const std::vector<Event> events = {
      {key(1), t, 1, 1},                 // watermark t - 60 s
      {key(2), t - 61 * kSecond, 2, 2},  // late
      {key(3), t - 59 * kSecond, 3, 3},  // within the window
      {key(4), t - 60 * kSecond, 4, 4},  // exactly at the watermark: not older
      {key(5), t + 10 * kSecond, 5, 5},  // watermark t - 50 s
      {key(6), t - 55 * kSecond, 6, 6},  // late now
      {key(1), t - 49 * kSecond, 7, 7},  // an older version of key 1, within the window
  };
  ReferenceStream reference(60 * kSecond);
  std::string lines;
  for (size_t i = 0; i < events.size(); ++i) {
    reference.Apply(events[i]);
    lines += JsonLine(events[i], i % 2 == 0) + "\n";
  }
  ASSERT_EQ(reference.counts(), (ReferenceStream::Counts{5, 0, 2, 0}));
  std::ofstream(Path("events.jsonl")) << lines;

  ProgramResult ingest =
      Cli(server, {"ingest", "--table=forecasts", "--source=clock", "--events=" + Path("events.jsonl").string()});
  ASSERT_EQ(ingest.exit_code, 0) << ingest.err;
  EXPECT_THAT(ingest.out, HasSubstr("sent 7 events"));
  EXPECT_THAT(ingest.out, HasSubstr("applied 5, duplicates 0, late 2"));
  ProgramResult status = Cli(server, {"ingest-status", "--table=forecasts"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_THAT(status.out, HasSubstr("source clock: batch 1, applied 5, duplicates 0, late 2, superseded 0"));
  EXPECT_THAT(status.out, HasSubstr("watermark " + Rfc3339(t - 50 * kSecond).substr(0, 19)));
  EXPECT_THAT(status.out, HasSubstr("late events go to " + dead_letters.string()));
  PredstoreClient client(ClientFor(server.target()));
  const v1::SourceStatus source = SourceOf(client, "clock");
  EXPECT_EQ(CountsOf(source), reference.counts());
  EXPECT_EQ(source.max_event_time_micros(), t + 10 * kSecond);
  EXPECT_EQ(source.watermark_micros(), t - 50 * kSecond);
  // The same counts in /metrics, and the watermark's lag behind the clock.
  const std::string scrape = ScrapeMetrics(http_port);
  const std::string labels = R"({table="forecasts",source="clock"})";
  EXPECT_EQ(SampleOf(scrape, "predstore_stream_events_applied_total" + labels), 5);
  EXPECT_EQ(SampleOf(scrape, "predstore_stream_events_late_total" + labels), 2);
  EXPECT_EQ(SampleOf(scrape, "predstore_stream_events_duplicate_total" + labels), 0);
  const double lag = SampleOf(scrape, "predstore_stream_watermark_lag_seconds" + labels);
  EXPECT_GE(lag, 650);
  EXPECT_LT(lag, 650 + 120);
  // The 5 applied events are still in memory, within the memtables' bound.
  const double in_memory = SampleOf(scrape, R"(predstore_stream_memtable_bytes{table="forecasts"})");
  EXPECT_GT(in_memory, 0);
  EXPECT_LE(in_memory, 2 * (8 << 20));
  ProgramResult refused = RunProgram({ServerBinary(), "--data_dir=" + data().string(), "--stream_memtable_mb=0"});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_THAT(refused.err, HasSubstr("--stream_memtable_mb=0: must be 1 to 1024"));

  // One dead-letter line per late event, naming it and the reason.
  std::vector<nlohmann::json> dead;
  std::ifstream in(dead_letters);
  for (std::string line; std::getline(in, line);) dead.push_back(nlohmann::json::parse(line, nullptr, false));
  ASSERT_EQ(dead.size(), 2u);
  const int64_t late_times[] = {t - 61 * kSecond, t - 55 * kSecond};
  const int64_t watermarks[] = {t - 60 * kSecond, t - 50 * kSecond};
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(dead[i].is_object());
    EXPECT_EQ(dead[i].value("source", ""), "clock");
    EXPECT_EQ(dead[i].value("event_time_micros", int64_t{0}), late_times[i]);
    EXPECT_EQ(dead[i].value("watermark_micros", int64_t{0}), watermarks[i]);
    EXPECT_THAT(dead[i].value("reason", ""), HasSubstr("older than the watermark"));
    EXPECT_THAT(dead[i].value("event", ""),
                HasSubstr("item_id\" value { int64_value: " + std::to_string(i == 0 ? 2 : 6) + " }"));
  }

  const Snapshot snapshot = SnapshotOf(client, {});
  for (int i = 1; i <= 6; ++i) {
    for (std::optional<int64_t> as_of : {std::optional<int64_t>(), std::optional<int64_t>(t - 52 * kSecond),
                                         std::optional<int64_t>(t - 49 * kSecond), std::optional<int64_t>(t)}) {
      auto response = client.Lookup(LookupAt(key(i), as_of));
      ASSERT_TRUE(response.ok()) << response.status();
      EXPECT_TRUE(Matches(*response, ExpectedAnswer(reference, snapshot, key(i), as_of))) << i;
    }
  }
  EXPECT_FALSE(Found(client, key(2), std::nullopt));
  EXPECT_TRUE(Found(client, key(4), std::nullopt));
}

// A source that has applied no event has no newest event time, hence no
// event-time lag. (Its lag used to be computed from INT64_MIN: a signed
// overflow that reported about -292,000 years.)
TEST_F(StreamingTest, ASourceWithoutAppliedEventsHasNoEventTimeLag) {
  LoadForecasts(data(), 50);
  ServerProcess server(data(), {"--ingest"});
  ASSERT_TRUE(server.started());
  PredstoreClient client(ClientFor(server.target()));
  const Event event{{950, 1, 1}, NowMicros() - kMinute, 1, 1};
  // "copy" sends what "first" already sent (all duplicates), then a batch
  // of no events that only moves its position.
  IngestOutcome outcome = SendBatches(
      client, {BatchOfEvents("first", 1, {event}), BatchOfEvents("copy", 1, {event}), BatchOfEvents("copy", 2, {})});
  ASSERT_TRUE(outcome.finish.ok()) << outcome.finish;
  ASSERT_EQ(outcome.acks.size(), 3u);
  const v1::SourceStatus copy = outcome.acks[2].status();
  EXPECT_EQ(outcome.acks[2].error_code(), 0) << outcome.acks[2].error_message();
  EXPECT_EQ(copy.sequence(), 2u);
  EXPECT_EQ(copy.position(), "after batch 2");
  EXPECT_EQ(CountsOf(copy), (ReferenceStream::Counts{0, 1, 0, 0}));
  EXPECT_EQ(copy.max_event_time_micros(), INT64_MIN);
  EXPECT_EQ(copy.event_time_lag_micros(), 0) << copy.ShortDebugString();
  EXPECT_GE(copy.wall_lag_micros(), 0);
  EXPECT_EQ(SourceOf(client, "copy").event_time_lag_micros(), 0);
  const v1::SourceStatus first = SourceOf(client, "first");
  EXPECT_GE(first.event_time_lag_micros(), kMinute);
  EXPECT_LT(first.event_time_lag_micros(), kHour);
  ProgramResult status = Cli(server, {"ingest-status", "--table=forecasts"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_THAT(status.out, HasSubstr("source copy: batch 2, applied 0, duplicates 1, late 0, superseded 0, newest event "
                                    "-, watermark -, lag 0 ms (event time)"));
}

// --------------------------------------------------------------------------
// Errors.

TEST_F(StreamingTest, WithoutIngestTheStreamIsFailedPrecondition) {
  LoadForecasts(data(), 50);
  ServerProcess server(data());
  ASSERT_TRUE(server.started());
  PredstoreClient client(ClientFor(server.target()));
  IngestOutcome outcome = SendBatches(client, {BatchOfEvents("s", 1, {{{950, 1, 1}, NowMicros(), 1, 1}})});
  EXPECT_TRUE(outcome.acks.empty());
  EXPECT_EQ(outcome.finish.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(outcome.finish.message()), HasSubstr("--ingest"));
  EXPECT_EQ(client.IngestStatus("forecasts").status().code(), absl::StatusCode::kFailedPrecondition);
  // as_of still applies to the snapshot alone.
  const std::vector<Row> rows = ReadSampleCsv(Path("forecasts.csv"));
  const Snapshot snapshot = SnapshotOf(client, rows);
  const Key key{rows[0].store, rows[0].item, rows[0].horizon};
  EXPECT_FALSE(Found(client, key, snapshot.published_micros - 1));
  EXPECT_TRUE(Found(client, key, snapshot.published_micros));

  std::ofstream(Path("e.jsonl")) << JsonLine({{950, 1, 1}, NowMicros(), 1, 1}, true) << "\n";
  ProgramResult cli =
      Cli(server, {"ingest", "--table=forecasts", "--source=s", "--events=" + Path("e.jsonl").string()});
  EXPECT_EQ(cli.exit_code, 1);
  EXPECT_THAT(cli.err, HasSubstr("--ingest"));
  // Not a failure the stream loader waits out.
  fs::create_directories(Path("folder"));
  fs::copy_file(Path("e.jsonl"), Path("folder") / "e.jsonl");
  ProgramResult loader =
      RunProgram({LoaderBinary(), "stream", "--table=forecasts", "--source=folder:" + Path("folder").string(),
                  "--server=" + server.target(), "--once"});
  EXPECT_EQ(loader.exit_code, 1);
  EXPECT_THAT(loader.err, HasSubstr("--ingest"));
}

TEST_F(StreamingTest, BadBatchesAreRejectedWholeAndTheStreamGoesOn) {
  LoadForecasts(data(), 50);
  std::ofstream(Path("token")) << "s3cret\n";
  fs::permissions(Path("token"), fs::perms::owner_read | fs::perms::owner_write);  // a token file must be private
  ServerProcess server(data(), {"--ingest", "--admin_token_file=" + Path("token").string()});
  ASSERT_TRUE(server.started());
  const int64_t t = NowMicros() + kHour;
  const Event good{{950, 1, 1}, t, 1, 1};
  const Event second{{950, 2, 1}, t, 2, 2};
  const Event later{{950, 3, 1}, t + kHour, 3, 3};  // only ever in rejected batches

  // The admin token is required.
  for (const std::string& token : {std::string(), std::string("wrong")}) {
    PredstoreClient client(ClientFor(server.target(), token));
    IngestOutcome outcome = SendBatches(client, {BatchOfEvents("s", 1, {good})});
    EXPECT_TRUE(outcome.acks.empty());
    EXPECT_EQ(outcome.finish.code(), absl::StatusCode::kUnauthenticated) << outcome.finish;
  }
  PredstoreClient client(ClientFor(server.target(), "s3cret"));

  // A batch whose event i is bad: INVALID_ARGUMENT naming events[i] (with
  // the column), and nothing of it committed.
  struct Bad {
    std::string what;
    std::function<void(v1::StreamEvent*)> spoil;
    std::string message;
  };
  const std::vector<Bad> bad = {
      {"unknown value column", [](v1::StreamEvent* e) { e->mutable_values(1)->set_column("p95"); },
       "unknown value column \"p95\""},
      {"missing key column", [](v1::StreamEvent* e) { e->mutable_key()->DeleteSubrange(1, 1); }, "item_id"},
      {"wrong key type", [](v1::StreamEvent* e) { e->mutable_key(0)->mutable_value()->set_string_value("one"); },
       "store_id"},
      {"wrong value type", [](v1::StreamEvent* e) { e->mutable_values(0)->mutable_value()->set_string_value("x"); },
       "forecast"},
      {"missing value column", [](v1::StreamEvent* e) { e->mutable_values()->RemoveLast(); }, "p90"},
      {"value column twice", [](v1::StreamEvent* e) { *e->add_values() = e->values(0); }, "forecast"},
      {"no values, no features", [](v1::StreamEvent* e) { e->clear_values(); }, "values"},
      {"values and features", [](v1::StreamEvent* e) { *e->add_features() = Field("f0", Double(1)); }, "not both"},
      {"NaN value", [](v1::StreamEvent* e) { e->mutable_values(0)->mutable_value()->set_double_value(NAN); },
       "\"forecast\": nan is not a finite number"},
      {"infinite value",
       [](v1::StreamEvent* e) { e->mutable_values(1)->mutable_value()->set_double_value(-INFINITY); },
       "\"p90\": -inf is not a finite number"},
      {"event time INT64_MIN",
       [](v1::StreamEvent* e) { e->set_event_time_micros(std::numeric_limits<int64_t>::min()); },
       "outside 0001-01-01 .. 9999-12-31"},
  };
  std::vector<v1::IngestRequest> batches;
  batches.push_back(BatchOfEvents("s", 1, {good}, "nope"));  // an unknown table
  batches.push_back(BatchOfEvents("s", 1, {good}));
  for (const Bad& b : bad) {
    batches.push_back(BatchOfEvents("s", 2, {later, good, second}));
    b.spoil(batches.back().mutable_events(2));
  }
  batches.push_back(BatchOfEvents("s", 0, {second}));
  batches.push_back(BatchOfEvents("", 2, {second}));
  batches.push_back(BatchOfEvents("s", std::numeric_limits<uint64_t>::max(), {second}));
  batches.push_back(BatchOfEvents("s", 2, {second}));
  IngestOutcome outcome = SendBatches(client, batches);
  ASSERT_TRUE(outcome.finish.ok()) << outcome.finish;
  ASSERT_EQ(outcome.acks.size(), batches.size());
  EXPECT_EQ(outcome.acks[0].error_code(), static_cast<int>(absl::StatusCode::kNotFound));
  EXPECT_THAT(outcome.acks[0].error_message(), HasSubstr("\"nope\""));
  EXPECT_EQ(outcome.acks[1].error_code(), 0) << outcome.acks[1].error_message();
  for (size_t i = 0; i < bad.size(); ++i) {
    const v1::IngestAck& ack = outcome.acks[2 + i];
    EXPECT_EQ(ack.error_code(), static_cast<int>(absl::StatusCode::kInvalidArgument)) << bad[i].what;
    EXPECT_THAT(ack.error_message(), HasSubstr("events[2]")) << bad[i].what;
    EXPECT_THAT(ack.error_message(), HasSubstr(bad[i].message)) << bad[i].what;
  }
  const size_t rest = 2 + bad.size();
  EXPECT_EQ(outcome.acks[rest].error_code(), static_cast<int>(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(outcome.acks[rest].error_message(), HasSubstr("sequence"));
  EXPECT_EQ(outcome.acks[rest + 1].error_code(), static_cast<int>(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(outcome.acks[rest + 1].error_message(), HasSubstr("source"));
  EXPECT_EQ(outcome.acks[rest + 2].error_code(), static_cast<int>(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(outcome.acks[rest + 2].error_message(), HasSubstr("its next batch is 2"));
  // Batch 2 was never committed by the rejected attempts: its number is free.
  EXPECT_EQ(outcome.acks[rest + 3].error_code(), 0) << outcome.acks[rest + 3].error_message();
  EXPECT_EQ(outcome.acks[rest + 3].status().sequence(), 2u);
  EXPECT_EQ(outcome.acks[rest + 3].status().applied(), 2u);  // good, then second

  // A features event on a table bound to no model.
  v1::IngestRequest features = BatchOfEvents("s", 3, {second});
  features.mutable_events(0)->clear_values();
  *features.mutable_events(0)->add_features() = Field("f0", Double(1));
  IngestOutcome unbound = SendBatches(client, {features});
  ASSERT_EQ(unbound.acks.size(), 1u);
  EXPECT_EQ(unbound.acks[0].error_code(), static_cast<int>(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(unbound.acks[0].error_message(), HasSubstr("events[0]"));
  EXPECT_THAT(unbound.acks[0].error_message(), HasSubstr("--fallback"));

  const v1::SourceStatus status = SourceOf(client, "s");
  EXPECT_EQ(status.sequence(), 2u);
  EXPECT_EQ(status.applied(), 2u);
  EXPECT_EQ(client.IngestStatus("nope").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.max_event_time_micros(), t);  // no rejected batch moved the watermark
  EXPECT_FALSE(Found(client, later.key, std::nullopt));
  auto first = client.Lookup(LookupAt(good.key, std::nullopt));
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(Matches(*first, {true, v1::SOURCE_STREAM, t, 1, 1}));
  auto other = client.Lookup(LookupAt(second.key, std::nullopt));
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(Matches(*other, {true, v1::SOURCE_STREAM, t, 2, 2}));
}

TEST_F(StreamingTest, MalformedEventLinesAreNamedByLine) {
  LoadForecasts(data(), 50);
  std::ofstream(Path("token")) << "s3cret\n";
  fs::permissions(Path("token"), fs::perms::owner_read | fs::perms::owner_write);  // a token file must be private
  ServerProcess server(data(), {"--ingest", "--admin_token_file=" + Path("token").string()});
  ASSERT_TRUE(server.started());
  const Event good{{950, 1, 1}, NowMicros(), 1, 1};
  struct Case {
    std::string line;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"{\"store_id\":950,", "not one JSON object"},
      {"{\"store_id\":950,\"item_id\":3,\"event_time\":1,\"forecast\":1,\"p90\":2}",
       "key field \"horizon_days\" missing"},
      {"{\"store_id\":950,\"item_id\":3,\"horizon_days\":1,\"forecast\":1,\"p90\":2}", "field \"event_time\" missing"},
      {"{\"store_id\":950,\"item_id\":3,\"horizon_days\":1,\"event_time\":\"noon\",\"forecast\":1,\"p90\":2}",
       "field \"event_time\": not a timestamp"},
      {"{\"store_id\":950,\"item_id\":3,\"horizon_days\":1,\"event_time\":1,\"forecast\":\"abc\",\"p90\":2}",
       "field \"forecast\""},
      {"{\"store_id\":950,\"item_id\":3,\"horizon_days\":1,\"event_time\":1,\"forecast\":1}",
       "a prediction event needs every value column"},
      {"{\"store_id\":950,\"item_id\":3,\"horizon_days\":1,\"event_time\":1,\"forecast\":1,\"p90\":2,\"x\":1}",
       "a prediction event has fields beyond its columns"},
  };
  for (const Case& c : cases) {
    std::ofstream(Path("e.jsonl")) << JsonLine(good, true) << "\n\n" << c.line << "\n" << JsonLine(good, false) << "\n";
    ProgramResult cli =
        Cli(server, {"ingest", "--table=forecasts", "--source=s", "--admin_token_file=" + Path("token").string(),
                     "--events=" + Path("e.jsonl").string()});
    EXPECT_EQ(cli.exit_code, 1) << c.line;
    EXPECT_THAT(cli.err, HasSubstr("events line 3: " + c.message)) << c.line;
  }
  // Without the token the CLI is refused.
  std::ofstream(Path("ok.jsonl")) << JsonLine(good, true) << "\n";
  ProgramResult refused =
      Cli(server, {"ingest", "--table=forecasts", "--source=s", "--events=" + Path("ok.jsonl").string()});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err, HasSubstr("UNAUTHENTICATED"));

  // The folder source names the file and line, and does not wait it out.
  fs::create_directories(Path("folder"));
  std::ofstream(Path("folder") / "a.jsonl") << JsonLine(good, true) << "\n" << cases[4].line << "\n";
  ProgramResult loader =
      RunProgram({LoaderBinary(), "stream", "--table=forecasts", "--source=folder:" + Path("folder").string(),
                  "--server=" + server.target(), "--admin_token_file=" + Path("token").string(), "--once"});
  EXPECT_EQ(loader.exit_code, 1);
  EXPECT_THAT(loader.err, HasSubstr((Path("folder") / "a.jsonl").string() + ":2: field \"forecast\""));
}

// --------------------------------------------------------------------------
// Feature events are scored on arrival by the table's bound model.

TEST_F(StreamingTest, FeatureEventsAreScoredByTheBoundModelOnArrival) {
  const std::vector<Row> rows = LoadForecasts(data(), 100);
  const fs::path model_dir = RegisterProductionModel();
  ServerProcess server(data(), {"--ingest", "--model_registry=" + Path("mlruns").string(), "--refresh_interval_ms=0",
                                "--fallback=table=forecasts,model=models:/m/Production"});
  ASSERT_TRUE(server.started()) << ReadText(server.log_path());
  PredstoreClient client(ClientFor(server.target()));
  const Snapshot snapshot = SnapshotOf(client, rows);

  constexpr int kRows = 6;
  const std::vector<float> features = SampleFeatureRows(kRows, kFeatures, /*seed=*/77);
  const std::vector<float> expected = XGBoostPredict(model_dir / "model.xgb", features);
  ASSERT_EQ(expected.size(), static_cast<size_t>(kRows));
  // Keys 0..4 are new; key 5 is in the snapshot, its event newer than it.
  std::vector<Key> keys;
  for (int i = 0; i < kRows - 1; ++i) keys.push_back({960, i, 1});
  keys.push_back({rows[0].store, rows[0].item, rows[0].horizon});
  const int64_t t = snapshot.published_micros + kMinute;
  std::string lines;
  for (int i = 0; i < kRows; ++i) {
    lines += "{\"store_id\":" + std::to_string(std::get<0>(keys[i])) +
             ",\"item_id\":" + std::to_string(std::get<1>(keys[i])) +
             ",\"horizon_days\":" + std::to_string(std::get<2>(keys[i])) + ",\"event_time\":\"" +
             Rfc3339(t + i * kSecond) + "\"";
    for (int f = kFeatures - 1; f >= 0; --f)
      lines += ",\"" + kFeatureNames[f] + "\":" + FloatText(features[i * kFeatures + f]);
    lines += "}\n";
  }
  std::ofstream(Path("features.jsonl")) << lines;
  ProgramResult ingest =
      Cli(server, {"ingest", "--table=forecasts", "--source=scorer", "--events=" + Path("features.jsonl").string()});
  ASSERT_EQ(ingest.exit_code, 0) << ingest.err;
  EXPECT_THAT(ingest.out, HasSubstr("applied 6"));

  auto check = [&](const auto& answer, int i) {
    EXPECT_TRUE(answer.found()) << i;
    EXPECT_EQ(answer.source(), v1::SOURCE_STREAM) << i;
    EXPECT_EQ(answer.event_time_micros(), t + i * kSecond) << i;
    ASSERT_EQ(answer.values_size(), 2) << i;
    EXPECT_NEAR(answer.values(0).double_value(), expected[i], kTolerance) << i;
    EXPECT_TRUE(std::isnan(answer.values(1).double_value())) << answer.ShortDebugString();
  };
  for (int i = 0; i < kRows; ++i) {
    auto response = client.Lookup(LookupAt(keys[i], std::nullopt));
    ASSERT_TRUE(response.ok()) << response.status();
    check(*response, i);
  }
  auto batch = client.BatchLookup(BatchAt(keys, std::nullopt));
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_EQ(batch->results_size(), kRows);
  for (int i = 0; i < kRows; ++i) check(batch->results(i), i);
  // Before its event the snapshot key answers from the snapshot.
  auto before = client.Lookup(LookupAt(keys[5], t));
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_EQ(before->source(), v1::SOURCE_PRECOMPUTED);
  EXPECT_EQ(before->values(0).double_value(), rows[0].forecast);
  // The predictions differ from row to row, so the checks above tell them apart.
  EXPECT_GT(std::abs(expected[0] - expected[1]), 1e-4);

  // Features are checked against the model's signature.
  v1::IngestRequest unknown = BatchOfEvents("direct", 1, {{{960, 9, 1}, t, 0, 0}});
  v1::StreamEvent* event = unknown.mutable_events(0);
  event->clear_values();
  for (int f = 0; f < kFeatures; ++f) *event->add_features() = Field(kFeatureNames[f], Double(features[f]));
  *event->add_features() = Field("f9", Double(1));
  v1::IngestRequest mistyped = unknown;
  mistyped.mutable_events(0)->mutable_features()->RemoveLast();
  mistyped.mutable_events(0)->mutable_features(2)->mutable_value()->set_string_value("x");
  IngestOutcome outcome = SendBatches(client, {unknown, mistyped});
  ASSERT_EQ(outcome.acks.size(), 2u);
  EXPECT_EQ(outcome.acks[0].error_code(), static_cast<int>(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(outcome.acks[0].error_message(), HasSubstr("events[0]"));
  EXPECT_THAT(outcome.acks[0].error_message(), HasSubstr("'f9'"));
  EXPECT_EQ(outcome.acks[1].error_code(), static_cast<int>(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(outcome.acks[1].error_message(), HasSubstr("'f2'"));
  EXPECT_EQ(SourceOf(client, "direct").sequence(), 0u);
  EXPECT_FALSE(Found(client, {960, 9, 1}, std::nullopt));
}

// Continuous inference into a table with a nullable column, bound with
// output_kind=label: the output column gets the class, the nullable column
// a null (an unset value), not a NaN.
TEST_F(StreamingTest, FeatureEventsFillTheBindingsOutputKindAndLeaveNullableColumnsNull) {
  const fs::path csv = Path("labels.csv");
  std::ofstream(csv) << "store_id,item_id,horizon_days,forecast,p90\n1,1,1,0,\n";
  ProgramResult load = RunProgram({LoaderBinary(), "load", "--data_dir=" + data().string(), "--table=labels", kKeys,
                                   "--values=forecast:double,p90:double?", csv.string()});
  ASSERT_EQ(load.exit_code, 0) << load.err;
  const fs::path model_dir = RegisterProductionModel();
  ServerProcess server(data(), {"--ingest", "--model_registry=" + Path("mlruns").string(), "--refresh_interval_ms=0",
                                "--fallback=table=labels,model=models:/m/Production,output_kind=label"});
  ASSERT_TRUE(server.started()) << ReadText(server.log_path());
  PredstoreClient client(ClientFor(server.target()));

  constexpr int kRows = 8;
  const std::vector<float> features = SampleFeatureRows(kRows, kFeatures, /*seed=*/78);
  const std::vector<float> probabilities = XGBoostPredict(model_dir / "model.xgb", features);
  v1::IngestRequest batch = BatchOfEvents("scorer", 1, {}, "labels");
  for (int i = 0; i < kRows; ++i) {
    v1::StreamEvent* event = batch.add_events();
    for (auto [column, value] : {std::pair{"store_id", 970}, std::pair{"item_id", i}, std::pair{"horizon_days", 1}}) {
      *event->add_key() = Field(column, Int(value));
    }
    event->set_event_time_micros(NowMicros());
    for (int f = 0; f < kFeatures; ++f) *event->add_features() = Field(kFeatureNames[f], Double(features[i * kFeatures + f]));
  }
  IngestOutcome outcome = SendBatches(client, {batch});
  ASSERT_EQ(outcome.acks.size(), 1u);
  ASSERT_EQ(outcome.acks[0].error_code(), 0) << outcome.acks[0].error_message();
  int ones = 0;
  for (int i = 0; i < kRows; ++i) {
    auto response = client.Lookup(LookupOf("labels", 970, i, 1));
    ASSERT_TRUE(response.ok()) << response.status();
    ASSERT_EQ(response->values_size(), 2);
    const double label = probabilities[i] > 0.5f ? 1 : 0;
    EXPECT_EQ(response->values(0).double_value(), label) << i;
    EXPECT_EQ(response->values(1).kind_case(), v1::Value::KIND_NOT_SET) << response->ShortDebugString();
    ones += label == 1;
  }
  EXPECT_GT(ones, 0);
  EXPECT_LT(ones, kRows);  // both classes occur, so the labels are told apart
}

// A feature event whose features are all null is scored on the key's row
// of the bound features table, like a lookup miss; the lookup cache may
// already hold that answer. (The server used to take the cached answer's
// empty scoring row to XGBoost and read the first of no predictions: it
// died with SIGSEGV.)
TEST_F(StreamingTest, AFeatureEventWithOnlyNullFeaturesIsScoredOnTheFeaturesTable) {
  const std::vector<Row> rows = LoadForecasts(data(), 100);
  const std::vector<float> features = SampleFeatureRows(2, kFeatures, /*seed=*/78);
  {
    std::ofstream out(Path("features.csv"));
    out << "store_id,item_id,horizon_days,f0,f1,f2,f3,f4\n";
    for (int i = 0; i < 2; ++i) {
      out << 9000 + i << ",1,1";
      for (int f = 0; f < kFeatures; ++f) out << "," << FloatText(features[i * kFeatures + f]);
      out << "\n";
    }
  }
  LoadStoreFeatures();
  const fs::path model_dir = RegisterProductionModel();
  ServerProcess server(data(), {"--ingest", "--model_registry=" + Path("mlruns").string(), "--refresh_interval_ms=0",
                                "--fallback=table=forecasts,model=models:/m/Production,features=store_features,"
                                "cache_ttl=10m"});
  ASSERT_TRUE(server.started()) << ReadText(server.log_path());
  PredstoreClient client(ClientFor(server.target()));
  const std::vector<float> expected = XGBoostPredict(model_dir / "model.xgb", features);
  ASSERT_EQ(expected.size(), 2u);

  // Key 9000 is looked up first: its computed answer is cached.
  auto computed = client.Lookup(LookupAt({9000, 1, 1}, std::nullopt));
  ASSERT_TRUE(computed.ok()) << computed.status();
  ASSERT_EQ(computed->source(), v1::SOURCE_COMPUTED);
  EXPECT_NEAR(computed->values(0).double_value(), expected[0], kTolerance);

  const int64_t t = SnapshotOf(client, rows).published_micros + kMinute;
  std::ofstream(Path("null.jsonl")) << "{\"store_id\":9000,\"item_id\":1,\"horizon_days\":1,\"event_time\":" << t
                                    << ",\"f0\":null}\n"
                                    << "{\"store_id\":9001,\"item_id\":1,\"horizon_days\":1,\"event_time\":" << t
                                    << ",\"f3\":null}\n";
  ProgramResult ingest =
      Cli(server, {"ingest", "--table=forecasts", "--source=nulls", "--events=" + Path("null.jsonl").string()});
  ASSERT_EQ(ingest.exit_code, 0) << ingest.err << ReadText(server.log_path());
  EXPECT_THAT(ingest.out, HasSubstr("applied 2"));
  for (int i = 0; i < 2; ++i) {
    auto response = client.Lookup(LookupAt({9000 + i, 1, 1}, std::nullopt));
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_EQ(response->source(), v1::SOURCE_STREAM) << i;
    EXPECT_EQ(response->event_time_micros(), t) << i;
    EXPECT_NEAR(response->values(0).double_value(), expected[i], kTolerance) << i;
  }
  auto serving = client.IsServing();
  ASSERT_TRUE(serving.ok()) << serving.status();
  EXPECT_TRUE(*serving);
}

// With a fallback binding's max_age, stored answers older than max_age are
// rescored; a fresh stream answer is not one, even when the snapshot is old
// (its age is its event time's, not the snapshot's publish time's).
TEST_F(StreamingTest, AFreshStreamAnswerIsNotRescoredBecauseTheSnapshotIsOld) {
  const std::vector<Row> rows = LoadForecasts(data(), 50);
  {
    // Published two days ago, as far as the manifest says.
    const fs::path manifest = data() / "forecasts" / "manifest.json";
    nlohmann::json json = nlohmann::json::parse(ReadText(manifest));
    for (auto& version : json["versions"]) version["created_at_micros"] = NowMicros() - 48 * kHour;
    std::ofstream(manifest) << json.dump(2);
  }
  std::ofstream(Path("features.csv")) << "store_id,item_id,horizon_days,f0,f1,f2,f3,f4\n9000,1,1,1,2,3,4,5\n";
  LoadStoreFeatures();
  const fs::path model_dir = RegisterProductionModel();
  ServerProcess server(data(), {"--ingest", "--model_registry=" + Path("mlruns").string(), "--refresh_interval_ms=0",
                                "--fallback=table=forecasts,model=models:/m/Production,features=store_features,"
                                "max_age=24h"});
  ASSERT_TRUE(server.started()) << ReadText(server.log_path());
  PredstoreClient client(ClientFor(server.target()));
  const Event fresh{{9000, 1, 1}, NowMicros() - kMinute, 5, 6};
  IngestOutcome outcome = SendBatches(client, {BatchOfEvents("s", 1, {fresh})});
  ASSERT_EQ(outcome.acks.size(), 1u);
  ASSERT_EQ(outcome.acks[0].error_code(), 0) << outcome.acks[0].error_message();

  auto response = client.Lookup(LookupAt(fresh.key, std::nullopt));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_TRUE(Matches(*response, {true, v1::SOURCE_STREAM, fresh.time, 5, 6}));
  auto batch = client.BatchLookup(BatchAt({fresh.key}, std::nullopt));
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_TRUE(Matches(batch->results(0), {true, v1::SOURCE_STREAM, fresh.time, 5, 6}));
}

}  // namespace
}  // namespace predstore::testing
