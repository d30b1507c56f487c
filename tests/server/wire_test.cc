// The gRPC front end's conversions (server/wire.h) against a real table:
// wire shapes are refused naming the field, and core answers come back as
// the proto contract says.
#include "server/wire.h"

#include "core/ingest/batch_load.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/scratch_dir.h"
#include "tests/support/status_matchers.h"

namespace predstore {
namespace {

using test_support::StatusIs;
using test_support::ValueOrDie;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class WireTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LoadRequest request;
    request.data_dir = scratch_.path() / "data";
    request.table = "t";
    request.schema = ValueOrDie(Schema::Create({{"store", ColumnType::kInt64}, {"day", ColumnType::kDate}},
                                               {{"score", ColumnType::kDouble}, {"label", ColumnType::kString}},
                                               std::nullopt));
    request.inputs = {scratch_.WriteFile("t.csv", "store,day,score,label\n1,2025-11-26,0.5,high\n")};
    ValueOrDie(LoadSnapshot(request));
    store_ = ValueOrDie(PredictionStore::Open({.data_dir = scratch_.path() / "data"}));
    table_ = store_->Find("t");
  }

  test_support::ScratchDir scratch_;
  std::unique_ptr<PredictionStore> store_;
  std::shared_ptr<const TableSnapshot> table_;
};

TEST_F(WireTest, ALookupNamesABadKeyColumn) {
  v1::LookupRequest request;
  v1::KeyField* store = request.add_key();
  store->set_column("store");
  store->mutable_value()->set_int64_value(1);
  EXPECT_THAT(LookupQueryFromWire(request, table_),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("missing key column \"day\"")));
  v1::KeyField* colour = request.add_key();
  colour->set_column("colour");
  EXPECT_THAT(LookupQueryFromWire(request, table_),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown key column \"colour\"")));
}

TEST_F(WireTest, LookupFeaturesAreOneRowWithUnsetValuesAbsent) {
  v1::LookupRequest request;
  v1::KeyField* store = request.add_key();
  store->set_column("store");
  store->mutable_value()->set_int64_value(1);
  v1::KeyField* day = request.add_key();
  day->set_column("day");
  day->mutable_value()->set_date_value(20418);
  request.add_features()->set_column("f0");
  v1::KeyField* f1 = request.add_features();
  f1->set_column("f1");
  f1->mutable_value()->set_double_value(2.5);
  LookupQuery query = ValueOrDie(LookupQueryFromWire(request, table_));
  EXPECT_THAT(query.features.names, ElementsAre("f0", "f1"));
  ASSERT_EQ(query.features.rows, 1u);
  EXPECT_FALSE(query.features.values[0].has_value());
  EXPECT_EQ(std::get<double>(*query.features.values[1]), 2.5);
  EXPECT_FALSE(query.as_of_micros.has_value());
}

TEST_F(WireTest, AColumnarBatchNamesTheColumnOfAWrongLength) {
  v1::BatchLookupRequest request;
  request.add_key_columns("day");
  request.add_key_columns("store");
  request.add_key_values()->add_int64_values(20418);
  v1::KeyColumnValues* stores = request.add_key_values();
  stores->add_int64_values(1);
  stores->add_int64_values(2);
  EXPECT_THAT(ColumnarQueryFromWire(request, table_),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("key_values[0] (column \"day\", date): 1 values for 2 keys")));
  stores->mutable_int64_values()->RemoveLast();
  request.mutable_key_values(0)->set_int64_values(0, int64_t{1} << 40);
  EXPECT_THAT(ColumnarQueryFromWire(request, table_),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("days is out of range")));
  request.mutable_key_values(0)->set_int64_values(0, 20418);
  BatchLookupQuery query = ValueOrDie(ColumnarQueryFromWire(request, table_));
  EXPECT_TRUE(query.no_fallback);
  ASSERT_EQ(query.keys.size(), 2u);  // in the table's column order
  EXPECT_EQ(std::get<int64_t>(query.keys[0]), 1);
  EXPECT_EQ(std::get<Date>(query.keys[1]).days, 20418);
  request.add_keys();
  EXPECT_THAT(ColumnarQueryFromWire(request, table_),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("give one form of the keys")));
}

