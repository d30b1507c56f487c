#include "core/model/sample_model.h"

#include <xgboost/c_api.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <system_error>

#include "absl/status/status.h"
#include "core/base/status_macros.h"
#include "core/base/strings.h"

namespace predstore {
namespace {

absl::Status XGBoostCall(int result, std::string_view what) {
  if (result == 0) return absl::OkStatus();
  return absl::InternalError(StrCat(what, ": ", XGBGetLastError()));
}

// Writes `text` to `path` through a temporary file and a rename, so that a
// reader sees the old file or the new one, never a partial one.
absl::Status WriteFileAtomically(const std::filesystem::path& path, std::string_view text) {
  std::error_code error;
  std::filesystem::create_directories(path.parent_path(), error);
  if (error) return absl::InternalError(StrCat("cannot create ", path.parent_path().string(), ": ", error.message()));
  const std::filesystem::path temporary = path.string() + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) return absl::InternalError(StrCat("cannot write ", temporary.string(), ": ", std::strerror(errno)));
  }
  std::filesystem::rename(temporary, path, error);
  if (error) return absl::InternalError(StrCat("cannot rename to ", path.string(), ": ", error.message()));
  return absl::OkStatus();
}

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Labels with a learnable structure: a weighted sum of the first features
// with an interaction term.
std::vector<float> SampleLabels(const std::vector<float>& rows, int features, const std::string& objective) {
  const size_t count = rows.size() / features;
  std::vector<float> labels(count);
  for (size_t i = 0; i < count; ++i) {
    const float* row = &rows[i * features];
    double score = 0;
    for (int j = 0; j < std::min(features, 8); ++j) score += (j % 2 == 0 ? 1.0 : -0.5) * row[j];
    if (features >= 2) score += 0.7 * row[0] * row[1];
    if (objective == "binary:logistic") {
      labels[i] = score > 0 ? 1.0f : 0.0f;
    } else if (objective == "multi:softprob") {
      labels[i] = score < -0.5 ? 0.0f : (score < 0.5 ? 1.0f : 2.0f);
    } else {
      labels[i] = static_cast<float>(10.0 + 3.0 * score);
    }
  }
  return labels;
}

std::string SignatureInputs(int features) {
  std::string json = "[";
  for (int j = 0; j < features; ++j) {
    StrAppend(&json, j == 0 ? "" : ", ", R"({"type": "double", "name": "f)", j, R"(", "required": true})");
  }
  return json + "]";
}

}  // namespace

