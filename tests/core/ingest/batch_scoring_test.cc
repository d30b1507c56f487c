// Batch scoring through LoadSnapshot: a features file scored with a model and
// published, read back through the store and compared with the model's own
// predictions for the same rows.
#include "core/ingest/batch_scoring.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>

#include "core/base/strings.h"
#include "core/ingest/batch_load.h"
#include "core/model/sample_model.h"
#include "core/snapshot/prediction_store.h"
#include "core/snapshot/table_directory.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/scratch_dir.h"
#include "tests/support/status_matchers.h"

namespace predstore {
namespace {

using test_support::StatusIs;
using test_support::ValueOrDie;
using ::testing::HasSubstr;

constexpr int kFeatures = 4;
constexpr int kRows = 3000;

class BatchScoringTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SampleModelOptions options;
    options.features = kFeatures;
    options.trees = 10;
    options.depth = 4;
    const std::string dir = (scratch_.path() / "model").string();
    ASSERT_TRUE(WriteSampleModel(options, dir).ok());
    model_ = ValueOrDie(LoadServedModel("churn", 7, dir, 1));
    features_ = SampleFeatureRows(kRows, kFeatures, 5);
  }

  // Feature f of row r as text that reads back as the same float.
  std::string FeatureText(int r, int f) const {
    char text[32];
    std::snprintf(text, sizeof text, "%.9g", features_[r * kFeatures + f]);
    return text;
  }

  // A CSV of id, f0..f3 for rows [0, kRows), floats written to round-trip;
  // `blank` (row, feature) pairs are written empty.
  std::filesystem::path WriteFeatures(const std::string& name, std::vector<std::pair<int, int>> blank = {}) {
    std::ostringstream csv;
    csv << "id,f0,f1,f2,f3\n";
    for (int r = 0; r < kRows; ++r) {
      csv << r;
      for (int f = 0; f < kFeatures; ++f) {
        csv << ",";
        if (std::find(blank.begin(), blank.end(), std::make_pair(r, f)) != blank.end()) continue;
        csv << FeatureText(r, f);
      }
      csv << "\n";
    }
    return scratch_.WriteFile(name, csv.str());
  }

  LoadRequest Request(std::filesystem::path input, int workers) {
    LoadRequest request;
    request.data_dir = scratch_.path() / "data";
    request.table = "scores";
    request.schema = ValueOrDie(Schema::Create({{"id", ColumnType::kInt64}}, PredictionColumns(BatchScoring{model_}),
                                               std::nullopt));
    request.inputs = {std::move(input)};
    request.scoring = BatchScoring{model_, "prediction"};
    request.batches = {workers, /*batch_rows=*/256};
    request.produced_by = "scored by models:/churn/Production (churn version 7)";
    return request;
  }

  // The published prediction of every id, read through the store.
  std::vector<double> ReadPredictions() {
    StoreOptions options;
    options.data_dir = scratch_.path() / "data";
    auto store = ValueOrDie(PredictionStore::Open(options));
    auto snapshot = store->Find("scores");
    EXPECT_NE(snapshot, nullptr);
    std::vector<double> predictions(kRows, NAN);
    for (int r = 0; r < kRows; ++r) {
      std::string key;
      snapshot->key_codec().Encode(std::vector<Cell>{Cell(int64_t{r})}, &key);
      EXPECT_TRUE(snapshot->Get(key, [&](std::string_view value) {
                            predictions[r] = std::get<double>(ValueOrDie(snapshot->value_codec().Decode(value))[0]);
                          }).ok());
    }
    return predictions;
  }

  static std::string ReadFile(const std::filesystem::path& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  // Where 1-based `line` of `text` starts.
  static size_t LineStart(const std::string& text, int line) {
    size_t at = 0;
    for (int l = 1; l < line; ++l) at = text.find('\n', at) + 1;
    return at;
  }

  test_support::ScratchDir scratch_;
  std::shared_ptr<const ServedModel> model_;
  std::vector<float> features_;
};

TEST_F(BatchScoringTest, EveryRowGetsTheModelsPredictionWithAnyNumberOfWorkers) {
  std::vector<float> expected;
  ASSERT_TRUE(model_->scorer->Predict(features_, &expected).ok());
  const auto input = WriteFeatures("features.csv");
  for (int workers : {1, 2, 3}) {
    auto result = LoadSnapshot(Request(input, workers));
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->rows, static_cast<uint64_t>(kRows));
    const std::vector<double> predictions = ReadPredictions();
    for (int r = 0; r < kRows; ++r) {
      ASSERT_EQ(predictions[r], static_cast<double>(expected[r])) << "row " << r << ", " << workers << " workers";
    }
  }
  auto manifest = ValueOrDie(TableDirectory(scratch_.path() / "data", "scores").ReadManifest());
  EXPECT_EQ(manifest.versions.front().produced_by, "scored by models:/churn/Production (churn version 7)");
}

