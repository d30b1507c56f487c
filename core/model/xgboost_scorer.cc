#include "core/model/xgboost_scorer.h"

#include <xgboost/c_api.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <string_view>
#include <utility>

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

// Reads a little-endian uint32 at `offset` of `bytes`, if there is one.
std::optional<uint32_t> Uint32At(std::string_view bytes, size_t offset) {
  if (offset + 4 > bytes.size()) return std::nullopt;
  uint32_t value = 0;
  std::memcpy(&value, bytes.data() + offset, 4);  // XGBoost writes its binary format little-endian
  return value;
}

// Reads the big-endian value of a UBJSON integer of type `marker` at `*pos`.
std::optional<int64_t> UbjsonInteger(std::string_view bytes, char marker, size_t* pos) {
  const size_t size = marker == 'i' || marker == 'U' ? 1 : marker == 'I' ? 2 : marker == 'l' ? 4 : marker == 'L' ? 8 : 0;
  if (size == 0 || *pos + size > bytes.size()) return std::nullopt;
  uint64_t value = 0;
  for (size_t i = 0; i < size; ++i) value = (value << 8) | static_cast<unsigned char>(bytes[*pos + i]);
  *pos += size;
  if (marker == 'U') return static_cast<int64_t>(value);
  const int shift = static_cast<int>(64 - 8 * size);  // sign-extend
  return static_cast<int64_t>(value << shift) >> shift;
}

}  // namespace

std::optional<ModelVersion> ModelWriterVersion(std::string_view bytes) {
  const size_t start = bytes.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return std::nullopt;
  if (bytes[start] != '{') {
    // Legacy binary: an optional "binf" header, then the learner parameters
    // with major_version at byte 20 and minor_version at byte 24.
    const size_t base = bytes.substr(0, 4) == "binf" ? 4 : 0;
    std::optional<uint32_t> major = Uint32At(bytes, base + 20), minor = Uint32At(bytes, base + 24);
    if (!major || !minor || *major > 1000 || *minor > 1000) return std::nullopt;
    return ModelVersion{static_cast<int>(*major), static_cast<int>(*minor), -1};
  }
  // JSON and UBJSON: XGBoost writes the document's keys sorted, so
  // "version": [major, minor, patch] closes it. Only the tail is read: a
  // model can be large, and its JSON can hold NaN tokens a strict parser
  // refuses.
  const std::string_view tail = bytes.substr(bytes.size() > 96 ? bytes.size() - 96 : 0);
  const size_t key = tail.rfind("version");
  if (key == std::string_view::npos) return std::nullopt;
  size_t pos = key + 7;
  if (key > 0 && tail[key - 1] == '"') {  // JSON text
    std::string_view rest = tail.substr(pos);
    int major = 0, minor = 0, patch = 0;
    if (std::sscanf(std::string(rest).c_str(), "\" : [ %d , %d , %d ]", &major, &minor, &patch) != 3) {
      return std::nullopt;
    }
    return ModelVersion{major, minor, patch};
  }
  // UBJSON: '[' then an optional '$' element type, '#' and the count, then
  // the three integers (each with its marker unless the type was given).
  if (pos >= tail.size() || tail[pos++] != '[') return std::nullopt;
  char type = 0;
  if (pos + 1 < tail.size() && tail[pos] == '$') {
    type = tail[pos + 1];
    pos += 2;
  }
  if (pos >= tail.size() || tail[pos++] != '#') return std::nullopt;
  int parts[3];
  if (pos >= tail.size()) return std::nullopt;
  const char count_type = tail[pos++];
  std::optional<int64_t> count = UbjsonInteger(tail, count_type, &pos);
  if (!count || *count != 3) return std::nullopt;
  for (int& part : parts) {
    if (type == 0 && pos >= tail.size()) return std::nullopt;
    const char element_type = type != 0 ? type : tail[pos++];
    std::optional<int64_t> value = UbjsonInteger(tail, element_type, &pos);
    if (!value || *value < 0 || *value > 1000) return std::nullopt;
    part = static_cast<int>(*value);
  }
  return ModelVersion{parts[0], parts[1], parts[2]};
}

