// LookupService is the answer path every front end calls: it decides what a
// lookup, a batch of lookups, a Predict or a scan answers, and knows nothing
// of the transport. A lookup reads the table's active snapshot, puts the
// table's stream (and `as_of`) over it, judges the answer's age against the
// fallback binding's max_age, and for a miss or a stale answer plans a
// fallback: the cache, or a scoring row submitted to the batcher. A front end
// converts its request to the queries below, calls the service, and converts
// the answers back.
//
// Completion: Lookup, BatchLookup and Predict call `done` exactly once, on
// the caller's thread before returning when no model has to be scored (every
// store read, cache hit and error), else on the scoring batcher's thread once
// the scores are in; a front end never blocks a thread waiting for them.
//
// Thread-safe: every method may run concurrently with every other, and with
// snapshot swaps, model reloads and stream writes.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "core/base/metrics.h"
#include "core/model/model_catalog.h"
#include "core/model/scoring_batcher.h"
#include "core/serve/admission_queue.h"
#include "core/serve/lookup_fallback.h"
#include "core/snapshot/prediction_store.h"
#include "core/stream/stream_catalog.h"

namespace predstore {

// Where an answer came from.
enum class AnswerSource {
  kPrecomputed,  // the table's active snapshot
  kStream,       // the table's stream store (an Ingest event)
  kComputed,     // scored on demand by the table's bound model (fallback)
};

// One key's answer.
struct KeyAnswer {
  bool found = false;
  AnswerSource source = AnswerSource::kPrecomputed;
  // kPrecomputed and kStream, when found: the row's values, encoded with the
  // table's ValueCodec (see LookupAnswers::EncodedValues).
  uint32_t value_offset = 0;
  uint32_t value_size = 0;
  // kStream: when the event happened (microseconds since the epoch).
  int64_t event_time_micros = 0;
  // kComputed: the model's output, which fills LookupAnswers::output_column
  // (the other value columns have no value), and the model that scored it.
  float computed_output = 0;
  std::shared_ptr<const ServedModel> model;
};

// The answers of one lookup or of a batch, in request order.
struct LookupAnswers {
  // The snapshot every answer was read from: its version, schema and codecs.
  std::shared_ptr<const TableSnapshot> table;
  absl::InlinedVector<KeyAnswer, 1> keys;
  // The encoded values of the found precomputed and stream answers (inline
  // up to a typical single answer: no allocation on a one-key lookup).
  absl::InlinedVector<char, 64> values;
  // The value column a computed answer fills, and what the model put there.
  size_t output_column = 0;
  OutputKind output_kind = OutputKind::kProbability;

