#include "core/serve/mlflow_invocation.h"

#include <optional>
#include <utility>

#include "core/serve/mlflow_protocol.h"

namespace predstore {

void InvokeMlflowModel(const LookupService& lookups, std::string_view model_uri, MlflowBodyFormat format,
                       std::string_view body, absl::AnyInvocable<void(absl::StatusOr<std::string>)> done) {
  absl::StatusOr<MlflowInput> input = format == MlflowBodyFormat::kJson ? ParseMlflowJson(body) : ParseMlflowCsv(body);
  if (!input.ok()) return done(input.status());
  PredictQuery query{model_uri, std::move(input->rows), std::nullopt, input->binding, std::move(input->params)};
  lookups.Predict(std::move(query), [done = std::move(done)](absl::StatusOr<PredictAnswer> answer) mutable {
    if (!answer.ok()) return done(answer.status());
    done(MlflowPredictionsJson(*answer));
  });
}

}  // namespace predstore
