// LookupService in-process, with no transport: a real store loaded from
// CSV, a real stream store, a real MLflow registry of a trained XGBoost
// model. Computed answers are compared with the model's own scorer.
#include "core/serve/lookup_service.h"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <thread>

#include "absl/time/clock.h"
#include "core/ingest/batch_load.h"
#include "core/model/sample_model.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/scratch_dir.h"
#include "tests/support/status_matchers.h"

namespace predstore {
namespace {

namespace fs = std::filesystem;
using test_support::StatusHasCode;
using test_support::StatusIs;
using test_support::ValueOrDie;
using ::testing::HasSubstr;

constexpr int kFeatures = 4;

class LookupServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // scores: users 1..3 precomputed. feats: features of users 1..9.
    Load("scores", "user,score\n1,0.5\n2,0.25\n3,0.125\n",
         Schema::Create({{"user", ColumnType::kInt64}}, {{"score", ColumnType::kDouble}}, std::nullopt));
    std::string feats = "user,f0,f1,f2,f3\n";
    for (int user = 1; user <= 9; ++user) {
      StrAppendRow(&feats, user, {0.1 * user, 1.0 - 0.1 * user, 0.3, -0.2 * user});
    }
    Load("feats", feats,
         Schema::Create({{"user", ColumnType::kInt64}}, {{"f0", ColumnType::kDouble},
                                                         {"f1", ColumnType::kDouble},
                                                         {"f2", ColumnType::kDouble},
                                                         {"f3", ColumnType::kDouble}},
                        std::nullopt));
    store_ = ValueOrDie(PredictionStore::Open({.data_dir = data()}));

    SampleModelOptions model;
    model.features = kFeatures;
    model.trees = 8;
    model.depth = 3;
    const fs::path model_dir = scratch_.path() / "model";
    ASSERT_TRUE(WriteSampleModel(model, model_dir.string()).ok());
    ASSERT_TRUE(WriteSampleRegistration(registry(), {"m", 1, "Production", {}, model_dir.string()}).ok());
    models_ = ValueOrDie(ModelCatalog::Open({registry(), 1}));
    streams_ = ValueOrDie(StreamCatalog::Open(data(), StreamOptions{}));
    batcher_ = std::make_unique<ScoringBatcher>(BatchingOptions{});
  }

  static void StrAppendRow(std::string* csv, int user, std::vector<double> features) {
    csv->append(std::to_string(user));
    for (double f : features) csv->append(",").append(std::to_string(f));
    csv->append("\n");
  }

  void Load(const std::string& table, const std::string& csv, absl::StatusOr<Schema> schema) {
    LoadRequest request;
    request.data_dir = data();
    request.table = table;
    request.schema = ValueOrDie(std::move(schema));
    request.inputs = {scratch_.WriteFile(table + ".csv", csv)};
    ValueOrDie(LoadSnapshot(request));
  }

  // A service over the fixture; `bindings` as --fallback takes them.
  std::unique_ptr<LookupService> Service(std::string_view bindings = "", uint32_t max_batch_keys = 100,
                                         std::function<void(std::string_view)> on_behind = nullptr) {
    fallback_.reset();
    if (!bindings.empty()) {
      fallback_ = std::make_unique<LookupFallback>(store_.get(), models_.get(),
                                                   ValueOrDie(ParseFallbackBindings(bindings)));
    }
    return std::make_unique<LookupService>(store_.get(), streams_.get(), models_.get(), batcher_.get(),
                                           fallback_.get(),
                                           LookupServiceOptions{.max_batch_keys = max_batch_keys,
                                                                .metrics = nullptr,
                                                                .admission = nullptr,
                                                                .on_behind = std::move(on_behind)});
  }

  std::shared_ptr<const TableSnapshot> Scores(const LookupService& service) {
    return ValueOrDie(service.Table("scores"));
  }

  // Looks `user` up and waits for the answer.
  absl::StatusOr<LookupAnswers> Lookup(const LookupService& service, int64_t user,
                                       std::optional<int64_t> as_of = std::nullopt, FeatureRows features = {}) {
    LookupQuery query{Scores(service), {Cell(user)}, as_of, false, std::move(features)};
    std::promise<absl::StatusOr<LookupAnswers>> answered;
    service.Lookup(std::move(query), [&](absl::StatusOr<LookupAnswers> answers) { answered.set_value(std::move(answers)); });
    return answered.get_future().get();
  }

