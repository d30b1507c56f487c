#include "server/admin_service.h"

#include "absl/time/clock.h"
#include "core/base/strings.h"
#include "server/answering_reactor.h"
#include "server/wire.h"

namespace predstore {
namespace {

// An Ingest stream: each batch read is applied to the table's stream store
// and acknowledged, in order.
class IngestReactor final : public AnsweringBidiReactor<v1::IngestRequest, v1::IngestAck> {
 public:
  IngestReactor(const IngestService* ingest, StreamSlots::Slot slot)
      : AnsweringBidiReactor(std::move(slot)), ingest_(ingest) {
    StartReading();
  }

 private:
  void Answer(const v1::IngestRequest& request, v1::IngestAck* ack) override {
    ack->set_sequence(request.sequence());
    absl::StatusOr<SourceState> state =
        ingest_->Apply(IngestBatch{request.table(), request.source(), request.sequence(), request.position()},
                       [&request](const TableSnapshot& table) { return IngestEventsFromWire(request, table); });
    if (state.ok()) {
      SourceStatusToWire(request.source(), *state, absl::ToUnixMicros(absl::Now()), ack->mutable_status());
    } else {
      ack->set_error_code(static_cast<int32_t>(state.status().code()));
      ack->set_error_message(std::string(FromAbsl(state.status().message())));
    }
  }

  const IngestService* ingest_;
};

}  // namespace

grpc::ServerUnaryReactor* AdminService::RefreshTables(grpc::CallbackServerContext* context,
                                                      const v1::RefreshTablesRequest* request,
                                                      v1::RefreshTablesResponse* response) {
  absl::Status status = tokens_.Check(*context, "admin calls");
  if (!status.ok()) return FinishUnary(context, status);
  auto served = store_->Refresh(request->table());
  if (!served.ok()) return FinishUnary(context, served.status());
  for (const auto& snapshot : *served) TableInfoToWire(*snapshot, response->add_tables());
  return FinishUnary(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* AdminService::Rollback(grpc::CallbackServerContext* context,
                                                 const v1::RollbackRequest* request, v1::TableInfo* response) {
  absl::Status status = tokens_.Check(*context, "admin calls");
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
  absl::Status status = tokens_.Check(*context, "admin calls");
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
  absl::Status status = tokens_.Check(*context, "admin calls");
  if (!status.ok()) return new RejectedBidiReactor<v1::IngestRequest, v1::IngestAck>(ToGrpcStatus(status));
  if (!ingest_->takes_streams()) {
    return new RejectedBidiReactor<v1::IngestRequest, v1::IngestAck>(
        ToGrpcStatus(absl::FailedPreconditionError("this server takes no streams: start it with --ingest")));
  }
  absl::StatusOr<StreamSlots::Slot> slot = streams_->Acquire();
  if (!slot.ok()) return new RejectedBidiReactor<v1::IngestRequest, v1::IngestAck>(ToGrpcStatus(slot.status()));
  return new IngestReactor(ingest_, *std::move(slot));
}

}  // namespace predstore
