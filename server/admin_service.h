// The predstore.v1.Admin gRPC service: refresh after a load, rollback,
// reload the model registry.
// When constructed with a token, every call must carry the metadata
// "authorization: Bearer <token>" or fails UNAUTHENTICATED. Thread-safe.
#pragma once

#include <string>

#include "core/model_catalog.h"
#include "core/prediction_store.h"
#include "predstore/v1/predstore.grpc.pb.h"

namespace predstore {

class AdminService final : public v1::Admin::CallbackService {
 public:
  // `store` and `models` (null: no registry) must outlive the service. An
  // empty `token` disables the check.
  AdminService(PredictionStore* store, ModelCatalog* models, std::string token)
      : store_(store), models_(models), token_(std::move(token)) {}

  grpc::ServerUnaryReactor* RefreshTables(grpc::CallbackServerContext* context,
                                          const v1::RefreshTablesRequest* request,
                                          v1::RefreshTablesResponse* response) override;
  grpc::ServerUnaryReactor* Rollback(grpc::CallbackServerContext* context, const v1::RollbackRequest* request,
                                     v1::TableInfo* response) override;
  grpc::ServerUnaryReactor* ReloadModels(grpc::CallbackServerContext* context,
                                         const v1::ReloadModelsRequest* request,
                                         v1::ReloadModelsResponse* response) override;

 private:
  absl::Status Authenticate(const grpc::CallbackServerContext& context) const;

  PredictionStore* store_;
  ModelCatalog* models_;
  std::string token_;
};

}  // namespace predstore
