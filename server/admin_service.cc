#include "server/admin_service.h"

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

}  // namespace predstore
