#include "core/serve/lookup_fallback.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace predstore {
namespace {

using test_support::StatusIs;
using ::testing::HasSubstr;

TEST(ParseFallbackBindings, ReadsEveryKey) {
  auto bindings = ParseFallbackBindings(
      "table=forecasts,model=models:/demand/Production,features=store_features,output=forecast,max_age=24h,"
      "cache_ttl=90s,output_kind=label; table=churn, model=models:/churn@champion");
  ASSERT_TRUE(bindings.ok()) << bindings.status();
  ASSERT_EQ(bindings->size(), 2u);
  const FallbackBinding& first = (*bindings)[0];
  EXPECT_EQ(first.table, "forecasts");
  EXPECT_EQ(first.model.name, "demand");
  EXPECT_EQ(first.model.kind, ModelReference::Kind::kStage);
  EXPECT_EQ(first.features_table, "store_features");
  EXPECT_EQ(first.output_column, "forecast");
  EXPECT_EQ(first.max_age, std::chrono::hours(24));
  EXPECT_EQ(first.cache_ttl, std::chrono::seconds(90));
  EXPECT_EQ(first.output_kind, OutputKind::kLabel);
  const FallbackBinding& second = (*bindings)[1];
  EXPECT_EQ(second.model.kind, ModelReference::Kind::kAlias);
  EXPECT_FALSE(second.max_age.has_value());
  EXPECT_EQ(second.cache_ttl.count(), 0);
  EXPECT_EQ(second.output_kind, OutputKind::kProbability);
}

TEST(ParseFallbackBindings, NamesTheBindingAndKeyAtFault) {
  EXPECT_THAT(ParseFallbackBindings("table=t"), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("model= are required")));
  EXPECT_THAT(ParseFallbackBindings("table=t,model=models:/m/Production;table=u,model=models:/m/1,colour=red"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("binding 2: unknown key 'colour'")));
  EXPECT_THAT(ParseFallbackBindings("table=t,model=models:/m/Production,max_age=soon"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_age: 'soon'")));
  EXPECT_THAT(ParseFallbackBindings("table=t,model=s3://bucket/model"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("binding 1: model")));
  EXPECT_THAT(ParseFallbackBindings("table=t,model=models:/m/1;table=t,model=models:/m/2"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bound twice")));
  EXPECT_THAT(ParseFallbackBindings("table=t,model=models:/m/1,output_kind=odds"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("output_kind: unknown output kind 'odds'")));
  EXPECT_THAT(ParseFallbackBindings("table=t,model"), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("key=value")));
}

}  // namespace
}  // namespace predstore
