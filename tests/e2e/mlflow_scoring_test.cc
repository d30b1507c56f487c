// MLflow's scoring protocol on the real server, driven by curl: every body
// shape MLflow's scoring server takes, for every fidelity model (Boosters,
// XGBClassifier, XGBRegressor; JSON, UBJSON and legacy files; early
// stopping, reordered and optional columns), answered byte for byte as
// MLflow answers. The expected bodies are written by Python from XGBoost's
// own predictions (tests/support/make_mlflow_requests.py); REST and gRPC
// Predict give identical numbers; stages, versions and aliases are reachable
// over Databricks-style paths; errors have MLflow's shape and status.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "client/predstore_client.h"
#include "core/model/sample_model.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/e2e/forecast_requests.h"
#include "tests/e2e/metrics_scrape.h"
#include "tests/e2e/subprocess.h"
#include "tests/support/scratch_dir.h"

namespace predstore::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using Json = nlohmann::json;

struct HttpResult {
  int status = 0;
  std::string body;
  std::string content_type;
};

std::string ReadText(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The fidelity models and the requests for them, made once for the suite.
class MlflowScoringTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    scratch_ = new test_support::ScratchDir();
    const fs::path fixtures = scratch_->path() / "fixtures";
    fs::create_directories(fixtures);
    for (const char* script : {"make_fidelity_models.py", "make_mlflow_requests.py"}) {
      const std::string command = std::string(PREDSTORE_PYTHON) + " " + PREDSTORE_SOURCE_DIR + "/tests/support/" +
                                  script + " " + fixtures.string() + " >" + (fixtures / "log").string() + " 2>&1";
      ASSERT_EQ(std::system(command.c_str()), 0) << command << ":\n" << ReadText(fixtures / "log");
    }
    cases_ = new Json(Json::parse(std::ifstream(fixtures / "cases.json")));
    requests_ = new Json(Json::parse(std::ifstream(fixtures / "requests.json")));
    // Every case is a registered model of its own name, version 1 in Production.
    for (const Json& c : *cases_) {
      const absl::Status status = WriteSampleRegistration(
          mlruns().string(), {c["name"], 1, "Production", {}, (fixtures / c["model_dir"].get<std::string>()).string()});
      ASSERT_TRUE(status.ok()) << status;
    }
  }
  static void TearDownTestSuite() {
    delete requests_;
    delete cases_;
    delete scratch_;
  }

  static fs::path mlruns() { return scratch_->path() / "mlruns"; }
  static fs::path fixtures() { return scratch_->path() / "fixtures"; }

  // Starts a server with the registry and an HTTP port, plus `extra`.
  void Start(std::vector<std::string> extra = {}) {
    fs::create_directories(dir_.path() / "data");
    const fs::path port_file = dir_.path() / "http-port";
    fs::remove(port_file);
    extra.insert(extra.end(), {"--model_registry=" + mlruns().string(), "--refresh_interval_ms=0",
                               "--http_listen=127.0.0.1:0", "--http_port_file=" + port_file.string()});
    server_ = std::make_unique<ServerProcess>(dir_.path() / "data", extra);
    ASSERT_TRUE(server_->started());
    std::ifstream(port_file) >> http_port_;
    ASSERT_GT(http_port_, 0);
  }

  // curl, the real client: POST `body` as `content_type`.
  HttpResult Post(const std::string& path, const std::string& content_type, const std::string& body) {
    const fs::path file = dir_.path() / "body";
    std::ofstream(file, std::ios::trunc | std::ios::binary) << body;
    ProgramResult result = RunProgram({"/usr/bin/curl", "-s", "--http1.1", "-o", "-", "-w",
                                       "\n%{http_code} %{content_type}", "-H", "Content-Type: " + content_type,
                                       "--data-binary", "@" + file.string(),
                                       "http://127.0.0.1:" + std::to_string(http_port_) + path});
    const size_t newline = result.out.rfind('\n');
    const std::string tail = result.out.substr(newline + 1);
    return HttpResult{std::atoi(tail.c_str()), result.out.substr(0, newline), tail.substr(tail.find(' ') + 1)};
  }

  static const Json& RequestsOf(const std::string& name) {
    for (const Json& r : *requests_) {
      if (r["name"] == name) return r;
    }
    ADD_FAILURE() << "no requests for " << name;
    return (*requests_)[0];
  }

  static test_support::ScratchDir* scratch_;
  static Json* cases_;
  static Json* requests_;
  test_support::ScratchDir dir_;
  std::unique_ptr<ServerProcess> server_;
  int http_port_ = 0;
};

