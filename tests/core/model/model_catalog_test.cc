#include "core/model/model_catalog.h"

#include <atomic>
#include <fstream>
#include <map>
#include <thread>

#include "core/model/sample_model.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/scratch_dir.h"
#include "tests/support/status_matchers.h"

namespace predstore {
namespace {

using test_support::StatusIs;
using test_support::ValueOrDie;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class ModelCatalogTest : public ::testing::Test {
 protected:
  // Trains (once per seed) a small model and registers it as `version`.
  void Register(int64_t version, const std::string& stage, std::vector<std::string> aliases = {}) {
    const std::string dir = (scratch_.path() / ("model-v" + std::to_string(version))).string();
    if (!std::filesystem::exists(dir + "/MLmodel")) {
      SampleModelOptions options;
      options.features = 4;
      options.trees = 5;
      options.depth = 3;
      options.seed = static_cast<uint64_t>(version);
      ASSERT_TRUE(WriteSampleModel(options, dir).ok());
    }
    ASSERT_TRUE(WriteSampleRegistration(registry(), {"churn", version, stage, std::move(aliases), dir}).ok());
  }
  std::string registry() const { return (scratch_.path() / "mlruns").string(); }
  static ModelReference Ref(std::string_view uri) { return *ParseModelReference(uri); }

  test_support::ScratchDir scratch_;
};

TEST_F(ModelCatalogTest, ServesEveryStageAndAliasSideBySide) {
  Register(1, "Production");
  Register(2, "Staging");
  Register(3, "None");
  Register(4, "None", {"champion"});
  Register(5, "Archived");
  auto catalog = ModelCatalog::Open({registry(), 1});
  ASSERT_TRUE(catalog.ok()) << catalog.status();
  std::vector<int64_t> served;
  for (const ServedVersionInfo& info : (*catalog)->Served()) served.push_back(info.version);
  EXPECT_THAT(served, ElementsAre(1, 2, 4, 5));  // 5: Archived, but the latest version

  auto version_of = [&](std::string_view uri) -> int64_t {
    auto model = (*catalog)->Resolve(Ref(uri));
    return model.ok() ? (*model)->version : -1;
  };
  EXPECT_EQ(version_of("models:/churn/Production"), 1);
  EXPECT_EQ(version_of("models:/churn/staging"), 2);
  EXPECT_EQ(version_of("models:/churn@champion"), 4);
  EXPECT_EQ(version_of("models:/churn/2"), 2);
  EXPECT_EQ(version_of("models:/churn/latest"), 5);
  EXPECT_EQ(version_of("models:/churn@latest"), 5);  // MLflow 3.3 reserves the alias for the latest version
  EXPECT_THAT((*catalog)->Resolve(Ref("models:/churn/3")),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("only versions with a stage or an alias")));
  EXPECT_THAT((*catalog)->Resolve(Ref("models:/churn@nope")),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no alias 'nope'")));
  EXPECT_THAT((*catalog)->Resolve(Ref("models:/other/Production")),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("'other'")));
  EXPECT_THAT((*catalog)->Resolve(Ref("/some/model/dir")), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("registered")));
}

TEST_F(ModelCatalogTest, ReloadSwapsAPromotionWhileHeldModelsStayUsable) {
  Register(1, "Production");
  Register(2, "Staging");
  auto catalog = ModelCatalog::Open({registry(), 1});
  ASSERT_TRUE(catalog.ok()) << catalog.status();
  auto held = (*catalog)->Resolve(Ref("models:/churn/Production"));
  ASSERT_TRUE(held.ok());

  Register(2, "Production");
  Register(1, "Archived");
  auto summary = (*catalog)->Reload();
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->loaded, 0);  // version 2 was already loaded for Staging: reused, not reloaded
  EXPECT_EQ(summary->unloaded, 1);
  EXPECT_EQ((*(*catalog)->Resolve(Ref("models:/churn/Production")))->version, 2);
  EXPECT_THAT((*catalog)->Resolve(Ref("models:/churn/Staging")), StatusIs(absl::StatusCode::kNotFound, HasSubstr("Staging")));
  // A request that resolved version 1 before the swap still scores with it.
  std::vector<float> outputs;
  EXPECT_TRUE((*held)->scorer->Predict(SampleFeatureRows(3, 4, 1), &outputs).ok());
  EXPECT_EQ(outputs.size(), 3u);
}

