// The Kafka stream source: a consumer group on one or more topics, through
// librdkafka. Every message is one JSON event (the JSON Lines format of
// client/stream_events.h); each topic partition is a predstore source named
// "kafka:<topic>/<partition>" whose position is the offset of its last
// committed message.
//
// Exactly once: offsets are never committed to Kafka. When the group assigns
// a partition, consumption starts right after the offset predstore committed
// with that partition's last batch (or at the beginning), so a restart of
// the consumer or of the server neither loses nor repeats an event.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "client/predstore_client.h"

namespace predstore {

struct KafkaSourceOptions {
  std::string brokers;              // bootstrap.servers
  std::vector<std::string> topics;
  std::string group = "predstore";  // group.id
  std::string table;
  size_t batch_size = 500;
  // Stop once every assigned partition is read to its end (and committed).
  bool once = false;
  // How long to keep retrying an unreachable server before giving up.
  std::chrono::milliseconds retry_for{std::chrono::minutes(5)};
  // Event fields the table lacks: refused (false), or skipped, each name
  // reported once to on_ignored.
  bool ignore_extra_fields = false;
  std::function<void(const std::string&)> on_ignored;
  // Called after each committed batch with the source's state line.
  std::function<void(const std::string&)> on_commit;
};

// Parses "kafka:BROKERS/TOPIC[,TOPIC...]" (BROKERS itself may hold commas,
// e.g. host1:9092,host2:9092). kInvalidArgument naming what is missing.
absl::StatusOr<KafkaSourceOptions> ParseKafkaSource(std::string_view spec);

// Runs until `once` is done, or forever. A message that is not a valid event
// stops it with kInvalidArgument naming the topic, partition and offset; the
// partition's events before it are committed.
absl::Status RunKafkaSource(const PredstoreClient& client, const KafkaSourceOptions& options);

}  // namespace predstore
