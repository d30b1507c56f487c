// MLflow's scoring protocol without a server: the float text against
// Python's own json.dumps, and how each body shape becomes feature rows.
#include "core/serve/mlflow_protocol.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace predstore {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string OutputOf(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buffer[4096];
  for (size_t n; (n = fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
  pclose(pipe);
  return out;
}

TEST(MlflowProtocolTest, FloatsPrintAsPythonsJsonDumpsPrintsThem) {
  // Every range Python's repr switches on, float32 values widened as NumPy's
  // tolist() widens them, and the non-finite values json.dumps writes.
  std::vector<double> values = {0.0, -0.0, 1.0, -2.5, 0.1, 1e-4, 9.99e-5, 1e-5, 1.5e-7, 1e15, 1e16, 1.5e16,
                                123456789012345678.0, 1e300, 5e-324, std::numeric_limits<double>::max(),
                                std::nan(""), std::numeric_limits<double>::infinity(),
                                -std::numeric_limits<double>::infinity()};
  for (float f : {0.1f, 0.5912792086601257f, 3.4028235e38f, 1.17549435e-38f, 1e-45f, 7.890259265899658f,
                  -0.6878080368041992f, 16777217.0f, 1234.5678f}) {
    values.push_back(f);
  }
  std::string hex_arguments;
  std::string ours = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    char hex[64];
    std::snprintf(hex, sizeof hex, "%a", values[i]);
    hex_arguments += std::string(" '") + hex + "'";
    if (i > 0) ours += ", ";
    AppendPythonFloat(&ours, values[i]);
  }
  ours += "]\n";
  const std::string python = OutputOf(std::string(PREDSTORE_PYTHON) +
                                 " -c 'import json, sys; print(json.dumps([float.fromhex(x) for x in sys.argv[1:]]))'" +
                                 hex_arguments);
  ASSERT_FALSE(python.empty());
  EXPECT_EQ(ours, python);
}

TEST(MlflowProtocolTest, EveryJsonShapeGivesTheSameRows) {
  const char* bodies[] = {
      R"({"dataframe_split": {"index": [7, 8], "columns": ["a", "b"], "data": [[1, 2.5], [null, true]]}})",
      R"({"dataframe_records": [{"a": 1, "b": 2.5}, {"a": NaN, "b": true}]})",
      R"({"instances": [{"a": 1, "b": 2.5}, {"b": true, "a": null}]})",
      R"({"inputs": {"a": [1, NaN], "b": [2.5, true]}})",
  };
  for (const char* body : bodies) {
    SCOPED_TRACE(body);
    absl::StatusOr<MlflowInput> input = ParseMlflowJson(body);
    ASSERT_TRUE(input.ok()) << input.status();
    EXPECT_EQ(input->binding, FeatureBinding::kByNameIgnoringUnknown);
    EXPECT_THAT(input->rows.names, ElementsAre("a", "b"));
    ASSERT_EQ(input->rows.rows, 2u);
    const auto& v = input->rows.values;
    ASSERT_EQ(v.size(), 4u);
    EXPECT_EQ(std::get<int64_t>(*v[0]), 1);
    EXPECT_EQ(std::get<double>(*v[1]), 2.5);
    EXPECT_FALSE(v[2].has_value());
    EXPECT_EQ(std::get<int64_t>(*v[3]), 1);  // true
  }
  // A record lacking a column leaves it missing in that row only.
  absl::StatusOr<MlflowInput> sparse = ParseMlflowJson(R"({"dataframe_records": [{"a": 1}, {"b": 2}]})");
  ASSERT_TRUE(sparse.ok());
  EXPECT_FALSE(sparse->rows.values[1].has_value());
  EXPECT_FALSE(sparse->rows.values[2].has_value());
  // Lists bind by position; "NaN" inside a string stays text.
  absl::StatusOr<MlflowInput> lists = ParseMlflowJson(R"({"instances": [[1, "NaN"]], "params": {"k": [1, 2]}})");
  ASSERT_TRUE(lists.ok());
  EXPECT_EQ(lists->binding, FeatureBinding::kByPosition);
  EXPECT_EQ(std::get<std::string_view>(*lists->rows.values[1]), "NaN");
  ASSERT_EQ(lists->params.size(), 1u);
  EXPECT_EQ(lists->params[0].first, "k");
  EXPECT_EQ(lists->params[0].second, "[1,2]");
}

TEST(MlflowProtocolTest, CsvIsTypedAsPandasReadsIt) {
  absl::StatusOr<MlflowInput> input =
      ParseMlflowCsv("\xEF\xBB\xBF" "a,b,\"c,d\"\r\n1,2.5e1,True\r\n\r\nNA,,\"x\"\"y\"\n-7\n");
  ASSERT_TRUE(input.ok()) << input.status();
  EXPECT_THAT(input->rows.names, ElementsAre("a", "b", "c,d"));
  ASSERT_EQ(input->rows.rows, 3u);
  const auto& v = input->rows.values;
  EXPECT_EQ(std::get<int64_t>(*v[0]), 1);
  EXPECT_EQ(std::get<double>(*v[1]), 25.0);
  EXPECT_EQ(std::get<int64_t>(*v[2]), 1);
  EXPECT_FALSE(v[3].has_value());
  EXPECT_FALSE(v[4].has_value());
  EXPECT_EQ(std::get<std::string_view>(*v[5]), "x\"y");
  EXPECT_EQ(std::get<int64_t>(*v[6]), -7);
  EXPECT_FALSE(v[7].has_value());  // a short row is padded with missing values
  EXPECT_FALSE(v[8].has_value());

  EXPECT_THAT(std::string(ParseMlflowCsv("a\n").status().message()), HasSubstr("no rows"));
  EXPECT_THAT(std::string(ParseMlflowCsv("").status().message()), HasSubstr("empty"));
  EXPECT_THAT(std::string(ParseMlflowCsv("a,a\n1,2\n").status().message()), HasSubstr("twice"));
}

TEST(MlflowProtocolTest, ErrorsHaveMLflowsShapeAndCode) {
  EXPECT_EQ(MlflowErrorJson(absl::InvalidArgumentError("bad \"x\"")),
            R"({"error_code": "BAD_REQUEST", "message": "bad \"x\""})");
  EXPECT_THAT(MlflowErrorJson(absl::NotFoundError("m")), HasSubstr("RESOURCE_DOES_NOT_EXIST"));
  EXPECT_THAT(MlflowErrorJson(absl::ResourceExhaustedError("m")), HasSubstr("REQUEST_LIMIT_EXCEEDED"));
}

}  // namespace
}  // namespace predstore
