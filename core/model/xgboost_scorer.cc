#include "core/model/xgboost_scorer.h"

#include <xgboost/c_api.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>

#include "absl/status/status.h"
#include "core/base/file_io.h"
#include "core/base/status_macros.h"
#include "core/base/strings.h"
#include "nlohmann/json.hpp"

namespace predstore {
namespace {

// XGBoost's error text for the call that just failed, first line only (its
// messages carry a stack trace after the first line).
std::string LastXGBoostError() {
  std::string message = XGBGetLastError();
  if (size_t end = message.find('\n'); end != std::string::npos) message.resize(end);
  return message;
}

// A proxy DMatrix per thread for in-place prediction. Without one, each
// XGBoosterPredictFromDense call builds its own, and building one reads the
// cgroup CPU quota files: four system calls and two path walks per call,
// more than the trees of a one-row call cost. A proxy only points at the
// caller's rows during a call, so one per thread serves every booster.
DMatrixHandle ThreadProxy() {
  struct Proxy {
    DMatrixHandle handle = nullptr;
    Proxy() {
      if (XGProxyDMatrixCreate(&handle) != 0) handle = nullptr;  // then each call builds its own
    }
    ~Proxy() {
      if (handle != nullptr) XGDMatrixFree(handle);
    }
  };
  thread_local Proxy proxy;
  return proxy.handle;
}

}  // namespace

absl::StatusOr<std::unique_ptr<XGBoostScorer>> XGBoostScorer::LoadFile(const std::string& path, int threads) {
  PREDSTORE_ASSIGN_OR_RETURN(std::string bytes, internal::ReadWholeFile(path));
  BoosterHandle booster = nullptr;
  if (XGBoosterCreate(nullptr, 0, &booster) != 0) {
    return absl::InternalError(StrCat("XGBoosterCreate: ", LastXGBoostError()));
  }
  std::unique_ptr<XGBoostScorer> scorer(new XGBoostScorer(booster));
  // Loading from memory lets XGBoost sniff the format from the bytes; loading
  // by file name trusts the extension, and MLflow writes UBJSON as model.xgb.
  if (XGBoosterLoadModelFromBuffer(booster, bytes.data(), bytes.size()) != 0) {
    return absl::FailedPreconditionError(
        StrCat("XGBoost cannot load model file ", path, ": ", LastXGBoostError()));
  }
  if (XGBoosterSetParam(booster, "nthread", std::to_string(threads).c_str()) != 0) {
    return absl::InternalError(StrCat("XGBoosterSetParam(nthread): ", LastXGBoostError()));
  }
  PREDSTORE_RETURN_IF_ERROR(scorer->ReadModelFacts());
  return scorer;
}

XGBoostScorer::~XGBoostScorer() { XGBoosterFree(booster_); }

absl::Status XGBoostScorer::ReadModelFacts() {
  bst_ulong features = 0;
  if (XGBoosterGetNumFeature(booster_, &features) != 0) {
    return absl::InternalError(StrCat("XGBoosterGetNumFeature: ", LastXGBoostError()));
  }
  num_features_ = features;

  bst_ulong name_count = 0;
  const char** names = nullptr;
  if (XGBoosterGetStrFeatureInfo(booster_, "feature_name", &name_count, &names) != 0) {
    return absl::InternalError(StrCat("XGBoosterGetStrFeatureInfo: ", LastXGBoostError()));
  }
  feature_names_.assign(names, names + name_count);

  bst_ulong config_length = 0;
  const char* config = nullptr;
  if (XGBoosterSaveJsonConfig(booster_, &config_length, &config) != 0) {
    return absl::InternalError(StrCat("XGBoosterSaveJsonConfig: ", LastXGBoostError()));
  }
  nlohmann::json learner = nlohmann::json::parse(config, config + config_length, nullptr, false);
  if (learner.is_discarded()) return absl::InternalError("XGBoost returned a configuration that is not JSON");
  learner = learner.value("learner", nlohmann::json::object());
  objective_ = learner.value("objective", nlohmann::json::object()).value("name", "");
  const std::string num_class =
      learner.value("learner_model_param", nlohmann::json::object()).value("num_class", "0");
  if (objective_ == "multi:softprob") {
    outputs_per_row_ = std::strtoull(num_class.c_str(), nullptr, 10);
    if (outputs_per_row_ == 0) return absl::DataLossError("multi:softprob model with num_class 0");
  }
  return absl::OkStatus();
}

absl::Status XGBoostScorer::Predict(std::span<const float> rows, std::vector<float>* out) const {
  const size_t num_rows = num_features_ == 0 ? 0 : rows.size() / num_features_;
  if (num_rows * num_features_ != rows.size()) {
    return absl::InvalidArgumentError(StrCat(rows.size(), " floats are not whole rows of ", num_features_));
  }
  out->clear();
  if (num_rows == 0) return absl::OkStatus();
  char array_interface[192];
  std::snprintf(array_interface, sizeof array_interface,
                R"({"data": [%)" PRIuPTR R"(, true], "shape": [%zu, %zu], "typestr": "<f4", "version": 3})",
                reinterpret_cast<uintptr_t>(rows.data()), num_rows, num_features_);
  // cache_id 0: no prediction cache (each call has new data).
  static constexpr char kConfig[] =
      R"({"type": 0, "training": false, "iteration_begin": 0, "iteration_end": 0,)"
      R"( "strict_shape": false, "missing": NaN, "cache_id": 0})";
  const bst_ulong* shape = nullptr;
  bst_ulong dimensions = 0;
  const float* result = nullptr;
  if (XGBoosterPredictFromDense(booster_, array_interface, kConfig, ThreadProxy(), &shape, &dimensions, &result) != 0) {
    return absl::InternalError(StrCat("XGBoost prediction failed: ", LastXGBoostError()));
  }
  size_t produced = 1;
  for (bst_ulong d = 0; d < dimensions; ++d) produced *= shape[d];
  if (produced != num_rows * outputs_per_row_) {
    return absl::InternalError(StrCat("XGBoost returned ", produced, " values for ", num_rows, " rows"));
  }
  out->assign(result, result + produced);
  return absl::OkStatus();
}

}  // namespace predstore
