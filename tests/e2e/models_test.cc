// End-to-end: predstore-server serving XGBoost models from an MLflow
// registry (file store and SQLite) next to its tables, driven by the real
// client library and predstore-cli. Expected predictions come from XGBoost
// itself (xgboost_reference.h), never through predstore's scorer.
#include <sqlite3.h>
#include <xgboost/c_api.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "client/predstore_client.h"
#include "core/base/strings.h"
#include "core/model/sample_model.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/forecast_requests.h"
#include "tests/e2e/subprocess.h"
#include "tests/e2e/xgboost_reference.h"
#include "tests/support/mlflow_sqlite.h"
#include "tests/support/scratch_dir.h"

namespace predstore::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr int kInputRows = 16;

// The feature rows every test scores (row-major, kFeatures per row).
const std::vector<float>& Inputs() {
  static const std::vector<float> inputs = SampleFeatureRows(kInputRows, kFeatures, /*seed=*/2024);
  return inputs;
}

std::vector<float> InputRow(int row) {
  return std::vector<float>(Inputs().begin() + row * kFeatures, Inputs().begin() + (row + 1) * kFeatures);
}

// Predict on `count` input rows from `first`, features named in `order`
// (indexes into kFeatureNames; any order is allowed).
v1::PredictRequest PredictOf(const std::string& model, int first, int count,
                             const std::vector<int>& order = {0, 1, 2, 3, 4}) {
  v1::PredictRequest request;
  request.set_model(model);
  for (int f : order) request.add_feature_names(kFeatureNames[f]);
  for (int r = first; r < first + count; ++r) {
    v1::FeatureRow* row = request.add_rows();
    for (int f : order) *row->add_values() = Double(Inputs()[r * kFeatures + f]);
  }
  return request;
}

// Whether `response` holds exactly expected[first, first + count), one value each.
bool PredictionsMatch(const v1::PredictResponse& response, const std::vector<float>& expected, int first, int count) {
  if (response.predictions_size() != count) return false;
  for (int i = 0; i < count; ++i) {
    const v1::Prediction& prediction = response.predictions(i);
    if (prediction.values_size() != 1 || std::abs(prediction.values(0) - expected[first + i]) > kTolerance) {
      return false;
    }
  }
  return true;
}

std::string Text(const v1::PredictResponse& response) {
  std::string text = StrCat(response.model_name(), " v", response.model_version(), ":");
  for (const v1::Prediction& p : response.predictions()) {
    for (float v : p.values()) StrAppend(&text, " ", v);
  }
  return text;
}

// An absl::Status with `code` whose message matches `message_matcher`.
MATCHER_P2(HasCodeAndMessage, code, message_matcher, "") {
  *result_listener << "status " << arg;
  return arg.code() == code &&
         ::testing::ExplainMatchResult(message_matcher, std::string(arg.message()), result_listener);
}

// A model version trained for a test, with XGBoost's predictions for Inputs().
struct TrainedModel {
  fs::path dir;
  std::vector<float> expected;
};

class ModelsTest : public ::testing::Test {
 protected:
  void SetUp() override { fs::create_directories(data()); }

  fs::path Path(const std::string& name) const { return dir_.path() / name; }
  fs::path data() const { return Path("data"); }
  fs::path mlruns() const { return Path("mlruns"); }
  std::string Registry() const { return "--model_registry=" + mlruns().string(); }

  // Trains a small seeded model into <scratch>/<name>.
  TrainedModel Train(const std::string& name, uint64_t seed) {
    const fs::path dir = Path(name);
    const absl::Status status = WriteSampleModel(SmallSampleModel(seed), dir.string());
    EXPECT_TRUE(status.ok()) << status;
    return {dir, XGBoostPredict(dir / "model.xgb", Inputs())};
  }

  // (Re)writes version `version` of model "m" in the file-store registry.
  void Register(const fs::path& model_dir, int64_t version, const std::string& stage,
                std::vector<std::string> aliases = {}) {
    const absl::Status status =
        WriteSampleRegistration(mlruns().string(), {"m", version, stage, std::move(aliases), model_dir.string()});
    ASSERT_TRUE(status.ok()) << status;
  }

  // Loads the sample forecasts (predstore-load sample) as table "forecasts".
  std::vector<Row> LoadForecasts(int rows) {
    const fs::path csv = Path("forecasts.csv");
    ProgramResult sample =
        RunProgram({LoaderBinary(), "sample", "--rows=" + std::to_string(rows), "--out=" + csv.string()});
    EXPECT_EQ(sample.exit_code, 0) << sample.err;
    LoadTable("forecasts", csv, kValues);
    return ReadSampleCsv(csv);
  }

  void LoadTable(const std::string& table, const fs::path& file, const std::string& values) {
    ProgramResult load = RunProgram(
        {LoaderBinary(), "load", "--data_dir=" + data().string(), "--table=" + table, kKeys, values, file.string()});
    EXPECT_EQ(load.exit_code, 0) << load.err;
  }