// JSON Lines features: a null and an absent field are missing values too.
TEST_F(BatchScoringTest, JsonNullsAndAbsentFieldsAreScoredAsMissingValues) {
  std::ostringstream jsonl;
  std::vector<float> rows(features_.begin(), features_.begin() + 3 * kFeatures);
  for (int r = 0; r < 3; ++r) {
    jsonl << "{\"id\":" << r;
    for (int f = 0; f < kFeatures; ++f) {
      if (r == 1 && f == 2) {
        jsonl << ",\"f2\":null";
        rows[r * kFeatures + f] = NAN;
        continue;
      }
      if (r == 2 && f == 0) {
        rows[r * kFeatures + f] = NAN;  // absent
        continue;
      }
      jsonl << ",\"f" << f << "\":" << FeatureText(r, f);
    }
    jsonl << "}\n";
  }
  std::vector<float> expected;
  ASSERT_TRUE(model_->scorer->Predict(rows, &expected).ok());
  auto result = LoadSnapshot(Request(scratch_.WriteFile("features.jsonl", jsonl.str()), 1));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->rows, 3u);
  const std::vector<double> predictions = ReadPredictions();
  for (int r = 0; r < 3; ++r) EXPECT_EQ(predictions[r], static_cast<double>(expected[r])) << "row " << r;
}

// Every spelling of a missing feature scores; an over-long key is a bad row.
TEST_F(BatchScoringTest, QuotedEmptyCellsAndNaNInAnyCaseAreMissingValues) {
  std::vector<float> rows(features_.begin(), features_.begin() + 3 * kFeatures);
  rows[0 * kFeatures + 1] = NAN;
  rows[1 * kFeatures + 2] = NAN;
  rows[2 * kFeatures + 3] = NAN;
  std::ostringstream csv;
  csv << "id,f0,f1,f2,f3\n";
  csv << "0," << FeatureText(0, 0) << ",\"\"," << FeatureText(0, 2) << "," << FeatureText(0, 3) << "\n";
  csv << "1," << FeatureText(1, 0) << "," << FeatureText(1, 1) << ",nan," << FeatureText(1, 3) << "\n";
  csv << "2," << FeatureText(2, 0) << "," << FeatureText(2, 1) << "," << FeatureText(2, 2) << ",NAN\n";
  std::vector<float> expected;
  ASSERT_TRUE(model_->scorer->Predict(rows, &expected).ok());
  auto result = LoadSnapshot(Request(scratch_.WriteFile("spellings.csv", csv.str()), 1));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->rows, 3u);
  const std::vector<double> predictions = ReadPredictions();
  for (int r = 0; r < 3; ++r) EXPECT_EQ(predictions[r], static_cast<double>(expected[r])) << "row " << r;
}

// MLflow's rule for a file: an optional feature's column may be left out
// (scored as NaN), a required one's may not.
TEST_F(BatchScoringTest, AnOptionalFeatureMayBeLeftOutOfTheHeaderARequiredOneMayNot) {
  const std::filesystem::path mlmodel = scratch_.path() / "model" / "MLmodel";
  std::string text;
  {
    std::ifstream in(mlmodel);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  const std::string required = R"("name": "f3", "required": true)";
  const size_t at = text.find(required);
  ASSERT_NE(at, std::string::npos) << text;
  std::ofstream(mlmodel) << text.replace(at, required.size(), R"("name": "f3", "required": false)");
  model_ = ValueOrDie(LoadServedModel("churn", 8, (scratch_.path() / "model").string(), 1));

  std::vector<float> rows(features_.begin(), features_.begin() + 2 * kFeatures);
  std::ostringstream without_f3, without_f2;
  without_f3 << "id,f0,f1,f2\n";
  without_f2 << "id,f0,f1,f3\n";
  for (int r = 0; r < 2; ++r) {
    rows[r * kFeatures + 3] = NAN;
    without_f3 << r;
    without_f2 << r;
    for (int f = 0; f < kFeatures; ++f) {
      if (f != 3) without_f3 << "," << FeatureText(r, f);
      if (f != 2) without_f2 << "," << FeatureText(r, f);
    }
    without_f3 << "\n";
    without_f2 << "\n";
  }
  std::vector<float> expected;
  ASSERT_TRUE(model_->scorer->Predict(rows, &expected).ok());
  auto result = LoadSnapshot(Request(scratch_.WriteFile("without_f3.csv", without_f3.str()), 1));
  ASSERT_TRUE(result.ok()) << result.status();
  const std::vector<double> predictions = ReadPredictions();
  for (int r = 0; r < 2; ++r) EXPECT_EQ(predictions[r], static_cast<double>(expected[r])) << "row " << r;
  EXPECT_THAT(LoadSnapshot(Request(scratch_.WriteFile("without_f2.csv", without_f2.str()), 1)).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("header lacks column \"f2\"")));
}