  std::string_view EncodedValues(const KeyAnswer& answer) const {
    return std::string_view(values.data() + answer.value_offset, answer.value_size);
  }
};

struct LookupQuery {
  // The table, as LookupService::Table gave it: the key was converted with
  // its schema, and the answer is read from this snapshot.
  std::shared_ptr<const TableSnapshot> table;
  // One cell per table->schema().lookup_columns(), each of its column's type.
  std::vector<Cell> key;
  // The prediction in force at this time (microseconds since the epoch):
  // the newest stream event at or before it, or the snapshot if it was
  // published at or before it and no later event exists; never scored.
  std::optional<int64_t> as_of_micros;
  // Answer from the store only: a miss stays a miss.
  bool no_fallback = false;
  // Just-in-time features for the fallback model: no row, or one.
  FeatureRows features;
  // Scoring for this call (a fallback, or Predict) is dropped unscored,
  // kDeadlineExceeded, when it is still waiting for a scorer at this time.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

struct BatchLookupQuery {
  std::shared_ptr<const TableSnapshot> table;  // as in LookupQuery
  // The keys, row-major: lookup_columns().size() cells per key.
  std::vector<Cell> keys;
  std::optional<int64_t> as_of_micros;
  bool no_fallback = false;
  // Just-in-time features: no rows, or one per key.
  FeatureRows features;
  // Scoring for this call (a fallback, or Predict) is dropped unscored,
  // kDeadlineExceeded, when it is still waiting for a scorer at this time.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

struct PredictQuery {
  std::string_view model;  // a models:/ URI, as ParseModelReference reads it
  FeatureRows rows;        // at least one row
  // nullopt: what MLflow's pyfunc predict gives with `params`
  // (PyfuncOutput).
  std::optional<OutputKind> output = OutputKind::kProbability;
  FeatureBinding binding = FeatureBinding::kByName;
  InferenceParams params = {};
  // Scoring for this call (a fallback, or Predict) is dropped unscored,
  // kDeadlineExceeded, when it is still waiting for a scorer at this time.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

struct PredictAnswer {
  std::shared_ptr<const ServedModel> model;
  OutputKind output = OutputKind::kProbability;
  // outputs_per_row floats per row, rows in request order.
  size_t outputs_per_row = 0;
  std::vector<float> outputs;
};

struct LookupServiceOptions {
  // Most keys one BatchLookup and rows one Predict may ask for; more is
  // kResourceExhausted. Default 10000. Fixed at construction.
  uint32_t max_batch_keys = 10000;
  // Most rows one Scan call returns; a scan without a limit stops there
  // with a page token, a larger limit is kResourceExhausted. Default 1M.
  uint64_t max_scan_rows = 1'000'000;
  // Where answers are counted (predstore_lookup_answers_total by source,
  // predstore_fallback_cache_hits_total); null: not counted.
  MetricsRegistry* metrics = nullptr;
  // The queue AdmitLookup and AdmitBatchLookup go through; null: they run
  // at once. Must outlive the service.
  AdmissionQueue* admission = nullptr;
  // Called (on the caller's thread, and must not block) when a call asks
  // for a version of `table` this server has not seen yet: the server
  // re-reads that manifest soon instead of at its next refresh. Null: none.
  std::function<void(std::string_view table)> on_behind;
};

class LookupService {
 public:
  using LookupDone = absl::AnyInvocable<void(absl::StatusOr<LookupAnswers> answers)>;
  using PredictDone = absl::AnyInvocable<void(absl::StatusOr<PredictAnswer> answer)>;
  // Counters of answers (all null without LookupServiceOptions::metrics).
  struct AnswerCounters {
    std::array<Counter*, 3> by_source{};  // indexed by AnswerSource
    Counter* miss = nullptr;
    Counter* cache_hits = nullptr;
  };

  // Everything passed must outlive the service. `streams` is null when the
  // server takes no streams, `models` when it serves no models (Predict is
  // then kFailedPrecondition), `fallback` when no table is bound to a model.
  // `batcher` is required.
  LookupService(const PredictionStore* store, const StreamCatalog* streams, const ModelCatalog* models,
                ScoringBatcher* batcher, LookupFallback* fallback, LookupServiceOptions options);

  // The active snapshot of `table`: kInvalidArgument for an empty name,
  // kNotFound for a table that is not served. With `min_version` (monotonic
  // reads across replicas), kUnavailable when this server has not yet seen
  // that version published (its manifest's newest version is older; a
  // rollback to an older version after it does not count as behind), and
  // on_behind is called. Never blocks on I/O.
  absl::StatusOr<std::shared_ptr<const TableSnapshot>> Table(std::string_view table, uint64_t min_version = 0) const;
  // Every served table's snapshot, sorted by name.
  std::vector<std::shared_ptr<const TableSnapshot>> Tables() const;
  // The models served; null when the server serves none.
  const ModelCatalog* models() const { return models_; }
  // The streams taken; null when the server takes none.
  const StreamCatalog* streams() const { return streams_; }