  static std::string Log(const ServerProcess& server) {
    std::ifstream in(server.log_path());
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  test_support::ScratchDir dir_;
};

// --------------------------------------------------------------------------
// 1. Stages and aliases side by side.

TEST_F(ModelsTest, StagesAndAliasesAnswerSideBySideWithXGBoostsOwnPredictions) {
  const TrainedModel v1 = Train("v1", 1), v2 = Train("v2", 2), v3 = Train("v3", 3);
  Register(v1.dir, 1, "Production");
  Register(v2.dir, 2, "Staging");
  Register(v3.dir, 3, "None", {"challenger"});
  ServerProcess server(data(), {Registry(), "--refresh_interval_ms=0"});
  ASSERT_TRUE(server.started());
  PredstoreClient client(ClientFor(server.target()));

  struct Case {
    std::string model;
    int64_t version;
    const TrainedModel* trained;
  };
  for (const Case& c :
       {Case{"models:/m/Production", 1, &v1}, Case{"models:/m/production", 1, &v1}, Case{"models:/m/Staging", 2, &v2},
        Case{"models:/m@challenger", 3, &v3}, Case{"models:/m/1", 1, &v1}, Case{"models:/m/2", 2, &v2},
        Case{"models:/m/3", 3, &v3}, Case{"models:/m/latest", 3, &v3}}) {
    // Features in scoring order, then reversed: the names decide, not the order.
    for (const std::vector<int>& order : {std::vector<int>{0, 1, 2, 3, 4}, std::vector<int>{4, 3, 2, 1, 0}}) {
      auto response = client.Predict(PredictOf(c.model, 0, kInputRows, order));
      ASSERT_TRUE(response.ok()) << c.model << ": " << response.status();
      EXPECT_EQ(response->model_name(), "m") << c.model;
      EXPECT_EQ(response->model_version(), c.version) << c.model;
      ASSERT_EQ(response->predictions_size(), kInputRows) << c.model;
      for (int i = 0; i < kInputRows; ++i) {
        ASSERT_EQ(response->predictions(i).values_size(), 1);
        EXPECT_NEAR(response->predictions(i).values(0), c.trained->expected[i], kTolerance) << c.model << " row " << i;
      }
    }
  }
  // The three versions really differ, so the checks above tell them apart.
  for (int i = 0; i < kInputRows; ++i) {
    EXPECT_GT(std::abs(v1.expected[i] - v2.expected[i]), 1e-4) << i;
    EXPECT_GT(std::abs(v1.expected[i] - v3.expected[i]), 1e-4) << i;
  }

  auto models = client.ListModels();
  ASSERT_TRUE(models.ok()) << models.status();
  EXPECT_THAT(models->load_errors(), IsEmpty());
  ASSERT_EQ(models->models_size(), 3);
  // Version 3 is also the latest version, which models:/m/latest names.
  const std::vector<std::vector<std::string>> serves = {{"Production"}, {"Staging"}, {"@challenger", "latest"}};
  const fs::path dirs[] = {v1.dir, v2.dir, v3.dir};
  for (int i = 0; i < 3; ++i) {
    const v1::ServedModelInfo& info = models->models(i);
    EXPECT_EQ(info.name(), "m");
    EXPECT_EQ(info.version(), i + 1);
    EXPECT_THAT(info.serves(), ::testing::ElementsAreArray(serves[i]));
    EXPECT_EQ(info.model_dir(), dirs[i].string());
    EXPECT_THAT(info.features(), ElementsAre("f0", "f1", "f2", "f3", "f4"));
    EXPECT_EQ(info.objective(), "binary:logistic");
  }

  // A version with neither stage nor alias, and not the latest, is not served.
  Register(v3.dir, 4, "Archived");
  Register(v3.dir, 5, "Archived");
  ASSERT_TRUE(client.ReloadModels().ok());
  auto unserved = client.Predict(PredictOf("models:/m/4", 0, 1));
  EXPECT_THAT(unserved.status(), HasCodeAndMessage(absl::StatusCode::kNotFound, HasSubstr("not served")));
  auto latest = client.Predict(PredictOf("models:/m/latest", 0, 1));
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_EQ(latest->model_version(), 5);
}

// Concurrent calls on several models are batched into shared XGBoost calls;
// every caller still gets its own rows scored by its own model.
TEST_F(ModelsTest, ConcurrentCallsAreBatchedWithoutMixingRowsOrModels) {
  const TrainedModel v1 = Train("v1", 1), v2 = Train("v2", 2);
  Register(v1.dir, 1, "Production");
  Register(v2.dir, 2, "Staging");
  ServerProcess server(data(),
                       {Registry(), "--refresh_interval_ms=0", "--batch_max_wait_us=2000", "--batch_max_rows=64"});
  ASSERT_TRUE(server.started());
  PredstoreClient client(ClientFor(server.target()));
  std::atomic<int> failures{0}, wrong{0}, calls{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      const bool staging = t % 2 == 1;
      const TrainedModel& trained = staging ? v2 : v1;
      for (int call = 0; call < 40; ++call) {
        const int first = (t * 3 + call) % (kInputRows - 3);
        const int count = 1 + (t + call) % 3;
        auto response = client.Predict(PredictOf(staging ? "models:/m/Staging" : "models:/m/Production", first, count));
        ++calls;
        if (!response.ok()) {
          ++failures;
        } else if (response->model_version() != (staging ? 2 : 1) ||
                   !PredictionsMatch(*response, trained.expected, first, count)) {
          ++wrong;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(calls.load(), 240);
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(wrong.load(), 0);
}

// --------------------------------------------------------------------------
// 2. Promotion under load.

// Threads calling Predict on one model URI continuously. Each answer is
// checked against the predictions of the version it names.
class PredictLoad {
 public:
  static constexpr int kRowsPerCall = 4;

  // `expected`: version -> its predictions for Inputs().
  PredictLoad(const PredstoreClient& client, std::string model, std::map<int64_t, std::vector<float>> expected,
              int threads)
      : client_(client), model_(std::move(model)), expected_(std::move(expected)) {
    for (int t = 0; t < threads; ++t) threads_.emplace_back([this, t] { Run(t); });
  }
  ~PredictLoad() { Stop(); }

  // Waits until `count` more answers (or failures) came back; false after 20 s.
  bool WaitForMoreCalls(int64_t count) {
    std::unique_lock<std::mutex> lock(mutex_);
    const int64_t target = calls_ + count;
    return changed_.wait_for(lock, std::chrono::seconds(20), [&] { return calls_ >= target; });
  }

  // Waits until an answer names `version`; false after 20 s.
  bool WaitForVersion(int64_t version) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(20), [&] { return answers_by_version_[version] > 0; });
  }

  // From now on, every call that starts must be answered by `version`.
  void RequireFrom(int64_t version) { required_version_ = version; }

  void Stop() {
    stop_ = true;
    for (std::thread& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }

  // Read after Stop().
  int64_t calls() const { return calls_; }
  int64_t failures() const { return failures_; }
  const std::string& first_failure() const { return first_failure_; }
  int64_t mixed() const { return mixed_; }  // predictions not those of the version named
  const std::string& first_mixed() const { return first_mixed_; }
  int64_t unknown_versions() const { return unknown_versions_; }
  int64_t stale() const { return stale_; }  // answers from another version after RequireFrom
  const std::map<int64_t, int64_t>& answers_by_version() const { return answers_by_version_; }

 private:
  void Run(int thread) {
    const int first = (thread * kRowsPerCall) % (kInputRows - kRowsPerCall + 1);
    const v1::PredictRequest request = PredictOf(model_, first, kRowsPerCall);
    while (!stop_) {
      const int64_t required = required_version_;
      absl::StatusOr<v1::PredictResponse> response = client_.Predict(request);
      std::lock_guard<std::mutex> lock(mutex_);
      ++calls_;
      if (!response.ok()) {
        if (failures_++ == 0) first_failure_ = response.status().ToString();
      } else {
        const int64_t version = response->model_version();
        ++answers_by_version_[version];
        auto expected = expected_.find(version);
        if (expected == expected_.end()) {
          ++unknown_versions_;
        } else if (!PredictionsMatch(*response, expected->second, first, kRowsPerCall)) {
          if (mixed_++ == 0) first_mixed_ = Text(*response);
        }
        if (required != 0 && version != required) ++stale_;
      }
      changed_.notify_all();
    }
  }

  const PredstoreClient& client_;
  const std::string model_;
  const std::map<int64_t, std::vector<float>> expected_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> required_version_{0};
  std::mutex mutex_;
  std::condition_variable changed_;
  int64_t calls_ = 0, failures_ = 0, mixed_ = 0, unknown_versions_ = 0, stale_ = 0;
  std::string first_failure_, first_mixed_;
  std::map<int64_t, int64_t> answers_by_version_;
  std::vector<std::thread> threads_;
};

void ExpectCleanRun(const PredictLoad& load) {
  EXPECT_EQ(load.failures(), 0) << load.first_failure();
  EXPECT_EQ(load.mixed(), 0) << load.first_mixed();
  EXPECT_EQ(load.unknown_versions(), 0);
  EXPECT_EQ(load.stale(), 0);
  EXPECT_GT(load.answers_by_version().count(1) ? load.answers_by_version().at(1) : 0, 0);
  EXPECT_GT(load.answers_by_version().count(2) ? load.answers_by_version().at(2) : 0, 0);
}

TEST_F(ModelsTest, PromotionThroughReloadModelsUnderLoadNeverFailsOrMixesVersions) {
  const TrainedModel v1 = Train("v1", 1), v2 = Train("v2", 2);
  Register(v1.dir, 1, "Production");
  Register(v2.dir, 2, "None");
  ServerProcess server(data(), {Registry(), "--refresh_interval_ms=0", "--batch_max_wait_us=500"});
  ASSERT_TRUE(server.started());
  PredstoreClient client(ClientFor(server.target()));

  PredictLoad load(client, "models:/m/Production", {{1, v1.expected}, {2, v2.expected}}, 4);
  ASSERT_TRUE(load.WaitForMoreCalls(100));
  // As MLflow's transition_model_version_stage(archive_existing_versions=True)
  // writes it: the new version first, then the old one archived.
  Register(v2.dir, 2, "Production");
  Register(v1.dir, 1, "Archived");
  ASSERT_TRUE(load.WaitForMoreCalls(50));  // the registry changed, not yet reloaded: still version 1
  auto reloaded = client.ReloadModels();
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  load.RequireFrom(2);
  ASSERT_TRUE(load.WaitForMoreCalls(200));
  load.Stop();

  EXPECT_EQ(reloaded->loaded(), 0);  // version 2 was loaded already, as the latest version
  EXPECT_EQ(reloaded->unloaded(), 1);
  EXPECT_THAT(reloaded->errors(), IsEmpty());
  ASSERT_EQ(reloaded->models_size(), 1);
  EXPECT_EQ(reloaded->models(0).version(), 2);
  EXPECT_THAT(reloaded->models(0).serves(), ElementsAre("latest", "Production"));
  ExpectCleanRun(load);
  EXPECT_EQ(client.Predict(PredictOf("models:/m/1", 0, 1)).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ModelsTest, TheWatcherAlonePicksUpAPromotionUnderLoad) {
  const TrainedModel v1 = Train("v1", 1), v2 = Train("v2", 2);
  Register(v1.dir, 1, "Production");
  ServerProcess server(data(), {Registry(), "--refresh_interval_ms=50"});
  ASSERT_TRUE(server.started());
  PredstoreClient client(ClientFor(server.target()));

  PredictLoad load(client, "models:/m/Production", {{1, v1.expected}, {2, v2.expected}}, 4);
  ASSERT_TRUE(load.WaitForMoreCalls(100));
  Register(v2.dir, 2, "Production");  // a new version registered straight into Production
  Register(v1.dir, 1, "Archived");
  ASSERT_TRUE(load.WaitForVersion(2)) << Log(server);
  load.RequireFrom(2);  // once swapped, never back
  ASSERT_TRUE(load.WaitForMoreCalls(100));
  load.Stop();
  ExpectCleanRun(load);

  auto models = client.ListModels();
  ASSERT_TRUE(models.ok()) << models.status();
  ASSERT_EQ(models->models_size(), 1);
  EXPECT_EQ(models->models(0).version(), 2);
  EXPECT_THAT(Log(server), HasSubstr("model m version 2 loaded"));
}

// --------------------------------------------------------------------------
// 3. A version whose flavor cannot run.

// An MLmodel as MLflow's sklearn flavor writes it: no xgboost flavor.
void WriteSklearnModel(const fs::path& dir) {
  fs::create_directories(dir);
  std::ofstream(dir / "MLmodel") << "artifact_path: model\n"
                                    "flavors:\n"
                                    "  python_function:\n"
                                    "    env:\n"
                                    "      conda: conda.yaml\n"
                                    "      virtualenv: python_env.yaml\n"
                                    "    loader_module: mlflow.sklearn\n"
                                    "    model_path: model.pkl\n"
                                    "    predict_fn: predict\n"
                                    "    python_version: 3.11.2\n"
                                    "  sklearn:\n"
                                    "    code: null\n"
                                    "    pickled_model: model.pkl\n"
                                    "    serialization_format: cloudpickle\n"
                                    "    sklearn_version: 1.3.2\n"
                                    "mlflow_version: 2.9.2\n";
  std::ofstream(dir / "model.pkl") << "not really a pickle";
}

TEST_F(ModelsTest, AVersionWithoutAnXGBoostFlavorIsReportedAndProductionKeepsServing) {
  const std::vector<Row> rows = LoadForecasts(200);
  const TrainedModel v1 = Train("v1", 1);
  Register(v1.dir, 1, "Production");
  ServerProcess server(data(), {Registry(), "--refresh_interval_ms=0"});
  ASSERT_TRUE(server.started());
  PredstoreClient client(ClientFor(server.target()));
  ASSERT_TRUE(client.Predict(PredictOf("models:/m/Production", 0, 1)).ok());

  WriteSklearnModel(Path("sklearn"));
  Register(Path("sklearn"), 2, "Production");
  Register(v1.dir, 1, "Archived");
  auto reloaded = client.ReloadModels();
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  EXPECT_EQ(reloaded->loaded(), 0);
  EXPECT_EQ(reloaded->unloaded(), 0);
  EXPECT_THAT(reloaded->errors(), ElementsAre(AllOf(HasSubstr("m version 2"), HasSubstr("sklearn"))));

  auto models = client.ListModels();
  ASSERT_TRUE(models.ok()) << models.status();
  EXPECT_THAT(models->load_errors(), ElementsAre(AllOf(HasSubstr("m version 2"), HasSubstr("sklearn"))));
  ASSERT_EQ(models->models_size(), 1);
  EXPECT_EQ(models->models(0).version(), 1);
  // Version 2 failed to load: Production and latest stay on version 1, and
  // ListModels and the CLI say so.
  EXPECT_THAT(models->models(0).serves(), ElementsAre("latest", "Production"));
  EXPECT_THAT(models->stand_ins(),
              ::testing::UnorderedElementsAre(AllOf(HasSubstr("m Production \u2192 v1 (v2 failed to load: "),
                                                    HasSubstr("sklearn")),
                                              HasSubstr("m latest \u2192 v1 (v2 failed to load: ")));
  ProgramResult cli = RunProgram({CliBinary(), "--server=" + server.target(), "models"});
  EXPECT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_THAT(cli.err, HasSubstr("stand-in: m Production \u2192 v1 (v2 failed to load: "));
  auto at_latest = client.Predict(PredictOf("models:/m@latest", 0, 1));
  ASSERT_TRUE(at_latest.ok()) << at_latest.status();
  EXPECT_EQ(at_latest->model_version(), 1);

  auto production = client.Predict(PredictOf("models:/m/Production", 0, kInputRows));
  ASSERT_TRUE(production.ok()) << production.status();
  EXPECT_EQ(production->model_version(), 1);
  EXPECT_TRUE(PredictionsMatch(*production, v1.expected, 0, kInputRows)) << Text(*production);

  auto broken = client.Predict(PredictOf("models:/m/2", 0, 1));
  EXPECT_EQ(broken.status().code(), absl::StatusCode::kFailedPrecondition) << broken.status();
  EXPECT_THAT(std::string(broken.status().message()), AllOf(HasSubstr("version 2"), HasSubstr("sklearn")));

  auto lookup = client.Lookup(LookupOf("forecasts", rows[7].store, rows[7].item, rows[7].horizon));
  ASSERT_TRUE(lookup.ok()) << lookup.status();
  ASSERT_TRUE(lookup->found());
  EXPECT_EQ(lookup->values(0).double_value(), rows[7].forecast);
  auto serving = client.IsServing();
  ASSERT_TRUE(serving.ok());
  EXPECT_TRUE(*serving);

  // A runnable version promoted over the broken one takes over.
  const TrainedModel v3 = Train("v3", 3);
  Register(v3.dir, 3, "Production");
  Register(Path("sklearn"), 2, "Archived");
  reloaded = client.ReloadModels();
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  EXPECT_THAT(reloaded->errors(), IsEmpty());
  auto recovered = client.Predict(PredictOf("models:/m/Production", 0, kInputRows));
  ASSERT_TRUE(recovered.ok()) << recovered.status();
  EXPECT_EQ(recovered->model_version(), 3);
  EXPECT_TRUE(PredictionsMatch(*recovered, v3.expected, 0, kInputRows)) << Text(*recovered);
  EXPECT_EQ(client.Predict(PredictOf("models:/m@latest", 0, 1))->model_version(), 3);
  models = client.ListModels();
  ASSERT_TRUE(models.ok());
  EXPECT_THAT(models->load_errors(), IsEmpty());
  EXPECT_THAT(models->stand_ins(), IsEmpty());
}

TEST_F(ModelsTest, AnUnreadableRegistryKeepsTheLoadedModelsServing) {
  const TrainedModel v1 = Train("v1", 1);
  Register(v1.dir, 1, "Production");
  ServerProcess server(data(), {Registry(), "--refresh_interval_ms=0"});
  ASSERT_TRUE(server.started());
  PredstoreClient client(ClientFor(server.target()));
  fs::rename(mlruns(), Path("mlruns.moved"));
  auto reloaded = client.ReloadModels();
  EXPECT_EQ(reloaded.status().code(), absl::StatusCode::kUnavailable) << reloaded.status();
  EXPECT_THAT(std::string(reloaded.status().message()), HasSubstr("mlruns"));
  auto response = client.Predict(PredictOf("models:/m/Production", 0, kInputRows));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->model_version(), 1);
  EXPECT_TRUE(PredictionsMatch(*response, v1.expected, 0, kInputRows)) << Text(*response);
  fs::rename(Path("mlruns.moved"), mlruns());
  EXPECT_TRUE(client.ReloadModels().ok());
}

// --------------------------------------------------------------------------
// 4. Validation.

absl::Status PredictStatus(const PredstoreClient& client, const v1::PredictRequest& request) {
  return client.Predict(request).status();
}

// MLflow's rule: a named feature whose value is unset or NaN is XGBoost's
// missing value, not an error; the answers equal XGBoost's own with NaN.
TEST_F(ModelsTest, PredictScoresUnsetAndNaNValuesAsMissingValues) {
  const TrainedModel v1 = Train("v1", 1);
  Register(v1.dir, 1, "Production");
  ServerProcess server(data(), {Registry(), "--refresh_interval_ms=0"});
  ASSERT_TRUE(server.started());
  PredstoreClient client(ClientFor(server.target()));

  v1::PredictRequest request = PredictOf("models:/m/Production", 0, 4);
  std::vector<float> rows(Inputs().begin(), Inputs().begin() + 4 * kFeatures);
  request.mutable_rows(1)->mutable_values(2)->Clear();  // unset
  rows[1 * kFeatures + 2] = NAN;
  request.mutable_rows(2)->mutable_values(0)->set_double_value(NAN);
  rows[2 * kFeatures + 0] = NAN;
  for (int f = 0; f < kFeatures; ++f) {
    request.mutable_rows(3)->mutable_values(f)->Clear();  // every feature missing
    rows[3 * kFeatures + f] = NAN;
  }
  auto response = client.Predict(request);
  ASSERT_TRUE(response.ok()) << response.status();
  const std::vector<float> expected = XGBoostPredict(v1.dir / "model.xgb", rows);
  ASSERT_EQ(response->predictions_size(), 4);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(response->predictions(i).values(0), expected[i], kTolerance) << "row " << i;
  // Missing values do take other branches: the rows score differently.
  EXPECT_GT(std::abs(expected[3] - v1.expected[3]), 1e-4);
}

TEST_F(ModelsTest, MalformedPredictRequestsGetTheRightCodeNamingRowAndFeature) {
  Register(Train("v1", 1).dir, 1, "Production");
  ServerProcess server(data(), {Registry(), "--refresh_interval_ms=0", "--max_batch_keys=3"});
  ASSERT_TRUE(server.started());
  PredstoreClient client(ClientFor(server.target()));
  const std::string production = "models:/m/Production";
  using Code = absl::StatusCode;

  v1::PredictRequest not_named = PredictOf(production, 0, 2, {0, 1, 3, 4});  // f2 absent
  EXPECT_THAT(PredictStatus(client, not_named),
              HasCodeAndMessage(Code::kInvalidArgument,
                                AllOf(HasSubstr("rows[0]"), HasSubstr("'f2' is required but absent"))));

  v1::PredictRequest unknown = PredictOf(production, 0, 2);
  unknown.add_feature_names("f9");
  for (v1::FeatureRow& row : *unknown.mutable_rows()) *row.add_values() = Double(1);
  EXPECT_THAT(PredictStatus(client, unknown),
              HasCodeAndMessage(Code::kInvalidArgument, AllOf(HasSubstr("feature_names[5]"), HasSubstr("'f9'"))));

  v1::PredictRequest twice = PredictOf(production, 0, 1);
  twice.add_feature_names("f1");
  *twice.mutable_rows(0)->add_values() = Double(1);
  EXPECT_THAT(PredictStatus(client, twice),
              HasCodeAndMessage(Code::kInvalidArgument, AllOf(HasSubstr("feature_names[5]"), HasSubstr("'f1'"))));

  v1::PredictRequest mistyped = PredictOf(production, 0, 3);
  mistyped.mutable_rows(2)->mutable_values(3)->set_string_value("1.5");
  EXPECT_THAT(PredictStatus(client, mistyped),
              HasCodeAndMessage(Code::kInvalidArgument, AllOf(HasSubstr("rows[2]"), HasSubstr("'f3'"),
                                                              HasSubstr("expects double, got string"))));

  v1::PredictRequest short_row = PredictOf(production, 0, 2);
  short_row.mutable_rows(1)->mutable_values()->RemoveLast();
  EXPECT_THAT(PredictStatus(client, short_row), HasCodeAndMessage(Code::kInvalidArgument, HasSubstr("rows[1]")));
  EXPECT_THAT(PredictStatus(client, PredictOf(production, 0, 0)),
              HasCodeAndMessage(Code::kInvalidArgument, HasSubstr("rows")));

  for (const char* uri :
       {"", "models:/m/Production/extra", "models:/m/Prod", "runs:/abc/model", "s3://b/m", "/srv/models/m"}) {
    EXPECT_EQ(PredictStatus(client, PredictOf(uri, 0, 1)).code(), Code::kInvalidArgument) << uri;
  }
  EXPECT_THAT(PredictStatus(client, PredictOf("models:/nope/Production", 0, 1)),
              HasCodeAndMessage(Code::kNotFound, HasSubstr("'nope'")));
  EXPECT_THAT(PredictStatus(client, PredictOf("models:/m/Staging", 0, 1)),
              HasCodeAndMessage(Code::kNotFound, HasSubstr("Staging")));
  EXPECT_THAT(PredictStatus(client, PredictOf("models:/m@champion", 0, 1)),
              HasCodeAndMessage(Code::kNotFound, HasSubstr("champion")));
  EXPECT_THAT(PredictStatus(client, PredictOf("models:/m/7", 0, 1)),
              HasCodeAndMessage(Code::kNotFound, HasSubstr("version 7")));

  EXPECT_THAT(PredictStatus(client, PredictOf(production, 0, 4)),
              HasCodeAndMessage(Code::kResourceExhausted, HasSubstr("4 rows")));
  EXPECT_TRUE(PredictStatus(client, PredictOf(production, 0, 3)).ok());
}

TEST_F(ModelsTest, WithoutARegistryPredictIsFailedPreconditionAndFallbackIsRefused) {
  ServerProcess server(data());
  ASSERT_TRUE(server.started());
  PredstoreClient client(ClientFor(server.target()));
  EXPECT_THAT(PredictStatus(client, PredictOf("models:/m/Production", 0, 1)),
              HasCodeAndMessage(absl::StatusCode::kFailedPrecondition, HasSubstr("--model_registry")));
  auto models = client.ListModels();
  ASSERT_TRUE(models.ok()) << models.status();
  EXPECT_EQ(models->models_size(), 0);
  EXPECT_EQ(client.ReloadModels().status().code(), absl::StatusCode::kFailedPrecondition);

  ProgramResult no_registry = RunProgram({ServerBinary(), "--data_dir=" + data().string(), "--listen=127.0.0.1:0",
                                          "--fallback=table=forecasts,model=models:/m/Production"});
  EXPECT_EQ(no_registry.exit_code, 1);
  EXPECT_THAT(no_registry.err, HasSubstr("--model_registry"));
  ProgramResult bad_binding = RunProgram({ServerBinary(), "--data_dir=" + data().string(), "--listen=127.0.0.1:0",
                                          Registry(), "--fallback=table=forecasts,model=models:/m/Prod"});
  EXPECT_EQ(bad_binding.exit_code, 2);
  EXPECT_THAT(bad_binding.err, HasSubstr("unknown stage 'Prod'"));
}

// --------------------------------------------------------------------------
// 5. Lookups that miss fall back to the bound model.

v1::KeyField Feature(const std::string& name, const v1::Value& value) {
  v1::KeyField field;
  field.set_column(name);
  *field.mutable_value() = value;
  return field;
}

void AddFeatures(const std::vector<float>& row, v1::LookupRequest* request) {
  for (int f = 0; f < kFeatures; ++f) *request->add_features() = Feature(kFeatureNames[f], Double(row[f]));
}

class FallbackTest : public ModelsTest {
 protected:
  // Keys absent from the forecasts (the sample's stores are small numbers).
  static constexpr int64_t kFeatureStore = 9000;  // 9000+i: in store_features, with InputRow(i)
  static constexpr int64_t kRequestStore = 9100;  // scored on the request's features
  static constexpr int64_t kBareStore = 9200;     // no features anywhere

  void SetUp() override {
    ModelsTest::SetUp();
    rows_ = LoadForecasts(300);
    {
      std::ofstream out(Path("features.csv"));
      out << "store_id,item_id,horizon_days,f0,f1,f2,f3,f4\n";
      for (int i = 0; i < 4; ++i) {
        out << kFeatureStore + i << ",1,1";
        for (float v : InputRow(i)) out << "," << FloatText(v);
        out << "\n";
      }
    }
    LoadTable("store_features", Path("features.csv"), "--values=f0:double,f1:double,f2:double,f3:double,f4:double");
    v1_ = Train("v1", 1);
    v2_ = Train("v2", 2);
    Register(v1_.dir, 1, "Production");
    Register(v2_.dir, 2, "Staging");
  }

  std::vector<std::string> ServerArgs() const {
    return {Registry(), "--refresh_interval_ms=0",
            "--fallback=table=forecasts,model=models:/m/Production,features=store_features,cache_ttl=10m"};
  }

  // XGBoost's prediction for one row of features.
  static float Score(const TrainedModel& model, const std::vector<float>& row) {
    std::vector<float> predictions = XGBoostPredict(model.dir / "model.xgb", row);
    return predictions.empty() ? NAN : predictions[0];
  }

  std::vector<Row> rows_;
  TrainedModel v1_, v2_;
};

MATCHER_P3(IsComputed, value, version, tolerance, "") {
  const v1::LookupResponse& r = arg;
  *result_listener << "found=" << r.found() << " source=" << r.source() << " model=" << r.model_name() << " v"
                   << r.model_version() << " values=" << r.ShortDebugString();
  return r.found() && r.source() == v1::SOURCE_COMPUTED && r.model_name() == "m" && r.model_version() == version &&
         r.values_size() == 2 && r.values(0).has_double_value() &&
         std::abs(r.values(0).double_value() - value) <= tolerance &&
         r.values(1).kind_case() == v1::Value::KIND_NOT_SET;
}

TEST_F(FallbackTest, MissesAreScoredByTheBoundModelAndHitsStayPrecomputed) {
  ServerProcess server(data(), ServerArgs());
  ASSERT_TRUE(server.started());
  PredstoreClient client(ClientFor(server.target()));
  const std::vector<float> request_row = InputRow(9);

  // (a) A miss with the request's features.
  v1::LookupRequest with_features = LookupOf("forecasts", kRequestStore, 1, 1);
  AddFeatures(request_row, &with_features);
  auto a = client.Lookup(with_features);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_THAT(*a, IsComputed(Score(v1_, request_row), 1, kTolerance));
  EXPECT_THAT(a->value_columns(), ElementsAre("forecast", "p90"));
  EXPECT_EQ(a->snapshot_version(), 1u);

  // (b) A miss whose key is in the features table.
  auto b = client.Lookup(LookupOf("forecasts", kFeatureStore, 1, 1));
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_THAT(*b, IsComputed(Score(v1_, InputRow(0)), 1, kTolerance));
  // ... where the request's features win over the table's.
  v1::LookupRequest override_f2 = LookupOf("forecasts", kFeatureStore + 1, 1, 1);
  *override_f2.add_features() = Feature("f2", Double(2.5));
  std::vector<float> merged = InputRow(1);
  merged[2] = 2.5f;
  auto b2 = client.Lookup(override_f2);
  ASSERT_TRUE(b2.ok()) << b2.status();
  EXPECT_THAT(*b2, IsComputed(Score(v1_, merged), 1, kTolerance));
  ASSERT_GT(std::abs(Score(v1_, merged) - Score(v1_, InputRow(1))), 1e-4) << "f2 must matter for this check";

  // (c) A miss with no features anywhere.
  auto c = client.Lookup(LookupOf("forecasts", kBareStore, 1, 1));
  EXPECT_THAT(c.status(), HasCodeAndMessage(absl::StatusCode::kNotFound,
                                            AllOf(HasSubstr("no features"), HasSubstr("store_features"))));

  // (d) no_fallback: a miss stays a miss.
  v1::LookupRequest store_only = with_features;
  store_only.set_no_fallback(true);
  auto d = client.Lookup(store_only);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_FALSE(d->found());
  EXPECT_EQ(d->values_size(), 0);
  EXPECT_NE(d->source(), v1::SOURCE_COMPUTED);

  // (e) A hit stays precomputed, features or not.
  for (int i : {0, 150, 299}) {
    v1::LookupRequest hit = LookupOf("forecasts", rows_[i].store, rows_[i].item, rows_[i].horizon);
    AddFeatures(request_row, &hit);
    auto e = client.Lookup(hit);
    ASSERT_TRUE(e.ok()) << e.status();
    ASSERT_TRUE(e->found());
    EXPECT_EQ(e->source(), v1::SOURCE_PRECOMPUTED);
    EXPECT_EQ(e->values(0).double_value(), rows_[i].forecast);
    EXPECT_EQ(e->values(1).double_value(), rows_[i].p90);
    EXPECT_THAT(e->model_name(), IsEmpty());
  }

  // Request features are checked against the model's signature.
  v1::LookupRequest mistyped = LookupOf("forecasts", kRequestStore, 1, 1);
  AddFeatures(request_row, &mistyped);
  mistyped.mutable_features(3)->mutable_value()->set_string_value("x");
  EXPECT_THAT(client.Lookup(mistyped).status(),
              HasCodeAndMessage(absl::StatusCode::kInvalidArgument, AllOf(HasSubstr("'f3'"), HasSubstr("double"))));
  v1::LookupRequest unknown = with_features;
  *unknown.add_features() = Feature("f9", Double(1));
  EXPECT_THAT(client.Lookup(unknown).status(),
              HasCodeAndMessage(absl::StatusCode::kInvalidArgument, HasSubstr("'f9'")));
  v1::LookupRequest incomplete = LookupOf("forecasts", kRequestStore, 1, 1);
  AddFeatures(request_row, &incomplete);
  incomplete.mutable_features()->RemoveLast();
  EXPECT_THAT(client.Lookup(incomplete).status(),
              HasCodeAndMessage(absl::StatusCode::kInvalidArgument, AllOf(HasSubstr("'f4'"), HasSubstr("required"))));
}

// One BatchLookup key: a row of the forecasts, or a store of the fallback's.
v1::KeyRow BatchKey(int64_t store, int64_t item, int64_t horizon) {
  v1::KeyRow key;  // BatchOf's column order: item_id, store_id, horizon_days
  *key.add_values() = Int(item);
  *key.add_values() = Int(store);
  *key.add_values() = Int(horizon);
  return key;
}

TEST_F(FallbackTest, BatchLookupMixesHitsComputedMissesAndMissesWithoutFeatures) {
  ServerProcess server(data(), ServerArgs());
  ASSERT_TRUE(server.started());
  PredstoreClient client(ClientFor(server.target()));

  // hit, features-table miss, bare miss, hit, features-table miss, bare miss.
  v1::BatchLookupRequest request = BatchOf("forecasts", rows_, 0, 0);
  *request.add_keys() = BatchKey(rows_[3].store, rows_[3].item, rows_[3].horizon);
  *request.add_keys() = BatchKey(kFeatureStore + 2, 1, 1);
  *request.add_keys() = BatchKey(kBareStore, 1, 1);
  *request.add_keys() = BatchKey(rows_[200].store, rows_[200].item, rows_[200].horizon);
  *request.add_keys() = BatchKey(kFeatureStore + 3, 1, 1);
  *request.add_keys() = BatchKey(kBareStore + 1, 1, 1);
  auto check = [&](const v1::BatchLookupResponse& response, const TrainedModel& model, int64_t version) {
    ASSERT_EQ(response.results_size(), 6);
    EXPECT_EQ(response.model_name(), "m");
    EXPECT_EQ(response.model_version(), version);
    for (int i : {0, 3}) {
      const v1::LookupResult& hit = response.results(i);
      const Row& row = rows_[i == 0 ? 3 : 200];
      ASSERT_TRUE(hit.found()) << i;
      EXPECT_EQ(hit.source(), v1::SOURCE_PRECOMPUTED) << i;
      EXPECT_EQ(hit.values(0).double_value(), row.forecast) << i;
      EXPECT_EQ(hit.values(1).double_value(), row.p90) << i;
    }
    for (auto [i, input] : {std::pair{1, 2}, std::pair{4, 3}}) {
      const v1::LookupResult& computed = response.results(i);
      ASSERT_TRUE(computed.found()) << i;
      EXPECT_EQ(computed.source(), v1::SOURCE_COMPUTED) << i;
      ASSERT_EQ(computed.values_size(), 2) << i;
      EXPECT_NEAR(computed.values(0).double_value(), Score(model, InputRow(input)), kTolerance) << i;
      EXPECT_EQ(computed.values(1).kind_case(), v1::Value::KIND_NOT_SET) << i;
    }
    for (int i : {2, 5}) {
      EXPECT_FALSE(response.results(i).found()) << i;
      EXPECT_EQ(response.results(i).values_size(), 0) << i;
    }
  };
  auto first = client.BatchLookup(request);
  ASSERT_TRUE(first.ok()) << first.status();
  check(*first, v1_, 1);

  // With per-key features: the second bare miss gets some and is scored;
  // unset values leave the others to the features table (or to nothing).
  v1::BatchLookupRequest with_features = request;
  for (const std::string& name : kFeatureNames) with_features.add_feature_names(name);
  for (int k = 0; k < 6; ++k) {
    v1::FeatureRow* row = with_features.add_features();
    for (int f = 0; f < kFeatures; ++f) {
      v1::Value* value = row->add_values();
      if (k == 5 || k == 0) *value = Double(InputRow(11)[f]);
    }
  }
  auto second = client.BatchLookup(with_features);
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_EQ(second->results_size(), 6);
  EXPECT_EQ(second->results(0).source(), v1::SOURCE_PRECOMPUTED);
  EXPECT_EQ(second->results(0).values(0).double_value(), rows_[3].forecast);
  EXPECT_NEAR(second->results(1).values(0).double_value(), Score(v1_, InputRow(2)), kTolerance);
  EXPECT_FALSE(second->results(2).found());
  ASSERT_TRUE(second->results(5).found());
  EXPECT_EQ(second->results(5).source(), v1::SOURCE_COMPUTED);
  EXPECT_NEAR(second->results(5).values(0).double_value(), Score(v1_, InputRow(11)), kTolerance);

  v1::BatchLookupRequest store_only = request;
  store_only.set_no_fallback(true);
  auto third = client.BatchLookup(store_only);
  ASSERT_TRUE(third.ok()) << third.status();
  for (int i : {1, 2, 4, 5}) EXPECT_FALSE(third->results(i).found()) << i;
  EXPECT_TRUE(third->results(0).found());

  // (g) After a promotion the fallback answers with the new version, also
  // for keys whose v1 answers are cached (cache_ttl=10m).
  Register(v2_.dir, 2, "Production");
  Register(v1_.dir, 1, "Archived");
  auto reloaded = client.ReloadModels();
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  auto promoted = client.BatchLookup(request);
  ASSERT_TRUE(promoted.ok()) << promoted.status();
  check(*promoted, v2_, 2);
  auto single = client.Lookup(LookupOf("forecasts", kFeatureStore + 2, 1, 1));
  ASSERT_TRUE(single.ok()) << single.status();
  EXPECT_THAT(*single, IsComputed(Score(v2_, InputRow(2)), 2, kTolerance));
  v1::LookupRequest with_request_features = LookupOf("forecasts", kRequestStore, 1, 1);
  AddFeatures(InputRow(9), &with_request_features);
  auto jit = client.Lookup(with_request_features);
  ASSERT_TRUE(jit.ok()) << jit.status();
  EXPECT_THAT(*jit, IsComputed(Score(v2_, InputRow(9)), 2, kTolerance));
}

// With cache_ttl, an answer computed from one caller's just-in-time features
// must not be served to a later caller that sends none: that caller's answer
// comes from the key's own features (features table), or is NOT_FOUND when
// the key has none.
TEST_F(FallbackTest, CachedAnswersComeOnlyFromTheKeysOwnFeatures) {
  ServerProcess server(data(), ServerArgs());  // cache_ttl=10m
  ASSERT_TRUE(server.started());
  PredstoreClient client(ClientFor(server.target()));

  v1::LookupRequest jit = LookupOf("forecasts", kRequestStore, 1, 1);
  AddFeatures(InputRow(9), &jit);
  auto scored = client.Lookup(jit);
  ASSERT_TRUE(scored.ok()) << scored.status();
  EXPECT_THAT(*scored, IsComputed(Score(v1_, InputRow(9)), 1, kTolerance));
  auto bare = client.Lookup(LookupOf("forecasts", kRequestStore, 1, 1));
  EXPECT_EQ(bare.status().code(), absl::StatusCode::kNotFound)
      << "a key without features answered from another caller's features: "
      << (bare.ok() ? bare->ShortDebugString() : bare.status().ToString());

  v1::LookupRequest override_f2 = LookupOf("forecasts", kFeatureStore + 1, 1, 1);
  *override_f2.add_features() = Feature("f2", Double(2.5));
  ASSERT_TRUE(client.Lookup(override_f2).ok());
  auto plain = client.Lookup(LookupOf("forecasts", kFeatureStore + 1, 1, 1));
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_THAT(*plain, IsComputed(Score(v1_, InputRow(1)), 1, kTolerance));

  v1::BatchLookupRequest batch = BatchOf("forecasts", rows_, 0, 0);
  *batch.add_keys() = BatchKey(kRequestStore + 1, 1, 1);
  v1::BatchLookupRequest batch_with_features = batch;
  for (const std::string& name : kFeatureNames) batch_with_features.add_feature_names(name);
  v1::FeatureRow* row = batch_with_features.add_features();
  for (float v : InputRow(10)) *row->add_values() = Double(v);
  auto batch_scored = client.BatchLookup(batch_with_features);
  ASSERT_TRUE(batch_scored.ok()) << batch_scored.status();
  EXPECT_TRUE(batch_scored->results(0).found());
  auto batch_bare = client.BatchLookup(batch);
  ASSERT_TRUE(batch_bare.ok()) << batch_bare.status();
  EXPECT_FALSE(batch_bare->results(0).found()) << batch_bare->ShortDebugString();
}

// max_age=0s: every stored answer is already too old, so keys with features
// are rescored (into the `output` column); a stored answer stays the answer
// when there is nothing to score.
TEST_F(FallbackTest, StoredAnswersOlderThanMaxAgeAreRescoredWhenFeaturesExist) {
  ServerProcess server(data(), {Registry(), "--refresh_interval_ms=0",
                                "--fallback=table=forecasts,model=models:/m/Production,features=store_features,"
                                "output=p90,max_age=0s"});
  ASSERT_TRUE(server.started());
  PredstoreClient client(ClientFor(server.target()));
  const Row& row = rows_[42];
  v1::LookupRequest with_features = LookupOf("forecasts", row.store, row.item, row.horizon);
  AddFeatures(InputRow(4), &with_features);
  auto rescored = client.Lookup(with_features);
  ASSERT_TRUE(rescored.ok()) << rescored.status();
  ASSERT_TRUE(rescored->found());
  EXPECT_EQ(rescored->source(), v1::SOURCE_COMPUTED);
  EXPECT_EQ(rescored->model_version(), 1);
  ASSERT_EQ(rescored->values_size(), 2);
  EXPECT_EQ(rescored->values(0).kind_case(), v1::Value::KIND_NOT_SET);
  EXPECT_NEAR(rescored->values(1).double_value(), Score(v1_, InputRow(4)), kTolerance);

  auto stored = client.Lookup(LookupOf("forecasts", row.store, row.item, row.horizon));
  ASSERT_TRUE(stored.ok()) << stored.status();
  ASSERT_TRUE(stored->found());
  EXPECT_EQ(stored->source(), v1::SOURCE_PRECOMPUTED);
  EXPECT_EQ(stored->values(0).double_value(), row.forecast);
  EXPECT_EQ(stored->values(1).double_value(), row.p90);
}

// A binding's output_kind decides what the model puts in the output column,
// and every computed answer names it.
TEST_F(FallbackTest, TheBindingsOutputKindFillsTheOutputColumnAndIsNamed) {
  ServerProcess server(data(), {Registry(), "--refresh_interval_ms=0",
                                "--fallback=table=forecasts,model=models:/m/Production,features=store_features,"
                                "output_kind=margin"});
  ASSERT_TRUE(server.started());
  PredstoreClient client(ClientFor(server.target()));
  const float margin = XGBoostPredict(v1_.dir / "model.xgb", InputRow(0), /*margin=*/true).at(0);
  ASSERT_GT(std::abs(margin - Score(v1_, InputRow(0))), 1e-3) << "margin and probability must differ for this check";
  auto lookup = client.Lookup(LookupOf("forecasts", kFeatureStore, 1, 1));
  ASSERT_TRUE(lookup.ok()) << lookup.status();
  EXPECT_THAT(*lookup, IsComputed(margin, 1, kTolerance));
  EXPECT_EQ(lookup->output(), v1::OUTPUT_KIND_MARGIN);
  v1::BatchLookupRequest batch = BatchOf("forecasts", rows_, 0, 1);
  *batch.add_keys() = BatchKey(kFeatureStore, 1, 1);
  auto batch_answer = client.BatchLookup(batch);
  ASSERT_TRUE(batch_answer.ok()) << batch_answer.status();
  EXPECT_NEAR(batch_answer->results(1).values(0).double_value(), margin, kTolerance);
  EXPECT_EQ(batch_answer->output(), v1::OUTPUT_KIND_MARGIN);
  // A precomputed answer names no model and no output kind.
  auto stored = client.Lookup(LookupOf("forecasts", rows_[0].store, rows_[0].item, rows_[0].horizon));
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->output(), v1::OUTPUT_KIND_UNSPECIFIED);

  // Predict: probability by default, label on request; an unknown kind is refused.
  v1::PredictRequest predict = PredictOf("models:/m/Production", 0, kInputRows);
  auto probability = client.Predict(predict);
  ASSERT_TRUE(probability.ok()) << probability.status();
  EXPECT_EQ(probability->output(), v1::OUTPUT_KIND_PROBABILITY);
  predict.set_output(v1::OUTPUT_KIND_LABEL);
  auto labels = client.Predict(predict);
  ASSERT_TRUE(labels.ok()) << labels.status();
  EXPECT_EQ(labels->output(), v1::OUTPUT_KIND_LABEL);
  for (int r = 0; r < kInputRows; ++r) {
    EXPECT_EQ(labels->predictions(r).values(0), v1_.expected[r] > 0.5f ? 1.0f : 0.0f) << r;
  }
  predict.set_output(static_cast<v1::OutputKind>(7));
  EXPECT_THAT(client.Predict(predict).status(),
              HasCodeAndMessage(absl::StatusCode::kInvalidArgument, HasSubstr("output kind number 7")));
}

// A features table with nullable columns, written as Spark writes gaps
// (an empty cell, NaN): its nulls are answered as unset values (row and
// columnar forms), scored by the fallback as XGBoost's missing value, and
// `predstore-load score` scores the same file with no row rejected.
TEST_F(FallbackTest, AFeaturesTableWithNullsServesThemUnsetAndScoresThemAsMissing) {
  constexpr int64_t kGappyStore = 9300;
  // Row i of InputRow with these features missing, written as "" or "NaN".
  const std::vector<std::vector<int>> gaps = {{1}, {3}, {}, {0, 2, 4}};
  std::vector<std::vector<float>> rows;
  {
    std::ofstream out(Path("gappy.csv"));
    out << "store_id,item_id,horizon_days,f0,f1,f2,f3,f4\n";
    for (size_t i = 0; i < gaps.size(); ++i) {
      std::vector<float> row = InputRow(static_cast<int>(i));
      for (int f : gaps[i]) row[f] = NAN;
      out << kGappyStore + static_cast<int64_t>(i) << ",1,1";
      for (int f = 0; f < kFeatures; ++f) out << "," << (std::isnan(row[f]) ? (f % 2 ? "NaN" : "") : FloatText(row[f]));
      out << "\n";
      rows.push_back(row);
    }
  }
  const std::string nullable_values = "--values=f0:double?,f1:double?,f2:double?,f3:double?,f4:double?";
  LoadTable("gappy_features", Path("gappy.csv"), nullable_values);
  // The same file into strict columns is refused, naming the first gap.
  ProgramResult strict = RunProgram({LoaderBinary(), "load", "--data_dir=" + data().string(), "--table=strict_features",
                                     kKeys, "--values=f0:double,f1:double,f2:double,f3:double,f4:double",
                                     Path("gappy.csv").string()});
  EXPECT_NE(strict.exit_code, 0);
  EXPECT_THAT(strict.err, HasSubstr("gappy.csv:2:"));
  EXPECT_THAT(strict.err, HasSubstr("column \"f1\""));
  // predstore-load score: every row scores, nothing is rejected.
  ProgramResult scored = RunProgram({LoaderBinary(), "score", "--data_dir=" + data().string(), "--table=gappy_scores",
                                     kKeys, "--registry=" + mlruns().string(), "--model=models:/m/Production",
                                     Path("gappy.csv").string()});
  ASSERT_EQ(scored.exit_code, 0) << scored.err;

  ServerProcess server(data(), {Registry(), "--refresh_interval_ms=0",
                                "--fallback=table=forecasts,model=models:/m/Production,features=gappy_features"});
  ASSERT_TRUE(server.started());
  PredstoreClient client(ClientFor(server.target()));
  std::vector<float> flat;
  for (const auto& row : rows) flat.insert(flat.end(), row.begin(), row.end());
  const std::vector<float> expected = XGBoostPredict(v1_.dir / "model.xgb", flat);
  ASSERT_EQ(expected.size(), rows.size());

  std::vector<Row> keys;
  for (size_t i = 0; i < rows.size(); ++i) {
    SCOPED_TRACE(i);
    const int64_t store = kGappyStore + static_cast<int64_t>(i);
    keys.push_back(Row{store, 1, 1, 0, 0});
    auto stored = client.Lookup(LookupOf("gappy_features", store, 1, 1));
    ASSERT_TRUE(stored.ok()) << stored.status();
    ASSERT_TRUE(stored->found());
    ASSERT_EQ(stored->values_size(), kFeatures);
    for (int f = 0; f < kFeatures; ++f) {
      if (std::isnan(rows[i][f])) {
        EXPECT_EQ(stored->values(f).kind_case(), v1::Value::KIND_NOT_SET) << f;
      } else {
        EXPECT_EQ(static_cast<float>(stored->values(f).double_value()), rows[i][f]) << f;
      }
    }
    auto computed = client.Lookup(LookupOf("forecasts", store, 1, 1));
    ASSERT_TRUE(computed.ok()) << computed.status();
    EXPECT_THAT(*computed, IsComputed(expected[i], 1, kTolerance));
    auto batch_scored = client.Lookup(LookupOf("gappy_scores", store, 1, 1));
    ASSERT_TRUE(batch_scored.ok()) << batch_scored.status();
    ASSERT_TRUE(batch_scored->found());
    EXPECT_NEAR(batch_scored->values(0).double_value(), expected[i], kTolerance);
  }
  ASSERT_GT(std::abs(expected[3] - Score(v1_, InputRow(3))), 1e-6) << "the gaps must change the score for this check";

  auto columnar = client.BatchLookup(ColumnarOf("gappy_features", keys, 0, keys.size()));
  ASSERT_TRUE(columnar.ok()) << columnar.status();
  ASSERT_EQ(columnar->columns_size(), kFeatures);
  for (int f = 0; f < kFeatures; ++f) {
    std::vector<uint32_t> nulls;
    for (size_t i = 0; i < rows.size(); ++i) {
      if (std::isnan(rows[i][f])) nulls.push_back(static_cast<uint32_t>(i));
    }
    EXPECT_THAT(columnar->columns(f).null_indexes(), ::testing::ElementsAreArray(nulls)) << f;
    EXPECT_EQ(columnar->columns(f).double_values_size(), static_cast<int>(rows.size())) << f;
  }

  // A scan of the features table answers the same nulls, unset.
  v1::ScanRequest scan;
  scan.set_table("gappy_features");
  int scanned = 0;
  ASSERT_TRUE(client
                  .Scan(scan,
                        [&](const v1::ScanResponse& response) {
                          for (const v1::ScanRow& row : response.rows()) {
                            const size_t i = static_cast<size_t>(row.key(0).int64_value() - kGappyStore);
                            ASSERT_LT(i, rows.size());
                            for (int f = 0; f < kFeatures; ++f) {
                              EXPECT_EQ(row.values(f).kind_case() == v1::Value::KIND_NOT_SET,
                                        static_cast<bool>(std::isnan(rows[i][f])))
                                  << "store " << row.key(0).int64_value() << " f" << f;
                            }
                            ++scanned;
                          }
                        })
                  .ok());
  EXPECT_EQ(scanned, static_cast<int>(rows.size()));

  // The CLI shows the schema's nullable columns and a null as "null".
  ProgramResult cli = RunProgram({CliBinary(), "--server=" + server.target(), "lookup", "--table=gappy_features",
                                  "store_id=" + std::to_string(kGappyStore), "item_id=1", "horizon_days=1"});
  EXPECT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_THAT(cli.out, HasSubstr("\"f1\":null,"));
  ProgramResult tables = RunProgram({CliBinary(), "--server=" + server.target(), "tables", "--output=table"});
  EXPECT_THAT(tables.out, HasSubstr("-> f0:double?, f1:double?"));
}

// --------------------------------------------------------------------------
// 6. A SQLite registry.

TEST_F(ModelsTest, ServesASqliteRegistryAndPicksUpAStageChange) {
  const fs::path project = Path("project");
  const TrainedModel v1 = Train("project/models/m1", 1), v2 = Train("project/models/m2", 2),
                     v3 = Train("elsewhere/m3", 3);
  const fs::path db_path = project / "mlflow.db";
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  test_support::ExecSql(db, test_support::kMlflowSchema);
  test_support::ExecSql(db, test_support::kMlflow3Migrations);
  auto insert_version = [&](int version, const std::string& stage, const std::string& source,
                            const std::string& storage_location) {
    test_support::ExecSql(
        db, StrCat("INSERT INTO model_versions (name, version, creation_time, last_updated_time, description, "
                   "user_id, current_stage, source, run_id, status, status_message, run_link, storage_location) "
                   "VALUES ('m', ",
                   version, ", 1732000001000, 1732000002000, '', NULL, '", stage, "', '", source,
                   "', NULL, 'READY', NULL, '', ", storage_location, ");"));
  };
  test_support::ExecSql(db, "INSERT INTO registered_models VALUES ('m', 1732000000000, 1732000009000, NULL);");
  // A file: URI; a path relative to the .db's folder; a plain path with no storage_location.
  insert_version(1, "Production", "file://" + v1.dir.string(), "'file://" + v1.dir.string() + "'");
  insert_version(2, "Staging", "models/m2", "'models/m2'");
  insert_version(3, "None", v3.dir.string(), "NULL");
  test_support::ExecSql(db, "INSERT INTO registered_model_aliases VALUES ('m', 'champion', 3);");

  ServerProcess server(data(), {"--model_registry=sqlite:///" + db_path.string(), "--refresh_interval_ms=0"});
  ASSERT_TRUE(server.started());
  PredstoreClient client(ClientFor(server.target()));
  struct Case {
    std::string model;
    int64_t version;
    const TrainedModel* trained;
  };
  for (const Case& c :
       {Case{"models:/m/Production", 1, &v1}, Case{"models:/m/Staging", 2, &v2}, Case{"models:/m@champion", 3, &v3}}) {
    auto response = client.Predict(PredictOf(c.model, 0, kInputRows));
    ASSERT_TRUE(response.ok()) << c.model << ": " << response.status() << "\n" << Log(server);
    EXPECT_EQ(response->model_version(), c.version) << c.model;
    EXPECT_TRUE(PredictionsMatch(*response, c.trained->expected, 0, kInputRows)) << c.model << ": " << Text(*response);
  }
  auto models = client.ListModels();
  ASSERT_TRUE(models.ok());
  ASSERT_EQ(models->models_size(), 3);
  EXPECT_EQ(models->models(1).model_dir(), (project / "models" / "m2").string());

  // Promote v2 in one transaction, as MLflow's SqlAlchemyStore does.
  test_support::ExecSql(db,
                        "BEGIN; UPDATE model_versions SET current_stage = 'Production' WHERE version = 2;"
                        "UPDATE model_versions SET current_stage = 'Archived' WHERE version = 1; COMMIT;");
  sqlite3_close(db);
  auto reloaded = client.ReloadModels();
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  EXPECT_EQ(reloaded->unloaded(), 1);
  auto promoted = client.Predict(PredictOf("models:/m/Production", 0, kInputRows));
  ASSERT_TRUE(promoted.ok()) << promoted.status();
  EXPECT_EQ(promoted->model_version(), 2);
  EXPECT_TRUE(PredictionsMatch(*promoted, v2.expected, 0, kInputRows)) << Text(*promoted);
  EXPECT_EQ(client.Predict(PredictOf("models:/m/Staging", 0, 1)).status().code(), absl::StatusCode::kNotFound);
}

// --------------------------------------------------------------------------
// 7. The CLI, with models trained and registered by predstore-load.

// The number after `"prediction":[` in predstore-cli predict's output.
double PredictionIn(const std::string& json) {
  const std::string prefix = "{\"prediction\":[";
  if (json.rfind(prefix, 0) != 0) return NAN;
  return std::strtod(json.c_str() + prefix.size(), nullptr);
}

TEST_F(ModelsTest, CliPredictsListsAndReloadsModels) {
  LoadForecasts(100);
  auto sample_model = [&](const std::string& dir, int seed, int version, const std::string& stage,
                          const std::string& aliases) {
    std::vector<std::string> args = {LoaderBinary(),
                                     "sample-model",
                                     "--out=" + Path(dir).string(),
                                     "--features=5",
                                     "--trees=12",
                                     "--depth=3",
                                     "--seed=" + std::to_string(seed),
                                     "--registry=" + mlruns().string(),
                                     "--name=m",
                                     "--version=" + std::to_string(version),
                                     "--stage=" + stage};
    if (!aliases.empty()) args.push_back("--aliases=" + aliases);
    return RunProgram(args);
  };
  ProgramResult first = sample_model("m1", 1, 1, "Production", "champion");
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_THAT(first.out, HasSubstr("registered m version 1 (stage Production)"));
  ASSERT_EQ(sample_model("m2", 2, 2, "Staging", "").exit_code, 0);
  const std::vector<float> row = InputRow(5);
  const float v1_expected = XGBoostPredict(Path("m1") / "model.xgb", row).at(0);
  const float v2_expected = XGBoostPredict(Path("m2") / "model.xgb", row).at(0);

  ServerProcess server(
      data(), {Registry(), "--refresh_interval_ms=0", "--fallback=table=forecasts,model=models:/m/Production"});
  ASSERT_TRUE(server.started());
  auto cli = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {CliBinary(), "--server=" + server.target()});
    return RunProgram(args);
  };
  std::vector<std::string> assignments;
  for (int f = 0; f < kFeatures; ++f) assignments.push_back(kFeatureNames[f] + "=" + FloatText(row[f]));
  auto predict = [&](const std::string& model) {
    std::vector<std::string> args = {"predict", "--model=" + model};
    args.insert(args.end(), assignments.begin(), assignments.end());
    return cli(args);
  };

