// The HTTP/JSON front end of the real server, driven by curl: health and
// version, REST lookups answering exactly as gRPC does for the same keys,
// and errors with the right HTTP status and a JSON body naming the field.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "client/predstore_client.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/e2e/forecast_requests.h"
#include "tests/e2e/metrics_scrape.h"
#include "tests/e2e/subprocess.h"
#include "tests/support/scratch_dir.h"

namespace predstore::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

struct HttpResult {
  int status = 0;
  std::string body;
};

class HttpFrontEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    rows_ = LoadSampleForecasts(scratch_.path() / "s.csv", data(), 300);
    ASSERT_EQ(rows_.size(), 300u);
    const fs::path port_file = scratch_.path() / "http-port";
    server_ = std::make_unique<ServerProcess>(
        data(), std::vector<std::string>{"--http_listen=127.0.0.1:0", "--http_port_file=" + port_file.string()});
    ASSERT_TRUE(server_->started());
    std::ifstream(port_file) >> http_port_;
    ASSERT_GT(http_port_, 0);
  }

  fs::path data() const { return scratch_.path() / "data"; }

  // curl, the real client: the status and the body.
  HttpResult Curl(const std::string& method, const std::string& path, const std::string& body = "") {
    std::vector<std::string> args = {"/usr/bin/curl", "-s", "--http1.1", "-X", method, "-o", "-", "-w",
                                     "\n%{http_code}", "http://127.0.0.1:" + std::to_string(http_port_) + path};
    if (!body.empty()) {
      const fs::path file = scratch_.path() / "body.json";
      std::ofstream(file, std::ios::trunc) << body;
      args.insert(args.end(), {"-H", "Content-Type: application/json", "--data-binary", "@" + file.string()});
    }
    ProgramResult result = RunProgram(args);
    const size_t newline = result.out.rfind('\n');
    return HttpResult{std::atoi(result.out.c_str() + newline + 1), result.out.substr(0, newline)};
  }

  template <typename Message>
  static std::string Json(const Message& message) {
    std::string json;
    EXPECT_TRUE(google::protobuf::util::MessageToJsonString(message, &json).ok());
    return json;
  }

  template <typename Message>
  static Message Parse(const std::string& json) {
    Message message;
    auto status = google::protobuf::util::JsonStringToMessage(json, &message);
    EXPECT_TRUE(status.ok()) << status.ToString() << ": " << json;
    return message;
  }

  test_support::ScratchDir scratch_;
  std::vector<Row> rows_;
  std::unique_ptr<ServerProcess> server_;
  int http_port_ = 0;
};

TEST_F(HttpFrontEndTest, HealthPingAndVersion) {
  EXPECT_EQ(Curl("GET", "/ping").status, 200);
  HttpResult live = Curl("GET", "/health/live");
  EXPECT_EQ(live.status, 200);
  EXPECT_EQ(live.body, R"({"status":"live"})");
  EXPECT_EQ(Curl("GET", "/health/ready").status, 200);
  EXPECT_EQ(Curl("GET", "/health").status, 200);
  EXPECT_THAT(Curl("GET", "/version").body, HasSubstr(R"("version":")"));
}

TEST_F(HttpFrontEndTest, RestLookupsAnswerAsGrpcDoes) {
  PredstoreClient client(ClientFor(server_->target()));
  // One key at a time, REST against gRPC, field for field.
  for (size_t i = 0; i < rows_.size(); i += 37) {
    const v1::LookupRequest request = LookupOf("forecasts", rows_[i].store, rows_[i].item, rows_[i].horizon);
    auto grpc = client.Lookup(request);
    ASSERT_TRUE(grpc.ok()) << grpc.status();
    HttpResult rest = Curl("POST", "/v1/tables/forecasts:lookup", Json(request));
    ASSERT_EQ(rest.status, 200) << rest.body;
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(Parse<v1::LookupResponse>(rest.body), *grpc))
        << rest.body;
    EXPECT_EQ(Parse<v1::LookupResponse>(rest.body).values(0).double_value(), rows_[i].forecast);
  }
  // A miss is found: false, printed.
  HttpResult miss = Curl("POST", "/v1/tables/forecasts:lookup", Json(LookupOf("forecasts", 999999, 1, 1)));
  EXPECT_EQ(miss.status, 200);
  EXPECT_THAT(miss.body, HasSubstr(R"("found":false)"));
  // A batch, in row and columnar form.
  for (const v1::BatchLookupRequest& request : {BatchOf("forecasts", rows_, 0, 100), ColumnarOf("forecasts", rows_, 0, 100)}) {
    auto grpc = client.BatchLookup(request);
    ASSERT_TRUE(grpc.ok()) << grpc.status();
    HttpResult rest = Curl("POST", "/v1/tables/forecasts:batchLookup", Json(request));
    ASSERT_EQ(rest.status, 200) << rest.body;
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(Parse<v1::BatchLookupResponse>(rest.body), *grpc));
  }
  // The tables, as ListTables and GetTable give them.
  auto tables = client.ListTables();
  ASSERT_TRUE(tables.ok());
  HttpResult listed = Curl("GET", "/v1/tables");
  EXPECT_EQ(listed.status, 200);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(Parse<v1::ListTablesResponse>(listed.body), *tables));
  HttpResult one = Curl("GET", "/v1/tables/forecasts");
  EXPECT_EQ(one.status, 200);
  EXPECT_EQ(Parse<v1::TableInfo>(one.body).name(), "forecasts");
}

