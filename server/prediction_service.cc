#include "server/prediction_service.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "core/base/status_macros.h"
#include "core/base/strings.h"
#include "proto/wire_values.h"
#include "server/answering_reactor.h"
#include "server/scan_pages.h"
#include "server/wire.h"

namespace predstore {
namespace {

constexpr std::string_view kCalls = "data-plane calls";

absl::Status CheckDeadline(grpc::CallbackServerContext* context) {
  if (context->IsCancelled()) return absl::CancelledError("the client cancelled the call");
  if (context->deadline() < std::chrono::system_clock::now()) {
    return absl::DeadlineExceededError("the deadline passed before the lookup ran");
  }
  return absl::OkStatus();
}

// The least version the call accepts: its request's min_version or the
// client's kMinVersionMetadata, whichever is higher. kInvalidArgument for
// metadata that is not a decimal number.
absl::StatusOr<uint64_t> MinVersion(const grpc::CallbackServerContext& context, uint64_t requested) {
  const auto& metadata = context.client_metadata();
  const auto sent = metadata.find(kMinVersionMetadata);
  if (sent == metadata.end()) return requested;
  uint64_t version = 0;
  if (!absl::SimpleAtoi(absl::string_view(sent->second.data(), sent->second.size()), &version)) {
    return absl::InvalidArgumentError(StrCat(kMinVersionMetadata, " metadata: \"",
                                             std::string_view(sent->second.data(), std::min<size_t>(
                                                                                      sent->second.size(), 40)),
                                             "\" is not a version number"));
  }
  return std::max(version, requested);
}

// The call's deadline on the admission queue's clock.
AdmissionQueue::Clock::time_point SteadyDeadline(const grpc::CallbackServerContext& context) {
  const auto left = context.deadline() - std::chrono::system_clock::now();
  if (left > std::chrono::hours(24 * 365)) return AdmissionQueue::Clock::time_point::max();  // no deadline
  return AdmissionQueue::Clock::now() + std::chrono::duration_cast<AdmissionQueue::Clock::duration>(left);
}

// Runs a lookup that reads the store only, whose answer therefore comes
// before the call returns (LookupService's completion contract), and
// converts it with `to_wire`.
template <typename Query, typename Call, typename ToWire>
absl::Status AnswerInline(Query query, Call call, ToWire to_wire) {
  query.no_fallback = true;
  absl::Status status = absl::InternalError("the lookup did not answer inline");
  call(std::move(query), [&](absl::StatusOr<LookupAnswers> answers) {
    status = answers.ok() ? to_wire(*answers) : answers.status();
  });
  return status;
}

// One LookupStream lookup: from the store (and stream), never scored.
absl::Status AnswerFromStore(const LookupService& lookups, const v1::LookupRequest& request,
                             v1::LookupResponse* response) {
  PREDSTORE_ASSIGN_OR_RETURN(std::shared_ptr<const TableSnapshot> table,
                             lookups.Table(request.table(), request.min_version()));
  PREDSTORE_ASSIGN_OR_RETURN(LookupQuery query, LookupQueryFromWire(request, std::move(table)));
  return AnswerInline(
      std::move(query), [&](LookupQuery q, LookupService::LookupDone done) { lookups.Lookup(std::move(q), std::move(done)); },
      [response](const LookupAnswers& answers) { return LookupResponseToWire(answers, response); });
}

// A columnar BatchLookup (request.key_values): never scored.
absl::Status AnswerColumnar(const LookupService& lookups, const v1::BatchLookupRequest& request,
                            uint64_t min_version, v1::BatchLookupResponse* response) {
  PREDSTORE_RETURN_IF_ERROR(lookups.CheckBatchSize("key_values", ColumnarKeyCount(request)));
  PREDSTORE_ASSIGN_OR_RETURN(std::shared_ptr<const TableSnapshot> table, lookups.Table(request.table(), min_version));
  PREDSTORE_ASSIGN_OR_RETURN(BatchLookupQuery query, ColumnarQueryFromWire(request, std::move(table)));
  return AnswerInline(
      std::move(query),
      [&](BatchLookupQuery q, LookupService::LookupDone done) { lookups.BatchLookup(std::move(q), std::move(done)); },
      [response](const LookupAnswers& answers) { return ColumnarResponseToWire(answers, response); });
}

// A LookupStream: each request is answered from the store (no fallback);
// a failed lookup's status travels on its answer.
class LookupStreamReactor final : public AnsweringBidiReactor<v1::StreamLookupRequest, v1::StreamLookupResponse> {
 public:
  LookupStreamReactor(const LookupService* lookups, StreamSlots::Slot slot)
      : AnsweringBidiReactor(std::move(slot)), lookups_(lookups) {
    StartReading();
  }

