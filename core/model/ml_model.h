// Reads the MLmodel file of an MLflow model directory: which flavors the
// model has, where the xgboost flavor keeps its model file, and the input
// columns of its signature. Read-only; reentrant.
//
// MLmodel is YAML written by MLflow's Model.save (mlflow/models/model.py):
//   flavors:
//     python_function: {loader_module: mlflow.xgboost, data: model.xgb, ...}
//     xgboost: {data: model.xgb, model_class: xgboost.sklearn.XGBClassifier,
//               model_format: xgb, xgb_version: ..., code: null}
//   signature:
//     inputs: '<JSON list of column specs>'    (a string holding JSON)
//     outputs: '<JSON>'
//     params: '<JSON list of param specs>'     (or null)
// A column spec (mlflow/types/schema.py, ColSpec.to_dict) is
//   {"type": "double", "name": "f0", "required": true}
// with name absent for unnamed columns and required absent in older MLflow versions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace predstore {

struct SignatureColumn {
  std::string name;  // "" for an unnamed column
  // As MLflow writes it: boolean, integer, long, float, double, string,
  // binary, datetime; or array, object, map, any for structured columns.
  std::string type;
  bool required = true;
};

// One inference parameter a signature declares (ParamSpec.to_dict).
struct SignatureParam {
  std::string name;
  std::string default_json;  // its "default", as JSON text ("null" when none)
};

struct MlModel {
  std::string dir;                   // absolute, lexically normal model directory
  std::vector<std::string> flavors;  // flavor names, sorted (python_function, xgboost, sklearn...)

  // The xgboost flavor, if present.
  bool has_xgboost = false;
  std::string xgboost_data_path;  // absolute path of the flavor's `data` file (model.xgb, model.json, model.ubj)
  // model_class; xgboost.core.Booster when absent (models saved by MLflow < 1.22).
  std::string xgboost_model_class;
  // model_format (xgb, json, ubj); the data file's extension when absent.
  std::string xgboost_model_format;

  // signature.inputs, when it is column-based. A tensor-based signature
  // (numpy arrays: {"type": "tensor", "tensor-spec": ...}) has no columns:
  // inputs stays empty and inputs_are_tensors is set; inputs_json has it raw.
  std::vector<SignatureColumn> inputs;
  bool inputs_are_tensors = false;
  std::string inputs_json;   // signature.inputs as written; "" without a signature
  std::string outputs_json;  // signature.outputs as written, for display
  // signature.params: [{"name": ..., "type": ..., "default": ..., "shape":
  // ...}]; empty when the signature declares none.
  std::vector<SignatureParam> params;
};

// Reads <model_dir>/MLmodel. kNotFound if there is no such file; kDataLoss
// naming the file and field when it is malformed: not YAML, no `flavors`
// mapping, an xgboost flavor without `data` (or with a data path outside
// the directory, or naming a missing file), a signature that is not the
// JSON MLflow writes. Blocks on file I/O.
absl::StatusOr<MlModel> ReadMlModel(std::string_view model_dir);

}  // namespace predstore
