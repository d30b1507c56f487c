#include "server/admin_service.h"

#include <limits>

#include "absl/time/clock.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "server/answering_reactor.h"
#include "server/wire.h"

namespace predstore {
namespace {

// Constant-time comparison, so that a wrong token's timing reveals nothing.
bool SameSecret(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

// Scores the feature events of a batch with the table's bound model: the
// prediction fills the binding's output column, other double and float
// value columns are NaN.
absl::Status ScoreFeatureEvents(const LookupFallback* fallback, const TableSnapshot& table,
                                const v1::IngestRequest& request, const std::vector<size_t>& indexes,
                                const std::vector<std::vector<Cell>>& key_cells, std::vector<StreamEvent>* events) {
  const FallbackBinding* binding = fallback == nullptr ? nullptr : fallback->BindingFor(table.table());
  if (binding == nullptr) {
    return absl::FailedPreconditionError(StrCat("events[", indexes.front(), "] carries features, but table \"",
                                                table.table(), "\" is bound to no model (--fallback)"));
  }
  PREDSTORE_ASSIGN_OR_RETURN(size_t output_column, fallback->OutputColumn(*binding, table.schema()));
  const std::vector<Column>& value_columns = table.schema().value_columns();
  std::vector<Cell> values(value_columns.size());
  for (size_t c = 0; c < value_columns.size(); ++c) {
    if (value_columns[c].type == ColumnType::kDouble) {
      values[c] = std::numeric_limits<double>::quiet_NaN();
    } else if (value_columns[c].type == ColumnType::kFloat) {
      values[c] = std::numeric_limits<float>::quiet_NaN();
    } else {
      return absl::FailedPreconditionError(StrCat("scored events need double or float value columns; \"",
                                                  value_columns[c].name, "\" is ",
                                                  ColumnTypeName(value_columns[c].type)));
    }
  }
  std::vector<NamedFeature> features;
  for (size_t e = 0; e < indexes.size(); ++e) {
    const v1::StreamEvent& wire = request.events(static_cast<int>(indexes[e]));
    features.clear();
    for (const v1::KeyField& field : wire.features()) {
      if (std::optional<CellView> view = FeatureViewFromWire(field.value())) features.push_back({field.column(), *view});
    }
    StreamEvent& event = (*events)[indexes[e]];
    absl::StatusOr<FallbackPlan> plan = fallback->Plan(*binding, table, key_cells[e], event.key, features);
    if (!plan.ok()) {
      return absl::Status(plan.status().code(), StrCat("events[", indexes[e], "]: ", FromAbsl(plan.status().message())));
    }
    // With no usable request features the plan may be a cache hit: the
    // answer, and no row to score.
    float prediction = 0;
    if (plan->cached_output.has_value()) {
      prediction = *plan->cached_output;
    } else {
      std::vector<float> output;
      PREDSTORE_RETURN_IF_ERROR(plan->model->scorer->Predict(plan->row, &output));
      if (output.size() != 1) {
        return absl::InternalError(StrCat("events[", indexes[e], "]: the model gave ", output.size(), " outputs"));
      }
      prediction = output[0];
    }
    if (value_columns[output_column].type == ColumnType::kFloat) {
      values[output_column] = prediction;
    } else {
      values[output_column] = static_cast<double>(prediction);
    }
    table.value_codec().Encode(values, &event.value);
    StrAppend(&event.text, " (scored by ", plan->model->name, " version ", plan->model->version, ")");
  }
  return absl::OkStatus();
}

// An Ingest stream: each batch read is applied to the table's stream store
// and acknowledged, in order.
class IngestReactor final : public AnsweringBidiReactor<v1::IngestRequest, v1::IngestAck> {
 public:
  IngestReactor(PredictionStore* store, StreamCatalog* streams, LookupFallback* fallback)
      : store_(store), streams_(streams), fallback_(fallback) {
    StartReading();
  }

 private:
  void Answer(const v1::IngestRequest& request, v1::IngestAck* ack) override {
    ack->set_sequence(request.sequence());
    absl::StatusOr<SourceState> state = Apply(request);
    if (state.ok()) {
      SourceStatusToWire(request.source(), *state, absl::ToUnixMicros(absl::Now()), ack->mutable_status());
    } else {
      ack->set_error_code(static_cast<int32_t>(state.status().code()));
      ack->set_error_message(std::string(FromAbsl(state.status().message())));
    }
  }

  absl::StatusOr<SourceState> Apply(const v1::IngestRequest& request) {
    if (request.table().empty()) return absl::InvalidArgumentError("table: required");
    if (request.source().empty()) return absl::InvalidArgumentError("source: required");
    if (request.sequence() == 0) return absl::InvalidArgumentError("sequence: batches are numbered from 1");
    std::shared_ptr<const TableSnapshot> table = store_->Find(request.table());
    if (table == nullptr) {
      return absl::NotFoundError(
          StrCat("table \"", request.table(), "\" is not served: load a snapshot first (it gives the schema)"));
    }
    PREDSTORE_ASSIGN_OR_RETURN(StreamStore * stream, streams_->OpenOrCreate(request.table()));
    if (request.sequence() <= stream->State(request.source()).sequence) {
      return stream->Apply(request.source(), request.sequence(), request.position(), {});  // a replay
    }
    PREDSTORE_ASSIGN_OR_RETURN(
        std::vector<StreamEvent> events,
        StreamEventsFromWire(request, *table,
                             [&](const std::vector<size_t>& indexes, const std::vector<std::vector<Cell>>& keys,
                                 std::vector<StreamEvent>* out) {
                               return ScoreFeatureEvents(fallback_, *table, request, indexes, keys, out);
                             }));
    return stream->Apply(request.source(), request.sequence(), request.position(), events);
  }

  PredictionStore* store_;
  StreamCatalog* streams_;
  LookupFallback* fallback_;
};

// A stream that fails before reading anything (no ingestion, bad token).
class RejectedIngest final : public grpc::ServerBidiReactor<v1::IngestRequest, v1::IngestAck> {
 public:
  explicit RejectedIngest(const absl::Status& status) { Finish(ToGrpcStatus(status)); }
  void OnDone() override { delete this; }
};

}  // namespace

absl::Status AdminService::Authenticate(const grpc::CallbackServerContext& context) const {
  if (token_.empty()) return absl::OkStatus();
  auto it = context.client_metadata().find("authorization");
  if (it == context.client_metadata().end()) {
    return absl::UnauthenticatedError("admin calls need the metadata \"authorization: Bearer <token>\"");
  }
  std::string_view given(it->second.data(), it->second.size());
  constexpr std::string_view kBearer = "Bearer ";
  if (given.substr(0, kBearer.size()) != kBearer || !SameSecret(given.substr(kBearer.size()), token_)) {
    return absl::UnauthenticatedError("admin token rejected");
  }
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* AdminService::RefreshTables(grpc::CallbackServerContext* context,
                                                      const v1::RefreshTablesRequest* request,
                                                      v1::RefreshTablesResponse* response) {
  absl::Status status = Authenticate(*context);
  if (!status.ok()) return FinishUnary(context, status);
  auto served = store_->Refresh(request->table());
  if (!served.ok()) return FinishUnary(context, served.status());
  for (const auto& snapshot : *served) TableInfoToWire(*snapshot, response->add_tables());
  return FinishUnary(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* AdminService::Rollback(grpc::CallbackServerContext* context,
                                                 const v1::RollbackRequest* request, v1::TableInfo* response) {
  absl::Status status = Authenticate(*context);
  if (!status.ok()) return FinishUnary(context, status);
  if (request->table().empty()) return FinishUnary(context, absl::InvalidArgumentError("table: required"));
  auto snapshot = store_->Rollback(request->table(), request->to_version());
  if (!snapshot.ok()) return FinishUnary(context, snapshot.status());
  TableInfoToWire(**snapshot, response);
  return FinishUnary(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* AdminService::ReloadModels(grpc::CallbackServerContext* context,
                                                     const v1::ReloadModelsRequest*,
                                                     v1::ReloadModelsResponse* response) {
  absl::Status status = Authenticate(*context);
  if (!status.ok()) return FinishUnary(context, status);
  if (models_ == nullptr) {
    return FinishUnary(context, absl::FailedPreconditionError("this server serves no models: start it with --model_registry"));
  }
  absl::StatusOr<ModelReloadSummary> summary = models_->Reload();
  if (!summary.ok()) return FinishUnary(context, summary.status());
  response->set_loaded(summary->loaded);
  response->set_unloaded(summary->unloaded);
  for (const std::string& error : summary->errors) response->add_errors(error);
  ServedModelsToWire(*models_, response->mutable_models());
  return FinishUnary(context, absl::OkStatus());
}

grpc::ServerBidiReactor<v1::IngestRequest, v1::IngestAck>* AdminService::Ingest(grpc::CallbackServerContext* context) {
  absl::Status status = Authenticate(*context);
  if (!status.ok()) return new RejectedIngest(status);
  if (streams_ == nullptr) {
    return new RejectedIngest(absl::FailedPreconditionError("this server takes no streams: start it with --ingest"));
  }
  return new IngestReactor(store_, streams_, fallback_);
}

}  // namespace predstore
