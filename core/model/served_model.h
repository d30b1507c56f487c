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

// The scoring rows of `features` for `model`: rows x model.features (in the
// model's order), NaN for a missing value. kInvalidArgument naming
// feature_names[i] (unknown to the model, repeated) or rows[r] and the
// feature (mistyped value, or the ScoringRow rule).
// REQUIRES: features.values.size() == features.rows * features.names.size().
absl::StatusOr<std::vector<float>> ScoringRows(const ServedModel& model, const FeatureRows& features);

}  // namespace predstore
