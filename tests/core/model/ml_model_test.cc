#include "core/model/ml_model.h"

#include <filesystem>
#include <fstream>
#include <ostream>
#include <string>
#include <string_view>

#include "core/base/strings.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/scratch_dir.h"
#include "tests/support/status_matchers.h"

namespace predstore {

void PrintTo(const SignatureColumn& column, std::ostream* os) {
  *os << "{" << column.name << ": " << column.type << (column.required ? "" : ", optional") << "}";
}

namespace {

namespace fs = std::filesystem;
using test_support::ScratchDir;
using test_support::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

MATCHER_P3(IsColumn, name, type, required, "") {
  return arg.name == name && arg.type == type && arg.required == required;
}

void WriteTextFile(const fs::path& file, std::string_view contents) {
  fs::create_directories(file.parent_path());
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  out.close();
  ASSERT_TRUE(out) << "cannot write " << file;
}

// MLmodel of mlflow.xgboost.log_model(XGBClassifier, ...) in MLflow 3, as
// yaml.safe_dump writes it: keys sorted, the signature's JSON strings single
// quoted and folded at 80 columns.
constexpr char kXgboostMlmodel[] = R"yaml(artifact_path: model
flavors:
  python_function:
    data: model.xgb
    env:
      conda: conda.yaml
      virtualenv: python_env.yaml
    loader_module: mlflow.xgboost
    python_version: 3.11.9
  xgboost:
    code: null
    data: model.xgb
    model_class: xgboost.sklearn.XGBClassifier
    model_format: xgb
    xgb_version: 2.1.3
is_signature_from_type_hint: false
mlflow_version: 3.1.1
model_id: m-8d1c6a2e4b7f40e9a3c5d2b1f0e9a8c7
model_size_bytes: 35812
model_uuid: m-8d1c6a2e4b7f40e9a3c5d2b1f0e9a8c7
prompts: null
run_id: 5f2a9c1d8e3b4a6f9d0c7b1e2a3f4d5c
signature:
  inputs: '[{"type": "double", "name": "tenure months", "required": true}, {"type":
    "long", "name": "support_calls", "required": true}, {"type": "boolean", "name":
    "has_contract", "required": true}, {"type": "string", "name": "country''s code",
    "required": false}]'
  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]'
  params: null
type_hint_from_example: false
utc_time_created: '2025-06-01 12:00:00.123456'
)yaml";

// MLmodel of mlflow.sklearn.log_model in MLflow 2.17.
constexpr char kSklearnMlmodel[] = R"yaml(artifact_path: model
flavors:
  python_function:
    env:
      conda: conda.yaml
      virtualenv: python_env.yaml
    loader_module: mlflow.sklearn
    model_path: model.pkl
    predict_fn: predict
    python_version: 3.11.9
  sklearn:
    code: null
    pickled_model: model.pkl
    serialization_format: cloudpickle
    sklearn_version: 1.5.2
mlflow_version: 2.17.2
model_size_bytes: 1201
model_uuid: 0c3e7b3c1c2f4f0b9b3f2f6f1d9e8a7b
run_id: 5f2a9c1d8e3b4a6f9d0c7b1e2a3f4d5c
signature:
  inputs: '[{"type": "double", "name": "sepal length (cm)", "required": true}, {"type":
    "double", "name": "sepal width (cm)", "required": true}]'
  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]'
  params: null
utc_time_created: '2024-11-20 10:00:00.654321'
)yaml";

class MlModelTest : public ::testing::Test {
 protected:
  fs::path Model(std::string_view name, std::string_view mlmodel) {
    const fs::path dir = scratch_.path() / name;
    WriteTextFile(dir / "MLmodel", mlmodel);
    return dir;
  }

  ScratchDir scratch_;
};

TEST_F(MlModelTest, ReadsAnXgboostModelWithItsSignature) {
  const fs::path dir = Model("churn", kXgboostMlmodel);
  WriteTextFile(dir / "model.xgb", "binary booster");
  ASSERT_OK_AND_ASSIGN(const MlModel model, ReadMlModel(dir.string() + "/"));
  EXPECT_EQ(model.dir, dir.string());
  EXPECT_THAT(model.flavors, ElementsAre("python_function", "xgboost"));
  EXPECT_TRUE(model.has_xgboost);
  EXPECT_EQ(model.xgboost_data_path, (dir / "model.xgb").string());
  EXPECT_EQ(model.xgboost_model_class, "xgboost.sklearn.XGBClassifier");
  EXPECT_EQ(model.xgboost_model_format, "xgb");
  EXPECT_FALSE(model.inputs_are_tensors);
  EXPECT_THAT(model.inputs,
              ElementsAre(IsColumn("tenure months", "double", true), IsColumn("support_calls", "long", true),
                          IsColumn("has_contract", "boolean", true), IsColumn("country's code", "string", false)));
  EXPECT_THAT(model.inputs_json, HasSubstr(R"({"type": "long", "name": "support_calls", "required": true})"));
  EXPECT_EQ(model.outputs_json, R"([{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}])");
}

TEST_F(MlModelTest, ReadsAnSklearnOnlyModel) {
  const fs::path dir = Model("iris", kSklearnMlmodel);
  ASSERT_OK_AND_ASSIGN(const MlModel model, ReadMlModel(dir.string()));
  EXPECT_THAT(model.flavors, ElementsAre("python_function", "sklearn"));
  EXPECT_FALSE(model.has_xgboost);
  EXPECT_THAT(model.xgboost_data_path, IsEmpty());
  EXPECT_THAT(model.inputs,
              ElementsAre(IsColumn("sepal length (cm)", "double", true), IsColumn("sepal width (cm)", "double", true)));
}