test_support::ScratchDir* MlflowScoringTest::scratch_ = nullptr;
Json* MlflowScoringTest::cases_ = nullptr;
Json* MlflowScoringTest::requests_ = nullptr;

TEST_F(MlflowScoringTest, EveryBodyShapeAnswersByteForByteAsMLflowsScoringServer) {
  Start();
  ASSERT_GE(requests_->size(), 30u);
  int checked = 0;
  for (const Json& request : *requests_) {
    const std::string name = request["name"];
    for (const auto& [form, body] : request["accepted"].items()) {
      SCOPED_TRACE(name + " " + form);
      const std::string content_type = form == "csv" ? "text/csv" : "application/json";
      const HttpResult result = Post("/serving-endpoints/" + name + "/invocations", content_type, body);
      EXPECT_EQ(result.status, 200) << result.body;
      EXPECT_EQ(result.content_type, "application/json");
      EXPECT_EQ(result.body, request["expected"].get<std::string>()) << body;
      ++checked;
    }
  }
  EXPECT_EQ(checked, static_cast<int>(requests_->size()) * 6);
  // Every invocation was one XGBoost call of its rows, counted and timed.
  const std::string scrape = ScrapeMetrics(http_port_);
  EXPECT_EQ(SampleOf(scrape, "predstore_scoring_batch_rows_count"), checked);
  EXPECT_EQ(SampleOf(scrape, "predstore_scoring_duration_seconds_count"), checked);
  EXPECT_GT(SampleOf(scrape, "predstore_scoring_duration_seconds_sum"), 0);
  EXPECT_EQ(SampleOf(scrape, "predstore_scoring_queue_depth"), 0);
}

TEST_F(MlflowScoringTest, RowsMLflowRefusesAre400NamingTheFeatureInMLflowsErrorShape) {
  Start();
  int refused = 0;
  for (const Json& request : *requests_) {
    for (const Json& row : request["refused"]) {
      SCOPED_TRACE(request["name"].get<std::string>() + " " + row["body"].get<std::string>());
      const HttpResult result = Post("/serving-endpoints/" + request["name"].get<std::string>() + "/invocations",
                                     "application/json", row["body"]);
      EXPECT_EQ(result.status, 400);
      const Json error = Json::parse(result.body);
      EXPECT_EQ(error["error_code"], "BAD_REQUEST");
      EXPECT_THAT(error["message"].get<std::string>(), HasSubstr("feature '"));
      ++refused;
    }
  }
  EXPECT_GT(refused, 30);  // most cases have refused rows (absent required columns, missing longs)
}

// The rows of a case's accepted requests as a gRPC PredictRequest.
v1::PredictRequest GrpcRequestOf(const Json& fidelity_case, const std::string& model) {
  v1::PredictRequest request;
  request.set_model(model);
  std::vector<std::string> columns;
  for (const Json& spec : fidelity_case["signature"]) columns.push_back(spec["name"]);
  for (const std::string& column : columns) request.add_feature_names(column);
  for (const Json& row : fidelity_case["rows"]) {
    // Rows MLflow refuses: a column absent (these models' columns are all required).
    if (row["features"].size() != columns.size()) continue;
    v1::FeatureRow* out = request.add_rows();
    for (const std::string& column : columns) {
      const Json value = row["features"].value(column, Json());
      if (value.is_null() || value == "NaN") {
        out->add_values();  // unset: missing
      } else {
        *out->add_values() = Double(value.get<double>());
      }
    }
  }
  return request;
}

