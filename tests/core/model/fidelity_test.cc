// Fidelity against XGBoost's and MLflow's own Python: every model the script
// tests/support/make_fidelity_models.py saves (Booster, XGBClassifier and
// XGBRegressor; binary:logistic, reg:squarederror and multi:softprob; JSON,
// UBJSON and the legacy binary format; early stopping, reordered
// signatures, optional columns, an integer column) is loaded as an MLflow
// model and scored row by row through ServedModel's path. Each row must
// agree with the script's Python prediction of the same file to 1e-6, or
// fail as MLflow fails it (an absent required column, a missing integer).
// Rows carry missing values in every form a request can: an absent
// feature, an unset value (null) and NaN.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/model/served_model.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/scratch_dir.h"

namespace predstore {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;

constexpr double kTolerance = 1e-6;

// Runs the generator into `dir` and returns its cases.json.
Json MakeFidelityModels(const std::filesystem::path& dir) {
  const std::string command = std::string(PREDSTORE_PYTHON) + " " + PREDSTORE_SOURCE_DIR +
                              "/tests/support/make_fidelity_models.py " + dir.string() + " >" +
                              (dir / "generator.log").string() + " 2>&1";
  if (std::system(command.c_str()) != 0) {
    std::ifstream log(dir / "generator.log");
    ADD_FAILURE() << command << " failed:\n" << std::string(std::istreambuf_iterator<char>(log), {});
    return Json::array();
  }
  return Json::parse(std::ifstream(dir / "cases.json"));
}

// How MLflow treats one row of `features` for `model`: the name of the
// first feature (in scoring order) that makes the row an error, or nullopt.
std::optional<std::string> RowErrorFeature(const ServedModel& model, const Json& features) {
  for (const SignatureColumn& column : model.features) {
    const bool absent = !features.contains(column.name);
    if (absent && column.required) return column.name;
    const bool missing = absent || features[column.name].is_null() || features[column.name] == "NaN";
    if (missing && !absent && column.type != "double" && column.type != "float") return column.name;
  }
  return std::nullopt;
}

// One request row: each named feature as a request sends it (a JSON integer
// as an int64 cell, other numbers as doubles, "NaN" as a NaN double, null as
// an unset value); absent features are not named.
struct RequestRow {
  std::vector<std::string> names;
  FeatureRows rows;
};

RequestRow RequestRowOf(const Json& features) {
  RequestRow request;
  for (const auto& [name, value] : features.items()) request.names.push_back(name);
  request.rows.rows = 1;
  for (const std::string& name : request.names) {
    request.rows.names.push_back(name);
    const Json& value = features[name];
    if (value.is_null()) {
      request.rows.values.push_back(std::nullopt);
    } else if (value.is_string()) {
      request.rows.values.push_back(CellView(std::nan("")));
    } else if (value.is_number_integer()) {
      request.rows.values.push_back(CellView(value.get<int64_t>()));
    } else {
      request.rows.values.push_back(CellView(value.get<double>()));
    }
  }
  return request;
}

// The Python values predstore must give for `row` of `fidelity_case`:
// MLflow's pyfunc predicts a plain Booster with every tree, and the
// scikit-learn classes up to best_iteration.
// `field` is "probability", "label" or "margin"; empty for a label of a
// model that has none.
std::vector<double> ExpectedOutputs(const Json& fidelity_case, const Json& row, const std::string& field) {
  const bool all_trees = !fidelity_case["pyfunc_uses_best_iteration"].get<bool>();
  const std::string all_trees_field = field + "_all_trees";
  const Json& expected = all_trees && row.contains(all_trees_field) ? row[all_trees_field] : row[field];
  if (expected.is_null()) return {};
  if (expected.is_array()) return expected.get<std::vector<double>>();
  return {expected.get<double>()};
}

TEST(FidelityTest, EverySavedModelScoresAsXGBoostAndMLflowDo) {
  test_support::ScratchDir dir;
  const Json cases = MakeFidelityModels(dir.path());
  ASSERT_GE(cases.size(), 30u);
  std::string report;
  for (const Json& fidelity_case : cases) {
    const std::string name = fidelity_case["name"];
    SCOPED_TRACE(name);
    auto model = LoadServedModel(name, 1, (dir.path() / fidelity_case["model_dir"].get<std::string>()).string(), 1);
    ASSERT_TRUE(model.ok()) << model.status();
    const bool sklearn = fidelity_case["pyfunc_uses_best_iteration"].get<bool>();
    const int64_t rounds = fidelity_case["num_rounds"];
    const int64_t best = fidelity_case["best_iteration"].is_null() ? -1 : fidelity_case["best_iteration"].get<int64_t>();
    // 0 means every tree.
    const int64_t rounds_used = (*model)->scorer->rounds_used();
    if (sklearn && best >= 0 && best + 1 < rounds) {
      EXPECT_EQ(rounds_used, best + 1);
    } else if (!sklearn) {
      EXPECT_EQ(rounds_used, 0);
    }
    // The largest |predstore - XGBoost| per output kind.
    std::map<OutputKind, double> max_error;
    int scored = 0, refused = 0;
    for (size_t r = 0; r < fidelity_case["rows"].size(); ++r) {
      const Json& row = fidelity_case["rows"][r];
      SCOPED_TRACE("row " + std::to_string(r) + ": " + row["features"].dump());
      const RequestRow request = RequestRowOf(row["features"]);
      absl::StatusOr<std::vector<float>> features = ScoringRows(**model, request.rows);
      if (std::optional<std::string> bad = RowErrorFeature(**model, row["features"])) {
        ASSERT_FALSE(features.ok());
        EXPECT_THAT(std::string(features.status().message()), HasSubstr("feature '" + *bad + "'"));
        ++refused;
        continue;
      }
      ASSERT_TRUE(features.ok()) << features.status();
      for (OutputKind kind : {OutputKind::kProbability, OutputKind::kLabel, OutputKind::kMargin}) {
        SCOPED_TRACE(std::string(OutputKindName(kind)));
        const std::vector<double> expected = ExpectedOutputs(fidelity_case, row, std::string(OutputKindName(kind)));
        std::vector<float> outputs;
        const absl::Status status = (*model)->scorer->Predict(*features, &outputs, kind);
        if (expected.empty()) {  // a regressor has no label
          EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
          continue;
        }
        ASSERT_TRUE(status.ok()) << status;
        ASSERT_EQ(outputs.size(), expected.size());
        ASSERT_EQ((*model)->scorer->outputs_per_row(kind), expected.size());
        for (size_t i = 0; i < expected.size(); ++i) {
          EXPECT_NEAR(outputs[i], expected[i], kTolerance) << "output " << i;
          max_error[kind] = std::max(max_error[kind], std::abs(outputs[i] - expected[i]));
        }
      }
      ++scored;
    }
    char label[32] = "-";
    if (max_error.contains(OutputKind::kLabel)) std::snprintf(label, sizeof label, "%.3g", max_error[OutputKind::kLabel]);
    char line[240];
    std::snprintf(line, sizeof line, "%-44s scored %2d refused %2d max |error| probability %.3g label %s margin %.3g\n",
                  name.c_str(), scored, refused, max_error[OutputKind::kProbability], label,
                  max_error[OutputKind::kMargin]);
    report += line;
  }
  std::printf("%s", report.c_str());
}

}  // namespace
}  // namespace predstore
