// The predstore.v1.Admin gRPC service: refresh after a load, rollback,
// reload the model registry, ingest streams of events.
// When constructed with a token, every call must carry the metadata
// "authorization: Bearer <token>" or fails UNAUTHENTICATED. An Ingest
// stream holds one of the server's stream slots while it is open.
// Thread-safe.
#pragma once

#include <string>

#include "core/model/model_catalog.h"
#include "core/serve/ingest_service.h"
#include "core/snapshot/prediction_store.h"
#include "predstore/v1/predstore.grpc.pb.h"
#include "server/bearer_auth.h"
#include "server/stream_slots.h"

namespace predstore {

class AdminService final : public v1::Admin::CallbackService {
 public:
  // Everything passed must outlive the service; `models` is null without a
  // registry. An empty `token` disables the check.
  AdminService(PredictionStore* store, ModelCatalog* models, const IngestService* ingest, StreamSlots* streams,
               std::string token)
      : store_(store), models_(models), ingest_(ingest), streams_(streams), tokens_({std::move(token)}) {}

  grpc::ServerUnaryReactor* RefreshTables(grpc::CallbackServerContext* context,
                                          const v1::RefreshTablesRequest* request,
                                          v1::RefreshTablesResponse* response) override;
  grpc::ServerUnaryReactor* Rollback(grpc::CallbackServerContext* context, const v1::RollbackRequest* request,
                                     v1::TableInfo* response) override;
  grpc::ServerUnaryReactor* ReloadModels(grpc::CallbackServerContext* context,
                                         const v1::ReloadModelsRequest* request,
                                         v1::ReloadModelsResponse* response) override;
  grpc::ServerBidiReactor<v1::IngestRequest, v1::IngestAck>* Ingest(grpc::CallbackServerContext* context) override;

 private:
  PredictionStore* store_;
  ModelCatalog* models_;
  const IngestService* ingest_;
  StreamSlots* streams_;
  BearerTokens tokens_;
};

}  // namespace predstore