TEST_F(MlflowScoringTest, StagesVersionsAndAliasesOverRestEqualGrpcPredictNumberForNumber) {
  // Model "m": a Booster in Production (v1), a multi-class Booster in
  // Staging (v2), a regressor aliased "challenger" (v3, also the latest).
  const std::vector<std::pair<std::string, std::string>> versions = {
      {"booster-binary-json", "Production"}, {"booster-multiclass-ubj", "Staging"}, {"booster-regression-xgb", "None"}};
  for (size_t i = 0; i < versions.size(); ++i) {
    const Json* fidelity_case = nullptr;
    for (const Json& c : *cases_) {
      if (c["name"] == versions[i].first) fidelity_case = &c;
    }
    ASSERT_NE(fidelity_case, nullptr);
    std::vector<std::string> aliases;
    if (i == 2) aliases = {"challenger"};
    ASSERT_TRUE(WriteSampleRegistration(mlruns().string(),
                                        {"m", static_cast<int64_t>(i + 1), versions[i].second, aliases,
                                         (fixtures() / (*fidelity_case)["model_dir"].get<std::string>()).string()})
                    .ok());
  }
  Start({"--http_default_model=models:/m/Staging"});
  PredstoreClient client(ClientFor(server_->target()));
  struct Route {
    std::string path;
    std::string model;
    size_t version_index;
  };
  for (const Route& route : {Route{"/serving-endpoints/m/invocations", "models:/m/Production", 0},
                             Route{"/serving-endpoints/m/served-models/Production/invocations", "models:/m/1", 0},
                             Route{"/serving-endpoints/m/served-models/Staging/invocations", "models:/m/Staging", 1},
                             Route{"/invocations", "models:/m/2", 1},
                             Route{"/serving-endpoints/m/served-models/3/invocations", "models:/m@challenger", 2},
                             Route{"/serving-endpoints/m/served-models/challenger/invocations", "models:/m/3", 2},
                             Route{"/serving-endpoints/m/served-models/latest/invocations", "models:/m/latest", 2}}) {
    SCOPED_TRACE(route.path);
    const std::string& case_name = versions[route.version_index].first;
    const Json& fidelity_case = *std::find_if(cases_->begin(), cases_->end(),
                                              [&](const Json& c) { return c["name"] == case_name; });
    const HttpResult rest = Post(route.path, "application/json", RequestsOf(case_name)["accepted"]["dataframe_split"]);
    ASSERT_EQ(rest.status, 200) << rest.body;
    EXPECT_EQ(rest.body, RequestsOf(case_name)["expected"].get<std::string>());
    auto grpc = client.Predict(GrpcRequestOf(fidelity_case, route.model));
    ASSERT_TRUE(grpc.ok()) << grpc.status();
    const Json predictions = Json::parse(rest.body)["predictions"];
    ASSERT_EQ(predictions.size(), static_cast<size_t>(grpc->predictions_size()));
    for (int r = 0; r < grpc->predictions_size(); ++r) {
      const auto& values = grpc->predictions(r).values();
      const Json& row = predictions[r];
      ASSERT_EQ(row.is_array() ? row.size() : 1u, static_cast<size_t>(values.size())) << r;
      for (int j = 0; j < values.size(); ++j) {
        const double rest_value = row.is_array() ? row[j].get<double>() : row.get<double>();
        EXPECT_EQ(static_cast<float>(rest_value), values[j]) << "row " << r << " output " << j;
      }
    }
  }
}

TEST_F(MlflowScoringTest, EndpointAndServedModelNamesMayBePercentEscaped) {
  const Json& booster = *std::find_if(cases_->begin(), cases_->end(),
                                      [](const Json& c) { return c["name"] == "booster-binary-json"; });
  ASSERT_TRUE(WriteSampleRegistration(mlruns().string(),
                                      {"churn model", 1, "Production", {"blue green"},
                                       (fixtures() / booster["model_dir"].get<std::string>()).string()})
                  .ok());
  Start();
  const Json requests = RequestsOf("booster-binary-json");
  for (const std::string path : {"/serving-endpoints/churn%20model/invocations",
                                 "/serving-endpoints/churn%20model/served-models/Production/invocations",
                                 "/serving-endpoints/churn%20model/served-models/blue%20green/invocations",
                                 "/serving-endpoints/%63hurn%20model/served-models/%31/invocations"}) {
    const HttpResult rest = Post(path, "application/json", requests["accepted"]["dataframe_split"]);
    EXPECT_EQ(rest.status, 200) << path << ": " << rest.body;
    EXPECT_EQ(rest.body, requests["expected"].get<std::string>()) << path;
  }
  const HttpResult bad = Post("/serving-endpoints/churn%2model/invocations", "application/json",
                              requests["accepted"]["dataframe_split"]);
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.body, ::testing::HasSubstr("bad %-escape"));
  EXPECT_EQ(Post("/serving-endpoints/churn/invocations", "application/json", requests["accepted"]["dataframe_split"])
                .status,
            404);
}

