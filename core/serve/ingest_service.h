// IngestService applies batches of stream events to a table's stream store,
// whatever front end they arrive on: it pins the table's snapshot (its
// schema and codecs key the events), recognises a replayed batch before any
// conversion, encodes keys and values, and scores events that carry
// features instead of a prediction with the table's bound model.
//
// Thread-safe: batches of one source are applied in order by the stream
// store; lookups read concurrently.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "core/serve/lookup_fallback.h"
#include "core/snapshot/prediction_store.h"
#include "core/stream/stream_catalog.h"

namespace predstore {

// One event, converted by a front end against the pinned snapshot's schema.
struct IngestEvent {
  std::vector<Cell> key;  // one cell per schema.lookup_columns()
  int64_t event_time_micros = 0;
  // The prediction, one cell per schema.value_columns(); empty when the
  // event carries `features` for the bound model to score instead. The
  // feature views need only live until Apply returns.
  std::vector<Cell> values;
  std::vector<NamedFeature> features;
  std::string text;  // the event in readable form, for the dead-letter file
};

struct IngestBatch {
  std::string_view table;
  std::string_view source;  // the producer, whose batches are numbered
  uint64_t sequence = 0;    // from 1; a sequence already committed is a replay
  std::string_view position;  // the producer's resume point after this batch
};

struct IngestStatusAnswer {
  std::map<std::string, SourceState> sources;  // empty: no event yet
  std::filesystem::path dead_letter_file;
};

class IngestService {
 public:
  // Converts a batch's events against `table` (the snapshot the events are
  // keyed with); kInvalidArgument naming events[i] for a bad one.
  using ConvertEvents = absl::FunctionRef<absl::StatusOr<std::vector<IngestEvent>>(const TableSnapshot& table)>;

  // Everything passed must outlive the service. `streams` is null when the
  // server takes no streams; `fallback` when no table is bound to a model.
  IngestService(const PredictionStore* store, StreamCatalog* streams, const LookupFallback* fallback)
      : store_(store), streams_(streams), fallback_(fallback) {}

  bool takes_streams() const { return streams_ != nullptr; }

  // Applies one batch and returns its source's committed state.
  // kInvalidArgument for an empty table or source, sequence 0, or a bad
  // event; kNotFound for a table with no snapshot; kFailedPrecondition for
  // feature events on a table bound to no model, or a server that takes no
  // streams. A replay changes nothing and calls no `convert`.
  absl::StatusOr<SourceState> Apply(const IngestBatch& batch, ConvertEvents convert) const;

  // The committed state of every source of `table` (none yet: empty).
  // kInvalidArgument for an empty name; kNotFound for a table that is
  // neither served nor streamed; kFailedPrecondition when the server takes
  // no streams.
  absl::StatusOr<IngestStatusAnswer> Status(std::string_view table) const;

 private:
  // Encodes converted events with the table's codecs, scoring the ones that
  // carry features.
  absl::StatusOr<std::vector<StreamEvent>> EncodeEvents(const TableSnapshot& table, std::vector<IngestEvent> events) const;
  // The encoded prediction of a feature event (events[index]).
  absl::Status ScoreEvent(const TableSnapshot& table, size_t index, const IngestEvent& event,
                          StreamEvent* out) const;

  const PredictionStore* store_;
  StreamCatalog* streams_;
  const LookupFallback* fallback_;
};

}  // namespace predstore