  absl::StatusOr<LookupAnswers> BatchLookup(const LookupService& service, std::vector<int64_t> users,
                                            FeatureRows features = {}) {
    BatchLookupQuery query;
    query.table = Scores(service);
    for (int64_t user : users) query.keys.emplace_back(user);
    query.features = std::move(features);
    std::promise<absl::StatusOr<LookupAnswers>> answered;
    service.BatchLookup(std::move(query),
                        [&](absl::StatusOr<LookupAnswers> answers) { answered.set_value(std::move(answers)); });
    return answered.get_future().get();
  }

  // The score column of a stored or streamed answer.
  static double StoredScore(const LookupAnswers& answers, size_t k) {
    std::vector<Cell> values = ValueOrDie(answers.table->value_codec().Decode(answers.EncodedValues(answers.keys[k])));
    return std::get<double>(values[0]);
  }

  // What the Production model's own scorer gives for one row.
  float Reference(std::vector<float> row) {
    std::shared_ptr<const ServedModel> model =
        ValueOrDie(models_->Resolve(ValueOrDie(ParseModelReference("models:/m/Production"))));
    std::vector<float> outputs;
    EXPECT_TRUE(model->scorer->Predict(row, &outputs).ok());
    return outputs.at(0);
  }
  static std::vector<float> FeaturesOf(int user) {
    return {static_cast<float>(0.1 * user), static_cast<float>(1.0 - 0.1 * user), 0.3f,
            static_cast<float>(-0.2 * user)};
  }

  // Writes one stream event for `user` into the scores table's stream.
  void Stream(int64_t user, int64_t event_time_micros, double score, uint64_t sequence) {
    auto table = store_->Find("scores");
    StreamEvent event;
    table->key_codec().Encode(std::vector<Cell>{Cell(user)}, &event.key);
    event.event_time_micros = event_time_micros;
    table->value_codec().Encode(std::vector<Cell>{Cell(score)}, &event.value);
    StreamStore* stream = ValueOrDie(streams_->OpenOrCreate("scores"));
    ASSERT_TRUE(stream->Apply("test", sequence, "", std::vector<StreamEvent>{event}).ok());
  }

  fs::path data() const { return scratch_.path() / "data"; }
  std::string registry() const { return (scratch_.path() / "mlruns").string(); }
  int64_t published_at() const { return store_->Find("scores")->info().created_at_micros; }

  test_support::ScratchDir scratch_;
  std::unique_ptr<PredictionStore> store_;
  std::unique_ptr<ModelCatalog> models_;
  std::unique_ptr<StreamCatalog> streams_;
  std::unique_ptr<ScoringBatcher> batcher_;
  std::unique_ptr<LookupFallback> fallback_;
};

TEST_F(LookupServiceTest, NamesAnAbsentTable) {
  auto service = Service();
  EXPECT_THAT(service->Table(""), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("table: required")));
  EXPECT_THAT(service->Table("nope"), StatusIs(absl::StatusCode::kNotFound, HasSubstr("\"nope\" is not served")));
  ASSERT_EQ(service->Tables().size(), 2u);
  EXPECT_EQ(service->Tables()[0]->table(), "feats");
}

TEST_F(LookupServiceTest, MinVersionRefusesAVersionNotSeenYetButNotARollback) {
  std::vector<std::string> behind;
  auto service = Service("", 100, [&](std::string_view table) { behind.emplace_back(table); });
  EXPECT_EQ(ValueOrDie(service->Table("scores", 1))->version(), 1u);
  EXPECT_THAT(service->Table("scores", 2).status(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("seen versions of table \"scores\" up to 1")));
  EXPECT_THAT(behind, ::testing::ElementsAre("scores"));

  // Published on disk but not yet re-read: still behind; re-read: served.
  Load("scores", "user,score\n1,0.75\n",
       Schema::Create({{"user", ColumnType::kInt64}}, {{"score", ColumnType::kDouble}}, std::nullopt));
  EXPECT_THAT(service->Table("scores", 2).status(), StatusHasCode(absl::StatusCode::kUnavailable));
  ASSERT_TRUE(store_->Refresh("scores").ok());
  EXPECT_EQ(ValueOrDie(service->Table("scores", 2))->version(), 2u);

  // A rollback is the operator's choice, not lag: it is served to a caller
  // who has seen version 2.
  ASSERT_TRUE(store_->Rollback("scores", 1).ok());
  EXPECT_EQ(ValueOrDie(service->Table("scores", 2))->version(), 1u);
  EXPECT_THAT(service->Table("scores", 3).status(), StatusHasCode(absl::StatusCode::kUnavailable));
  EXPECT_EQ(behind.size(), 3u);
}

