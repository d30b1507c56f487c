// A registered model version ready to score: its identity, the features its
// signature declares (in the booster's column order) and an XGBoost scorer.
// Immutable after loading; safe to share between threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "core/model/ml_model.h"
#include "core/model/xgboost_scorer.h"
#include "core/table/schema.h"

namespace predstore {

struct ServedModel {
  std::string name;    // registered name (or the directory for a bare path)
  int64_t version = 0; // registry version; 0 for a bare model directory
  std::string model_dir;
  std::vector<SignatureColumn> features;  // scoring order
  std::unique_ptr<XGBoostScorer> scorer;
  // What MLflow's pyfunc predict gives for this model: the class for the
  // scikit-learn classifiers (XGBClassifier, XGBRFClassifier), whose
  // predict returns labels; XGBoost's normal prediction for a Booster and
  // the regressors.
  OutputKind pyfunc_output = OutputKind::kProbability;
  // The inference params the signature declares (MlModel::params).
  std::vector<SignatureParam> params;

  // Where `feature` sits in a row, or -1 if the signature has no such feature.
  int FeatureIndex(std::string_view feature) const;

  absl::flat_hash_map<std::string, int> feature_index;
};

// Loads the MLflow model in `model_dir`. Only the xgboost flavor runs here:
// any other gives kFailedPrecondition naming the flavors the model has. The
// signature's inputs name the features (else the booster's stored names,
// else f0..fN-1); their count must equal the booster's, and every input must
// be numeric or boolean. When the booster stores feature names, the inputs
// are bound to them by name (a signature may list them in another order);
// names that differ are kFailedPrecondition naming both lists. A
// scikit-learn model class predicts with the trees up to the booster's
// best_iteration, as XGBoost's own predict does. `scorer_threads` is passed
// to XGBoostScorer.
absl::StatusOr<std::shared_ptr<const ServedModel>> LoadServedModel(std::string name, int64_t version,
                                                                   const std::string& model_dir, int scorer_threads);

// The float XGBoost scores for `value` given as feature `column`: numbers as
// they are, booleans as 0/1; an integer-typed feature rejects fractions and
// every feature rejects text, dates and timestamps. kInvalidArgument says
// what was expected and what came (the caller adds the row and name).
absl::StatusOr<float> FeatureFloat(const SignatureColumn& column, const CellView& value);

// Features a request sends by name: `rows` rows of names.size() values
// each, row-major in `values`. A named feature is present in every row; an
// unset value (nullopt) is a missing value. The names and string values are
// views into the caller's request.
struct FeatureRows {
  std::vector<std::string_view> names;
  size_t rows = 0;
  std::vector<std::optional<CellView>> values;

  std::span<const std::optional<CellView>> row(size_t r) const {
    return std::span<const std::optional<CellView>>(values).subspan(r * names.size(), names.size());
  }
};

// One scoring row being gathered from its sources, following MLflow's rule
// for missing data:
//   - a feature no source names is absent: an error when the signature
//     marks it required, XGBoost's missing value (NaN) when optional;
//   - a named feature whose value is null, unset or NaN is XGBoost's
//     missing value, required or not;
//   - an integer or boolean feature cannot be missing (MLflow refuses it).
// Reusable: Reset() starts the next row.
class ScoringRow {
 public:
  explicit ScoringRow(const ServedModel& model);

  void Reset();
  // Sets feature `index` (into model.features); nullopt, Null, or a NaN
  // number is a missing value. kInvalidArgument "feature 'x' expects ..." for a
  // value of the wrong kind.
  absl::Status Set(int index, const std::optional<CellView>& value);
  // kInvalidArgument naming the first feature that breaks the rule above:
  // "feature 'x' is required but absent", "feature 'x' (long) has a missing
  // value; only float and double features may".
  absl::Status Check() const;

  // Whether a source has set feature `index` (a missing value included).
  bool present(int index) const { return present_[index]; }

  std::span<const float> values() const { return values_; }

 private:
  const ServedModel* model_;
  std::vector<float> values_;
  std::vector<bool> present_;
};

// Inference params a request passes, as MLflow's scoring protocol takes
// them ("params": {...}): name and value as JSON text.
using InferenceParams = std::vector<std::pair<std::string, std::string>>;

// The output MLflow's pyfunc predict gives `model` called with `params`.
// Params the signature does not declare are ignored, as MLflow ignores them
// (it logs a warning). A declared param takes the request's value, else its
// default, and reaches XGBoost's predict as mlflow.xgboost passes it:
// output_margin true asks for the margin; validate_features, and params
// predict does not take, change nothing; an XGBoost predict argument that
// would change the answer's shape or trees (pred_leaf, pred_contribs,
// iteration_range, base_margin, ...) is kInvalidArgument naming it, since
// predstore does not compute those.
absl::StatusOr<OutputKind> PyfuncOutput(const ServedModel& model, const InferenceParams& params);

// How a request's feature names bind to the model's inputs.
enum class FeatureBinding {
  kByName,                // every name must be an input (gRPC Predict)
  kByNameIgnoringUnknown, // names the model lacks are skipped, as MLflow's
                          // schema enforcement drops extra columns
  kByPosition,            // names are ignored: value i is input i, and each
                          // row has exactly one value per input
};

// The scoring rows of `features` for `model`: rows x model.features (in the
// model's order), NaN for a missing value. kInvalidArgument naming
// feature_names[i] (unknown to the model, repeated), a row width that is not
// the model's (kByPosition), or rows[r] and the feature (mistyped value, or
// the ScoringRow rule).
// REQUIRES: features.values.size() == features.rows * features.names.size().
absl::StatusOr<std::vector<float>> ScoringRows(const ServedModel& model, const FeatureRows& features,
                                               FeatureBinding binding = FeatureBinding::kByName);

}  // namespace predstore