TEST_F(HttpFrontEndTest, ScanStreamsJsonLinesAsGrpcSendsItsMessages) {
  // A table of several messages (1000 rows each), published while serving.
  const fs::path sample = scratch_.path() / "big.csv";
  ASSERT_EQ(RunProgram({LoaderBinary(), "sample", "--rows=2500", "--out=" + sample.string()}).exit_code, 0);
  ASSERT_EQ(RunProgram({LoaderBinary(), "load", "--data_dir=" + data().string(), "--table=big", kKeys, kValues,
                        "--server=" + server_->target(), sample.string()})
                .exit_code,
            0);
  PredstoreClient client(ClientFor(server_->target()));
  // The messages of a gRPC Scan, and the lines of the REST one, field for
  // field but for the time taken and where the blocks came from (the first
  // scan reads them from storage, the next finds them cached).
  auto grpc_scan = [&](const v1::ScanRequest& request) {
    std::vector<v1::ScanResponse> messages;
    EXPECT_TRUE(client.Scan(request, [&](const v1::ScanResponse& m) { messages.push_back(m); }).ok());
    return messages;
  };
  auto rest_scan = [&](const v1::ScanRequest& request, const std::string& http_version) {
    const fs::path body = scratch_.path() / "scan.json";
    std::ofstream(body, std::ios::trunc) << Json(request);
    ProgramResult result = RunProgram({"/usr/bin/curl", "-s", "-N", "-D", "-", http_version, "--data-binary",
                                       "@" + body.string(), "http://127.0.0.1:" + std::to_string(http_port_) +
                                       "/v1/tables/" + request.table() + ":scan"});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    const size_t body_start = result.out.find("\r\n\r\n");
    std::pair<std::string, std::vector<v1::ScanResponse>> answer{result.out.substr(0, body_start), {}};
    std::istringstream lines(result.out.substr(body_start + 4));
    for (std::string line; std::getline(lines, line);) answer.second.push_back(Parse<v1::ScanResponse>(line));
    return answer;
  };
  auto same = [](std::vector<v1::ScanResponse> a, std::vector<v1::ScanResponse> b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      auto blocks = [](const v1::ScanResponse& m) {
        return m.stats().data_blocks_read() + m.stats().data_blocks_cached();
      };
      if (blocks(a[i]) != blocks(b[i])) return false;
      for (v1::ScanResponse* message : {&a[i], &b[i]}) {
        v1::ScanStats* stats = message->mutable_stats();
        stats->clear_elapsed_micros();
        stats->clear_data_blocks_read();
        stats->clear_data_blocks_cached();
      }
      if (!google::protobuf::util::MessageDifferencer::Equals(a[i], b[i])) return false;
    }
    return true;
  };
  v1::ScanRequest all;
  all.set_table("big");
  const std::vector<v1::ScanResponse> grpc = grpc_scan(all);
  ASSERT_EQ(grpc.size(), 3u);
  const auto [headers, lines] = rest_scan(all, "--http1.1");
  EXPECT_THAT(headers, HasSubstr("HTTP/1.1 200"));
  EXPECT_THAT(headers, HasSubstr("Content-Type: application/x-ndjson"));
  EXPECT_THAT(headers, HasSubstr("Transfer-Encoding: chunked"));
  EXPECT_TRUE(same(lines, grpc));
  EXPECT_EQ(lines.back().stats().rows_returned(), 2500u);
  // HTTP/1.0 has no chunks: the same lines, then the connection closes.
  EXPECT_TRUE(same(rest_scan(all, "--http1.0").second, grpc));
  // A limit: the last line carries the page token, which resumes the scan.
  v1::ScanRequest limited = all;
  limited.set_limit(1200);
  const auto [limited_headers, first_page] = rest_scan(limited, "--http1.1");
  EXPECT_TRUE(same(first_page, grpc_scan(limited)));
  ASSERT_FALSE(first_page.back().next_page_token().empty());
  v1::ScanRequest resumed = all;
  resumed.set_page_token(first_page.back().next_page_token());
  const auto [resumed_headers, second_page] = rest_scan(resumed, "--http1.1");
  EXPECT_TRUE(same(second_page, grpc_scan(resumed)));
  EXPECT_EQ(second_page.back().stats().rows_returned(), 1300u);
  // Errors before the first line have their status and name the field.
  v1::ScanRequest bad = all;
  v1::ColumnRange* range = bad.add_where();
  range->set_column("nope");
  HttpResult refused = Curl("POST", "/v1/tables/big:scan", Json(bad));
  EXPECT_EQ(refused.status, 400);
  EXPECT_THAT(refused.body, HasSubstr("nope"));
  EXPECT_EQ(Curl("POST", "/v1/tables/missing:scan", "{}").status, 404);
}