std::vector<float> SampleFeatureRows(int rows, int features, uint64_t seed) {
  std::mt19937_64 generator(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> values(static_cast<size_t>(rows) * features);
  for (float& value : values) value = normal(generator);
  return values;
}

absl::Status WriteSampleModel(const SampleModelOptions& options, const std::string& dir) {
  if (options.features < 1 || options.trees < 1 || options.depth < 1 || options.training_rows < 10) {
    return absl::InvalidArgumentError("sample model needs features, trees and depth >= 1 and >= 10 training rows");
  }
  if (options.model_format != "xgb" && options.model_format != "json" && options.model_format != "ubj") {
    return absl::InvalidArgumentError(StrCat("unknown model format '", options.model_format, "' (xgb, json, ubj)"));
  }
  const std::vector<float> rows = SampleFeatureRows(options.training_rows, options.features, options.seed);
  const std::vector<float> labels = SampleLabels(rows, options.features, options.objective);

  DMatrixHandle matrix = nullptr;
  PREDSTORE_RETURN_IF_ERROR(XGBoostCall(
      XGDMatrixCreateFromMat(rows.data(), options.training_rows, options.features, NAN, &matrix), "XGDMatrixCreateFromMat"));
  BoosterHandle booster = nullptr;
  absl::Status status = XGBoostCall(XGDMatrixSetFloatInfo(matrix, "label", labels.data(), labels.size()), "labels");
  if (status.ok()) status = XGBoostCall(XGBoosterCreate(&matrix, 1, &booster), "XGBoosterCreate");
  auto set = [&](const char* name, const std::string& value) {
    if (status.ok()) status = XGBoostCall(XGBoosterSetParam(booster, name, value.c_str()), name);
  };
  set("objective", options.objective);
  if (options.objective == "multi:softprob") set("num_class", "3");
  set("max_depth", std::to_string(options.depth));
  set("eta", "0.3");
  set("seed", std::to_string(options.seed));
  set("nthread", "0");
  for (int round = 0; round < options.trees && status.ok(); ++round) {
    status = XGBoostCall(XGBoosterUpdateOneIter(booster, round, matrix), "XGBoosterUpdateOneIter");
  }
  const std::filesystem::path model_dir(dir);
  const std::string data_file = StrCat("model.", options.model_format);
  std::error_code error;
  std::filesystem::create_directories(model_dir, error);
  if (status.ok() && error) status = absl::InternalError(StrCat("cannot create ", dir, ": ", error.message()));
  if (status.ok()) {
    status = XGBoostCall(XGBoosterSaveModel(booster, (model_dir / data_file).c_str()), "XGBoosterSaveModel");
  }
  if (booster != nullptr) XGBoosterFree(booster);
  XGDMatrixFree(matrix);
  PREDSTORE_RETURN_IF_ERROR(status);

  const std::string model_class = options.objective == "binary:logistic" ? "xgboost.sklearn.XGBClassifier"
                                  : options.objective == "multi:softprob" ? "xgboost.sklearn.XGBClassifier"
                                                                          : "xgboost.sklearn.XGBRegressor";
  const std::string mlmodel = StrCat(
      "artifact_path: model\n"
      "flavors:\n"
      "  python_function:\n"
      "    data: ", data_file, "\n"
      "    env:\n"
      "      conda: conda.yaml\n"
      "      virtualenv: python_env.yaml\n"
      "    loader_module: mlflow.xgboost\n"
      "    python_version: 3.11.2\n"
      "  xgboost:\n"
      "    code: null\n"
      "    data: ", data_file, "\n"
      "    model_class: ", model_class, "\n"
      "    model_format: ", options.model_format, "\n"
      "    xgb_version: 1.7.4\n"
      "mlflow_version: 2.9.2\n"
      "model_uuid: predstore-sample-", options.seed, "\n"
      "signature:\n"
      "  inputs: '", SignatureInputs(options.features), "'\n"
      "  outputs: '[{\"type\": \"tensor\", \"tensor-spec\": {\"dtype\": \"float32\", \"shape\": [-1]}}]'\n"
      "  params: null\n");
  return WriteFileAtomically(model_dir / "MLmodel", mlmodel);
}

absl::Status WriteSampleRegistration(const std::string& mlruns_dir, const SampleRegistration& registration) {
  const std::filesystem::path model_root = std::filesystem::path(mlruns_dir) / "models" / registration.name;
  const int64_t now = NowMillis();
  if (!std::filesystem::exists(model_root / "meta.yaml")) {
    PREDSTORE_RETURN_IF_ERROR(WriteFileAtomically(
        model_root / "meta.yaml", StrCat("creation_timestamp: ", now, "\ndescription: null\nlast_updated_timestamp: ", now,
                                         "\nname: ", registration.name, "\n")));
  }
  const std::string source = StrCat("file://", registration.model_dir);
  PREDSTORE_RETURN_IF_ERROR(WriteFileAtomically(
      model_root / StrCat("version-", registration.version) / "meta.yaml",
      StrCat("creation_timestamp: ", now, "\ncurrent_stage: ", registration.stage,
             "\ndescription: null\nlast_updated_timestamp: ", now, "\nname: ", registration.name,
             "\nrun_id: null\nrun_link: null\nsource: ", source, "\nstatus: READY\nstatus_message: null\n",
             "storage_location: ", source, "\ntags: {}\nuser_id: null\nversion: ", registration.version, "\n")));
  for (const std::string& alias : registration.aliases) {
    PREDSTORE_RETURN_IF_ERROR(
        WriteFileAtomically(model_root / "aliases" / alias, std::to_string(registration.version)));
  }
  return absl::OkStatus();
}

}  // namespace predstore