TEST_F(ModelCatalogTest, AVersionThatFailsToLoadLeavesThePreviousOneServing) {
  Register(1, "Production");
  auto catalog = ModelCatalog::Open({registry(), 1});
  ASSERT_TRUE(catalog.ok()) << catalog.status();
  EXPECT_THAT((*catalog)->LastErrors(), IsEmpty());

  // Version 2: a pickled scikit-learn model, which C++ cannot run.
  const std::filesystem::path sklearn_dir = scratch_.path() / "sklearn";
  std::filesystem::create_directories(sklearn_dir);
  std::ofstream(sklearn_dir / "MLmodel") << "flavors:\n  python_function:\n    loader_module: mlflow.sklearn\n"
                                            "  sklearn:\n    pickled_model: model.pkl\n";
  ASSERT_TRUE(WriteSampleRegistration(registry(), {"churn", 2, "Production", {}, sklearn_dir.string()}).ok());
  auto summary = (*catalog)->Reload();
  ASSERT_TRUE(summary.ok());
  ASSERT_EQ(summary->errors.size(), 1u);
  EXPECT_THAT(summary->errors[0], HasSubstr("sklearn"));
  EXPECT_THAT((*catalog)->LastErrors(), ElementsAre(HasSubstr("churn version 2")));
  EXPECT_EQ((*(*catalog)->Resolve(Ref("models:/churn/Production")))->version, 1);
  EXPECT_THAT((*catalog)->Resolve(Ref("models:/churn/2")),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("only the xgboost flavor")));
  // Said where operators look: Production (and latest) stand in with v1.
  EXPECT_THAT((*catalog)->StandIns(),
              ::testing::UnorderedElementsAre(AllOf(HasSubstr("churn Production \u2192 v1 (v2 failed to load: "), HasSubstr("sklearn")),
                          HasSubstr("churn latest \u2192 v1 (v2 failed to load: ")));
  // The loader resolves the same version, and fails on it as MLflow would.
  EXPECT_THAT(LoadModelFromReference(registry(), "models:/churn/Production", 1).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("sklearn")));
  // A server started now has no older version to keep: the name is refused
  // with the reason, not silently served by another version.
  auto fresh = ModelCatalog::Open({registry(), 1});
  ASSERT_TRUE(fresh.ok());
  EXPECT_THAT((*fresh)->Resolve(Ref("models:/churn/Production")),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("v2 failed to load")));
  EXPECT_THAT((*fresh)->StandIns(), IsEmpty());
}

TEST_F(ModelCatalogTest, AnUnreadableRegistryKeepsTheCurrentModels) {
  Register(1, "Production");
  auto catalog = ModelCatalog::Open({registry(), 1});
  ASSERT_TRUE(catalog.ok());
  std::filesystem::rename(registry(), registry() + ".moved");
  EXPECT_THAT((*catalog)->Reload(), StatusIs(absl::StatusCode::kUnavailable, HasSubstr("registry")));
  EXPECT_TRUE((*catalog)->Resolve(Ref("models:/churn/Production")).ok());
  EXPECT_THAT(ModelCatalog::Open({(scratch_.path() / "absent").string(), 1}).status(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("absent")));
}

// Scoring on several threads while promotions are reloaded, version 1 being
// loaded and unloaded each time: every call scores with one whole version,
// exactly as that version scores alone. (Also the ThreadSanitizer pass's
// model-reload-under-load test: tests/sanitizers/.)
TEST_F(ModelCatalogTest, ReloadsUnderConcurrentScoringScoreEachCallWithOneWholeVersion) {
  Register(1, "Production");
  Register(2, "Staging");
  auto catalog = ValueOrDie(ModelCatalog::Open({registry(), 1}));
  const std::vector<float> rows = SampleFeatureRows(16, 4, 7);
  std::map<int64_t, std::vector<float>> expected;
  for (std::string_view uri : {"models:/churn/Production", "models:/churn/Staging"}) {
    auto model = ValueOrDie(catalog->Resolve(Ref(uri)));
    ASSERT_TRUE(model->scorer->Predict(rows, &expected[model->version]).ok());
  }
  ASSERT_NE(expected[1], expected[2]);

  std::atomic<bool> done{false};
  std::atomic<uint64_t> calls{0};
  auto score = [&] {
    std::vector<float> outputs;
    while (!done.load()) {
      auto model = ValueOrDie(catalog->Resolve(Ref("models:/churn/Production")));
      ASSERT_TRUE(model->scorer->Predict(rows, &outputs).ok());
      ASSERT_EQ(outputs, expected.at(model->version)) << "version " << model->version;
      calls.fetch_add(1);
    }
  };
  std::vector<std::thread> scorers;
  for (int i = 0; i < 3; ++i) scorers.emplace_back(score);
  for (int round = 0; round < 6; ++round) {
    // Version 2 is the latest, so always served; version 1 only while Production.
    const int64_t production = round % 2 == 0 ? 2 : 1;
    Register(production, "Production");
    Register(3 - production, "None");
    ASSERT_TRUE(catalog->Reload().ok());
    ASSERT_EQ(ValueOrDie(catalog->Resolve(Ref("models:/churn/Production")))->version, production);
  }
  done = true;
  for (std::thread& scorer : scorers) scorer.join();
  EXPECT_GT(calls.load(), 0u);
}

}  // namespace
}  // namespace predstore
