// predstore-bench-kafka: Kafka source throughput without a broker. Starts
// librdkafka's mock cluster in this process, produces --events JSON events
// (sample keys, event time now + i µs) to a topic of --partitions
// partitions, then runs `predstore-load stream --source=kafka:... --once`
// against --server and reports events/s from the loader's start to its end
// (every event committed). The server must run with --ingest and hold the
// sample table (predstore-load sample + load, table --table).
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "core/ingest/sample_data.h"

ABSL_FLAG(std::string, loader, "predstore-load", "Path of predstore-load.");
ABSL_FLAG(std::string, server, "127.0.0.1:50051", "The ingesting predstore-server.");
ABSL_FLAG(std::string, table, "forecasts", "Table to stream into.");
ABSL_FLAG(int, events, 100000, "Events to produce.");
ABSL_FLAG(int, partitions, 3, "Topic partitions (one predstore source each).");
ABSL_FLAG(uint64_t, rows, 1000000, "Rows of the loaded sample; keys are drawn from them.");
ABSL_FLAG(int, batch_size, 500, "Events per committed batch.");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "test.mock.num.brokers", "1", error, sizeof error) != RD_KAFKA_CONF_OK ||
      rd_kafka_conf_set(conf, "linger.ms", "5", error, sizeof error) != RD_KAFKA_CONF_OK) {
    std::fprintf(stderr, "kafka config: %s\n", error);
    return 2;
  }
  rd_kafka_t* producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
  if (producer == nullptr) {
    std::fprintf(stderr, "kafka producer: %s\n", error);
    return 2;
  }
  rd_kafka_mock_cluster_t* cluster = rd_kafka_handle_mock_cluster(producer);
  const int partitions = absl::GetFlag(FLAGS_partitions);
  rd_kafka_mock_topic_create(cluster, "bench-events", partitions, 1);
  predstore::SampleOptions sample;
  const uint64_t rows = absl::GetFlag(FLAGS_rows);
  const int events = absl::GetFlag(FLAGS_events);
  const int64_t start_time = std::chrono::duration_cast<std::chrono::microseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
  for (int i = 0; i < events; ++i) {
    const predstore::SampleKey key = predstore::SampleKeyAt(sample, (static_cast<uint64_t>(i) * 7919) % rows);
    char json[256];
    const int length = std::snprintf(
        json, sizeof json,
        R"({"store_id":%lld,"item_id":%lld,"horizon_days":%lld,"event_time":%lld,"forecast":%d.5,"p90":%d.25})",
        (long long)key.store_id, (long long)key.item_id, (long long)key.horizon_days, (long long)(start_time + i),
        i % 1000, i % 1000);
    while (rd_kafka_producev(producer, RD_KAFKA_V_TOPIC("bench-events"), RD_KAFKA_V_PARTITION(i % partitions),
                             RD_KAFKA_V_VALUE(json, static_cast<size_t>(length)),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(producer, 10);
    }
  }
  rd_kafka_flush(producer, 60000);
  const std::string command = absl::GetFlag(FLAGS_loader) + " stream --table=" + absl::GetFlag(FLAGS_table) +
                              " --source=kafka:" + rd_kafka_mock_cluster_bootstraps(cluster) +
                              "/bench-events --group=bench --once --batch_size=" +
                              std::to_string(absl::GetFlag(FLAGS_batch_size)) +
                              " --server=" + absl::GetFlag(FLAGS_server) + " > /dev/null";
  const auto begin = std::chrono::steady_clock::now();
  const int status = std::system(command.c_str());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  rd_kafka_destroy(producer);
  if (status != 0) {
    std::fprintf(stderr, "predstore-bench-kafka: the loader failed (status %d)\n", status);
    return 1;
  }
  std::printf("kafka source: %d events over %d partitions in %.2f s = %.0f events/s (consumer start to all committed, "
              "batches of %d)\n",
              events, partitions, seconds, events / seconds, absl::GetFlag(FLAGS_batch_size));
  return 0;
}