  ProgramResult production = predict("models:/m/Production");
  ASSERT_EQ(production.exit_code, 0) << production.err;
  EXPECT_THAT(production.out, ::testing::EndsWith("],\"output\":\"probability\",\"model\":\"m\",\"version\":1}\n"));
  EXPECT_EQ(std::count(production.out.begin(), production.out.end(), '\n'), 1);
  EXPECT_NEAR(PredictionIn(production.out), v1_expected, kTolerance) << production.out;
  ProgramResult staging = predict("models:/m/Staging");
  ASSERT_EQ(staging.exit_code, 0) << staging.err;
  EXPECT_THAT(staging.out, ::testing::EndsWith("],\"output\":\"probability\",\"model\":\"m\",\"version\":2}\n"));
  EXPECT_NEAR(PredictionIn(staging.out), v2_expected, kTolerance) << staging.out;
  // The class, as MLflow's pyfunc gives it, and the raw margin, as XGBoost's output_margin.
  std::vector<std::string> label_args = {"predict", "--model=models:/m/Production", "--output_kind=label"};
  label_args.insert(label_args.end(), assignments.begin(), assignments.end());
  ProgramResult label = cli(label_args);
  ASSERT_EQ(label.exit_code, 0) << label.err;
  EXPECT_THAT(label.out, HasSubstr("\"output\":\"label\""));
  EXPECT_EQ(PredictionIn(label.out), v1_expected > 0.5 ? 1.0 : 0.0) << label.out;
  std::vector<std::string> margin_args = {"predict", "--model=models:/m/Production", "--output_kind=margin"};
  margin_args.insert(margin_args.end(), assignments.begin(), assignments.end());
  ProgramResult margin = cli(margin_args);
  ASSERT_EQ(margin.exit_code, 0) << margin.err;
  EXPECT_THAT(margin.out, HasSubstr("\"output\":\"margin\""));
  EXPECT_NEAR(PredictionIn(margin.out), XGBoostPredict(Path("m1") / "model.xgb", row, /*margin=*/true)[0], kTolerance)
      << margin.out;
  margin_args[2] = "--output_kind=odds";
  EXPECT_THAT(cli(margin_args).err, HasSubstr("unknown output kind 'odds'"));
  ProgramResult champion = predict("models:/m@champion");
  ASSERT_EQ(champion.exit_code, 0) << champion.err;
  EXPECT_THAT(champion.out, ::testing::EndsWith("\"version\":1}\n"));

