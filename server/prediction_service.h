// The predstore.v1.Predictions gRPC service: checks the wire shape of each
// request, converts it to a core query, asks the LookupService (or the
// IngestService for IngestStatus) and converts the answer back. It decides
// nothing about an answer. Lookup and BatchLookup pass the admission queue
// first: their store reads finish on the calling gRPC thread, or on an
// admission worker when the server is busy, or they are refused at once;
// Predict and fallback lookups finish on the scoring batcher's thread when
// their batch is scored; a Scan streams chunks of rows, each produced when
// the previous one has been sent. Thread-safe; holds no state of its own.
#pragma once

#include "core/serve/admission_queue.h"
#include "core/serve/ingest_service.h"
#include "core/serve/lookup_service.h"
#include "predstore/v1/predstore.grpc.pb.h"
#include "server/arena_allocator.h"
#include "server/bearer_auth.h"
#include "server/stream_slots.h"

namespace predstore {

class PredictionService final : public v1::Predictions::CallbackService {
 public:
  // Both services must outlive this one. Every call must carry one of
  // `tokens` (none: no check), else UNAUTHENTICATED.
  // Lookup and BatchLookup run through `admission` (run now, wait briefly,
  // or refused at once past capacity).
  PredictionService(const LookupService* lookups, const IngestService* ingest, StreamSlots* streams,
                    AdmissionQueue* admission, BearerTokens tokens)
      : lookups_(lookups), ingest_(ingest), streams_(streams), admission_(admission), tokens_(std::move(tokens)) {
    SetMessageAllocatorFor_Lookup(&lookup_allocator_);
    SetMessageAllocatorFor_BatchLookup(&batch_lookup_allocator_);
    SetMessageAllocatorFor_Predict(&predict_allocator_);
  }

  grpc::ServerUnaryReactor* Lookup(grpc::CallbackServerContext* context, const v1::LookupRequest* request,
                                   v1::LookupResponse* response) override;
  grpc::ServerBidiReactor<v1::StreamLookupRequest, v1::StreamLookupResponse>* LookupStream(
      grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* BatchLookup(grpc::CallbackServerContext* context, const v1::BatchLookupRequest* request,
                                        v1::BatchLookupResponse* response) override;
  grpc::ServerUnaryReactor* ListTables(grpc::CallbackServerContext* context, const v1::ListTablesRequest* request,
                                       v1::ListTablesResponse* response) override;
  grpc::ServerWriteReactor<v1::ScanResponse>* Scan(grpc::CallbackServerContext* context,
                                                   const v1::ScanRequest* request) override;
  grpc::ServerUnaryReactor* GetTable(grpc::CallbackServerContext* context, const v1::GetTableRequest* request,
                                     v1::TableInfo* response) override;
  grpc::ServerUnaryReactor* Predict(grpc::CallbackServerContext* context, const v1::PredictRequest* request,
                                    v1::PredictResponse* response) override;
  grpc::ServerUnaryReactor* ListModels(grpc::CallbackServerContext* context, const v1::ListModelsRequest* request,
                                       v1::ListModelsResponse* response) override;
  grpc::ServerUnaryReactor* IngestStatus(grpc::CallbackServerContext* context, const v1::IngestStatusRequest* request,
                                         v1::IngestStatusResponse* response) override;

 private:
  const LookupService* lookups_;
  const IngestService* ingest_;
  StreamSlots* streams_;
  AdmissionQueue* admission_;
  const BearerTokens tokens_;
  // The request-path calls allocate their messages on an arena per call.
  ArenaMessageAllocator<v1::LookupRequest, v1::LookupResponse> lookup_allocator_;
  ArenaMessageAllocator<v1::BatchLookupRequest, v1::BatchLookupResponse> batch_lookup_allocator_;
  ArenaMessageAllocator<v1::PredictRequest, v1::PredictResponse> predict_allocator_;
};

}  // namespace predstore