TEST_F(HttpFrontEndTest, ErrorsHaveTheirStatusAndNameTheField) {
  v1::LookupRequest unknown_column = LookupOf("forecasts", 1, 1, 1);
  unknown_column.mutable_key(0)->set_column("shop");
  HttpResult bad = Curl("POST", "/v1/tables/forecasts:lookup", Json(unknown_column));
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.body, HasSubstr(R"({"error":{"code":400,"message":")"));
  EXPECT_THAT(bad.body, HasSubstr("shop"));
  HttpResult not_json = Curl("POST", "/v1/tables/forecasts:lookup", R"({"kee": 1})");
  EXPECT_EQ(not_json.status, 400);
  EXPECT_THAT(not_json.body, HasSubstr("kee"));
  EXPECT_EQ(Curl("POST", "/v1/tables/nope:lookup", Json(LookupOf("nope", 1, 1, 1))).status, 404);
  EXPECT_EQ(Curl("GET", "/v1/tables/nope").status, 404);
  EXPECT_EQ(Curl("POST", "/v1/tables/forecasts:explode", "{}").status, 404);
  HttpResult other_table = Curl("POST", "/v1/tables/forecasts:lookup", Json(LookupOf("other", 1, 1, 1)));
  EXPECT_EQ(other_table.status, 400);
  EXPECT_THAT(other_table.body, HasSubstr("table: the body names"));
  // A version this replica has not seen: 503, retry elsewhere.
  v1::LookupRequest ahead = LookupOf("forecasts", 1, 1, 1);
  ahead.set_min_version(2);
  HttpResult behind = Curl("POST", "/v1/tables/forecasts:lookup", Json(ahead));
  EXPECT_EQ(behind.status, 503);
  EXPECT_THAT(behind.body,
              HasSubstr(R"(min_version: this replica has seen versions of table \"forecasts\" up to 1)"));
  ahead.set_min_version(1);
  EXPECT_EQ(Curl("POST", "/v1/tables/forecasts:lookup", Json(ahead)).status, 200);
  EXPECT_EQ(Curl("DELETE", "/v1/tables/forecasts").status, 405);
  EXPECT_EQ(Curl("GET", "/nowhere").status, 404);
  // Past --max_batch_keys (10000 by default): 429, naming the limit.
  std::vector<Row> many(10001, rows_[0]);
  HttpResult too_many = Curl("POST", "/v1/tables/forecasts:batchLookup", Json(BatchOf("forecasts", many, 0, 10001)));
  EXPECT_EQ(too_many.status, 429);
  EXPECT_THAT(too_many.body, HasSubstr("--max_batch_keys"));
  // A body over the HTTP limit (--http_max_body_mb, 4 MiB): 413, naming it.
  HttpResult too_large = Curl("POST", "/v1/tables/forecasts:lookup", std::string(5 << 20, ' '));
  EXPECT_EQ(too_large.status, 413);
  EXPECT_THAT(too_large.body, HasSubstr("exceeds 4194304 bytes (--http_max_body_mb)"));
}

