// Scoring one MLflow request body (mlflow_protocol.h) through
// LookupService::Predict, with MLflow's pyfunc output and params. Thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "core/serve/lookup_service.h"

namespace predstore {

enum class MlflowBodyFormat { kJson, kCsv };

// Parses `body` and scores it with the model `model_uri` resolves to; done
// gets the answer's JSON or the error, exactly once, maybe on the scoring
// batcher's thread. `body` and `model_uri` need only live until this
// returns.
void InvokeMlflowModel(const LookupService& lookups, std::string_view model_uri, MlflowBodyFormat format,
                       std::string_view body, absl::AnyInvocable<void(absl::StatusOr<std::string>)> done);

}  // namespace predstore