 private:
  void Answer(const v1::StreamLookupRequest& request, v1::StreamLookupResponse* answer) override {
    answer->set_id(request.id());
    absl::Status status;
    if (request.has_batch()) {
      status = request.batch().key_values_size() > 0
                   ? AnswerColumnar(*lookups_, request.batch(), request.batch().min_version(), answer->mutable_batch())
                   : absl::InvalidArgumentError("batch: on LookupStream a batch takes key_values (the columnar form)");
    } else {
      status = AnswerFromStore(*lookups_, request.lookup(), answer->mutable_result());
    }
    if (!status.ok()) {
      answer->clear_result();
      answer->clear_batch();
      answer->set_error_code(static_cast<int32_t>(status.code()));
      answer->set_error_message(std::string(status.message()));
    }
  }

  const LookupService* lookups_;
};

// Streams a scan, one ScanPages message at a time: each is produced when
// the previous one has been written.
class ScanReactor final : public grpc::ServerWriteReactor<v1::ScanResponse> {
 public:
  ScanReactor(grpc::CallbackServerContext* context, std::unique_ptr<ScanPages> pages, StreamSlots::Slot slot)
      : context_(context), pages_(std::move(pages)), slot_(std::move(slot)) {
    SendNext();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"));
      return;
    }
    SendNext();
  }
  void OnDone() override { delete this; }

 private:
  void SendNext() {
    if (context_->IsCancelled()) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the client cancelled the scan"));
      return;
    }
    bool last = false;
    if (absl::Status status = pages_->Next(&response_, &last); !status.ok()) {
      Finish(ToGrpcStatus(status));
      return;
    }
    if (last) {
      StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
    } else {
      StartWrite(&response_);
    }
  }

  grpc::CallbackServerContext* context_;
  std::unique_ptr<ScanPages> pages_;
  StreamSlots::Slot slot_;
  v1::ScanResponse response_;
};

// A stream that fails at once.
class FailedScan final : public grpc::ServerWriteReactor<v1::ScanResponse> {
 public:
  explicit FailedScan(const absl::Status& status) { Finish(ToGrpcStatus(status)); }
  void OnDone() override { delete this; }
};

// A completion that finishes `reactor` with the answer converted into
// `response` by `to_wire`, or with the error.
template <typename Answer, typename Response, typename ToWire>
auto FinishWith(grpc::ServerUnaryReactor* reactor, Response* response, ToWire to_wire) {
  return [reactor, response, to_wire](absl::StatusOr<Answer> answer) {
    reactor->Finish(ToGrpcStatus(answer.ok() ? to_wire(*answer, response) : answer.status()));
  };
}

}  // namespace

grpc::ServerWriteReactor<v1::ScanResponse>* PredictionService::Scan(grpc::CallbackServerContext* context,
                                                                   const v1::ScanRequest* request) {
  absl::Status status = tokens_.Check(*context, kCalls);
  if (status.ok()) status = CheckDeadline(context);
  if (!status.ok()) return new FailedScan(status);
  absl::StatusOr<StreamSlots::Slot> slot = streams_->Acquire();
  if (!slot.ok()) return new FailedScan(slot.status());
  absl::StatusOr<uint64_t> min_version = MinVersion(*context, request->min_version());
  if (!min_version.ok()) return new FailedScan(min_version.status());
  absl::StatusOr<std::unique_ptr<ScanPages>> pages = ScanPages::Start(lookups_, *request, *min_version);
  if (!pages.ok()) return new FailedScan(pages.status());
  return new ScanReactor(context, *std::move(pages), *std::move(slot));
}

grpc::ServerUnaryReactor* PredictionService::Lookup(grpc::CallbackServerContext* context,
                                                    const v1::LookupRequest* request, v1::LookupResponse* response) {
  absl::Status status = tokens_.Check(*context, kCalls);
  if (status.ok()) status = CheckDeadline(context);
  if (!status.ok()) return FinishUnary(context, status);
  absl::StatusOr<uint64_t> min_version = MinVersion(*context, request->min_version());
  if (!min_version.ok()) return FinishUnary(context, min_version.status());
  auto snapshot = lookups_->Table(request->table(), *min_version);
  if (!snapshot.ok()) return FinishUnary(context, snapshot.status());
  absl::StatusOr<LookupQuery> query = LookupQueryFromWire(*request, *std::move(snapshot));
  if (!query.ok()) return FinishUnary(context, query.status());
  query->deadline = SteadyDeadline(*context);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  lookups_->AdmitLookup(*std::move(query), FinishWith<LookupAnswers>(reactor, response, LookupResponseToWire));
  return reactor;
}

grpc::ServerBidiReactor<v1::StreamLookupRequest, v1::StreamLookupResponse>* PredictionService::LookupStream(
    grpc::CallbackServerContext* context) {
  if (absl::Status status = tokens_.Check(*context, kCalls); !status.ok()) {
    return new RejectedBidiReactor<v1::StreamLookupRequest, v1::StreamLookupResponse>(ToGrpcStatus(status));
  }
  absl::StatusOr<StreamSlots::Slot> slot = streams_->Acquire();
  if (!slot.ok()) {
    return new RejectedBidiReactor<v1::StreamLookupRequest, v1::StreamLookupResponse>(ToGrpcStatus(slot.status()));
  }
  return new LookupStreamReactor(lookups_, *std::move(slot));
}