TEST_F(MlModelTest, AppliesMlflowDefaultsToOldXgboostModels) {
  // MLflow < 1.22 wrote neither model_class nor model_format; older versions a
  // column spec had no "required".
  const fs::path dir = Model("old", R"yaml(artifact_path: model
flavors:
  python_function:
    data: model.json
    loader_module: mlflow.xgboost
  xgboost:
    data: model.json
    xgb_version: 1.3.3
signature:
  inputs: '[{"name": "x", "type": "float"}, {"name": "y", "type": "integer"}]'
  outputs: null
utc_time_created: '2021-03-01 09:00:00.000000'
)yaml");
  WriteTextFile(dir / "model.json", "{}");
  ASSERT_OK_AND_ASSIGN(const MlModel model, ReadMlModel(dir.string()));
  EXPECT_EQ(model.xgboost_model_class, "xgboost.core.Booster");
  EXPECT_EQ(model.xgboost_model_format, "json");
  EXPECT_THAT(model.inputs, ElementsAre(IsColumn("x", "float", true), IsColumn("y", "integer", true)));
  EXPECT_THAT(model.outputs_json, IsEmpty());
}

TEST_F(MlModelTest, TensorSignaturesHaveNoColumns) {
  const fs::path dir = Model("images", R"yaml(flavors:
  python_function:
    loader_module: mlflow.pytorch
  pytorch:
    model_data: data
signature:
  inputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 28,
    28]}}]'
  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 10]}}]'
  params: null
)yaml");
  ASSERT_OK_AND_ASSIGN(const MlModel model, ReadMlModel(dir.string()));
  EXPECT_TRUE(model.inputs_are_tensors);
  EXPECT_THAT(model.inputs, IsEmpty());
  EXPECT_THAT(model.inputs_json, HasSubstr("\"shape\": [-1, 28, 28]"));
}

TEST_F(MlModelTest, AModelWithoutSignatureHasNoInputs) {
  const fs::path dir = Model("bare", "flavors:\n  sklearn:\n    pickled_model: model.pkl\n");
  ASSERT_OK_AND_ASSIGN(const MlModel model, ReadMlModel(dir.string()));
  EXPECT_THAT(model.flavors, ElementsAre("sklearn"));
  EXPECT_THAT(model.inputs, IsEmpty());
  EXPECT_THAT(model.inputs_json, IsEmpty());
}

TEST_F(MlModelTest, MissingMlmodelIsNotFound) {
  fs::create_directories(scratch_.path() / "empty");
  EXPECT_THAT(ReadMlModel((scratch_.path() / "empty").string()),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr((scratch_.path() / "empty" / "MLmodel").string())));
  EXPECT_THAT(ReadMlModel((scratch_.path() / "nowhere").string()),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("nowhere")));
}

TEST_F(MlModelTest, MalformedFilesAreDataLossNamingFileAndField) {
  struct Case {
    std::string mlmodel;
    std::string field;  // expected in the message
  };
  const std::string xgboost_flavor = "flavors:\n  xgboost:\n    data: model.xgb\n";
  const Case cases[] = {
      {"flavors: [python_function\n", "malformed YAML"},
      {"- just\n- a list\n", "not a YAML mapping"},
      {"mlflow_version: 2.9.2\n", "'flavors' is missing"},
      {"flavors: xgboost\n", "'flavors' is not a mapping"},
      {"flavors:\n  xgboost:\n    model_format: xgb\n", "'flavors.xgboost.data' is missing"},
      {"flavors:\n  xgboost:\n    data: ../elsewhere/model.xgb\n", "'flavors.xgboost.data'"},
      {"flavors:\n  xgboost:\n    data: /etc/model.xgb\n", "'flavors.xgboost.data'"},
      {"flavors:\n  xgboost:\n    data: missing.xgb\n", "'flavors.xgboost.data' names"},
      {xgboost_flavor + "signature:\n  inputs: '[{\"type\": \"double\", \"name\"'\n",
       "'signature.inputs' is not valid JSON"},
      {xgboost_flavor + "signature:\n  inputs: '{\"type\": \"double\"}'\n", "'signature.inputs' is not a JSON list"},
      {xgboost_flavor + "signature:\n  inputs: '[{\"name\": \"x\"}]'\n",
       "'signature.inputs[0]' has no string \"type\""},
      {xgboost_flavor + "signature:\n  inputs: '[{\"type\": \"double\", \"required\": \"yes\"}]'\n",
       "'signature.inputs[0]' has a \"required\""},
      {xgboost_flavor + "signature:\n  inputs:\n    - a\n", "'signature.inputs' is not text"},
  };
  for (const Case& c : cases) {
    const fs::path dir = Model("bad", c.mlmodel);
    WriteTextFile(dir / "model.xgb", "booster");
    EXPECT_THAT(ReadMlModel(dir.string()),
                StatusIs(absl::StatusCode::kDataLoss, AllOf(HasSubstr((dir / "MLmodel").string()), HasSubstr(c.field))))
        << c.mlmodel;
  }
}

}  // namespace
}  // namespace predstore