TEST_F(LookupServiceTest, AnswersFromTheSnapshotBeforeReturning) {
  auto service = Service();
  bool answered = false;
  service->Lookup(LookupQuery{Scores(*service), {Cell(int64_t{2})}, std::nullopt, false, {}},
                  [&](absl::StatusOr<LookupAnswers> answers) {
                    answered = true;
                    ASSERT_TRUE(answers.ok()) << answers.status();
                    ASSERT_TRUE(answers->keys[0].found);
                    EXPECT_EQ(answers->keys[0].source, AnswerSource::kPrecomputed);
                    EXPECT_EQ(StoredScore(*answers, 0), 0.25);
                    EXPECT_EQ(answers->table->version(), 1u);
                  });
  EXPECT_TRUE(answered);
  LookupAnswers miss = ValueOrDie(Lookup(*service, 42));
  EXPECT_FALSE(miss.keys[0].found);
}

TEST_F(LookupServiceTest, ANewerStreamEventWinsAndAsOfReadsHistory) {
  auto service = Service();
  const int64_t published = published_at();
  // In event-time order: an event far behind the newest one is late.
  Stream(7, published - 7'200'000'000, 0.0625, 1);  // not in the snapshot
  Stream(2, published - 3'600'000'000, 0.875, 2);   // an hour before the snapshot
  Stream(1, published + 3'600'000'000, 0.75, 3);    // an hour after it

  LookupAnswers newer = ValueOrDie(Lookup(*service, 1));
  EXPECT_EQ(newer.keys[0].source, AnswerSource::kStream);
  EXPECT_EQ(newer.keys[0].event_time_micros, published + 3'600'000'000);
  EXPECT_EQ(StoredScore(newer, 0), 0.75);
  LookupAnswers older = ValueOrDie(Lookup(*service, 2));
  EXPECT_EQ(older.keys[0].source, AnswerSource::kPrecomputed);
  EXPECT_EQ(StoredScore(older, 0), 0.25);

  // Before the snapshot was published, only the stream had answers.
  const int64_t before = published - 1'000'000;
  EXPECT_FALSE(ValueOrDie(Lookup(*service, 3, before)).keys[0].found);
  LookupAnswers history = ValueOrDie(Lookup(*service, 2, before));
  EXPECT_EQ(history.keys[0].source, AnswerSource::kStream);
  EXPECT_EQ(StoredScore(history, 0), 0.875);
  EXPECT_EQ(StoredScore(ValueOrDie(Lookup(*service, 7, before)), 0), 0.0625);

  LookupAnswers batch = ValueOrDie(BatchLookup(*service, {1, 2, 42, 7}));
  ASSERT_EQ(batch.keys.size(), 4u);
  EXPECT_EQ(StoredScore(batch, 0), 0.75);
  EXPECT_EQ(StoredScore(batch, 1), 0.25);
  EXPECT_FALSE(batch.keys[2].found);
  EXPECT_EQ(batch.keys[3].source, AnswerSource::kStream);
}

TEST_F(LookupServiceTest, AMissIsScoredOnTheFeaturesTableAsTheModelScoresIt) {
  auto service = Service("table=scores,model=models:/m/Production,features=feats");
  LookupAnswers computed = ValueOrDie(Lookup(*service, 5));
  const KeyAnswer& answer = computed.keys[0];
  ASSERT_TRUE(answer.found);
  EXPECT_EQ(answer.source, AnswerSource::kComputed);
  EXPECT_EQ(answer.computed_output, Reference(FeaturesOf(5)));
  EXPECT_EQ(answer.model->name, "m");
  EXPECT_EQ(computed.output_column, 0u);
  // Stored answers are not rescored; no_fallback and as_of never score.
  EXPECT_EQ(ValueOrDie(Lookup(*service, 1)).keys[0].source, AnswerSource::kPrecomputed);
  LookupQuery stored_only{Scores(*service), {Cell(int64_t{5})}, std::nullopt, true, {}};
  service->Lookup(std::move(stored_only), [](absl::StatusOr<LookupAnswers> answers) {
    ASSERT_TRUE(answers.ok());
    EXPECT_FALSE(answers->keys[0].found);
  });
  EXPECT_FALSE(ValueOrDie(Lookup(*service, 5, published_at() + 1)).keys[0].found);
  // No source has features for user 42.
  EXPECT_THAT(Lookup(*service, 42), StatusHasCode(absl::StatusCode::kNotFound));
}

TEST_F(LookupServiceTest, RequestFeaturesWinAndAreValidated) {
  auto service = Service("table=scores,model=models:/m/Production");
  FeatureRows features;
  features.names = {"f0", "f1", "f2", "f3"};
  features.rows = 1;
  const std::vector<float> row = {0.9f, -0.5f, 0.25f, 2.0f};
  for (float f : row) features.values.emplace_back(CellView(static_cast<double>(f)));
  LookupAnswers computed = ValueOrDie(Lookup(*service, 42, std::nullopt, features));
  EXPECT_EQ(computed.keys[0].computed_output, Reference(row));

  features.names[3] = "colour";
  EXPECT_THAT(Lookup(*service, 42, std::nullopt, features),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("colour")));
}

TEST_F(LookupServiceTest, CachedAnswersOutliveAChangeOfFeatures) {
  auto service = Service("table=scores,model=models:/m/Production,features=feats,cache_ttl=10m");
  const float first = ValueOrDie(Lookup(*service, 6)).keys[0].computed_output;
  EXPECT_EQ(first, Reference(FeaturesOf(6)));
  // New features for user 6: the cache still answers with the first score.
  Load("feats", "user,f0,f1,f2,f3\n6,5,5,5,5\n", Schema::Create({{"user", ColumnType::kInt64}},
                                                                  {{"f0", ColumnType::kDouble},
                                                                   {"f1", ColumnType::kDouble},
                                                                   {"f2", ColumnType::kDouble},
                                                                   {"f3", ColumnType::kDouble}},
                                                                  std::nullopt));
  ASSERT_TRUE(store_->Refresh("feats").ok());
  ASSERT_NE(Reference({5, 5, 5, 5}), first);
  EXPECT_EQ(ValueOrDie(Lookup(*service, 6)).keys[0].computed_output, first);
  // Without a cache the new features are scored.
  auto uncached = Service("table=scores,model=models:/m/Production,features=feats");
  EXPECT_EQ(ValueOrDie(Lookup(*uncached, 6)).keys[0].computed_output, Reference({5, 5, 5, 5}));
}

TEST_F(LookupServiceTest, ABatchMixesStoredAndComputedAnswersInRequestOrder) {
  auto service = Service("table=scores,model=models:/m/Production,features=feats");
  LookupAnswers batch = ValueOrDie(BatchLookup(*service, {8, 1, 42, 4, 3}));
  ASSERT_EQ(batch.keys.size(), 5u);
  EXPECT_EQ(batch.keys[0].computed_output, Reference(FeaturesOf(8)));
  EXPECT_EQ(StoredScore(batch, 1), 0.5);
  EXPECT_FALSE(batch.keys[2].found);  // nothing to score it on: stays a miss
  EXPECT_EQ(batch.keys[3].source, AnswerSource::kComputed);
  EXPECT_EQ(batch.keys[3].computed_output, Reference(FeaturesOf(4)));
  EXPECT_EQ(StoredScore(batch, 4), 0.125);

  FeatureRows one_row;
  one_row.names = {"f0"};
  one_row.rows = 1;
  one_row.values = {CellView(1.0)};
  EXPECT_THAT(BatchLookup(*service, {8, 9}, one_row),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("features: 1 rows for 2 keys")));
}

TEST_F(LookupServiceTest, RefusesBatchesPastTheLimit) {
  auto service = Service("", 3);
  EXPECT_THAT(BatchLookup(*service, {1, 2, 3, 4}),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("4 keys exceed the server's limit of 3")));
  EXPECT_TRUE(BatchLookup(*service, {1, 2, 3}).ok());
}

TEST_F(LookupServiceTest, PredictScoresRowsAsTheModelDoes) {
  auto service = Service();
  FeatureRows rows;
  rows.names = {"f3", "f2", "f1", "f0"};  // by name, in any order
  rows.rows = 2;
  for (int user : {2, 7}) {
    std::vector<float> f = FeaturesOf(user);
    for (int i = kFeatures - 1; i >= 0; --i) rows.values.emplace_back(CellView(static_cast<double>(f[i])));
  }
  std::promise<absl::StatusOr<PredictAnswer>> answered;
  service->Predict(PredictQuery{"models:/m/Production", rows},
                   [&](absl::StatusOr<PredictAnswer> answer) { answered.set_value(std::move(answer)); });
  PredictAnswer answer = ValueOrDie(answered.get_future().get());
  ASSERT_EQ(answer.outputs.size(), 2u);
  EXPECT_EQ(answer.outputs[0], Reference(FeaturesOf(2)));
  EXPECT_EQ(answer.outputs[1], Reference(FeaturesOf(7)));
  EXPECT_EQ(answer.model->version, 1);

  absl::Status status;
  service->Predict(PredictQuery{"models:/m/Production", {}}, [&](absl::StatusOr<PredictAnswer> a) { status = a.status(); });
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at least one row")));
  service->Predict(PredictQuery{"models:/absent/Production", rows},
                   [&](absl::StatusOr<PredictAnswer> a) { status = a.status(); });
  EXPECT_THAT(status, StatusHasCode(absl::StatusCode::kNotFound));
  LookupService no_models(store_.get(), nullptr, nullptr, batcher_.get(), nullptr, {});
  no_models.Predict(PredictQuery{"models:/m/Production", rows}, [&](absl::StatusOr<PredictAnswer> a) { status = a.status(); });
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("--model_registry")));
}