TEST_F(WireTest, AComputedAnswerFillsOnlyTheOutputColumn) {
  LookupAnswers answers;
  answers.table = table_;
  answers.output_column = 0;
  KeyAnswer& computed = answers.keys.emplace_back();
  computed.found = true;
  computed.source = AnswerSource::kComputed;
  computed.computed_output = 0.75f;
  auto model = std::make_shared<ServedModel>();
  model->name = "m";
  model->version = 3;
  computed.model = model;
  v1::LookupResponse response;
  ASSERT_TRUE(LookupResponseToWire(answers, &response).ok());
  EXPECT_EQ(response.source(), v1::SOURCE_COMPUTED);
  ASSERT_EQ(response.values_size(), 2);
  EXPECT_EQ(response.values(0).double_value(), 0.75);
  EXPECT_EQ(response.values(1).kind_case(), v1::Value::KIND_NOT_SET);
  EXPECT_EQ(response.model_name(), "m");
  EXPECT_EQ(response.model_version(), 3);
  EXPECT_THAT(response.value_columns(), ElementsAre("score", "label"));
}

TEST_F(WireTest, AColumnarMissIsZeroAndEmpty) {
  LookupAnswers answers;
  answers.table = table_;
  std::string key;
  table_->key_codec().Encode(std::vector<Cell>{int64_t{1}, Date{20418}}, &key);
  ASSERT_TRUE(table_
                  ->Get(key,
                        [&](std::string_view value) {
                          KeyAnswer& hit = answers.keys.emplace_back();
                          hit.found = true;
                          hit.value_size = static_cast<uint32_t>(value.size());
                          answers.values.insert(answers.values.end(), value.begin(), value.end());
                        })
                  .value());
  answers.keys.emplace_back();  // a miss
  v1::BatchLookupResponse response;
  ASSERT_TRUE(ColumnarResponseToWire(answers, &response).ok());
  EXPECT_THAT(response.found(), ElementsAre(true, false));
  EXPECT_THAT(response.columns(0).double_values(), ElementsAre(0.5, 0));
  EXPECT_THAT(response.columns(1).string_values(), ElementsAre("high", ""));
}

// Keys longer than kMaxKeyStringBytes are refused on every request form
// that names a key, naming the field.
TEST(WireKeyLimitTest, LongKeysAreRefusedNamingTheField) {
  test_support::ScratchDir scratch;
  LoadRequest load;
  load.data_dir = scratch.path() / "data";
  load.table = "users";
  load.schema = ValueOrDie(
      Schema::Create({{"user", ColumnType::kString}}, {{"score", ColumnType::kDouble}}, std::nullopt));
  load.inputs = {scratch.WriteFile("u.csv", "user,score\nann,1\n")};
  ValueOrDie(LoadSnapshot(load));
  auto store = ValueOrDie(PredictionStore::Open({.data_dir = scratch.path() / "data"}));
  std::shared_ptr<const TableSnapshot> table = store->Find("users");
  const std::string longest(kMaxKeyStringBytes, 'u'), too_long(kMaxKeyStringBytes + 1, 'u');

  v1::LookupRequest lookup;
  v1::KeyField* user = lookup.add_key();
  user->set_column("user");
  user->mutable_value()->set_string_value(longest);
  EXPECT_TRUE(LookupQueryFromWire(lookup, table).ok());
  user->mutable_value()->set_string_value(too_long);
  EXPECT_THAT(LookupQueryFromWire(lookup, table),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("column \"user\": a key of 1025 bytes")));

  v1::BatchLookupRequest batch;
  batch.add_key_columns("user");
  batch.add_keys()->add_values()->set_string_value("ann");
  batch.add_keys()->add_values()->set_string_value(too_long);
  EXPECT_THAT(BatchLookupQueryFromWire(batch, table),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("keys[1]: column \"user\": a key of 1025")));
  v1::BatchLookupRequest columnar;
  columnar.add_key_columns("user");
  columnar.add_key_values()->add_string_values(too_long);
  EXPECT_THAT(ColumnarQueryFromWire(columnar, table),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("key_values[0] (column \"user\"): a key of 1025")));
  v1::ScanRequest scan;
  v1::ColumnRange* range = scan.add_where();
  range->set_column("user");
  range->mutable_low()->set_string_value(too_long);
  EXPECT_THAT(ScanQueryFromWire(scan, table->schema()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("where[0]: column \"user\": a key of 1025")));
}