TEST_F(MlflowScoringTest, ParamsApplyOnlyWhenTheSignatureDeclaresThem) {
  // A copy of the Booster whose signature declares output_margin, as
  // mlflow.models.infer_signature(..., params={"output_margin": False}) writes it.
  const Json& booster = *std::find_if(cases_->begin(), cases_->end(),
                                      [](const Json& c) { return c["name"] == "booster-binary-json"; });
  const fs::path with_params = dir_.path() / "with-params";
  fs::copy(fixtures() / booster["model_dir"].get<std::string>(), with_params);
  std::string mlmodel = ReadText(with_params / "MLmodel");
  const size_t at = mlmodel.find("  params: null");
  ASSERT_NE(at, std::string::npos);
  mlmodel.replace(at, std::string("  params: null").size(),
                  R"(  params: '[{"name": "output_margin", "type": "boolean", "default": false, "shape": null}]')");
  std::ofstream(with_params / "MLmodel", std::ios::trunc) << mlmodel;
  ASSERT_TRUE(WriteSampleRegistration(mlruns().string(), {"p", 1, "Production", {}, with_params.string()}).ok());
  Start();
  PredstoreClient client(ClientFor(server_->target()));

  const std::string rows = R"("dataframe_records": [{"x0": 0.5, "x1": -1.25, "x2": 2, "x3": null, "x4": 0.1}])";
  auto grpc_value = [&](const std::string& model, v1::OutputKind kind) {
    v1::PredictRequest request;
    request.set_model(model);
    request.set_output(kind);
    for (const char* name : {"x0", "x1", "x2", "x3", "x4"}) request.add_feature_names(name);
    v1::FeatureRow* row = request.add_rows();
    for (double v : {0.5, -1.25, 2.0}) *row->add_values() = Double(v);
    row->add_values();
    *row->add_values() = Double(0.1);
    auto response = client.Predict(request);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? response->predictions(0).values(0) : 0.0f;
  };
  auto rest_value = [&](const std::string& endpoint, const std::string& params) {
    const HttpResult result =
        Post("/serving-endpoints/" + endpoint + "/invocations", "application/json", "{" + rows + params + "}");
    EXPECT_EQ(result.status, 200) << result.body;
    return static_cast<float>(Json::parse(result.body)["predictions"][0].get<double>());
  };
  const float probability = grpc_value("models:/p/1", v1::OUTPUT_KIND_PROBABILITY);
  const float margin = grpc_value("models:/p/1", v1::OUTPUT_KIND_MARGIN);
  ASSERT_NE(probability, margin);
  EXPECT_EQ(rest_value("p", ""), probability);
  EXPECT_EQ(rest_value("p", R"(, "params": {"output_margin": false})"), probability);
  EXPECT_EQ(rest_value("p", R"(, "params": {"output_margin": true})"), margin);
  // Undeclared params are ignored, as MLflow ignores them.
  EXPECT_EQ(rest_value("booster-binary-json", R"(, "params": {"output_margin": true})"), probability);
  // A declared param predstore cannot honour is refused, not ignored.
  const HttpResult bad = Post("/serving-endpoints/p/invocations", "application/json",
                              "{" + rows + R"(, "params": {"output_margin": "yes"})" + "}");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_THAT(bad.body, HasSubstr("params.output_margin"));
}

