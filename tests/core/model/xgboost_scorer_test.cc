#include "core/model/xgboost_scorer.h"

#include <xgboost/c_api.h>

#include <cmath>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

#include "core/model/sample_model.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/scratch_dir.h"
#include "tests/support/status_matchers.h"

namespace predstore {
namespace {

using ::predstore::test_support::StatusIs;
using ::testing::HasSubstr;

// XGBoost's own answer for `rows`: prediction through a DMatrix, the path its
// Python predict() takes, as opposed to the in-place path the scorer uses.
std::vector<float> ReferencePredictions(const std::string& model_file, const std::vector<float>& rows, int features) {
  BoosterHandle booster = nullptr;
  EXPECT_EQ(XGBoosterCreate(nullptr, 0, &booster), 0);
  EXPECT_EQ(XGBoosterLoadModel(booster, model_file.c_str()), 0) << XGBGetLastError();
  DMatrixHandle matrix = nullptr;
  EXPECT_EQ(XGDMatrixCreateFromMat(rows.data(), rows.size() / features, features, NAN, &matrix), 0);
  bst_ulong length = 0;
  const float* result = nullptr;
  EXPECT_EQ(XGBoosterPredict(booster, matrix, 0, 0, 0, &length, &result), 0) << XGBGetLastError();
  std::vector<float> predictions(result, result + length);
  XGDMatrixFree(matrix);
  XGBoosterFree(booster);
  return predictions;
}

class XGBoostScorerTest : public ::testing::TestWithParam<std::string> {};

TEST_P(XGBoostScorerTest, MatchesXGBoostOwnPredictionInEveryFormat) {
  test_support::ScratchDir scratch;
  SampleModelOptions options;
  options.features = 12;
  options.trees = 20;
  options.depth = 4;
  options.model_format = GetParam();
  const std::string dir = (scratch.path() / "model").string();
  ASSERT_TRUE(WriteSampleModel(options, dir).ok());
  const std::string model_file = dir + "/model." + GetParam();

  auto scorer = XGBoostScorer::LoadFile(model_file, 1);
  ASSERT_TRUE(scorer.ok()) << scorer.status();
  EXPECT_EQ((*scorer)->num_features(), 12u);
  EXPECT_EQ((*scorer)->outputs_per_row(), 1u);
  EXPECT_EQ((*scorer)->objective(), "binary:logistic");

  std::vector<float> rows = SampleFeatureRows(500, 12, /*seed=*/99);
  rows[3] = NAN;  // a missing value takes the trees' default branch
  std::vector<float> predictions;
  ASSERT_TRUE((*scorer)->Predict(rows, &predictions).ok());
  const std::vector<float> expected = ReferencePredictions(model_file, rows, 12);
  ASSERT_EQ(predictions.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(predictions[i], expected[i], 1e-6) << "row " << i;
  // Not a constant model: the predictions spread over the probability range.
  const auto [low, high] = std::minmax_element(predictions.begin(), predictions.end());
  EXPECT_LT(*low, 0.2f);
  EXPECT_GT(*high, 0.8f);
}

INSTANTIATE_TEST_SUITE_P(Formats, XGBoostScorerTest, ::testing::Values("xgb", "json", "ubj"));

TEST(XGBoostScorer, MultiClassGivesOneProbabilityPerClass) {
  test_support::ScratchDir scratch;
  SampleModelOptions options;
  options.features = 6;
  options.trees = 5;
  options.depth = 3;
  options.objective = "multi:softprob";
  const std::string dir = (scratch.path() / "model").string();
  ASSERT_TRUE(WriteSampleModel(options, dir).ok());
  auto scorer = XGBoostScorer::LoadFile(dir + "/model.xgb", 1);
  ASSERT_TRUE(scorer.ok()) << scorer.status();
  EXPECT_EQ((*scorer)->outputs_per_row(), 3u);
  std::vector<float> predictions;
  ASSERT_TRUE((*scorer)->Predict(SampleFeatureRows(10, 6, 3), &predictions).ok());
  ASSERT_EQ(predictions.size(), 30u);
  for (int row = 0; row < 10; ++row) {
    EXPECT_NEAR(predictions[row * 3] + predictions[row * 3 + 1] + predictions[row * 3 + 2], 1.0, 1e-5);
  }
}

TEST(XGBoostScorer, ConcurrentCallsGetTheirOwnAnswers) {
  test_support::ScratchDir scratch;
  SampleModelOptions options;
  options.features = 8;
  options.trees = 10;
  options.objective = "reg:squarederror";
  const std::string dir = (scratch.path() / "model").string();
  ASSERT_TRUE(WriteSampleModel(options, dir).ok());
  auto scorer = XGBoostScorer::LoadFile(dir + "/model.xgb", 1);
  ASSERT_TRUE(scorer.ok()) << scorer.status();
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      const std::vector<float> rows = SampleFeatureRows(50 + t, 8, 100 + t);
      std::vector<float> first;
      ASSERT_TRUE((*scorer)->Predict(rows, &first).ok());
      for (int repeat = 0; repeat < 200; ++repeat) {
        std::vector<float> again;
        ASSERT_TRUE((*scorer)->Predict(rows, &again).ok());
        if (again != first) ++mismatches[t];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_THAT(mismatches, ::testing::Each(0));
}

// The scorer reuses one proxy matrix per thread across calls and boosters:
// calls alternating between models of different widths and row counts on
// one thread must each see only their own rows.
TEST(XGBoostScorer, OneThreadAlternatingModelsGetsEachModelsAnswer) {
  test_support::ScratchDir scratch;
  struct Model {
    int features;
    std::string file;
    std::unique_ptr<XGBoostScorer> scorer;
  };
  std::vector<Model> models;
  for (int features : {5, 9}) {
    SampleModelOptions options;
    options.features = features;
    options.trees = 8;
    options.depth = 3;
    options.seed = 7 + features;
    const std::string dir = (scratch.path() / ("model" + std::to_string(features))).string();
    ASSERT_TRUE(WriteSampleModel(options, dir).ok());
    auto scorer = XGBoostScorer::LoadFile(dir + "/model.xgb", 1);
    ASSERT_TRUE(scorer.ok()) << scorer.status();
    models.push_back({features, dir + "/model.xgb", *std::move(scorer)});
  }
  for (int call = 0; call < 12; ++call) {
    Model& model = models[call % 2];
    const std::vector<float> rows = SampleFeatureRows(1 + call * 7, model.features, /*seed=*/call);
    std::vector<float> predictions;
    ASSERT_TRUE(model.scorer->Predict(rows, &predictions).ok());
    const std::vector<float> expected = ReferencePredictions(model.file, rows, model.features);
    ASSERT_EQ(predictions.size(), expected.size()) << "call " << call;
    for (size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(predictions[i], expected[i], 1e-6) << "call " << call;
  }
}

TEST(XGBoostScorer, MissingAndUnreadableFilesAreNamed) {
  test_support::ScratchDir scratch;
  EXPECT_THAT(XGBoostScorer::LoadFile((scratch.path() / "absent.xgb").string(), 1),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("absent.xgb")));
  const std::string garbage = (scratch.path() / "model.pkl").string();
  std::ofstream(garbage) << "\x80\x04\x95 not an xgboost model";
  EXPECT_THAT(XGBoostScorer::LoadFile(garbage, 1),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("model.pkl")));
}

TEST(XGBoostScorer, RejectsPartialRows) {
  test_support::ScratchDir scratch;
  SampleModelOptions options;
  options.features = 4;
  options.trees = 2;
  const std::string dir = (scratch.path() / "model").string();
  ASSERT_TRUE(WriteSampleModel(options, dir).ok());
  auto scorer = XGBoostScorer::LoadFile(dir + "/model.xgb", 1);
  ASSERT_TRUE(scorer.ok());
  std::vector<float> predictions;
  EXPECT_THAT((*scorer)->Predict(std::vector<float>(7, 0.0f), &predictions),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not whole rows of 4")));
}

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A sample binary:logistic model saved by this XGBoost as model.<format>.
std::string SaveSampleModel(const test_support::ScratchDir& scratch, const std::string& format) {
  SampleModelOptions options;
  options.features = 6;
  options.trees = 8;
  options.model_format = format;
  const std::string dir = (scratch.path() / ("model-" + format)).string();
  EXPECT_TRUE(WriteSampleModel(options, dir).ok());
  return dir + "/model." + format;
}

TEST(XGBoostScorer, ReadsTheVersionThatSavedAModelInEveryFormat) {
  test_support::ScratchDir scratch;
  int major = 0, minor = 0, patch = 0;
  XGBoostVersion(&major, &minor, &patch);
  for (const std::string format : {"json", "ubj", "xgb"}) {
    SCOPED_TRACE(format);
    std::optional<ModelVersion> version = ModelWriterVersion(ReadBytes(SaveSampleModel(scratch, format)));
    ASSERT_TRUE(version.has_value());
    EXPECT_EQ(version->major, major);
    EXPECT_EQ(version->minor, minor);
    EXPECT_EQ(version->patch, format == "xgb" ? -1 : patch);  // the legacy binary records no patch
  }
  EXPECT_FALSE(ModelWriterVersion("").has_value());
  EXPECT_FALSE(ModelWriterVersion("{\"learner\": {}}").has_value());
  EXPECT_FALSE(ModelWriterVersion("binf").has_value());
}

// A JSON model as XGBoost 2.x writes it (gbtree gains iteration_indptr and
// loses size_leaf_vector; the version says 2.1.4) scores as the 1.7 file
// it came from. One saved by 3.1 is refused, naming both versions: 3.1
// writes base_score as a vector, which 1.7 would silently misread.
TEST(XGBoostScorer, LoadsModelsFromXGBoost2AndRefusesThoseFrom31On) {
  test_support::ScratchDir scratch;
  nlohmann::json model = nlohmann::json::parse(ReadBytes(SaveSampleModel(scratch, "json")));
  nlohmann::json& gbtree = model["learner"]["gradient_booster"]["model"];
  const size_t trees = gbtree["trees"].size();
  nlohmann::json indptr = nlohmann::json::array();
  for (size_t i = 0; i <= trees; ++i) indptr.push_back(i);
  gbtree["iteration_indptr"] = indptr;
  gbtree["gbtree_model_param"].erase("size_leaf_vector");
  model["version"] = {2, 1, 4};
  const std::string v2_file = scratch.WriteFile("v2.json", model.dump()).string();

  const std::vector<float> rows = SampleFeatureRows(200, 6, /*seed=*/5);
  auto original = XGBoostScorer::LoadFile(SaveSampleModel(scratch, "json"), 1);
  auto v2 = XGBoostScorer::LoadFile(v2_file, 1);
  ASSERT_TRUE(original.ok() && v2.ok()) << v2.status();
  std::vector<float> expected, predictions;
  ASSERT_TRUE((*original)->Predict(rows, &expected).ok());
  ASSERT_TRUE((*v2)->Predict(rows, &predictions).ok());
  EXPECT_EQ(predictions, expected);

  nlohmann::json& base_score = model["learner"]["learner_model_param"]["base_score"];
  base_score = "[" + base_score.get<std::string>() + "]";
  model["version"] = {3, 1, 0};
  EXPECT_THAT(XGBoostScorer::LoadFile(scratch.WriteFile("v31.json", model.dump()).string(), 1).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       ::testing::AllOf(HasSubstr("v31.json was saved by XGBoost 3.1.0"), HasSubstr("XGBoost 1.7"))));

  // UBJSON: the version's three integers close the document.
  std::string ubj = ReadBytes(SaveSampleModel(scratch, "ubj"));
  ubj[ubj.size() - 6] = 3, ubj[ubj.size() - 4] = 1, ubj[ubj.size() - 2] = 0;
  ASSERT_EQ(ModelWriterVersion(ubj)->major, 3);
  EXPECT_THAT(XGBoostScorer::LoadFile(scratch.WriteFile("v31.ubj", ubj).string(), 1).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("saved by XGBoost 3.1.0")));

  // Legacy binary: major and minor versions at bytes 20 and 24 after "binf".
  std::string binary = ReadBytes(SaveSampleModel(scratch, "xgb"));
  ASSERT_EQ(binary.substr(0, 4), "binf");
  binary[24] = 3, binary[28] = 2;
  EXPECT_THAT(XGBoostScorer::LoadFile(scratch.WriteFile("v32.xgb", binary).string(), 1).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("saved by XGBoost 3.2,")));
}

}  // namespace
}  // namespace predstore