TEST_F(HttpFrontEndTest, MetricsParseAndEachCounterMovesWithItsEvent) {
  PredstoreClient client(ClientFor(server_->target()));
  auto scrape = [&] {
    HttpResult result = Curl("GET", "/metrics");
    EXPECT_EQ(result.status, 200);
    // Prometheus's own parser (Debian's python3-prometheus-client) reads it.
    const fs::path file = scratch_.path() / "scrape.txt";
    std::ofstream(file, std::ios::trunc) << result.body;
    ProgramResult parsed = RunProgram({"/usr/bin/python3", "-c",
                                       "import sys\nfrom prometheus_client.parser import text_string_to_metric_families"
                                       " as p\nprint(sum(len(f.samples) for f in p(open(sys.argv[1]).read())))",
                                       file.string()});
    EXPECT_EQ(parsed.exit_code, 0) << parsed.err;
    EXPECT_GT(std::atoi(parsed.out.c_str()), 50);
    return result.body;
  };
  const std::string grpc_ok =
      R"(predstore_requests_total{front_end="grpc",method="predstore.v1.Predictions/Lookup",code="OK"})";
  const std::string grpc_bad =
      R"(predstore_requests_total{front_end="grpc",method="predstore.v1.Predictions/Lookup",code="INVALID_ARGUMENT"})";
  const std::string http_ok = R"(predstore_requests_total{front_end="http",method="lookup",code="200"})";
  const std::string http_404 = R"(predstore_requests_total{front_end="http",method="lookup",code="404"})";
  const std::string precomputed = R"(predstore_lookup_answers_total{source="precomputed"})";
  const std::string miss = R"(predstore_lookup_answers_total{source="miss"})";
  const std::string grpc_count =
      R"(predstore_request_duration_seconds_count{front_end="grpc",method="predstore.v1.Predictions/Lookup"})";

  const std::string before = scrape();
  ASSERT_TRUE(client.Lookup(LookupOf("forecasts", rows_[0].store, rows_[0].item, rows_[0].horizon)).ok());
  ASSERT_TRUE(client.Lookup(LookupOf("forecasts", 999999, 1, 1)).ok());  // a miss
  v1::LookupRequest bad = LookupOf("forecasts", 1, 1, 1);
  bad.mutable_key(0)->set_column("nope");
  EXPECT_FALSE(client.Lookup(bad).ok());
  EXPECT_EQ(Curl("POST", "/v1/tables/forecasts:lookup",
                 Json(LookupOf("forecasts", rows_[1].store, rows_[1].item, rows_[1].horizon)))
                .status,
            200);
  EXPECT_EQ(Curl("POST", "/v1/tables/nope:lookup", Json(LookupOf("nope", 1, 1, 1))).status, 404);
  const std::string after = scrape();

  EXPECT_EQ(SampleOf(after, grpc_ok) - SampleOf(before, grpc_ok), 2);
  EXPECT_EQ(SampleOf(after, grpc_bad) - SampleOf(before, grpc_bad), 1);
  EXPECT_EQ(SampleOf(after, grpc_count) - SampleOf(before, grpc_count), 3);
  EXPECT_EQ(SampleOf(after, http_ok) - SampleOf(before, http_ok), 1);
  EXPECT_EQ(SampleOf(after, http_404) - SampleOf(before, http_404), 1);
  EXPECT_EQ(SampleOf(after, precomputed) - SampleOf(before, precomputed), 2);  // gRPC and REST hits
  EXPECT_EQ(SampleOf(after, miss) - SampleOf(before, miss), 1);
  // The scrape before counts itself once it is answered.
  EXPECT_GE(SampleOf(after, R"(predstore_requests_total{front_end="http",method="metrics",code="200"})"), 1);
  EXPECT_EQ(SampleOf(after, R"(predstore_table_rows{table="forecasts"})"), static_cast<double>(rows_.size()));
  EXPECT_EQ(SampleOf(after, R"(predstore_table_snapshot_version{table="forecasts"})"), 1);
  EXPECT_GE(SampleOf(after, R"(predstore_table_snapshot_age_seconds{table="forecasts"})"), 0);
  // A scan reads RocksDB blocks (lookups read the memory index).
  const auto block_reads = [](const std::string& scrape) {
    return SampleOf(scrape, "predstore_block_cache_hits_total") + SampleOf(scrape, "predstore_block_cache_misses_total");
  };
  v1::ScanRequest scan;
  scan.set_table("forecasts");
  ASSERT_TRUE(client.Scan(scan, [](const v1::ScanResponse&) {}).ok());
  const std::string scanned = scrape();
  EXPECT_GT(block_reads(scanned), block_reads(after));
  EXPECT_EQ(SampleOf(after, "predstore_block_cache_capacity_bytes"), 256 << 20);
  EXPECT_GT(SampleOf(after, "predstore_block_cache_usage_bytes"), 0);
  EXPECT_GT(SampleOf(after, "predstore_memory_index_bytes"), 0);
  EXPECT_GT(SampleOf(after, "predstore_process_resident_memory_bytes"), 1 << 20);
  EXPECT_GT(SampleOf(after, "predstore_process_open_fds"), 3);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // A sanitizer's allocator serves malloc: glibc's heap is not the process's.
  EXPECT_EQ(SampleOf(after, "predstore_heap_allocated_bytes"), -1);
#else
  // The memory index lives on the C heap, so the heap holds at least it.
  EXPECT_GE(SampleOf(after, "predstore_heap_allocated_bytes"), SampleOf(after, "predstore_memory_index_bytes"));
  EXPECT_GE(SampleOf(after, "predstore_heap_free_held_bytes"), 0);
#endif
}

}  // namespace
}  // namespace predstore::testing
