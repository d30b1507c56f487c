// Test support shared by the end-to-end suites that serve models: the small
// seeded sample model they train, and the expected predictions, which come
// from XGBoost itself (the model file loaded into a fresh booster and
// XGBoosterPredict over a DMatrix), never through predstore's scorer.
// Header-only; stateless.
#pragma once

#include <xgboost/c_api.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "core/model/sample_model.h"
#include "gtest/gtest.h"

namespace predstore::testing {

inline constexpr int kFeatures = 5;  // f0 .. f4
inline constexpr double kTolerance = 1e-6;
inline const std::vector<std::string> kFeatureNames = {"f0", "f1", "f2", "f3", "f4"};

// A small binary:logistic model over kFeatures features, trained from `seed`.
inline SampleModelOptions SmallSampleModel(uint64_t seed) {
  SampleModelOptions options;
  options.features = kFeatures;
  options.trees = 12;
  options.depth = 3;
  options.seed = seed;
  options.training_rows = 500;
  return options;
}

// XGBoost's own predictions for `rows` (row-major, kFeatures per row) by the
// model in `model_file`; `margin`: the raw margins (output_margin) instead.
inline std::vector<float> XGBoostPredict(const std::filesystem::path& model_file, const std::vector<float>& rows,
                                         bool margin = false) {
  const bst_ulong count = rows.size() / kFeatures;
  std::vector<float> predictions;
  DMatrixHandle matrix = nullptr;
  BoosterHandle booster = nullptr;
  bst_ulong length = 0;
  const float* result = nullptr;
  if (XGDMatrixCreateFromMat(rows.data(), count, kFeatures, NAN, &matrix) != 0 ||
      XGBoosterCreate(nullptr, 0, &booster) != 0 || XGBoosterLoadModel(booster, model_file.c_str()) != 0 ||
      XGBoosterPredict(booster, matrix, /*option_mask=*/margin ? 1 : 0, /*ntree_limit=*/0, /*training=*/0, &length, &result) != 0) {
    ADD_FAILURE() << "XGBoost: " << XGBGetLastError();
  } else {
    predictions.assign(result, result + length);
  }
  if (booster != nullptr) XGBoosterFree(booster);
  if (matrix != nullptr) XGDMatrixFree(matrix);
  EXPECT_EQ(predictions.size(), count);
  return predictions;
}

// Feature values as text that reads back as the same float.
inline std::string FloatText(float v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.9g", v);
  return buffer;
}

}  // namespace predstore::testing