TEST_F(MlflowScoringTest, BadRequestsGetMLflowsStatusAndErrorShape) {
  Start();
  const std::string model = "/serving-endpoints/booster-binary-json/invocations";
  const std::string good = R"({"dataframe_records": [{"x0": 1, "x1": 2, "x2": 3, "x3": 4, "x4": 5}]})";
  struct Case {
    std::string path, content_type, body;
    int status;
    std::string error_code, message;
  };
  for (const Case& c : std::vector<Case>{
           {model, "text/plain", good, 415, "", "only supports the following content types"},
           {model, "application/json; charset=latin-1", good, 415, "", "only supports UTF-8"},
           {model, "application/json; format=pandas-split", good, 415, "", "Unrecognized content type parameters"},
           {model, "application/json", "{\"dataframe_records\": [", 400, "BAD_REQUEST", "valid JSON"},
           {model, "application/json", "[1, 2]", 400, "BAD_REQUEST", "Received a list"},
           {model, "application/json", R"({"columns": ["x0"], "data": [[1]]})", 400, "BAD_REQUEST",
            "exactly one of the input fields"},
           {model, "application/json", R"({"instances": [[1, 2, 3, 4, 5]], "inputs": [[1, 2, 3, 4, 5]]})", 400,
            "BAD_REQUEST", "Received both"},
           {model, "application/json", R"({"dataframe_split": {"columns": ["x0", "x1"], "data": [[1]]}})", 400,
            "BAD_REQUEST", "dataframe_split.data[0]: has 1 values but columns names 2"},
           {model, "application/json", R"({"instances": [[1, 2, 3]]})", 400, "BAD_REQUEST", "takes 5 inputs"},
           {model, "application/json", R"({"dataframe_records": [{"x0": "a", "x1": 2, "x2": 3, "x3": 4, "x4": 5}]})",
            400, "BAD_REQUEST", "feature 'x0' expects double"},
           {model, "application/json", R"({"dataframe_records": [{"x0": Infinity}]})", 400, "BAD_REQUEST",
            "Infinity"},
           {model, "application/json", R"({"inputs": {"x0": [1, 2], "x1": [1]}})", 400, "BAD_REQUEST",
            "inputs.x1: has 1 values"},
           {model, "text/csv", "x0,x1\n\"1,2\n", 400, "BAD_REQUEST", "CSV line 2: has an unterminated quoted field"},
           {model, "text/csv", "x0,x1\n1,2,3\n", 400, "BAD_REQUEST", "CSV line 2: has 3 fields"},
           {"/serving-endpoints/nope/invocations", "application/json", good, 404, "RESOURCE_DOES_NOT_EXIST", "nope"},
           {"/invocations", "application/json", good, 404, "RESOURCE_DOES_NOT_EXIST", "--http_default_model"},
           {"/serving-endpoints/a/b/invocations", "application/json", good, 404, "RESOURCE_DOES_NOT_EXIST",
            "single path segments"},
       }) {
    SCOPED_TRACE(c.path + " " + c.content_type + " " + c.body);
    const HttpResult result = Post(c.path, c.content_type, c.body);
    EXPECT_EQ(result.status, c.status) << result.body;
    EXPECT_THAT(result.body, HasSubstr(c.message));
    if (c.error_code.empty()) {
      EXPECT_EQ(result.content_type, "text/plain");
    } else {
      EXPECT_EQ(Json::parse(result.body)["error_code"], c.error_code) << result.body;
    }
  }
  // MLflow's documented curl examples, with this model's column names.
  for (const std::string& body :
       {std::string(R"({"dataframe_split": {"columns": ["x0", "x1", "x2", "x3", "x4"], "data": [[1, 2, 3, 4, 5]]}})"),
        std::string(R"({"dataframe_records": [{"x0": 1, "x1": 2, "x2": 3, "x3": 4, "x4": 5}]})"),
        std::string(R"({"instances": [{"x0": 1, "x1": 2, "x2": 3, "x3": 4, "x4": 5}]})"),
        std::string(R"({"inputs": {"x0": [1], "x1": [2], "x2": [3], "x3": [4], "x4": [5]}})"),
        std::string(R"({"inputs": {"x0": 1, "x1": 2, "x2": 3, "x3": 4, "x4": 5}, "extra": 1})")}) {
    SCOPED_TRACE(body);
    const HttpResult result = Post(model, "application/json", body);
    EXPECT_EQ(result.status, 200) << result.body;
    EXPECT_EQ(result.body, Post(model, "text/csv", "x0,x1,x2,x3,x4\n1,2,3,4,5").body);
  }
}

TEST_F(MlflowScoringTest, TheServerRefusesADefaultModelItCannotServe) {
  fs::create_directories(dir_.path() / "data");
  for (const auto& [flags, words] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--http_listen=127.0.0.1:0", "--model_registry=" + mlruns().string(),
             "--http_default_model=models:/absent/Production"},
            "absent"},
           {{"--http_listen=127.0.0.1:0", "--http_default_model=models:/booster-binary-json/Production"},
            "--model_registry"},
           {{"--http_listen=127.0.0.1:0", "--model_registry=" + mlruns().string(), "--http_default_model=models:/"},
            "--http_default_model"}}) {
    std::vector<std::string> args = {ServerBinary(), "--data_dir=" + (dir_.path() / "data").string(),
                                     "--listen=127.0.0.1:0"};
    args.insert(args.end(), flags.begin(), flags.end());
    const ProgramResult result = RunProgram(args);
    EXPECT_EQ(result.exit_code, 1) << result.err;
    EXPECT_THAT(result.err, HasSubstr(words));
  }
}

}  // namespace
}  // namespace predstore::testing
