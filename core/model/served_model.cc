#include "core/model/served_model.h"

#include <algorithm>
#include <cassert>
#include <cmath>

#include "absl/status/status.h"
#include "core/base/status_macros.h"
#include "core/base/strings.h"
#include "nlohmann/json.hpp"

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
    case 6: return "timestamp";
    default: return "null";
  }
}

std::string NameList(const std::vector<std::string>& names) {
  std::string list;
  for (const std::string& name : names) StrAppend(&list, list.empty() ? "" : ", ", name);
  return StrCat("[", list, "]");
}

// The signature's columns reordered as the booster stores its features.
// kFailedPrecondition naming both lists when their names differ.
absl::StatusOr<std::vector<SignatureColumn>> InBoosterOrder(const std::vector<SignatureColumn>& signature,
                                                            const std::vector<std::string>& stored,
                                                            const std::string& model_dir) {
  std::vector<SignatureColumn> ordered;
  ordered.reserve(stored.size());
  for (const std::string& name : stored) {
    auto it = std::find_if(signature.begin(), signature.end(), [&](const SignatureColumn& c) { return c.name == name; });
    if (it == signature.end()) {
      std::vector<std::string> names;
      for (const SignatureColumn& c : signature) names.push_back(c.name);
      return absl::FailedPreconditionError(StrCat("model ", model_dir, ": feature names mismatch: the signature's inputs ",
                                                  NameList(names), " are not the booster's features ",
                                                  NameList(stored)));
    }
    ordered.push_back(*it);
  }
  return ordered;
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
  // The scikit-learn classes predict with the trees up to best_iteration.
  const XGBoostScorer::Trees trees = spec.xgboost_model_class.starts_with("xgboost.sklearn.")
                                         ? XGBoostScorer::Trees::kUpToBestIteration
                                         : XGBoostScorer::Trees::kAll;
  PREDSTORE_ASSIGN_OR_RETURN(model->scorer,
                             XGBoostScorer::LoadFile(spec.xgboost_data_path, scorer_threads, trees));
  // mlflow.xgboost's pyfunc calls the model's own predict: labels for the
  // scikit-learn classifiers.
  if ((spec.xgboost_model_class == "xgboost.sklearn.XGBClassifier" ||
       spec.xgboost_model_class == "xgboost.sklearn.XGBRFClassifier") &&
      model->scorer->CheckOutput(OutputKind::kLabel).ok()) {
    model->pyfunc_output = OutputKind::kLabel;
  }
  model->params = std::move(spec.params);
  const size_t columns = model->scorer->num_features();
  // Feature names: the signature's columns, else (tensor signature, none, or
  // unnamed columns) the booster's stored names, else f0..fN-1 as XGBoost
  // names unnamed features.
  const std::vector<std::string>& stored = model->scorer->feature_names();
  auto default_name = [&](size_t i) { return i < stored.size() ? stored[i] : StrCat("f", i); };
  bool all_named = true;
  if (!spec.inputs.empty()) {
    model->features = std::move(spec.inputs);
    for (size_t i = 0; i < model->features.size(); ++i) {
      all_named = all_named && !model->features[i].name.empty();
      if (model->features[i].name.empty()) model->features[i].name = default_name(i);
    }
  } else {
    for (size_t i = 0; i < columns; ++i) model->features.push_back({default_name(i), "double", true});
  }
  if (model->features.size() != columns) {
    return absl::FailedPreconditionError(StrCat("model ", model_dir, ": the signature names ", model->features.size(),
                                                " inputs but the booster has ", columns, " features"));
  }
  if (all_named && stored.size() == columns) {
    // Bind by name, as XGBoost checks a DataFrame's columns against the
    // names it stores: the signature may list them in another order.
    PREDSTORE_ASSIGN_OR_RETURN(model->features, InBoosterOrder(model->features, stored, model_dir));
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

ScoringRow::ScoringRow(const ServedModel& model)
    : model_(&model), values_(model.features.size(), NAN), present_(model.features.size(), false) {}

void ScoringRow::Reset() {
  std::fill(values_.begin(), values_.end(), NAN);
  std::fill(present_.begin(), present_.end(), false);
}

absl::Status ScoringRow::Set(int index, const std::optional<CellView>& value) {
  present_[index] = true;
  values_[index] = NAN;
  if (!value.has_value() || std::holds_alternative<Null>(*value)) return absl::OkStatus();
  const double* real = std::get_if<double>(&*value);
  const float* single = std::get_if<float>(&*value);
  if ((real != nullptr && std::isnan(*real)) || (single != nullptr && std::isnan(*single))) return absl::OkStatus();
  const SignatureColumn& feature = model_->features[index];
  absl::StatusOr<float> number = FeatureFloat(feature, *value);
  if (!number.ok()) return absl::InvalidArgumentError(StrCat("feature '", feature.name, "' ", FromAbsl(number.status().message())));
  values_[index] = *number;
  return absl::OkStatus();
}

absl::Status ScoringRow::Check() const {
  for (size_t i = 0; i < values_.size(); ++i) {
    const SignatureColumn& feature = model_->features[i];
    if (!present_[i]) {
      if (feature.required) return absl::InvalidArgumentError(StrCat("feature '", feature.name, "' is required but absent"));
      continue;
    }
    if (std::isnan(values_[i]) && feature.type != "double" && feature.type != "float") {
      return absl::InvalidArgumentError(StrCat("feature '", feature.name, "' (", feature.type,
                                               ") has a missing value; only float and double features may"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<OutputKind> PyfuncOutput(const ServedModel& model, const InferenceParams& params) {
  OutputKind output = model.pyfunc_output;
  for (const SignatureParam& declared : model.params) {
    std::string_view value = declared.default_json;
    for (const auto& [name, given] : params) {
      if (name == declared.name) value = given;
    }
    const nlohmann::json json = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
    const bool neutral = json.is_discarded() || json.is_null() || json == false || json == nlohmann::json::array({0, 0});
    if (declared.name == "output_margin") {
      if (!json.is_boolean() && !json.is_null()) {
        return absl::InvalidArgumentError(StrCat("params.output_margin: expects true or false, got ", value));
      }
      if (json == true) output = OutputKind::kMargin;
      continue;
    }
    static constexpr std::string_view kUnsupported[] = {"pred_leaf", "pred_contribs", "approx_contribs",
                                                        "pred_interactions", "training", "iteration_range",
                                                        "strict_shape", "base_margin", "ntree_limit"};
    if (!neutral && std::find(std::begin(kUnsupported), std::end(kUnsupported), declared.name) !=
                        std::end(kUnsupported)) {
      return absl::InvalidArgumentError(StrCat("params.", declared.name, ": predstore scores with XGBoost's "
                                               "prediction only and cannot honour ", declared.name, "=", value));
    }
  }
  return output;
}

absl::StatusOr<std::vector<float>> ScoringRows(const ServedModel& model, const FeatureRows& features,
                                               FeatureBinding binding) {
  assert(features.values.size() == features.rows * features.names.size());
  const size_t width = model.features.size();
  std::vector<int> positions(features.names.size());
  std::vector<bool> named(width, false);
  auto inputs = [&] {
    std::string list;
    for (const SignatureColumn& f : model.features) StrAppend(&list, list.empty() ? "" : ", ", f.name);
    return list;
  };
  if (binding == FeatureBinding::kByPosition && features.names.size() != width) {
    return absl::InvalidArgumentError(StrCat("rows have ", features.names.size(), " values but model ", model.name,
                                             " version ", model.version, " takes ", width, " inputs (", inputs(),
                                             ")"));
  }
  for (size_t i = 0; i < features.names.size(); ++i) {
    positions[i] = binding == FeatureBinding::kByPosition ? static_cast<int>(i) : model.FeatureIndex(features.names[i]);
    if (positions[i] < 0) {
      if (binding == FeatureBinding::kByNameIgnoringUnknown) continue;
      return absl::InvalidArgumentError(StrCat("feature_names[", i, "]: model ", model.name, " version ", model.version,
                                               " has no feature '", features.names[i], "' (its inputs: ", inputs(),
                                               ")"));
    }
    if (named[positions[i]]) {
      return absl::InvalidArgumentError(StrCat("feature_names[", i, "]: '", features.names[i], "' given twice"));
    }
    named[positions[i]] = true;
  }
  std::vector<float> values;
  values.reserve(features.rows * width);
  ScoringRow scoring_row(model);
  for (size_t r = 0; r < features.rows; ++r) {
    scoring_row.Reset();
    std::span<const std::optional<CellView>> row = features.row(r);
    for (size_t i = 0; i < row.size(); ++i) {
      if (positions[i] < 0) continue;  // a name the model lacks (kByNameIgnoringUnknown)
      absl::Status set = scoring_row.Set(positions[i], row[i]);
      if (!set.ok()) return absl::InvalidArgumentError(StrCat("rows[", r, "]: ", FromAbsl(set.message())));
    }
    absl::Status complete = scoring_row.Check();
    if (!complete.ok()) return absl::InvalidArgumentError(StrCat("rows[", r, "]: ", FromAbsl(complete.message())));
    values.insert(values.end(), scoring_row.values().begin(), scoring_row.values().end());
  }
  return values;
}

}  // namespace predstore