// A table whose value columns are nullable: a null is an unset value in
// every answer, listed in null_indexes in the columnar form, and an unset
// or NaN value of a stream event is a null (an unset strict one is refused).
TEST(WireNullableTest, NullsTravelAsUnsetValuesBothWays) {
  test_support::ScratchDir scratch;
  LoadRequest request;
  request.data_dir = scratch.path() / "data";
  request.table = "features";
  request.schema = ValueOrDie(Schema::Create(
      {{"store", ColumnType::kInt64}},
      {{"f0", ColumnType::kDouble, true}, {"label", ColumnType::kString, true}, {"weight", ColumnType::kFloat}},
      std::nullopt));
  request.inputs = {scratch.WriteFile("f.csv", "store,f0,label,weight\n1,,x,1\n2,0.5,,2\n")};
  ValueOrDie(LoadSnapshot(request));
  auto store = ValueOrDie(PredictionStore::Open({.data_dir = scratch.path() / "data"}));
  std::shared_ptr<const TableSnapshot> table = store->Find("features");

  v1::TableInfo info;
  TableInfoToWire(*table, &info);
  ASSERT_EQ(info.schema().value_columns_size(), 3);
  EXPECT_TRUE(info.schema().value_columns(0).nullable());
  EXPECT_FALSE(info.schema().value_columns(2).nullable());
  EXPECT_TRUE(SchemaFromWire(info.schema()).value() == table->schema());

  LookupAnswers answers;
  answers.table = table;
  for (int64_t id : {1, 2}) {
    std::string key;
    table->key_codec().Encode(std::vector<Cell>{id}, &key);
    ASSERT_TRUE(table
                    ->Get(key,
                          [&](std::string_view value) {
                            KeyAnswer& hit = answers.keys.emplace_back();
                            hit.found = true;
                            hit.value_offset = static_cast<uint32_t>(answers.values.size());
                            hit.value_size = static_cast<uint32_t>(value.size());
                            answers.values.insert(answers.values.end(), value.begin(), value.end());
                          })
                    .value());
  }
  answers.keys.emplace_back();  // a miss: not a null
  v1::BatchLookupResponse rows;
  ASSERT_TRUE(BatchLookupResponseToWire(answers, &rows).ok());
  EXPECT_EQ(rows.results(0).values(0).kind_case(), v1::Value::KIND_NOT_SET);
  EXPECT_EQ(rows.results(0).values(1).string_value(), "x");
  EXPECT_EQ(rows.results(1).values(0).double_value(), 0.5);
  EXPECT_EQ(rows.results(1).values(1).kind_case(), v1::Value::KIND_NOT_SET);
  v1::BatchLookupResponse columnar;
  ASSERT_TRUE(ColumnarResponseToWire(answers, &columnar).ok());
  EXPECT_THAT(columnar.columns(0).double_values(), ElementsAre(0, 0.5, 0));
  EXPECT_THAT(columnar.columns(0).null_indexes(), ElementsAre(0));
  EXPECT_THAT(columnar.columns(1).string_values(), ElementsAre("x", "", ""));
  EXPECT_THAT(columnar.columns(1).null_indexes(), ElementsAre(1));
  EXPECT_THAT(columnar.columns(2).float_values(), ElementsAre(1, 2, 0));
  EXPECT_THAT(columnar.columns(2).null_indexes(), ::testing::IsEmpty());

  v1::IngestRequest ingest;
  ingest.set_sequence(1);
  v1::StreamEvent* event = ingest.add_events();
  v1::KeyField* key = event->add_key();
  key->set_column("store");
  key->mutable_value()->set_int64_value(3);
  event->set_event_time_micros(5);
  event->add_values()->set_column("f0");
  v1::KeyField* label = event->add_values();
  label->set_column("label");
  label->mutable_value()->set_string_value("y");
  v1::KeyField* weight = event->add_values();
  weight->set_column("weight");
  weight->mutable_value()->set_float_value(NAN);
  EXPECT_THAT(IngestEventsFromWire(ingest, *table), StatusIs(absl::StatusCode::kInvalidArgument,
                                                             HasSubstr("column \"weight\": nan is not a finite number")));
  weight->mutable_value()->set_float_value(3);
  event->mutable_values(0)->mutable_value()->set_double_value(NAN);
  std::vector<IngestEvent> events = ValueOrDie(IngestEventsFromWire(ingest, *table));
  EXPECT_EQ(events[0].values, (std::vector<Cell>{Null{}, std::string("y"), 3.0f}));
  weight->clear_value();
  EXPECT_THAT(IngestEventsFromWire(ingest, *table), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"weight\"")));
}

}  // namespace
}  // namespace predstore