  ProgramResult missing = cli({"predict", "--model=models:/m/Production", "f0=1", "f1=2", "f2=3", "f3=4"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, AllOf(HasSubstr("INVALID_ARGUMENT"), HasSubstr("'f4'")));
  ProgramResult mistyped = cli({"predict", "--model=models:/m/Production", "f0=1", "f1=2", "f2=3", "f3=4", "f4=abc"});
  EXPECT_EQ(mistyped.exit_code, 1);
  EXPECT_THAT(mistyped.err, AllOf(HasSubstr("INVALID_ARGUMENT"), HasSubstr("'f4' expects double, got string")));

  const std::string m1 = Path("m1").string(), m2 = Path("m2").string();
  ProgramResult models = cli({"models"});
  ASSERT_EQ(models.exit_code, 0) << models.err;
  EXPECT_EQ(models.out,
            "{\"model\":\"m\",\"version\":1,\"serves\":\"@champion,Production\",\"objective\":\"binary:logistic\","
            "\"features\":5,\"model_dir\":\"" +
                m1 +
                "\"}\n"
                "{\"model\":\"m\",\"version\":2,\"serves\":\"latest,Staging\",\"objective\":\"binary:logistic\","
                "\"features\":5,\"model_dir\":\"" +
                m2 + "\"}\n");
  ProgramResult table = cli({"models", "--output=table"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, ::testing::MatchesRegex("model +version +serves +objective +features +model_dir\n"
                                                 "m +1 +@champion,Production +binary:logistic +5 +[^ ]+/m1\n"
                                                 "m +2 +latest,Staging +binary:logistic +5 +[^ ]+/m2\n"));

  std::string features_flag = "--features=";
  for (const std::string& assignment : assignments) StrAppend(&features_flag, assignment, ",");
  features_flag.pop_back();
  ProgramResult lookup =
      cli({"lookup", "--table=forecasts", "store_id=9999", "item_id=1", "horizon_days=1", features_flag});
  ASSERT_EQ(lookup.exit_code, 0) << lookup.err;
  EXPECT_THAT(lookup.out, HasSubstr("\"found\":true"));
  EXPECT_THAT(lookup.out, HasSubstr("\"source\":\"computed by m version 1\""));

  // Promote through the loader (the directory exists: it only re-stages).
  ProgramResult promote = sample_model("m2", 2, 2, "Production", "");
  ASSERT_EQ(promote.exit_code, 0) << promote.err;
  EXPECT_THAT(promote.out, ::testing::Not(HasSubstr("wrote")));
  ASSERT_EQ(sample_model("m1", 1, 1, "Archived", "").exit_code, 0);
  ProgramResult reload = cli({"reload-models"});
  ASSERT_EQ(reload.exit_code, 0) << reload.err;
  // v1 keeps its alias, so it stays loaded.
  EXPECT_EQ(reload.out, "loaded 0, unloaded 0, serving 2 model versions\n");
  models = cli({"models"});
  ASSERT_EQ(models.exit_code, 0) << models.err;
  EXPECT_THAT(models.out, HasSubstr("\"version\":1,\"serves\":\"@champion\""));
  EXPECT_THAT(models.out, HasSubstr("\"version\":2,\"serves\":\"latest,Production\""));
  production = predict("models:/m/Production");
  ASSERT_EQ(production.exit_code, 0) << production.err;
  EXPECT_THAT(production.out, ::testing::EndsWith("\"version\":2}\n"));
  EXPECT_NEAR(PredictionIn(production.out), v2_expected, kTolerance) << production.out;
}

// The table output's header names every column its rows have, whichever
// row comes first: a batch starting with a miss still gets a "source" column
// for the hits (and computed answers) after it.
TEST_F(ModelsTest, CliTableHeaderNamesTheSourceColumnWhenTheFirstKeyMisses) {
  const std::vector<Row> rows = LoadForecasts(50);
  ServerProcess server(data(), {"--refresh_interval_ms=0"});
  ASSERT_TRUE(server.started());
  const std::string hit = StrCat("{\"store_id\":", rows[0].store, ",\"item_id\":", rows[0].item,
                                 ",\"horizon_days\":", rows[0].horizon, "}\n");
  const std::string miss = "{\"store_id\":9999,\"item_id\":1,\"horizon_days\":1}\n";
  for (const std::string& input : {hit + miss, miss + hit}) {
    ProgramResult table = RunProgram(
        {CliBinary(), "--server=" + server.target(), "batch-lookup", "--table=forecasts", "--output=table"}, input);
    ASSERT_EQ(table.exit_code, 0) << table.err;
    const std::string header = table.out.substr(0, table.out.find('\n'));
    EXPECT_THAT(table.out, HasSubstr("precomputed"));
    EXPECT_THAT(header, ::testing::MatchesRegex(".* version +source")) << table.out;
  }
}

}  // namespace
}  // namespace predstore::testing
