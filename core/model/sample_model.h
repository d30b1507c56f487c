// Seeded sample models for the demo, tests and benchmarks: trains a small
// XGBoost model on synthetic data with the C API and writes it the way MLflow
// saves an xgboost-flavor model, and registers versions in an MLflow
// file-store registry (mlruns/models/...), as MLflow's client would.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace predstore {

struct SampleModelOptions {
  int features = 30;         // named f0 .. f<features-1>, all double
  int trees = 100;
  int depth = 6;
  // "binary:logistic", "reg:squarederror" or "multi:softprob" (3 classes).
  std::string objective = "binary:logistic";
  uint64_t seed = 7;
  int training_rows = 4000;
  // File format: "xgb" (MLflow's default name; legacy binary), "json", "ubj".
  std::string model_format = "xgb";
};

// The synthetic feature rows (row-major, options.features per row) for `seed`.
std::vector<float> SampleFeatureRows(int rows, int features, uint64_t seed);

// Trains on SampleFeatureRows(training_rows, ...) and writes `dir` as an MLflow
// model directory: MLmodel (python_function and xgboost flavors, a column
// signature of the features) and model.<model_format>.
absl::Status WriteSampleModel(const SampleModelOptions& options, const std::string& dir);

struct SampleRegistration {
  std::string name;
  int64_t version = 1;
  std::string stage = "None";         // None, Staging, Production, Archived
  std::vector<std::string> aliases;   // replaces aliases pointing at other versions
  std::string model_dir;              // absolute; written as storage_location and source
};

// Writes (or rewrites) one version into the file-store registry rooted at
// `mlruns_dir` with MLflow's layout: models/<name>/meta.yaml,
// models/<name>/version-<N>/meta.yaml and models/<name>/aliases/<alias>.
// Each file is replaced atomically (write, then rename), as a reader may be
// watching the folder.
absl::Status WriteSampleRegistration(const std::string& mlruns_dir, const SampleRegistration& registration);

}  // namespace predstore
