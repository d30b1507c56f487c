// The predstore.v1.Predictions gRPC service: converts requests to core
// types, reads the store or scores a model, converts answers back. Store
// reads finish inline on the calling gRPC thread; Predict and fallback
// lookups finish on the scoring batcher's thread when their batch is scored;
// a Scan streams chunks of rows, each produced when the previous one has
// been sent. Thread-safe; holds no state of its own.
#pragma once

#include <cstdint>

#include "core/lookup_fallback.h"
#include "core/model_catalog.h"
#include "core/prediction_store.h"
#include "core/scoring_batcher.h"
#include "core/stream_catalog.h"
#include "predstore/v1/predstore.grpc.pb.h"
#include "server/arena_allocator.h"

namespace predstore {

class PredictionService final : public v1::Predictions::CallbackService {
 public:
  // Everything passed must outlive the service. `max_batch_keys` bounds
  // BatchLookup keys and Predict rows (more: RESOURCE_EXHAUSTED). Without a
  // model catalog (null) Predict fails FAILED_PRECONDITION; `fallback` may be
  // null (no table is bound to a model); `streams` is null when the server
  // takes no streams.
  PredictionService(const PredictionStore* store, uint32_t max_batch_keys, const ModelCatalog* models,
                    ScoringBatcher* batcher, LookupFallback* fallback, const StreamCatalog* streams)
      : store_(store),
        max_batch_keys_(max_batch_keys),
        models_(models),
        batcher_(batcher),
        fallback_(fallback),
        streams_(streams) {
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
  // Answers a BatchLookup's misses (`misses`: indexes into the request) by
  // scoring the bound model; finishes the call when every one is answered.
  grpc::ServerUnaryReactor* FallBackBatch(grpc::CallbackServerContext* context, const FallbackBinding& binding,
                                          std::shared_ptr<const TableSnapshot> table, const v1::BatchLookupRequest& request,
                                          std::vector<size_t> misses, std::vector<std::vector<Cell>> miss_cells,
                                          std::vector<std::string> miss_keys, v1::BatchLookupResponse* response);

  const PredictionStore* store_;
  uint32_t max_batch_keys_;
  const ModelCatalog* models_;
  ScoringBatcher* batcher_;
  LookupFallback* fallback_;
  const StreamCatalog* streams_;
  // The request-path calls allocate their messages on an arena per call.
  ArenaMessageAllocator<v1::LookupRequest, v1::LookupResponse> lookup_allocator_;
  ArenaMessageAllocator<v1::BatchLookupRequest, v1::BatchLookupResponse> batch_lookup_allocator_;
  ArenaMessageAllocator<v1::PredictRequest, v1::PredictResponse> predict_allocator_;
};

}  // namespace predstore
