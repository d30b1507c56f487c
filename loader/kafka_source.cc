#include "loader/kafka_source.h"

#include <librdkafka/rdkafka.h>

#include <map>
#include <memory>
#include <thread>
#include <utility>

#include "client/cli_commands.h"
#include "client/stream_events.h"
#include "core/base/logging.h"
#include "core/base/status_macros.h"
#include "core/base/strings.h"

namespace predstore {
namespace {

using TopicPartition = std::pair<std::string, int32_t>;

std::string SourceName(const TopicPartition& partition) {
  return StrCat("kafka:", partition.first, "/", partition.second);
}

// One consumer session: from subscribing to closing. The rebalance callback
// runs inside rd_kafka_consumer_poll, on this thread.
class KafkaSession {
 public:
  KafkaSession(const PredstoreClient& client, const KafkaSourceOptions& options, const EventParser& parser)
      : client_(client), options_(options), parser_(parser) {}
  ~KafkaSession() {
    if (consumer_ != nullptr) {
      rd_kafka_consumer_close(consumer_);
      rd_kafka_destroy(consumer_);
    }
  }

  absl::Status Run() {
    PREDSTORE_RETURN_IF_ERROR(Connect());
    const auto started = std::chrono::steady_clock::now();
    for (;;) {
      rd_kafka_message_t* message = rd_kafka_consumer_poll(consumer_, 100);
      if (!failure_.ok()) {
        if (message != nullptr) rd_kafka_message_destroy(message);
        return failure_;
      }
      if (message == nullptr) {
        // Quiet: commit what is pending, so events do not wait for a full batch.
        for (auto& [partition, state] : partitions_) {
          PREDSTORE_RETURN_IF_ERROR(state.ingester->Flush());
          Report(state);
        }
        if (options_.once && Done()) return absl::OkStatus();
        if (options_.once && partitions_.empty() && std::chrono::steady_clock::now() - started > std::chrono::seconds(30)) {
          return absl::DeadlineExceededError("no partition of the topics was assigned within 30 s");
        }
        continue;
      }
      absl::Status handled = Handle(*message);
      rd_kafka_message_destroy(message);
      PREDSTORE_RETURN_IF_ERROR(handled);
    }
  }

 private:
  struct PartitionState {
    std::string source;
    std::unique_ptr<EventIngester> ingester;
    bool at_end = false;
    uint64_t reported_sequence = 0;
  };

