#include "core/serve/ingest_service.h"

#include <limits>
#include <utility>

#include "core/base/status_macros.h"
#include "core/base/strings.h"

namespace predstore {

absl::StatusOr<SourceState> IngestService::Apply(const IngestBatch& batch, ConvertEvents convert) const {
  if (streams_ == nullptr) return absl::FailedPreconditionError("this server takes no streams: start it with --ingest");
  if (batch.table.empty()) return absl::InvalidArgumentError("table: required");
  if (batch.source.empty()) return absl::InvalidArgumentError("source: required");
  if (batch.sequence == 0) return absl::InvalidArgumentError("sequence: batches are numbered from 1");
  std::shared_ptr<const TableSnapshot> table = store_->Find(batch.table);
  if (table == nullptr) {
    return absl::NotFoundError(
        StrCat("table \"", batch.table, "\" is not served: load a snapshot first (it gives the schema)"));
  }
  PREDSTORE_ASSIGN_OR_RETURN(StreamStore * stream, streams_->OpenOrCreate(batch.table));
  if (batch.sequence != stream->State(batch.source).sequence + 1) {
    // A replay (acknowledged, nothing written) or a gap (refused): no event
    // needs converting or scoring.
    return stream->Apply(batch.source, batch.sequence, batch.position, {});
  }
  PREDSTORE_ASSIGN_OR_RETURN(std::vector<IngestEvent> converted, convert(*table));
  PREDSTORE_ASSIGN_OR_RETURN(std::vector<StreamEvent> events, EncodeEvents(*table, std::move(converted)));
  return stream->Apply(batch.source, batch.sequence, batch.position, events);
}

absl::StatusOr<std::vector<StreamEvent>> IngestService::EncodeEvents(const TableSnapshot& table,
                                                                     std::vector<IngestEvent> events) const {
  std::vector<StreamEvent> encoded(events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    IngestEvent& event = events[i];
    StreamEvent& out = encoded[i];
    PREDSTORE_RETURN_IF_ERROR(table.CheckShard(event.key, StrCat("events[", i, "]")));
    table.key_codec().Encode(event.key, &out.key);
    if (table.key_codec().normalized()) {
      // The stream keys rows without the snapshot's key mapping.
      std::string mapped = std::move(out.key);
      out.key.clear();
      PREDSTORE_RETURN_IF_ERROR(table.key_codec().AppendUnmapped(mapped, &out.key));
    }
    out.event_time_micros = event.event_time_micros;
    out.text = std::move(event.text);
    if (event.values.empty()) {
      PREDSTORE_RETURN_IF_ERROR(ScoreEvent(table, i, event, &out));
    } else {
      table.value_codec().Encode(event.values, &out.value);
    }
  }
  return encoded;
}

absl::Status IngestService::ScoreEvent(const TableSnapshot& table, size_t index, const IngestEvent& event,
                                       StreamEvent* out) const {
  const FallbackBinding* binding = fallback_ == nullptr ? nullptr : fallback_->BindingFor(table.table());
  if (binding == nullptr) {
    return absl::FailedPreconditionError(StrCat("events[", index, "] carries features, but table \"", table.table(),
                                                "\" is bound to no model (--fallback)"));
  }
  PREDSTORE_ASSIGN_OR_RETURN(size_t output_column, fallback_->OutputColumn(*binding, table.schema()));
  // The prediction fills the output column; other value columns are null
  // (NaN in strict double and float columns).
  const std::vector<Column>& value_columns = table.schema().value_columns();
  std::vector<Cell> values(value_columns.size());
  for (size_t c = 0; c < value_columns.size(); ++c) {
    if (value_columns[c].nullable) {
      values[c] = Null{};
    } else if (value_columns[c].type == ColumnType::kDouble) {
      values[c] = std::numeric_limits<double>::quiet_NaN();
    } else if (value_columns[c].type == ColumnType::kFloat) {
      values[c] = std::numeric_limits<float>::quiet_NaN();
    } else {
      return absl::FailedPreconditionError(StrCat("scored events need double, float or nullable value columns; \"",
                                                  value_columns[c].name, "\" is ",
                                                  ColumnTypeName(value_columns[c].type)));
    }
  }
  absl::StatusOr<FallbackPlan> plan = fallback_->Plan(*binding, table, event.key, out->key, event.features);
  if (!plan.ok()) {
    return absl::Status(plan.status().code(), StrCat("events[", index, "]: ", FromAbsl(plan.status().message())));
  }
  // With no usable request features the plan may be a cache hit: the
  // answer, and no row to score.
  float prediction = 0;
  if (plan->cached_output.has_value()) {
    prediction = *plan->cached_output;
  } else {
    std::vector<float> output;
    PREDSTORE_RETURN_IF_ERROR(plan->model->scorer->Predict(plan->row, &output, binding->output_kind));
    if (output.size() != 1) {
      return absl::InternalError(StrCat("events[", index, "]: the model gave ", output.size(), " outputs"));
    }
    prediction = output[0];
  }
  if (value_columns[output_column].type == ColumnType::kFloat) {
    values[output_column] = prediction;
  } else {
    values[output_column] = static_cast<double>(prediction);
  }
  table.value_codec().Encode(values, &out->value);
  StrAppend(&out->text, " (scored by ", plan->model->name, " version ", plan->model->version, ")");
  return absl::OkStatus();
}

absl::StatusOr<IngestStatusAnswer> IngestService::Status(std::string_view table) const {
  if (streams_ == nullptr) return absl::FailedPreconditionError("this server takes no streams: start it with --ingest");
  if (table.empty()) return absl::InvalidArgumentError("table: required");
  IngestStatusAnswer answer;
  const StreamStore* stream = streams_->Find(table);
  if (stream == nullptr) {
    if (store_->Find(table) == nullptr) {
      return absl::NotFoundError(StrCat("table \"", table, "\" is not served and has no stream"));
    }
    return answer;  // no events yet
  }
  answer.sources = stream->Sources();
  answer.dead_letter_file = stream->dead_letter_file();
  return answer;
}

}  // namespace predstore
