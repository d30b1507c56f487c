// The Kafka source end to end, with no broker: librdkafka's built-in mock
// cluster runs inside this test process on loopback, the test produces JSON
// events to it, and the real `predstore-load stream --source=kafka:...`
// consumes them into a real predstore-server --ingest. Expected answers are
// computed here from the produced events.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <map>
#include <random>

#include "client/predstore_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/forecast_requests.h"
#include "tests/e2e/subprocess.h"
#include "tests/support/scratch_dir.h"

namespace predstore::testing {
namespace {

namespace fs = std::filesystem;

constexpr char kTopic[] = "forecast-events";
constexpr int kPartitions = 3;

struct Produced {
  int64_t store, item, horizon, event_time;
  double forecast;
};

// A mock Kafka cluster (one broker) owned by a producer handle.
class MockKafka {
 public:
  MockKafka() {
    char error[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    EXPECT_EQ(rd_kafka_conf_set(conf, "test.mock.num.brokers", "1", error, sizeof error), RD_KAFKA_CONF_OK) << error;
    producer_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
    EXPECT_NE(producer_, nullptr) << error;
    cluster_ = rd_kafka_handle_mock_cluster(producer_);
    EXPECT_NE(cluster_, nullptr);
    EXPECT_EQ(rd_kafka_mock_topic_create(cluster_, kTopic, kPartitions, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  ~MockKafka() { rd_kafka_destroy(producer_); }

  std::string bootstraps() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }

  void Produce(const std::vector<Produced>& events) {
    for (const Produced& e : events) {
      char json[256];
      std::snprintf(json, sizeof json,
                    R"({"store_id":%lld,"item_id":%lld,"horizon_days":%lld,"event_time":%lld,"forecast":%.3f,"p90":%.3f})",
                    (long long)e.store, (long long)e.item, (long long)e.horizon, (long long)e.event_time, e.forecast,
                    e.forecast * 1.25);
      ProduceRaw(json, static_cast<int>(e.store % kPartitions));  // a key always goes to one partition
    }
  }

  void ProduceRaw(const std::string& payload, int partition) {
    ASSERT_EQ(rd_kafka_producev(producer_, RD_KAFKA_V_TOPIC(kTopic), RD_KAFKA_V_PARTITION(partition),
                                RD_KAFKA_V_VALUE(const_cast<char*>(payload.data()), payload.size()),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
              RD_KAFKA_RESP_ERR_NO_ERROR);
    ASSERT_EQ(rd_kafka_flush(producer_, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
  }

 private:
  rd_kafka_t* producer_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

// `count` events over 60 keys, each with its own event time (so every
// message is a distinct event: no ties, no duplicates), sent out of order.
std::vector<Produced> Events(int count, uint64_t seed, int64_t first_time) {
  std::mt19937_64 random(seed);
  std::vector<Produced> events;
  for (int i = 0; i < count; ++i) {
    const int key = static_cast<int>(random() % 60);
    events.push_back({key / 6 + 1, key % 6 + 1000, 1, first_time + int64_t{i} * 1000,
                      static_cast<double>(random() % 100000) / 1000});
  }
  std::shuffle(events.begin(), events.end(), random);
  return events;
}

class KafkaSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const fs::path csv = scratch_.path() / "forecasts.csv";
    ASSERT_EQ(RunProgram({LoaderBinary(), "sample", "--rows=2000", "--out=" + csv.string()}).exit_code, 0);
    ProgramResult load = RunProgram({LoaderBinary(), "load", "--data_dir=" + data().string(), "--table=forecasts",
                                     kKeys, kValues, csv.string()});
    ASSERT_EQ(load.exit_code, 0) << load.err;
  }
  fs::path data() const { return scratch_.path() / "data"; }

  ProgramResult Stream(const ServerProcess& server, const MockKafka& kafka) {
    return RunProgram({LoaderBinary(), "stream", "--table=forecasts",
                       "--source=kafka:" + kafka.bootstraps() + "/" + kTopic, "--group=test", "--server=" + server.target(),
                       "--once", "--batch_size=40"});
  }

  // Every key's answer must be its newest produced event (ties: greater value).
  void ExpectNewestPerKey(const PredstoreClient& client, const std::vector<Produced>& events) {
    std::map<std::tuple<int64_t, int64_t, int64_t>, std::pair<int64_t, double>> newest;
    for (const Produced& e : events) {
      auto& best = newest[{e.store, e.item, e.horizon}];
      if (best.first == 0 || std::make_pair(e.event_time, e.forecast) > best) best = {e.event_time, e.forecast};
    }
    for (const auto& [key, best] : newest) {
      auto answer = client.Lookup(LookupOf("forecasts", std::get<0>(key), std::get<1>(key), std::get<2>(key)));
      ASSERT_TRUE(answer.ok()) << answer.status();
      EXPECT_EQ(answer->source(), v1::SOURCE_STREAM);
      EXPECT_EQ(answer->event_time_micros(), best.first);
      EXPECT_NEAR(answer->values(0).double_value(), best.second, 1e-9);
    }
  }

  test_support::ScratchDir scratch_;
};

TEST_F(KafkaSourceTest, AConsumerGroupAppliesEveryMessageOnceAcrossRestarts) {
  ServerProcess server(data(), {"--ingest", "--allowed_lateness_s=86400", "--refresh_interval_ms=0"});
  ASSERT_TRUE(server.started());
  PredstoreClient client(ClientFor(server.target()));
  MockKafka kafka;
  const int64_t base = 1'900'000'000'000'000;  // 2030, newer than the snapshot
  std::vector<Produced> events = Events(500, 3, base);
  kafka.Produce(events);

  ProgramResult first = Stream(server, kafka);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  ExpectNewestPerKey(client, events);

  // More messages, and a new consumer process in the same group: it resumes
  // after the offsets predstore committed, so nothing is applied twice.
  const std::vector<Produced> more = Events(300, 4, base + 10'000'000'000);
  kafka.Produce(more);
  ProgramResult second = Stream(server, kafka);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  events.insert(events.end(), more.begin(), more.end());
  ExpectNewestPerKey(client, events);

  // Exactly once: every message applied once, none counted twice or lost.
  auto status = client.IngestStatus("forecasts");
  ASSERT_TRUE(status.ok()) << status.status();
  ASSERT_EQ(status->sources_size(), kPartitions);
  uint64_t applied = 0;
  for (const v1::SourceStatus& source : status->sources()) {
    EXPECT_THAT(source.source(), ::testing::StartsWith(std::string("kafka:") + kTopic + "/"));
    EXPECT_EQ(source.late(), 0u);
    EXPECT_EQ(source.duplicates(), 0u) << source.source();
    EXPECT_EQ(source.superseded(), 0u) << source.source();
    EXPECT_FALSE(source.position().empty());
    applied += source.applied();
  }
  EXPECT_EQ(applied, events.size());

  // A third run finds nothing new and changes nothing.
  ProgramResult third = Stream(server, kafka);
  ASSERT_EQ(third.exit_code, 0) << third.err;
  auto again = client.IngestStatus("forecasts");
  ASSERT_TRUE(again.ok());
  for (int i = 0; i < kPartitions; ++i) EXPECT_EQ(again->sources(i).sequence(), status->sources(i).sequence());
}

TEST_F(KafkaSourceTest, AMalformedMessageStopsTheSourceNamingItsOffset) {
  ServerProcess server(data(), {"--ingest", "--refresh_interval_ms=0"});
  ASSERT_TRUE(server.started());
  MockKafka kafka;
  kafka.Produce({{3, 1000, 1, 1'900'000'000'000'000, 1.0}});  // partition 0, offset 0
  kafka.ProduceRaw("not an event", 0);                         // partition 0, offset 1
  ProgramResult stopped = Stream(server, kafka);
  EXPECT_EQ(stopped.exit_code, 1);
  EXPECT_THAT(stopped.err, ::testing::HasSubstr(std::string("kafka ") + kTopic + "/0 offset 1"));
  // The valid message before it was committed.
  PredstoreClient client(ClientFor(server.target()));
  auto answer = client.Lookup(LookupOf("forecasts", 3, 1000, 1));
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->source(), v1::SOURCE_STREAM);
  // The source name is checked before any message.
  ProgramResult bad_spec = RunProgram({LoaderBinary(), "stream", "--table=forecasts", "--source=kafka:nobroker",
                                       "--server=" + server.target(), "--once"});
  EXPECT_EQ(bad_spec.exit_code, 1);
  EXPECT_THAT(bad_spec.err, ::testing::HasSubstr("kafka:BROKERS/TOPIC"));
}

}  // namespace
}  // namespace predstore::testing