  absl::Status Connect() {
    char error[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    const std::pair<const char*, std::string> settings[] = {
        {"bootstrap.servers", options_.brokers}, {"group.id", options_.group},
        {"enable.auto.commit", "false"},         {"enable.auto.offset.store", "false"},
        {"enable.partition.eof", "true"},        {"auto.offset.reset", "earliest"},
        // A consumer that died without leaving the group holds its
        // partitions this long; 6 s is the brokers' default minimum.
        {"session.timeout.ms", "6000"},          {"heartbeat.interval.ms", "1000"}};
    for (const auto& [name, value] : settings) {
      if (rd_kafka_conf_set(conf, name, value.c_str(), error, sizeof error) != RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        return absl::InvalidArgumentError(StrCat("kafka setting ", name, ": ", error));
      }
    }
    rd_kafka_conf_set_opaque(conf, this);
    rd_kafka_conf_set_rebalance_cb(conf, &KafkaSession::OnRebalance);
    consumer_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof error);
    if (consumer_ == nullptr) return absl::UnavailableError(StrCat("kafka consumer: ", error));
    rd_kafka_poll_set_consumer(consumer_);
    rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(static_cast<int>(options_.topics.size()));
    for (const std::string& topic : options_.topics) {
      rd_kafka_topic_partition_list_add(topics, topic.c_str(), RD_KAFKA_PARTITION_UA);
    }
    const rd_kafka_resp_err_t subscribed = rd_kafka_subscribe(consumer_, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (subscribed != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return absl::UnavailableError(StrCat("kafka subscribe: ", rd_kafka_err2str(subscribed)));
    }
    return absl::OkStatus();
  }

  static void OnRebalance(rd_kafka_t* consumer, rd_kafka_resp_err_t event, rd_kafka_topic_partition_list_t* partitions,
                          void* opaque) {
    auto* session = static_cast<KafkaSession*>(opaque);
    if (event == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      session->Assign(partitions);
      rd_kafka_assign(consumer, partitions);
    } else {
      session->Revoke(partitions);
      rd_kafka_assign(consumer, nullptr);
    }
  }

  // Starts each partition right after predstore's committed offset.
  void Assign(rd_kafka_topic_partition_list_t* partitions) {
    for (int i = 0; i < partitions->cnt && failure_.ok(); ++i) {
      rd_kafka_topic_partition_t& partition = partitions->elems[i];
      const TopicPartition key{partition.topic, partition.partition};
      PartitionState& state = partitions_[key];
      state.source = SourceName(key);
      state.ingester = std::make_unique<EventIngester>(client_, options_.table, state.source, options_.batch_size);
      state.at_end = false;
      failure_ = state.ingester->Start();
      const v1::SourceStatus& committed = state.ingester->committed();
      partition.offset = committed.sequence() == 0 ? RD_KAFKA_OFFSET_BEGINNING
                                                   : std::strtoll(committed.position().c_str(), nullptr, 10) + 1;
      state.reported_sequence = committed.sequence();
    }
  }

  void Revoke(rd_kafka_topic_partition_list_t* partitions) {
    for (int i = 0; i < partitions->cnt; ++i) {
      auto found = partitions_.find({partitions->elems[i].topic, partitions->elems[i].partition});
      if (found == partitions_.end()) continue;
      if (failure_.ok()) failure_ = found->second.ingester->Finish();
      partitions_.erase(found);
    }
  }

  absl::Status Handle(const rd_kafka_message_t& message) {
    const TopicPartition key{rd_kafka_topic_name(message.rkt), message.partition};
    auto found = partitions_.find(key);
    if (message.err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (found != partitions_.end()) {
        PREDSTORE_RETURN_IF_ERROR(found->second.ingester->Flush());
        found->second.at_end = true;
        Report(found->second);
      }
      return absl::OkStatus();
    }
    if (message.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      LogWarning("kafka: ", rd_kafka_message_errstr(&message));
      return absl::OkStatus();  // transient broker errors: librdkafka retries
    }
    if (found == partitions_.end()) return absl::OkStatus();  // no longer ours
    PartitionState& state = found->second;
    state.at_end = false;
    const std::string_view payload(static_cast<const char*>(message.payload), message.len);
    absl::StatusOr<v1::StreamEvent> event = parser_.Parse(payload, options_.ignore_extra_fields ? &ignored_ : nullptr);
    ignored_fields_.Note(&ignored_);
    if (!event.ok()) {
      // Commit the good events before it, then stop: nothing after it is sent.
      PREDSTORE_RETURN_IF_ERROR(state.ingester->Flush());
      return absl::InvalidArgumentError(StrCat("kafka ", key.first, "/", key.second, " offset ", message.offset, ": ",
                                               FromAbsl(event.status().message())));
    }
    PREDSTORE_RETURN_IF_ERROR(state.ingester->Add(*std::move(event), std::to_string(message.offset)));
    Report(state);
    return absl::OkStatus();
  }

  void Report(PartitionState& state) {
    if (!options_.on_commit || state.ingester->committed().sequence() == state.reported_sequence) return;
    state.reported_sequence = state.ingester->committed().sequence();
    options_.on_commit(SourceStatusText(state.ingester->committed()));
  }

  bool Done() const {
    if (partitions_.empty()) return false;
    for (const auto& [partition, state] : partitions_) {
      if (!state.at_end) return false;
    }
    return true;
  }

  const PredstoreClient& client_;
  const KafkaSourceOptions& options_;
  const EventParser& parser_;
  std::vector<std::string> ignored_;
  IgnoredFields ignored_fields_{options_.on_ignored ? options_.on_ignored : [](const std::string&) {}};
  rd_kafka_t* consumer_ = nullptr;
  std::map<TopicPartition, PartitionState> partitions_;
  absl::Status failure_;  // from the rebalance callback
};

}  // namespace

absl::StatusOr<KafkaSourceOptions> ParseKafkaSource(std::string_view spec) {
  constexpr std::string_view kScheme = "kafka:";
  if (!spec.starts_with(kScheme)) return absl::InvalidArgumentError("a Kafka source is kafka:BROKERS/TOPIC[,TOPIC]");
  spec.remove_prefix(kScheme.size());
  const size_t slash = spec.rfind('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == spec.size()) {
    return absl::InvalidArgumentError("a Kafka source is kafka:BROKERS/TOPIC[,TOPIC]: brokers or topic missing");
  }
  KafkaSourceOptions options;
  options.brokers = std::string(spec.substr(0, slash));
  std::string_view topics = spec.substr(slash + 1);
  while (!topics.empty()) {
    const size_t comma = topics.find(',');
    const std::string_view topic = topics.substr(0, comma);
    if (topic.empty()) return absl::InvalidArgumentError("an empty topic name in the Kafka source");
    options.topics.emplace_back(topic);
    if (comma == std::string_view::npos) break;
    topics.remove_prefix(comma + 1);
  }
  return options;
}

absl::Status RunKafkaSource(const PredstoreClient& client, const KafkaSourceOptions& options) {
  if (options.topics.empty()) return absl::InvalidArgumentError("no Kafka topic given");
  auto failing_since = std::chrono::steady_clock::time_point::max();
  for (;;) {
    absl::Status session;
    absl::StatusOr<v1::TableInfo> table = client.GetTable(options.table);
    if (table.ok()) {
      absl::StatusOr<EventParser> parser = EventParser::ForTable(*table);
      session = parser.ok() ? KafkaSession(client, options, *parser).Run() : parser.status();
    } else {
      session = table.status();
    }
    if (session.ok()) return absl::OkStatus();
    if (!(absl::IsUnavailable(session) || absl::IsCancelled(session))) return session;
    // The server went away: a new session resumes from its committed offsets.
    const auto now = std::chrono::steady_clock::now();
    if (failing_since == std::chrono::steady_clock::time_point::max()) failing_since = now;
    if (now - failing_since > options.retry_for) return session;
    LogWarning("kafka source: ", FromAbsl(session.message()), "; retrying");
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

}  // namespace predstore
