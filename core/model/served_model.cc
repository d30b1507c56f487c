#include "core/model/served_model.h"

#include <cassert>
#include <cmath>

#include "absl/status/status.h"
#include "core/base/status_macros.h"
#include "core/base/strings.h"

namespace predstore {
namespace {

bool IsNumericSignatureType(std::string_view type) {
  return type == "double" || type == "float" || type == "long" || type == "integer" || type == "boolean";
}

std::string_view CellKindName(const CellView& value) {
  switch (value.index()) {
    case 0: return "integer";
    case 1: return "unsigned integer";
    case 2: return "double";
    case 3: return "float";
    case 4: return "string";
    case 5: return "date";
    default: return "timestamp";
  }
}

}  // namespace

int ServedModel::FeatureIndex(std::string_view feature) const {
  auto it = feature_index.find(ToAbsl(feature));
  return it == feature_index.end() ? -1 : it->second;
}

absl::StatusOr<std::shared_ptr<const ServedModel>> LoadServedModel(std::string name, int64_t version,
                                                                   const std::string& model_dir, int scorer_threads) {
  PREDSTORE_ASSIGN_OR_RETURN(MlModel spec, ReadMlModel(model_dir));
  if (!spec.has_xgboost) {
    std::string flavors;
    for (const std::string& flavor : spec.flavors) StrAppend(&flavors, flavors.empty() ? "" : ", ", flavor);
    return absl::FailedPreconditionError(StrCat("model ", model_dir, " has flavors [", flavors,
                                                "]; predstore scores only the xgboost flavor in C++"));
  }
  auto model = std::make_shared<ServedModel>();
  model->name = std::move(name);
  model->version = version;
  model->model_dir = spec.dir;
  PREDSTORE_ASSIGN_OR_RETURN(model->scorer, XGBoostScorer::LoadFile(spec.xgboost_data_path, scorer_threads));
  const size_t columns = model->scorer->num_features();
  // Feature names: the signature's columns, else (tensor signature, none, or
  // unnamed columns) the booster's stored names, else f0..fN-1 as XGBoost
  // names unnamed features.
  const std::vector<std::string>& stored = model->scorer->feature_names();
  auto default_name = [&](size_t i) { return i < stored.size() ? stored[i] : StrCat("f", i); };
  if (!spec.inputs.empty()) {
    model->features = std::move(spec.inputs);
    for (size_t i = 0; i < model->features.size(); ++i) {
      if (model->features[i].name.empty()) model->features[i].name = default_name(i);
    }
  } else {
    for (size_t i = 0; i < columns; ++i) model->features.push_back({default_name(i), "double", true});
  }
  if (model->features.size() != columns) {
    return absl::FailedPreconditionError(StrCat("model ", model_dir, ": the signature names ", model->features.size(),
                                                " inputs but the booster has ", columns, " features"));
  }
  for (size_t i = 0; i < columns; ++i) {
    const SignatureColumn& feature = model->features[i];
    if (!IsNumericSignatureType(feature.type)) {
      return absl::FailedPreconditionError(StrCat("model ", model_dir, ": input '", feature.name, "' has type ",
                                                  feature.type, "; XGBoost scoring takes numbers and booleans only"));
    }
    if (!model->feature_index.emplace(feature.name, static_cast<int>(i)).second) {
      return absl::FailedPreconditionError(StrCat("model ", model_dir, ": input '", feature.name, "' appears twice"));
    }
  }
  return std::shared_ptr<const ServedModel>(std::move(model));
}

absl::StatusOr<float> FeatureFloat(const SignatureColumn& column, const CellView& value) {
  double number = 0;
  if (const int64_t* integer = std::get_if<int64_t>(&value)) {
    number = static_cast<double>(*integer);
  } else if (const uint64_t* unsigned_integer = std::get_if<uint64_t>(&value)) {
    number = static_cast<double>(*unsigned_integer);
  } else if (const double* real = std::get_if<double>(&value)) {
    number = *real;
  } else if (const float* single = std::get_if<float>(&value)) {
    number = *single;
  } else {
    return absl::InvalidArgumentError(StrCat("expects ", column.type, ", got ", CellKindName(value)));
  }
  const bool integral = std::floor(number) == number;
  if ((column.type == "long" || column.type == "integer") && !integral) {
    return absl::InvalidArgumentError(StrCat("expects ", column.type, ", got the fraction ", number));
  }
  if (column.type == "boolean" && number != 0 && number != 1) {
    return absl::InvalidArgumentError(StrCat("expects boolean, got ", number));
  }
  return static_cast<float>(number);
}

absl::Status CheckRequiredFeatures(const ServedModel& model, std::span<const float> row) {
  for (size_t i = 0; i < model.features.size(); ++i) {
    if (std::isnan(row[i]) && model.features[i].required) {
      return absl::InvalidArgumentError(StrCat("feature '", model.features[i].name, "' is required but missing"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<float>> ScoringRows(const ServedModel& model, const FeatureRows& features) {
  assert(features.values.size() == features.rows * features.names.size());
  const size_t width = model.features.size();
  std::vector<int> positions(features.names.size());
  std::vector<bool> named(width, false);
  for (size_t i = 0; i < features.names.size(); ++i) {
    positions[i] = model.FeatureIndex(features.names[i]);
    if (positions[i] < 0) {
      std::string inputs;
      for (const SignatureColumn& f : model.features) StrAppend(&inputs, inputs.empty() ? "" : ", ", f.name);
      return absl::InvalidArgumentError(StrCat("feature_names[", i, "]: model ", model.name, " version ", model.version,
                                               " has no feature '", features.names[i], "' (its inputs: ", inputs,
                                               ")"));
    }
    if (named[positions[i]]) {
      return absl::InvalidArgumentError(StrCat("feature_names[", i, "]: '", features.names[i], "' given twice"));
    }
    named[positions[i]] = true;
  }
  std::vector<float> values(features.rows * width, NAN);
  for (size_t r = 0; r < features.rows; ++r) {
    std::span<float> out(values.data() + r * width, width);
    std::span<const std::optional<CellView>> row = features.row(r);
    for (size_t i = 0; i < row.size(); ++i) {
      if (!row[i].has_value()) continue;
      const SignatureColumn& feature = model.features[positions[i]];
      absl::StatusOr<float> number = FeatureFloat(feature, *row[i]);
      if (!number.ok()) {
        return absl::InvalidArgumentError(
            StrCat("rows[", r, "]: feature '", feature.name, "' ", FromAbsl(number.status().message())));
      }
      out[positions[i]] = *number;
    }
    absl::Status complete = CheckRequiredFeatures(model, out);
    if (!complete.ok()) return absl::InvalidArgumentError(StrCat("rows[", r, "]: ", FromAbsl(complete.message())));
  }
  return values;
}

}  // namespace predstore