TEST_F(LookupServiceTest, ScanDecodesKeysInKeyOrder) {
  auto service = Service();
  std::vector<int64_t> users;
  ScanQuery query;
  query.ranges.resize(1);
  auto result = service->Scan(*Scores(*service), query, [&](std::span<const Cell> key, std::string_view) {
    users.push_back(std::get<int64_t>(key[0]));
  });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(users, ::testing::ElementsAre(1, 2, 3));
}

// Readers on several threads while loads are swapped in and rolled back:
// every answer is whole, from one version, and that version's own rows.
// (Also the ThreadSanitizer pass's swap-under-load test: tests/sanitizers/.)
TEST_F(LookupServiceTest, SwapsAndRollbacksUnderConcurrentLookupsNeverMixVersions) {
  auto service = Service();
  // Version 1 is SetUp's; version v >= 2 scores user u as 10 * v + u.
  auto expected_score = [](uint64_t version, int64_t user) {
    if (version == 1) return 1.0 / static_cast<double>(int64_t{1} << user);
    return 10.0 * static_cast<double>(version) + static_cast<double>(user);
  };
  std::atomic<bool> done{false};
  std::atomic<uint64_t> answers{0};
  auto read = [&] {
    while (!done.load()) {
      LookupAnswers batch = ValueOrDie(BatchLookup(*service, {1, 2, 3}));
      const uint64_t version = batch.table->version();
      for (size_t k = 0; k < 3; ++k) {
        ASSERT_TRUE(batch.keys[k].found) << "version " << version;
        ASSERT_EQ(StoredScore(batch, k), expected_score(version, static_cast<int64_t>(k) + 1)) << "version " << version;
      }
      LookupAnswers single = ValueOrDie(Lookup(*service, 2));
      ASSERT_TRUE(single.keys[0].found);
      ASSERT_EQ(StoredScore(single, 0), expected_score(single.table->version(), 2));
      answers.fetch_add(2);
    }
  };
  std::vector<std::thread> readers;
  for (int i = 0; i < 3; ++i) readers.emplace_back(read);

  const Schema schema =
      ValueOrDie(Schema::Create({{"user", ColumnType::kInt64}}, {{"score", ColumnType::kDouble}}, std::nullopt));
  for (uint64_t version = 2; version <= 6; ++version) {
    std::string csv = "user,score\n";
    for (int user = 1; user <= 3; ++user) StrAppendRow(&csv, user, {expected_score(version, user)});
    Load("scores", csv, schema);
    ASSERT_TRUE(store_->Refresh("scores").ok());
    ASSERT_EQ(store_->Find("scores")->version(), version);
    if (version % 2 == 0) {
      ASSERT_TRUE(store_->Rollback("scores", version - 1).ok());
      ASSERT_TRUE(store_->Rollback("scores", version).ok());
    }
  }
  done = true;
  for (std::thread& reader : readers) reader.join();
  EXPECT_GT(answers.load(), 0u);
}

}  // namespace
}  // namespace predstore
