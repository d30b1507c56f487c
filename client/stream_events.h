// Streams of prediction events from files to a server's Admin.Ingest:
// parsing JSON Lines events against a table's schema, and sending them in
// numbered batches with their resume position (exactly once, see
// IngestRequest). Used by `predstore-cli ingest` and by the folder source of
// `predstore-load stream`.
//
// An event line is one JSON object: the table's key (and partition)
// columns, "event_time" (RFC 3339 text or integer microseconds since the
// epoch), and either every value column (a prediction, written as is) or
// other fields (features for the table's bound model, scored on arrival).
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "client/predstore_client.h"
#include "core/table/schema.h"
#include "predstore/v1/predstore.pb.h"

namespace predstore {

class EventParser {
 public:
  // kInvalidArgument for an unknown column type in `table`.
  static absl::StatusOr<EventParser> ForTable(const v1::TableInfo& table);

  // kInvalidArgument with the reason (the caller adds file and line). A
  // prediction event with fields beyond the table's columns (an event_id,
  // a _metadata object) is refused, unless `ignored` is given: then those
  // fields are skipped and their names appended to it. (A features event
  // sends every other field as a feature; the server checks them.)
  absl::StatusOr<v1::StreamEvent> Parse(std::string_view line, std::vector<std::string>* ignored = nullptr) const;

 private:
  std::vector<Column> lookup_columns_;
  std::vector<Column> value_columns_;
};

// The fields a source skipped (--extra_fields=ignore), each name reported
// once through `report` the first time it is seen.
class IgnoredFields {
 public:
  explicit IgnoredFields(std::function<void(const std::string&)> report) : report_(std::move(report)) {}
  // Reports the names in `names` not seen before, then clears `names`.
  void Note(std::vector<std::string>* names);

 private:
  std::function<void(const std::string&)> report_;
  std::set<std::string, std::less<>> seen_;
};

// Sends one source's events to one table in numbered batches over an
// Ingest stream, one batch in flight. When the server holds one shard of a
// sharded table (docs/scale-out.md#shards), events of other shards are
// skipped (their position still moves on), so that one consumer per shard
// can read a whole topic. Not thread-safe.
class EventIngester {
 public:
  EventIngester(const PredstoreClient& client, std::string table, std::string source, size_t batch_size);
  ~EventIngester();

  // Reads the source's committed state from the server (IngestStatus) and
  // opens the stream; the next batch is numbered committed sequence + 1.
  absl::Status Start();
  // The committed state read by Start() and updated by every ack.
  const v1::SourceStatus& committed() const { return committed_; }

  // Queues `event`; `position` is where the producer resumes after it.
  // Sends a batch when batch_size events are queued.
  absl::Status Add(v1::StreamEvent event, std::string position);
  // Events skipped as other shards' since Start().
  uint64_t events_of_other_shards() const { return events_of_other_shards_; }
  // Sends what is queued and waits for its ack. A rejected batch's error
  // (its status code and message) is returned.
  absl::Status Flush();
  // Flushes, then ends the stream.
  absl::Status Finish();

 private:
  const PredstoreClient& client_;
  std::string table_;
  std::string source_;
  size_t batch_size_;
  std::unique_ptr<IngestStream> stream_;
  v1::IngestRequest batch_;
  v1::SourceStatus committed_;
  // Set when the server holds shard served_shard_ of a sharded table.
  std::unique_ptr<internal::ShardedTable> sharded_;
  uint32_t served_shard_ = 0;
  uint64_t events_of_other_shards_ = 0;
};

}  // namespace predstore
