// Scoring with XGBoost's C API (libxgboost, Debian's 1.7 series).
// An XGBoostScorer owns one booster loaded from a model file in any format
// XGBoost saves (legacy binary, JSON, UBJSON; the format is read from the
// bytes, not the file name). Predict is thread-safe: XGBoost's in-place
// prediction keeps its output buffer per thread, the scorer keeps one proxy
// matrix per thread (shared by all boosters), and this class copies the
// output out before returning.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace predstore {

// What a prediction gives, chosen per call:
//   kProbability  XGBoost's normal prediction: a probability for binary
//                 classifiers, one per class for multi:softprob, the class
//                 for multi:softmax, the value for regressors (what
//                 predict_proba, and predict for regressors, return);
//   kLabel        the class, as XGBClassifier.predict and MLflow's pyfunc
//                 give it: probability > 0.5 (binary), the most probable
//                 class (multi-class); classifiers only;
//   kMargin       the raw margin before the objective's link (output_margin),
//                 one per class for multi-class models.
enum class OutputKind { kProbability, kLabel, kMargin };
// "probability", "label", "margin".
std::string_view OutputKindName(OutputKind kind);
// kInvalidArgument naming the three names for anything else.
absl::StatusOr<OutputKind> ParseOutputKind(std::string_view name);

// The XGBoost release that saved a model file.
struct ModelVersion {
  int major = 0;
  int minor = 0;
  int patch = -1;  // -1: the legacy binary format records none
};

// The version a model file's bytes record (JSON, UBJSON or legacy binary),
// read without parsing the model; nullopt if the bytes name none.
std::optional<ModelVersion> ModelWriterVersion(std::string_view bytes);

class XGBoostScorer {
 public:
  // Which trees Predict uses. XGBoost's scikit-learn classes
  // (XGBClassifier, XGBRegressor, ...) predict with the trees up to the
  // booster's best_iteration attribute when early stopping saved one; a
  // plain Booster predicts with every tree.
  enum class Trees { kAll, kUpToBestIteration };

  // Loads `path`. `threads` is XGBoost's own thread count per Predict call
  // (1 suits a server that runs many calls at once; 0 means all cores).
  // kNotFound if the file is missing; kFailedPrecondition naming the file if
  // XGBoost cannot read it, or if it was saved by an XGBoost (3.1 or later)
  // whose files this library misreads, naming both versions. Files from
  // XGBoost 2.x and 3.0 load and score as their writer scores them.
  static absl::StatusOr<std::unique_ptr<XGBoostScorer>> LoadFile(const std::string& path, int threads,
                                                                 Trees trees = Trees::kAll);
  ~XGBoostScorer();
  XGBoostScorer(const XGBoostScorer&) = delete;
  XGBoostScorer& operator=(const XGBoostScorer&) = delete;

  // Features the booster was trained on, in column order.
  size_t num_features() const { return num_features_; }
  // Feature names stored in the booster (empty if it was trained without).
  const std::vector<std::string>& feature_names() const { return feature_names_; }
  // Floats produced per row: for kProbability the class count for
  // multi:softprob, else 1; for kMargin the class count of multi-class
  // models, else 1; for kLabel 1.
  size_t outputs_per_row(OutputKind kind = OutputKind::kProbability) const;
  // kFailedPrecondition when this model cannot give `kind` (a label from a
  // model that is not a classifier), naming the objective.
  absl::Status CheckOutput(OutputKind kind) const;
  // The training objective, e.g. "binary:logistic", "reg:squarederror".
  const std::string& objective() const { return objective_; }
  // The best_iteration attribute early stopping saved (-1: none), and the
  // boosting rounds Predict uses (0: all of them).
  int64_t best_iteration() const { return best_iteration_; }
  int64_t rounds_used() const { return iteration_end_; }

  // Scores `rows.size() / num_features()` rows stored row-major, NaN marking a
  // missing value; writes outputs_per_row(kind) floats per row to `out`
  // (resized). kInternal carries XGBoost's message on failure; CheckOutput's
  // error for a kind the model cannot give.
  absl::Status Predict(std::span<const float> rows, std::vector<float>* out,
                       OutputKind kind = OutputKind::kProbability) const;

 private:
  explicit XGBoostScorer(void* booster) : booster_(booster) {}
  absl::Status ReadModelFacts();

  void* booster_;  // BoosterHandle
  int64_t best_iteration_ = -1;
  int64_t iteration_end_ = 0;
  // XGBoosterPredictFromDense's JSON configurations: normal and margin.
  std::string predict_config_;
  std::string margin_config_;
  size_t num_features_ = 0;
  size_t outputs_per_row_ = 1;
  size_t num_class_ = 0;  // learner_model_param.num_class (0: not multi-class)
  std::string objective_;
  std::vector<std::string> feature_names_;
};

}  // namespace predstore
