// The predstore.v1.Predictions gRPC service: converts requests to core
// types, reads the store, converts answers back. Every handler finishes
// inline on the calling gRPC thread; a Scan streams chunks of rows, each
// produced when the previous one has been sent. Thread-safe; holds no state of its own.
#pragma once

#include <cstdint>

#include "core/prediction_store.h"
#include "predstore/v1/predstore.grpc.pb.h"

namespace predstore {

class PredictionService final : public v1::Predictions::CallbackService {
 public:
  // `store` must outlive the service. `max_batch_keys` bounds BatchLookup
  // (more keys: RESOURCE_EXHAUSTED).
  PredictionService(const PredictionStore* store, uint32_t max_batch_keys)
      : store_(store), max_batch_keys_(max_batch_keys) {}

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

 private:
  const PredictionStore* store_;
  uint32_t max_batch_keys_;
};

}  // namespace predstore