// --output_kind: the table holds labels or margins, as the scorer gives them.
TEST_F(BatchScoringTest, TheOutputKindDecidesWhatTheColumnHolds) {
  const auto input = WriteFeatures("features.csv");
  for (OutputKind kind : {OutputKind::kLabel, OutputKind::kMargin}) {
    SCOPED_TRACE(std::string(OutputKindName(kind)));
    std::vector<float> expected;
    ASSERT_TRUE(model_->scorer->Predict(features_, &expected, kind).ok());
    LoadRequest request = Request(input, 2);
    request.scoring->output_kind = kind;
    ASSERT_EQ(PredictionColumns(*request.scoring).size(), 1u);
    auto result = LoadSnapshot(request);
    ASSERT_TRUE(result.ok()) << result.status();
    const std::vector<double> predictions = ReadPredictions();
    for (int r = 0; r < kRows; ++r) ASSERT_EQ(predictions[r], static_cast<double>(expected[r])) << "row " << r;
  }
}

// Empty cells and the text NaN are missing values: every row scores, as
// XGBoost scores NaN, with no reject file.
TEST_F(BatchScoringTest, EmptyCellsAndNaNTextAreScoredAsMissingValues) {
  const std::vector<std::pair<int, int>> blank = {{3, 1}, {4, 0}, {4, 3}, {2999, 2}};
  std::string csv = ReadFile(WriteFeatures("features.csv", blank));
  const size_t line7 = LineStart(csv, 7);  // row 5: f0 becomes the text NaN
  csv.replace(csv.find(',', line7) + 1, csv.find(',', csv.find(',', line7) + 1) - csv.find(',', line7) - 1, "NaN");
  std::vector<float> rows = features_;
  for (auto [r, f] : blank) rows[r * kFeatures + f] = NAN;
  rows[5 * kFeatures + 0] = NAN;
  std::vector<float> expected;
  ASSERT_TRUE(model_->scorer->Predict(rows, &expected).ok());

  auto result = LoadSnapshot(Request(scratch_.WriteFile("missing.csv", csv), 2));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->rows, static_cast<uint64_t>(kRows));
  const std::vector<double> predictions = ReadPredictions();
  for (int r : {3, 4, 5, 2999, 0}) EXPECT_EQ(predictions[r], static_cast<double>(expected[r])) << "row " << r;
  // The missing values matter: the complete row scores otherwise.
  std::vector<float> complete;
  ASSERT_TRUE(model_->scorer->Predict(features_, &complete).ok());
  EXPECT_NE(expected[4], complete[4]);
}

TEST_F(BatchScoringTest, ABadRowRejectsTheLoadUnlessARejectFileTakesIt) {
  // Row 10 (line 12) has text for f2; row 20 (line 22) has text for f1.
  std::string csv = ReadFile(WriteFeatures("features.csv"));
  const size_t line12 = LineStart(csv, 12);
  csv.replace(csv.find(',', csv.find(',', csv.find(',', line12) + 1) + 1) + 1, 0, "y");  // f2 of line 12
  const size_t line22 = LineStart(csv, 22);
  csv.replace(csv.find(',', csv.find(',', line22) + 1) + 1, 0, "x");  // f1 of line 22 becomes "x<number>"
  const auto input = scratch_.WriteFile("bad.csv", csv);

  EXPECT_THAT(LoadSnapshot(Request(input, 2)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bad.csv:12:")));
  EXPECT_FALSE(std::filesystem::exists(scratch_.path() / "data" / "scores" / "manifest.json"));

  LoadRequest request = Request(input, 2);
  request.reject_file = scratch_.path() / "rejects.txt";
  auto result = LoadSnapshot(request);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->rows, static_cast<uint64_t>(kRows - 2));
  EXPECT_EQ(result->rows_rejected, 2u);
  std::ifstream rejects(request.reject_file);
  std::string first, second;
  std::getline(rejects, first);
  std::getline(rejects, second);
  EXPECT_THAT(first, HasSubstr("bad.csv:12:"));
  EXPECT_THAT(first, HasSubstr("\"f2\""));
  EXPECT_THAT(second, HasSubstr("bad.csv:22:"));
  EXPECT_THAT(second, HasSubstr("\"f1\""));
  const std::vector<double> predictions = ReadPredictions();
  EXPECT_TRUE(std::isnan(predictions[10]));
  EXPECT_TRUE(std::isnan(predictions[20]));
  EXPECT_FALSE(std::isnan(predictions[11]));
}

TEST_F(BatchScoringTest, TheTableMustHoldOneDoubleColumnPerOutput) {
  LoadRequest request = Request(WriteFeatures("features.csv"), 1);
  request.schema = ValueOrDie(Schema::Create({{"id", ColumnType::kInt64}}, {{"score", ColumnType::kDouble}}, std::nullopt));
  EXPECT_THAT(LoadSnapshot(request), StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("per model output")));
}

}  // namespace
}  // namespace predstore