  // kResourceExhausted naming `field` when `keys` keys (or Predict rows)
  // exceed max_batch_keys. Front ends call it before converting a batch.
  absl::Status CheckBatchSize(std::string_view field, size_t keys) const;
  // Bounds a scan's rows by max_scan_rows: no limit becomes that limit (the
  // scan then ends with a page token), a larger one is kResourceExhausted.
  // Front ends call it before paging a Scan.
  absl::Status LimitScan(ScanQuery* query) const;

  // Answers one key (see the file comment for the order of sources). A miss
  // is found = false, unless the table is bound to a model and the lookup
  // may fall back: then the key is scored on its features, or the call fails
  // kNotFound when no source has any feature for it (a stale stored answer
  // is kept instead). kInvalidArgument naming a bad feature;
  // kFailedPrecondition when the bound model cannot answer; storage errors
  // as TableSnapshot::Get. The feature views need only live until this
  // returns.
  void Lookup(LookupQuery query, LookupDone done) const;

  // Answers many keys of one table, as Lookup would each, reading the
  // snapshot with one MultiGet. Keys with nothing to score stay missed
  // (never kNotFound). kResourceExhausted past max_batch_keys;
  // kInvalidArgument for features that are not one row per key, or naming
  // keys[i] for a bad feature. Views need only live until this returns.
  void BatchLookup(BatchLookupQuery query, LookupDone done) const;

  // Lookup and BatchLookup as every front end calls them for a client's
  // data-plane call: through the admission queue, so that they run now, or
  // on an admission worker once one is free (`done` is then called there),
  // or `done` gets the queue's refusal at once (kResourceExhausted; or
  // kDeadlineExceeded once query.deadline passed while waiting). The
  // query's views must live until `done` is called.
  void AdmitLookup(LookupQuery query, LookupDone done) const;
  void AdmitBatchLookup(BatchLookupQuery query, LookupDone done) const;

  // Scores rows with the model `query.model` resolves to, batched with
  // concurrent calls. kFailedPrecondition without models; kNotFound or
  // kFailedPrecondition from ModelCatalog::Resolve; kInvalidArgument for no
  // rows or a bad feature (ScoringRows); kResourceExhausted past
  // max_batch_keys rows.
  void Predict(PredictQuery query, PredictDone done) const;

  // Calls on_row(key cells, encoded values) for up to query.limit rows of
  // the box, in key order, as TableSnapshot::Scan (same errors); the cells
  // and the view are valid during the call. kDataLoss for a stored key that
  // does not decode. Precomputed rows only: scans see no stream.
  absl::StatusOr<ScanResult> Scan(const TableSnapshot& table, const ScanQuery& query,
                                  absl::FunctionRef<void(std::span<const Cell> key, std::string_view values)> on_row)
      const;

 private:
  // Appends the answer for encoded `key` to `answers`: the stored value
  // (null: none) with `stream` (null: none) and as_of over it.
  static absl::Status AppendAnswer(const TableSnapshot& table, const StreamStore* stream, std::string_view key,
                                   const std::string_view* stored, std::optional<int64_t> as_of,
                                   LookupAnswers* answers);
  const StreamStore* StreamOf(const TableSnapshot& table) const;
  // Whether `answer` must be scored: a miss, or older than binding.max_age.
  bool NeedsScoring(const FallbackBinding& binding, const TableSnapshot& table, const KeyAnswer& answer) const;
  // Scores the batch's keys listed in `misses` (the binding's fallback) and
  // calls done when every one is answered.
  void FallBackBatch(const FallbackBinding& binding, const BatchLookupQuery& query, std::span<const std::string_view> keys,
                     std::span<const size_t> misses, LookupAnswers answers, LookupDone done) const;

  const PredictionStore* store_;
  const StreamCatalog* streams_;
  const ModelCatalog* models_;
  ScoringBatcher* batcher_;
  LookupFallback* fallback_;
  const LookupServiceOptions options_;
  AnswerCounters counters_;
};

}  // namespace predstore
