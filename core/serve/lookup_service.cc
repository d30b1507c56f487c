#include "core/serve/lookup_service.h"

#include <algorithm>
#include <mutex>
#include <utility>

#include "core/base/status_macros.h"
#include "core/base/strings.h"

namespace predstore {
namespace {

// The features of row `r`, as the fallback takes them.
void NamedFeaturesOf(const FeatureRows& features, size_t r, std::vector<NamedFeature>* out) {
  out->clear();
  if (r >= features.rows) return;
  std::span<const std::optional<CellView>> row = features.row(r);
  for (size_t i = 0; i < row.size(); ++i) out->push_back({features.names[i], row[i]});
}

// Counts the answers by source, then hands them to `done`.
void Answer(const LookupService::AnswerCounters& counters, LookupService::LookupDone& done, LookupAnswers answers) {
  if (counters.miss != nullptr) {
    for (const KeyAnswer& answer : answers.keys) {
      if (!answer.found) {
        counters.miss->Add();
      } else {
        counters.by_source[static_cast<size_t>(answer.source)]->Add();
      }
    }
  }
  done(std::move(answers));
}

void SetComputed(KeyAnswer* answer, std::shared_ptr<const ServedModel> model, float output) {
  answer->found = true;
  answer->source = AnswerSource::kComputed;
  answer->value_size = 0;
  answer->computed_output = output;
  answer->model = std::move(model);
}

}  // namespace

LookupService::LookupService(const PredictionStore* store, const StreamCatalog* streams, const ModelCatalog* models,
                             ScoringBatcher* batcher, LookupFallback* fallback, LookupServiceOptions options)
    : store_(store), streams_(streams), models_(models), batcher_(batcher), fallback_(fallback), options_(options) {
  if (options.metrics == nullptr) return;
  constexpr std::string_view kAnswers = "predstore_lookup_answers_total";
  constexpr std::string_view kHelp = "Keys answered by Lookup, BatchLookup and LookupStream, by where the answer came from.";
  counters_.by_source[static_cast<size_t>(AnswerSource::kPrecomputed)] =
      options.metrics->GetCounter(kAnswers, kHelp, {{"source", "precomputed"}});
  counters_.by_source[static_cast<size_t>(AnswerSource::kStream)] =
      options.metrics->GetCounter(kAnswers, kHelp, {{"source", "stream"}});
  counters_.by_source[static_cast<size_t>(AnswerSource::kComputed)] =
      options.metrics->GetCounter(kAnswers, kHelp, {{"source", "computed"}});
  counters_.miss = options.metrics->GetCounter(kAnswers, kHelp, {{"source", "miss"}});
  counters_.cache_hits = options.metrics->GetCounter(
      "predstore_fallback_cache_hits_total", "Fallback answers served from the cache of scored keys, not rescored.", {});
}

absl::StatusOr<std::shared_ptr<const TableSnapshot>> LookupService::Table(std::string_view table,
                                                                          uint64_t min_version) const {
  if (table.empty()) return absl::InvalidArgumentError("table: required");
  std::shared_ptr<const TableSnapshot> snapshot = store_->Find(table);
  if (!snapshot) return absl::NotFoundError(StrCat("table \"", table, "\" is not served (see ListTables)"));
  const uint64_t newest_seen = std::max<uint64_t>(snapshot->manifest().next_version, 1) - 1;
  if (min_version > newest_seen) {
    if (options_.on_behind) options_.on_behind(table);
    return absl::UnavailableError(StrCat("min_version: this replica has seen versions of table \"", table,
                                         "\" up to ", newest_seen, ", the call asks for ", min_version,
                                         " or newer; retry on another replica (this one re-reads the manifest "
                                         "now)"));
  }
  return snapshot;
}

std::vector<std::shared_ptr<const TableSnapshot>> LookupService::Tables() const { return store_->Tables(); }

absl::Status LookupService::CheckBatchSize(std::string_view field, size_t keys) const {
  if (keys <= options_.max_batch_keys) return absl::OkStatus();
  return absl::ResourceExhaustedError(StrCat(field, ": ", keys, " keys exceed the server's limit of ",
                                             options_.max_batch_keys, " per BatchLookup (--max_batch_keys); split "
                                             "the batch"));
}

absl::Status LookupService::LimitScan(ScanQuery* query) const {
  if (query->limit == 0) query->limit = options_.max_scan_rows;
  if (query->limit <= options_.max_scan_rows) return absl::OkStatus();
  return absl::ResourceExhaustedError(StrCat("limit: ", query->limit, " rows exceed the server's limit of ",
                                             options_.max_scan_rows, " per Scan (--max_scan_rows); page with "
                                             "page_token"));
}

const StreamStore* LookupService::StreamOf(const TableSnapshot& table) const {
  return streams_ == nullptr ? nullptr : streams_->Find(table.table());
}

absl::Status LookupService::AppendAnswer(const TableSnapshot& table, const StreamStore* stream, std::string_view key,
                                         const std::string_view* stored, std::optional<int64_t> as_of,
                                         LookupAnswers* answers) {
  KeyAnswer& answer = answers->keys.emplace_back();
  // The snapshot counts as written at its publish time; the newest of it
  // and the stream's versions at or before as_of (latest without) wins.
  const int64_t snapshot_time = table.info().created_at_micros;
  const bool snapshot_counts = stored != nullptr && (!as_of.has_value() || snapshot_time <= *as_of);
  std::optional<StreamHit> hit;
  if (stream != nullptr) {
    // The stream keys rows without the snapshot's key mapping.
    std::string unmapped;
    if (table.key_codec().normalized()) {
      PREDSTORE_RETURN_IF_ERROR(table.key_codec().AppendUnmapped(key, &unmapped));
      key = unmapped;
    }
    PREDSTORE_ASSIGN_OR_RETURN(hit, stream->Get(key, as_of));
  }
  std::string_view value;
  if (hit.has_value() && (!snapshot_counts || hit->event_time_micros > snapshot_time)) {
    value = hit->value;
    answer.source = AnswerSource::kStream;
    answer.event_time_micros = hit->event_time_micros;
  } else if (snapshot_counts) {
    value = *stored;
  } else {
    return absl::OkStatus();  // absent, or published after as_of
  }
  answer.found = true;
  answer.value_offset = static_cast<uint32_t>(answers->values.size());
  answer.value_size = static_cast<uint32_t>(value.size());
  answers->values.insert(answers->values.end(), value.begin(), value.end());
  return absl::OkStatus();
}

bool LookupService::NeedsScoring(const FallbackBinding& binding, const TableSnapshot& table,
                                 const KeyAnswer& answer) const {
  if (!answer.found) return true;
  const int64_t written_at =
      answer.source == AnswerSource::kStream ? answer.event_time_micros : table.info().created_at_micros;
  return fallback_->IsStale(binding, written_at);
}

void LookupService::Lookup(LookupQuery query, LookupDone done) const {
  const TableSnapshot& table = *query.table;
  if (absl::Status owned = table.CheckShard(query.key, "the key"); !owned.ok()) return done(owned);
  LookupAnswers answers;
  answers.table = query.table;
  std::string key;
  table.key_codec().Encode(query.key, &key);
  const StreamStore* stream = StreamOf(table);
  absl::Status status;
  absl::StatusOr<bool> found = table.Get(
      key, [&](std::string_view value) { status = AppendAnswer(table, stream, key, &value, query.as_of_micros, &answers); });
  if (!found.ok()) return done(found.status());
  if (!*found) status = AppendAnswer(table, stream, key, nullptr, query.as_of_micros, &answers);
  if (!status.ok()) return done(status);

  const FallbackBinding* binding = fallback_ == nullptr ? nullptr : fallback_->BindingFor(table.table());
  KeyAnswer& answer = answers.keys[0];
  // An as-of lookup answers history: today's model did not score it then.
  if (binding == nullptr || query.no_fallback || query.as_of_micros.has_value() ||
      !NeedsScoring(*binding, table, answer)) {
    return Answer(counters_, done, std::move(answers));
  }
  std::vector<NamedFeature> features;
  NamedFeaturesOf(query.features, 0, &features);
  absl::StatusOr<FallbackPlan> plan = fallback_->Plan(*binding, table, query.key, key, features);
  if (!plan.ok()) {
    // A stale stored answer is still an answer when there is nothing to score.
    if (answer.found && plan.status().code() == absl::StatusCode::kNotFound) return Answer(counters_, done, std::move(answers));
    return done(plan.status());
  }
  answers.output_column = *fallback_->OutputColumn(*binding, table.schema());
  answers.output_kind = binding->output_kind;
  if (plan->cached_output.has_value()) {
    if (counters_.cache_hits != nullptr) counters_.cache_hits->Add();
    SetComputed(&answer, plan->model, *plan->cached_output);
    return Answer(counters_, done, std::move(answers));
  }
  std::shared_ptr<const ServedModel> model = plan->model;
  batcher_->Submit(std::move(model), binding->output_kind, std::move(plan->row), query.deadline,
                   [answers = std::move(answers), done = std::move(done), fallback = fallback_, binding,
                    key = std::move(key), model = plan->model,
                    cacheable = plan->cacheable, counters = &counters_](absl::Status scored,
                                                                        std::vector<float> outputs) mutable {
                     if (!scored.ok()) return done(scored);
                     SetComputed(&answers.keys[0], model, outputs[0]);
                     fallback->Remember(*binding, key, *model, cacheable, outputs[0]);
                     Answer(*counters, done, std::move(answers));
                   });
}

void LookupService::BatchLookup(BatchLookupQuery query, LookupDone done) const {
  const TableSnapshot& table = *query.table;
  const size_t width = table.schema().lookup_columns().size();
  const size_t count = query.keys.size() / width;
  absl::Status status = CheckBatchSize("keys", count);
  if (!status.ok()) return done(status);

  // Encode every key into one buffer, then view them.
  std::string buffer;
  std::vector<size_t> ends(count);
  const std::span<const Cell> cells(query.keys);
  for (size_t k = 0; table.shard().has_value() && k < count; ++k) {
    status = table.CheckShard(cells.subspan(k * width, width), StrCat("keys[", k, "]"));
    if (!status.ok()) return done(status);
  }
  for (size_t k = 0; k < count; ++k) {
    table.key_codec().Encode(cells.subspan(k * width, width), &buffer);
    ends[k] = buffer.size();
  }
  std::vector<std::string_view> keys(count);
  for (size_t k = 0, begin = 0; k < count; begin = ends[k], ++k) keys[k] = std::string_view(buffer).substr(begin, ends[k] - begin);

  LookupAnswers answers;
  answers.table = query.table;
  answers.keys.reserve(count);
  const StreamStore* stream = StreamOf(table);
  absl::Status answer_status;
  status = table.MultiGet(keys, [&](size_t k, const std::string_view* value) {
    if (answer_status.ok()) answer_status = AppendAnswer(table, stream, keys[k], value, query.as_of_micros, &answers);
  });
  if (!status.ok()) return done(status);
  if (!answer_status.ok()) return done(answer_status);

  const FallbackBinding* binding = fallback_ == nullptr ? nullptr : fallback_->BindingFor(table.table());
  if (binding == nullptr || query.no_fallback || query.as_of_micros.has_value()) return Answer(counters_, done, std::move(answers));
  if (query.features.rows != 0 && query.features.rows != count) {
    return done(absl::InvalidArgumentError(StrCat("features: ", query.features.rows, " rows for ", count, " keys")));
  }
  std::vector<size_t> misses;
  for (size_t k = 0; k < count; ++k) {
    if (NeedsScoring(*binding, table, answers.keys[k])) misses.push_back(k);
  }
  if (misses.empty()) return Answer(counters_, done, std::move(answers));
  FallBackBatch(*binding, query, keys, misses, std::move(answers), std::move(done));
}

void LookupService::FallBackBatch(const FallbackBinding& binding, const BatchLookupQuery& query,
                                  std::span<const std::string_view> keys, std::span<const size_t> misses,
                                  LookupAnswers answers, LookupDone done) const {
  const TableSnapshot& table = *query.table;
  const size_t width = table.schema().lookup_columns().size();
  answers.output_column = *fallback_->OutputColumn(binding, table.schema());
  answers.output_kind = binding.output_kind;
  // Rows to score, grouped by model (one group unless a swap lands mid-call).
  struct Group {
    std::shared_ptr<const ServedModel> model;
    std::vector<float> rows;
    std::vector<size_t> answers;  // indexes into answers.keys, one per row
    std::vector<std::string> keys;
    std::vector<bool> cacheable;
  };
  struct Pending {
    std::mutex mutex;
    LookupAnswers answers;
    LookupDone done;
    std::vector<Group> groups;
    size_t remaining = 0;
    absl::Status status;
  };
  auto pending = std::make_shared<Pending>();
  std::vector<NamedFeature> features;
  for (size_t index : misses) {
    NamedFeaturesOf(query.features, index, &features);
    absl::StatusOr<FallbackPlan> plan =
        fallback_->Plan(binding, table, std::span<const Cell>(query.keys).subspan(index * width, width), keys[index],
                        features);
    if (!plan.ok()) {
      if (plan.status().code() == absl::StatusCode::kNotFound) continue;  // nothing to score: stays as it was
      return done(absl::Status(plan.status().code(), StrCat("keys[", index, "]: ", FromAbsl(plan.status().message()))));
    }
    if (plan->cached_output.has_value()) {
      if (counters_.cache_hits != nullptr) counters_.cache_hits->Add();
      SetComputed(&answers.keys[index], plan->model, *plan->cached_output);
      continue;
    }
    auto group = std::find_if(pending->groups.begin(), pending->groups.end(),
                              [&](const Group& g) { return g.model == plan->model; });
    if (group == pending->groups.end()) group = pending->groups.insert(pending->groups.end(), Group{plan->model, {}, {}, {}, {}});
    group->rows.insert(group->rows.end(), plan->row.begin(), plan->row.end());
    group->answers.push_back(index);
    group->keys.emplace_back(keys[index]);
    group->cacheable.push_back(plan->cacheable);
  }
  if (pending->groups.empty()) return Answer(counters_, done, std::move(answers));

  pending->answers = std::move(answers);
  pending->done = std::move(done);
  pending->remaining = pending->groups.size();
  for (Group& group : pending->groups) {
    batcher_->Submit(group.model, binding.output_kind, std::move(group.rows), query.deadline,
                     [pending, &group, fallback = fallback_, &binding, counters = &counters_](absl::Status scored,
                                                                                             std::vector<float> outputs) {
                       std::lock_guard<std::mutex> lock(pending->mutex);
                       if (scored.ok()) {
                         for (size_t r = 0; r < group.answers.size(); ++r) {
                           SetComputed(&pending->answers.keys[group.answers[r]], group.model, outputs[r]);
                           fallback->Remember(binding, group.keys[r], *group.model, group.cacheable[r], outputs[r]);
                         }
                       } else {
                         pending->status = scored;
                       }
                       if (--pending->remaining > 0) return;
                       if (pending->status.ok()) {
                         Answer(*counters, pending->done, std::move(pending->answers));
                       } else {
                         pending->done(pending->status);
                       }
                     });
  }
}

void LookupService::AdmitLookup(LookupQuery query, LookupDone done) const {
  if (options_.admission == nullptr) return Lookup(std::move(query), std::move(done));
  const auto deadline = query.deadline;
  options_.admission->Submit(deadline, [this, query = std::move(query), done = std::move(done)](
                                           absl::Status admitted) mutable {
    if (!admitted.ok()) return done(admitted);
    Lookup(std::move(query), std::move(done));
  });
}

void LookupService::AdmitBatchLookup(BatchLookupQuery query, LookupDone done) const {
  if (options_.admission == nullptr) return BatchLookup(std::move(query), std::move(done));
  const auto deadline = query.deadline;
  options_.admission->Submit(deadline, [this, query = std::move(query), done = std::move(done)](
                                           absl::Status admitted) mutable {
    if (!admitted.ok()) return done(admitted);
    BatchLookup(std::move(query), std::move(done));
  });
}

void LookupService::Predict(PredictQuery query, PredictDone done) const {
  if (models_ == nullptr) {
    return done(absl::FailedPreconditionError("this server serves no models: start it with --model_registry"));
  }
  absl::StatusOr<ModelReference> reference = ParseModelReference(query.model);
  if (!reference.ok()) return done(absl::InvalidArgumentError(StrCat("model: ", FromAbsl(reference.status().message()))));
  absl::StatusOr<std::shared_ptr<const ServedModel>> model = models_->Resolve(*reference);
  if (!model.ok()) return done(model.status());
  absl::StatusOr<OutputKind> pyfunc = query.output ? *query.output : PyfuncOutput(**model, query.params);
  if (!pyfunc.ok()) return done(pyfunc.status());
  const OutputKind output = *pyfunc;
  if (absl::Status kind = (*model)->scorer->CheckOutput(output); !kind.ok()) {
    return done(absl::InvalidArgumentError(StrCat("output: ", FromAbsl(kind.message()))));
  }
  if (query.rows.rows == 0) return done(absl::InvalidArgumentError("rows: at least one row is needed"));
  if (query.rows.rows > options_.max_batch_keys) {
    return done(absl::ResourceExhaustedError(StrCat("rows: ", query.rows.rows, " rows exceed the server's limit of ",
                                                    options_.max_batch_keys, " per call (--max_batch_keys); split "
                                                    "them")));
  }
  absl::StatusOr<std::vector<float>> rows = ScoringRows(**model, query.rows, query.binding);
  if (!rows.ok()) return done(rows.status());
  batcher_->Submit(*model, output, *std::move(rows), query.deadline,
                   [done = std::move(done), model = *model, kind = output](absl::Status scored,
                                                                                std::vector<float> outputs) mutable {
                     if (!scored.ok()) return done(scored);
                     done(PredictAnswer{model, kind, model->scorer->outputs_per_row(kind), std::move(outputs)});
                   });
}

absl::StatusOr<ScanResult> LookupService::Scan(
    const TableSnapshot& table, const ScanQuery& query,
    absl::FunctionRef<void(std::span<const Cell> key, std::string_view values)> on_row) const {
  absl::Status row_status;
  absl::StatusOr<ScanResult> result = table.Scan(query, [&](std::string_view key, std::string_view value) {
    if (!row_status.ok()) return;
    absl::StatusOr<std::vector<Cell>> cells = table.key_codec().Decode(key);
    if (!cells.ok()) {
      row_status = cells.status();
      return;
    }
    on_row(*cells, value);
  });
  if (!row_status.ok()) return row_status;
  return result;
}

}  // namespace predstore
