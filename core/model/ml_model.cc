#include "core/model/ml_model.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <system_error>
#include <utility>

#include "core/base/file_io.h"
#include "core/base/status_macros.h"
#include "core/base/strings.h"
#include "nlohmann/json.hpp"

namespace predstore {
namespace fs = std::filesystem;
namespace {

// What mlflow.xgboost._load_model assumes when the flavor has no model_class.
constexpr char kDefaultXgboostClass[] = "xgboost.core.Booster";

// Reads one MLmodel document. Every yaml-cpp call (they throw) happens while
// Read runs, inside its try.
class MlModelReader {
 public:
  MlModelReader(fs::path dir, fs::path file) : dir_(std::move(dir)), file_(std::move(file)) {}

  absl::StatusOr<MlModel> Read(const std::string& text) {
    try {
      return ReadDocument(YAML::Load(text));
    } catch (const YAML::Exception& e) {
      return absl::DataLossError(StrCat(file_.string(), ": malformed YAML: ", e.what()));
    }
  }

 private:
  absl::Status Malformed(std::string_view field, std::string_view problem) const {
    return absl::DataLossError(StrCat(file_.string(), ": field '", field, "' ", problem));
  }

  // The scalar at `key` of `map` as text; nullopt when absent or null.
  absl::StatusOr<std::optional<std::string>> Text(const YAML::Node& map, const std::string& key,
                                                  std::string_view field) const {
    const YAML::Node node = map[key];
    if (!node.IsDefined() || node.IsNull()) return std::optional<std::string>();
    if (!node.IsScalar()) return Malformed(field, "is not text");
    return std::optional<std::string>(node.Scalar());
  }

  absl::StatusOr<MlModel> ReadDocument(const YAML::Node& root) {
    if (!root.IsMap()) return absl::DataLossError(StrCat(file_.string(), ": not a YAML mapping"));
    MlModel model;
    model.dir = dir_.string();

    const YAML::Node flavors = root["flavors"];
    if (!flavors.IsDefined() || flavors.IsNull()) return Malformed("flavors", "is missing");
    if (!flavors.IsMap()) return Malformed("flavors", "is not a mapping");
    for (const auto& entry : flavors) model.flavors.push_back(entry.first.Scalar());
    std::sort(model.flavors.begin(), model.flavors.end());

    const YAML::Node xgboost = flavors["xgboost"];
    if (xgboost.IsDefined()) PREDSTORE_RETURN_IF_ERROR(ReadXgboostFlavor(xgboost, &model));

    const YAML::Node signature = root["signature"];
    if (signature.IsDefined() && !signature.IsNull()) {
      if (!signature.IsMap()) return Malformed("signature", "is not a mapping");
      PREDSTORE_ASSIGN_OR_RETURN(const std::optional<std::string> inputs,
                                 Text(signature, "inputs", "signature.inputs"));
      PREDSTORE_ASSIGN_OR_RETURN(const std::optional<std::string> outputs,
                                 Text(signature, "outputs", "signature.outputs"));
      if (inputs) {
        model.inputs_json = *inputs;
        PREDSTORE_RETURN_IF_ERROR(ReadInputs(*inputs, &model));
      }
      if (outputs) model.outputs_json = *outputs;
      PREDSTORE_ASSIGN_OR_RETURN(const std::optional<std::string> params,
                                 Text(signature, "params", "signature.params"));
      if (params) PREDSTORE_RETURN_IF_ERROR(ReadParams(*params, &model));
    }
    return model;
  }