absl::StatusOr<std::unique_ptr<XGBoostScorer>> XGBoostScorer::LoadFile(const std::string& path, int threads,
                                                                      Trees trees) {
  PREDSTORE_ASSIGN_OR_RETURN(std::string bytes, internal::ReadWholeFile(path));
  // XGBoost 3.1 writes base_score as a vector ("[5E-1]"), which 1.7 reads as
  // its default without a word: every prediction would be silently off.
  int runtime_major = 0, runtime_minor = 0, runtime_patch = 0;
  ::XGBoostVersion(&runtime_major, &runtime_minor, &runtime_patch);
  if (std::optional<ModelVersion> writer = ModelWriterVersion(bytes);
      writer && std::pair(writer->major, writer->minor) >= std::pair(3, 1) &&
      std::pair(runtime_major, runtime_minor) < std::pair(3, 1)) {
    return absl::FailedPreconditionError(StrCat(
        "model file ", path, " was saved by XGBoost ", writer->major, ".", writer->minor,
        writer->patch >= 0 ? StrCat(".", writer->patch) : std::string(), ", which stores base_score in a form XGBoost ",
        runtime_major, ".", runtime_minor, ".", runtime_patch,
        " (the one predstore runs) misreads; save the model with XGBoost 3.0 or older"));
  }
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
  if (trees == Trees::kUpToBestIteration && scorer->best_iteration_ >= 0) {
    scorer->iteration_end_ = scorer->best_iteration_ + 1;
  }
  // cache_id 0: no prediction cache (each call has new data). type 0 is the
  // normal prediction, 1 the margin.
  for (auto [type, config] : {std::pair{0, &scorer->predict_config_}, std::pair{1, &scorer->margin_config_}}) {
    *config = StrCat(R"({"type": )", type, R"(, "training": false, "iteration_begin": 0, "iteration_end": )",
                     scorer->iteration_end_, R"(, "strict_shape": false, "missing": NaN, "cache_id": 0})");
  }
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

  const char* best_iteration = nullptr;
  int has_best_iteration = 0;
  if (XGBoosterGetAttr(booster_, "best_iteration", &best_iteration, &has_best_iteration) != 0) {
    return absl::InternalError(StrCat("XGBoosterGetAttr: ", LastXGBoostError()));
  }
  if (has_best_iteration) {
    char* end = nullptr;
    best_iteration_ = std::strtoll(best_iteration, &end, 10);
    if (end == best_iteration || *end != '\0' || best_iteration_ < 0) {
      return absl::DataLossError(StrCat("the booster's best_iteration attribute '", best_iteration,
                                        "' is not a round number"));
    }
  }

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
  num_class_ = std::strtoull(num_class.c_str(), nullptr, 10);
  if (objective_ == "multi:softprob" || objective_ == "multi:softmax") {
    if (num_class_ == 0) return absl::DataLossError(StrCat(objective_, " model with num_class 0"));
    if (objective_ == "multi:softprob") outputs_per_row_ = num_class_;
  }
  return absl::OkStatus();
}

size_t XGBoostScorer::outputs_per_row(OutputKind kind) const {
  switch (kind) {
    case OutputKind::kProbability: return outputs_per_row_;
    case OutputKind::kLabel: return 1;
    case OutputKind::kMargin: return num_class_ > 1 ? num_class_ : 1;
  }
  return outputs_per_row_;
}

absl::Status XGBoostScorer::CheckOutput(OutputKind kind) const {
  if (kind != OutputKind::kLabel || objective_ == "binary:logistic" || objective_ == "binary:hinge" ||
      objective_ == "multi:softprob" || objective_ == "multi:softmax") {
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(
      StrCat("a model with objective ", objective_,
             " gives no class label (labels come from binary:logistic, binary:hinge, multi:softprob and "
             "multi:softmax); ask for probability or margin"));
}

absl::Status XGBoostScorer::Predict(std::span<const float> rows, std::vector<float>* out, OutputKind kind) const {
  PREDSTORE_RETURN_IF_ERROR(CheckOutput(kind));
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
  const bst_ulong* shape = nullptr;
  bst_ulong dimensions = 0;
  const float* result = nullptr;
  const std::string& config = kind == OutputKind::kMargin ? margin_config_ : predict_config_;
  if (XGBoosterPredictFromDense(booster_, array_interface, config.c_str(), ThreadProxy(), &shape, &dimensions,
                                &result) != 0) {
    return absl::InternalError(StrCat("XGBoost prediction failed: ", LastXGBoostError()));
  }
  size_t produced = 1;
  for (bst_ulong d = 0; d < dimensions; ++d) produced *= shape[d];
  const size_t per_row = kind == OutputKind::kLabel ? outputs_per_row_ : outputs_per_row(kind);
  if (produced != num_rows * per_row) {
    return absl::InternalError(StrCat("XGBoost returned ", produced, " values for ", num_rows, " rows"));
  }
  if (kind != OutputKind::kLabel || objective_ == "binary:hinge" || objective_ == "multi:softmax") {
    out->assign(result, result + produced);  // hinge and softmax predict the class already
    return absl::OkStatus();
  }
  out->resize(num_rows);
  for (size_t r = 0; r < num_rows; ++r) {
    const float* row = result + r * per_row;
    // As XGBClassifier.predict: p > 0.5 for one probability, else the first most probable class.
    (*out)[r] = per_row == 1 ? (row[0] > 0.5f ? 1.0f : 0.0f)
                             : static_cast<float>(std::max_element(row, row + per_row) - row);
  }
  return absl::OkStatus();
}

std::string_view OutputKindName(OutputKind kind) {
  switch (kind) {
    case OutputKind::kProbability: return "probability";
    case OutputKind::kLabel: return "label";
    case OutputKind::kMargin: return "margin";
  }
  return "?";
}

absl::StatusOr<OutputKind> ParseOutputKind(std::string_view name) {
  for (OutputKind kind : {OutputKind::kProbability, OutputKind::kLabel, OutputKind::kMargin}) {
    if (OutputKindName(kind) == name) return kind;
  }
  return absl::InvalidArgumentError(StrCat("unknown output kind '", name, "' (probability, label or margin)"));
}

}  // namespace predstore