grpc::ServerUnaryReactor* PredictionService::BatchLookup(grpc::CallbackServerContext* context,
                                                         const v1::BatchLookupRequest* request,
                                                         v1::BatchLookupResponse* response) {
  absl::Status status = tokens_.Check(*context, kCalls);
  if (status.ok()) status = CheckDeadline(context);
  if (!status.ok()) return FinishUnary(context, status);
  absl::StatusOr<uint64_t> min_version = MinVersion(*context, request->min_version());
  if (!min_version.ok()) return FinishUnary(context, min_version.status());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (request->key_values_size() > 0) {
    admission_->Submit(SteadyDeadline(*context),
                       [this, reactor, request, response, floor = *min_version](absl::Status admitted) {
                         reactor->Finish(ToGrpcStatus(
                             admitted.ok() ? AnswerColumnar(*lookups_, *request, floor, response) : admitted));
                       });
    return reactor;
  }
  status = lookups_->CheckBatchSize("keys", static_cast<size_t>(request->keys_size()));
  if (!status.ok()) return FinishUnary(context, status);
  auto snapshot = lookups_->Table(request->table(), *min_version);
  if (!snapshot.ok()) return FinishUnary(context, snapshot.status());
  absl::StatusOr<BatchLookupQuery> query = BatchLookupQueryFromWire(*request, *std::move(snapshot));
  if (!query.ok()) return FinishUnary(context, query.status());
  query->deadline = SteadyDeadline(*context);
  lookups_->AdmitBatchLookup(*std::move(query),
                             FinishWith<LookupAnswers>(reactor, response, BatchLookupResponseToWire));
  return reactor;
}

grpc::ServerUnaryReactor* PredictionService::Predict(grpc::CallbackServerContext* context,
                                                     const v1::PredictRequest* request,
                                                     v1::PredictResponse* response) {
  absl::Status status = tokens_.Check(*context, kCalls);
  if (status.ok()) status = CheckDeadline(context);
  if (!status.ok()) return FinishUnary(context, status);
  absl::StatusOr<FeatureRows> rows = FeatureRowsFromWire(request->feature_names(), request->rows(), "rows");
  if (!rows.ok()) return FinishUnary(context, rows.status());
  absl::StatusOr<OutputKind> output = OutputKindFromWire(request->output());
  if (!output.ok()) return FinishUnary(context, output.status());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  lookups_->Predict(PredictQuery{.model = request->model(),
                                 .rows = *std::move(rows),
                                 .output = *output,
                                 .deadline = SteadyDeadline(*context)},
                    FinishWith<PredictAnswer>(reactor, response, [](const PredictAnswer& answer, v1::PredictResponse* out) {
                      PredictResponseToWire(answer, out);
                      return absl::OkStatus();
                    }));
  return reactor;
}

grpc::ServerUnaryReactor* PredictionService::ListModels(grpc::CallbackServerContext* context,
                                                        const v1::ListModelsRequest*,
                                                        v1::ListModelsResponse* response) {
  if (absl::Status status = tokens_.Check(*context, kCalls); !status.ok()) return FinishUnary(context, status);
  const ModelCatalog* models = lookups_->models();
  if (models == nullptr) return FinishUnary(context, absl::OkStatus());
  ServedModelsToWire(*models, response->mutable_models());
  for (const std::string& error : models->LastErrors()) response->add_load_errors(error);
  for (const std::string& line : models->StandIns()) response->add_stand_ins(line);
  return FinishUnary(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* PredictionService::ListTables(grpc::CallbackServerContext* context,
                                                        const v1::ListTablesRequest*,
                                                        v1::ListTablesResponse* response) {
  if (absl::Status status = tokens_.Check(*context, kCalls); !status.ok()) return FinishUnary(context, status);
  for (const auto& snapshot : lookups_->Tables()) TableInfoToWire(*snapshot, response->add_tables());
  return FinishUnary(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* PredictionService::GetTable(grpc::CallbackServerContext* context,
                                                      const v1::GetTableRequest* request, v1::TableInfo* response) {
  if (absl::Status status = tokens_.Check(*context, kCalls); !status.ok()) return FinishUnary(context, status);
  auto snapshot = lookups_->Table(request->table());
  if (!snapshot.ok()) return FinishUnary(context, snapshot.status());
  TableInfoToWire(**snapshot, response);
  return FinishUnary(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* PredictionService::IngestStatus(grpc::CallbackServerContext* context,
                                                          const v1::IngestStatusRequest* request,
                                                          v1::IngestStatusResponse* response) {
  if (absl::Status status = tokens_.Check(*context, kCalls); !status.ok()) return FinishUnary(context, status);
  absl::StatusOr<IngestStatusAnswer> status = ingest_->Status(request->table());
  if (!status.ok()) return FinishUnary(context, status.status());
  const int64_t now = absl::ToUnixMicros(absl::Now());
  for (const auto& [source, state] : status->sources) SourceStatusToWire(source, state, now, response->add_sources());
  if (!status->dead_letter_file.empty()) response->set_dead_letter_file(status->dead_letter_file.string());
  return FinishUnary(context, absl::OkStatus());
}

}  // namespace predstore