  absl::Status ReadXgboostFlavor(const YAML::Node& flavor, MlModel* model) {
    if (!flavor.IsMap()) return Malformed("flavors.xgboost", "is not a mapping");
    PREDSTORE_ASSIGN_OR_RETURN(const std::optional<std::string> data, Text(flavor, "data", "flavors.xgboost.data"));
    if (!data || data->empty()) return Malformed("flavors.xgboost.data", "is missing");
    const fs::path relative = fs::path(*data).lexically_normal();
    if (relative.is_absolute() || relative.empty() || *relative.begin() == "..") {
      return Malformed("flavors.xgboost.data", StrCat("('", *data, "') is not a path inside the model directory"));
    }
    const fs::path data_path = dir_ / relative;
    std::error_code error;
    if (!fs::is_regular_file(data_path, error)) {
      return Malformed("flavors.xgboost.data", StrCat("names ", data_path.string(), ", which is not a file"));
    }
    PREDSTORE_ASSIGN_OR_RETURN(const std::optional<std::string> model_class,
                               Text(flavor, "model_class", "flavors.xgboost.model_class"));
    PREDSTORE_ASSIGN_OR_RETURN(const std::optional<std::string> model_format,
                               Text(flavor, "model_format", "flavors.xgboost.model_format"));
    model->has_xgboost = true;
    model->xgboost_data_path = data_path.string();
    model->xgboost_model_class = model_class.value_or(kDefaultXgboostClass);
    if (model_format) {
      model->xgboost_model_format = *model_format;
    } else {
      const std::string extension = relative.extension().string();
      model->xgboost_model_format = extension.empty() ? "" : extension.substr(1);
    }
    return absl::OkStatus();
  }

  absl::Status ReadInputs(const std::string& json_text, MlModel* model) const {
    constexpr std::string_view kField = "signature.inputs";
    const nlohmann::json json = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded()) return Malformed(kField, "is not valid JSON");
    if (!json.is_array()) return Malformed(kField, "is not a JSON list");
    for (size_t i = 0; i < json.size(); ++i) {
      const nlohmann::json& spec = json[i];
      const std::string where = StrCat(kField, "[", i, "]");
      if (!spec.is_object()) return Malformed(where, "is not a JSON object");
      const auto type = spec.find("type");
      if (type == spec.end() || !type->is_string()) return Malformed(where, "has no string \"type\"");
      if (type->get<std::string>() == "tensor") {
        model->inputs.clear();
        model->inputs_are_tensors = true;
        return absl::OkStatus();
      }
      SignatureColumn column;
      column.type = type->get<std::string>();
      if (const auto name = spec.find("name"); name != spec.end() && !name->is_null()) {
        if (!name->is_string()) return Malformed(where, "has a \"name\" that is not a string");
        column.name = name->get<std::string>();
      }
      if (const auto required = spec.find("required"); required != spec.end() && !required->is_null()) {
        if (!required->is_boolean()) return Malformed(where, "has a \"required\" that is not true or false");
        column.required = required->get<bool>();
      }
      model->inputs.push_back(std::move(column));
    }
    return absl::OkStatus();
  }

  absl::Status ReadParams(const std::string& json_text, MlModel* model) const {
    constexpr std::string_view kField = "signature.params";
    const nlohmann::json json = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded()) return Malformed(kField, "is not valid JSON");
    if (json.is_null()) return absl::OkStatus();
    if (!json.is_array()) return Malformed(kField, "is not a JSON list");
    for (size_t i = 0; i < json.size(); ++i) {
      const auto name = json[i].is_object() ? json[i].find("name") : json[i].end();
      if (!json[i].is_object() || name == json[i].end() || !name->is_string()) {
        return Malformed(StrCat(kField, "[", i, "]"), "has no string \"name\"");
      }
      const auto default_value = json[i].find("default");
      model->params.push_back({name->get<std::string>(),
                               default_value == json[i].end() ? std::string("null") : default_value->dump()});
    }
    return absl::OkStatus();
  }

  fs::path dir_;
  fs::path file_;
};

}  // namespace

absl::StatusOr<MlModel> ReadMlModel(std::string_view model_dir) {
  std::error_code error;
  fs::path dir = fs::absolute(fs::path(model_dir), error);
  if (error) return absl::InternalError(StrCat(model_dir, ": ", error.message()));
  dir = dir.lexically_normal();
  if (!dir.has_filename() && dir != dir.root_path()) dir = dir.parent_path();
  const fs::path file = dir / "MLmodel";
  PREDSTORE_ASSIGN_OR_RETURN(const std::string text, internal::ReadWholeFile(file));
  return MlModelReader(dir, file).Read(text);
}

}  // namespace predstore
