// End-to-end: the real predstore-load, predstore-server and predstore-cli
// on a free loopback port, driven by the real client library.
#include <signal.h>

#include <atomic>
#include <fstream>
#include <map>
#include <set>
#include <tuple>
#include <sstream>
#include <thread>

#include "client/predstore_client.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/e2e/forecast_requests.h"
#include "tests/e2e/metrics_scrape.h"
#include "tests/e2e/subprocess.h"
#include "tests/support/scratch_dir.h"
#include "tests/support/test_certificates.h"

namespace predstore::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

// Writes a CSV whose p90 column carries `tag`, to tell versions apart.
void WriteTaggedCsv(const fs::path& path, int rows, int tag) {
  std::ofstream out(path);
  out << "store_id,item_id,horizon_days,forecast,p90\n";
  for (int i = 0; i < rows; ++i) out << i % 7 << "," << i << "," << i % 3 << "," << i * 0.5 << "," << tag << "\n";
}

class EndToEndTest : public ::testing::Test {
 protected:
  fs::path data() const { return dir_.path() / "data"; }
  fs::path File(const std::string& name) const { return dir_.path() / name; }
  // The folder of test_certificates.h's certificates, made now; empty (and a
  // test failure) if openssl failed.
  fs::path Certificates() const {
    const fs::path certs = File("certs");
    fs::create_directories(certs);
    return test_support::MakeTestCertificates(certs) ? certs : fs::path();
  }
  // The port a server wrote to File(name) (--http_port_file, ...); 0 if none.
  int PortIn(const std::string& name) const {
    int port = 0;
    std::ifstream(File(name)) >> port;
    return port;
  }

  ProgramResult Load(const std::string& table, const std::vector<std::string>& files,
                     const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {LoaderBinary(), "load", "--data_dir=" + data().string(), "--table=" + table,
                                     kKeys, kValues};
    args.insert(args.end(), extra.begin(), extra.end());
    args.insert(args.end(), files.begin(), files.end());
    return RunProgram(args);
  }

  test_support::ScratchDir dir_;
};

TEST_F(EndToEndTest, LoadedRowsAreServedExactly) {
  ProgramResult sample = RunProgram({LoaderBinary(), "sample", "--rows=20000", "--out=" + File("f.csv").string()});
  ASSERT_EQ(sample.exit_code, 0) << sample.err;
  ProgramResult load = Load("forecasts", {File("f.csv").string()});
  ASSERT_EQ(load.exit_code, 0) << load.err;
  EXPECT_THAT(load.out, HasSubstr("published version 1: 20000 rows"));

  ServerProcess server(data());
  ASSERT_TRUE(server.started());
  PredstoreClient client(ClientFor(server.target()));
  std::vector<Row> rows = ReadSampleCsv(File("f.csv"));
  ASSERT_EQ(rows.size(), 20000u);

  for (size_t begin = 0; begin < rows.size(); begin += 1000) {
    size_t end = std::min(rows.size(), begin + 1000);
    auto response = client.BatchLookup(BatchOf("forecasts", rows, begin, end));
    ASSERT_TRUE(response.ok()) << response.status();
    ASSERT_EQ(response->results_size(), static_cast<int>(end - begin));
    EXPECT_EQ(response->snapshot_version(), 1u);
    ASSERT_THAT(response->value_columns(), ::testing::ElementsAre("forecast", "p90"));
    for (size_t i = begin; i < end; ++i) {
      const v1::LookupResult& result = response->results(static_cast<int>(i - begin));
      ASSERT_TRUE(result.found()) << "row " << i;
      EXPECT_EQ(result.values(0).double_value(), rows[i].forecast) << "row " << i;
      EXPECT_EQ(result.values(1).double_value(), rows[i].p90) << "row " << i;
    }
  }
  for (size_t i = 0; i < rows.size(); i += 997) {
    auto response = client.Lookup(LookupOf("forecasts", rows[i].store, rows[i].item, rows[i].horizon));
    ASSERT_TRUE(response.ok()) << response.status();
    ASSERT_TRUE(response->found());
    EXPECT_EQ(response->values(0).double_value(), rows[i].forecast);
    EXPECT_EQ(response->source(), v1::SOURCE_PRECOMPUTED);
    EXPECT_EQ(response->snapshot_version(), 1u);
  }
  auto miss = client.Lookup(LookupOf("forecasts", 999999, 1, 1));
  ASSERT_TRUE(miss.ok()) << miss.status();
  EXPECT_FALSE(miss->found());
  EXPECT_EQ(miss->values_size(), 0);
  EXPECT_EQ(miss->snapshot_version(), 1u);

  auto table = client.GetTable("forecasts");
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->row_count(), 20000u);
  EXPECT_EQ(table->active_version(), 1u);
  EXPECT_EQ(table->schema().key_columns_size(), 3);
  EXPECT_GT(table->loaded_at().seconds(), 0);
  EXPECT_EQ(server.Stop(), 0);
}

TEST_F(EndToEndTest, JsonLinesAndPartitionedTableThroughTheCli) {
  {
    std::ofstream out(File("p.jsonl"));
    out << R"({"day":"2026-11-25","user":"ann","score":0.25})" << "\n"
        << R"({"user":"bob","day":"2026-11-26","score":0.5})" << "\n"
        << R"({"day":"2026-11-26","user":"ann","score":0.75})" << "\n";
  }
  ProgramResult load = RunProgram({LoaderBinary(), "load", "--data_dir=" + data().string(), "--table=churn",
                                   "--keys=user:string", "--values=score:double", "--partition=day:date",
                                   File("p.jsonl").string()});
  ASSERT_EQ(load.exit_code, 0) << load.err;
  EXPECT_THAT(load.out, HasSubstr("3 rows in 2 part(s)"));
  ServerProcess server(data());
  ASSERT_TRUE(server.started());

  ProgramResult hit = RunProgram({CliBinary(), "--server=" + server.target(), "lookup", "--table=churn",
                                  "day=2026-11-26", "user=ann"});
  ASSERT_EQ(hit.exit_code, 0) << hit.err;
  // A found answer says where it came from (cli_commands.h).
  EXPECT_EQ(hit.out,
            "{\"day\":\"2026-11-26\",\"user\":\"ann\",\"found\":true,\"score\":0.75,\"snapshot_version\":1,"
            "\"source\":\"precomputed\"}\n");

  ProgramResult batch = RunProgram({CliBinary(), "--server=" + server.target(), "batch-lookup", "--table=churn"},
                                   "{\"user\":\"bob\",\"day\":\"2026-11-26\"}\n{\"user\":\"bob\",\"day\":\"2026-11-25\"}\n");
  ASSERT_EQ(batch.exit_code, 0) << batch.err;
  EXPECT_THAT(batch.out, HasSubstr("\"user\":\"bob\",\"found\":true,\"score\":0.5"));
  EXPECT_THAT(batch.out, HasSubstr("\"day\":\"2026-11-25\",\"user\":\"bob\",\"found\":false"));

  ProgramResult bad = RunProgram({CliBinary(), "--server=" + server.target(), "lookup", "--table=churn",
                                  "day=2026-13-01", "user=ann"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, HasSubstr("column \"day\": not a date"));

  ProgramResult tables = RunProgram({CliBinary(), "--server=" + server.target(), "tables", "--output=table"});
  ASSERT_EQ(tables.exit_code, 0) << tables.err;
  EXPECT_THAT(tables.out, HasSubstr("churn"));
  EXPECT_THAT(tables.out, HasSubstr("user:string -> score:double (partition day)"));
}

// A loader publishes and rolls back repeatedly while readers look up
// continuously: no call fails and no answer mixes two versions.
TEST_F(EndToEndTest, SnapshotSwapsNeverFailOrMixVersions) {
  constexpr int kRows = 2000;
  WriteTaggedCsv(File("a.csv"), kRows, 1);
  WriteTaggedCsv(File("b.csv"), kRows, 2);
  ProgramResult first = Load("swap", {File("a.csv").string()}, {"--keep_versions=2"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  ServerProcess server(data(), {"--refresh_interval_ms=20"});
  ASSERT_TRUE(server.started());
  PredstoreClient client(ClientFor(server.target()));

  std::mutex mu;
  std::map<uint64_t, std::set<int>> tags_seen;  // version -> p90 tags in its answers
  std::atomic<bool> stop{false};
  std::atomic<int64_t> calls{0}, failures{0}, mixed{0};
  std::vector<Row> keys;
  for (int i = 0; i < kRows; ++i) keys.push_back({i % 7, i, i % 3, 0, 0});
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&, t] {
      size_t offset = t * 97;
      while (!stop.load()) {
        size_t begin = offset % (kRows - 64);
        offset += 131;
        auto response = client.BatchLookup(BatchOf("swap", keys, begin, begin + 64));
        ++calls;
        if (!response.ok()) {
          ++failures;
          continue;
        }
        std::set<int> tags;
        for (const auto& result : response->results()) {
          if (!result.found()) ++mixed;
          tags.insert(static_cast<int>(result.values(1).double_value()));
        }
        if (tags.size() != 1) ++mixed;
        auto single = client.Lookup(LookupOf("swap", keys[begin].store, keys[begin].item, keys[begin].horizon));
        ++calls;
        if (!single.ok() || !single->found()) {
          ++failures;
          continue;
        }
        std::lock_guard<std::mutex> lock(mu);
        tags_seen[response->snapshot_version()].insert(tags.begin(), tags.end());
        tags_seen[single->snapshot_version()].insert(static_cast<int>(single->values(1).double_value()));
      }
    });
  }

  // version -> tag, as published; rollbacks return to an earlier version.
  std::map<uint64_t, int> tag_of = {{1, 1}};
  for (int round = 0; round < 8; ++round) {
    int tag = round % 2 == 0 ? 2 : 1;
    ProgramResult load = Load("swap", {File(tag == 2 ? "b.csv" : "a.csv").string()},
                              {"--keep_versions=2", "--server=" + server.target()});
    ASSERT_EQ(load.exit_code, 0) << load.err;
    tag_of[round + 2] = tag;
    if (round % 3 == 2) {
      ProgramResult rollback = RunProgram({CliBinary(), "--server=" + server.target(), "rollback", "--table=swap"});
      ASSERT_EQ(rollback.exit_code, 0) << rollback.err;
      EXPECT_THAT(rollback.out, HasSubstr("now serving version " + std::to_string(round + 1)));
    }
  }
  stop = true;
  for (auto& reader : readers) reader.join();

  EXPECT_GT(calls.load(), 50);
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(mixed.load(), 0);
  for (const auto& [version, tags] : tags_seen) {
    ASSERT_TRUE(tag_of.count(version)) << "unexpected version " << version;
    EXPECT_THAT(tags, ::testing::ElementsAre(tag_of[version])) << "version " << version;
  }
  EXPECT_GE(tags_seen.size(), 2u);
  // keep_versions=2: only two version folders remain on disk.
  int part_dirs = 0;
  for (const auto& entry : fs::directory_iterator(data() / "swap" / "parts")) part_dirs += entry.is_directory();
  EXPECT_EQ(part_dirs, 2);
}

struct BadInput {
  std::string name;      // file name (extension picks the format)
  std::string contents;
  std::string expected;  // substring of the error
};

void PrintTo(const BadInput& input, std::ostream* out) { *out << input.name; }

class BadInputTest : public EndToEndTest, public ::testing::WithParamInterface<BadInput> {};

TEST_P(BadInputTest, RejectsWholeLoadAndKeepsServing) {
  WriteTaggedCsv(File("good.csv"), 50, 7);
  ASSERT_EQ(Load("t", {File("good.csv").string()}).exit_code, 0);
  ServerProcess server(data());
  ASSERT_TRUE(server.started());
  PredstoreClient client(ClientFor(server.target()));
  std::string manifest_before;
  {
    std::ifstream in(data() / "t" / "manifest.json");
    std::stringstream s;
    s << in.rdbuf();
    manifest_before = s.str();
  }

  const BadInput& bad = GetParam();
  {
    std::ofstream out(File(bad.name), std::ios::binary);
    out << bad.contents;
  }
  ProgramResult load = Load("t", {File(bad.name).string()}, {"--server=" + server.target()});
  EXPECT_EQ(load.exit_code, 1);
  EXPECT_THAT(load.err, HasSubstr(bad.expected));
  EXPECT_EQ(std::count(load.err.begin(), load.err.end(), '\n'), 1) << "one clear line: " << load.err;

  std::ifstream in(data() / "t" / "manifest.json");
  std::stringstream after;
  after << in.rdbuf();
  EXPECT_EQ(after.str(), manifest_before);
  EXPECT_TRUE(!fs::exists(data() / "t" / "staging") || fs::is_empty(data() / "t" / "staging"));
  auto table = client.GetTable("t");
  ASSERT_TRUE(table.ok());
  EXPECT_EQ(table->active_version(), 1u);
  auto response = client.Lookup(LookupOf("t", 3, 3, 0));
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_TRUE(response->found());
  EXPECT_EQ(response->values(1).double_value(), 7);
}

const std::string kHeader = "store_id,item_id,horizon_days,forecast,p90\n";

INSTANTIATE_TEST_SUITE_P(
    EveryDefect, BadInputTest,
    ::testing::Values(
        BadInput{"count.csv", kHeader + "1,2,3,4.5,5\n1,2,3,4.5\n", "count.csv:3:1: expected 5 fields, found 4"},
        BadInput{"number.csv", kHeader + "1,2,3,4.5,5\n1,2,4,abc,5\n", "number.csv:3:7: column \"forecast\": not a valid double"},
        BadInput{"nan.csv", kHeader + "1,2,3,nan,5\n", "nan.csv:2:7: column \"forecast\": not a finite number"},
        BadInput{"inf.csv", kHeader + "1,2,3,1e999,5\n", "inf.csv:2:7: column \"forecast\": out of range"},
        BadInput{"missing_key.csv", kHeader + "1,,3,4.5,5\n", "missing_key.csv:2:3: column \"item_id\": missing key field"},
        BadInput{"range.csv", kHeader + "1,99999999999999999999,3,4.5,5\n", "range.csv:2:3: column \"item_id\": out of range for int64"},
        BadInput{"utf8.csv", kHeader + "1,2,3,4.5,5\n1,2,\xff\xfe,4.5,5\n", "utf8.csv:3:5: invalid UTF-8"},
        BadInput{"quote.csv", kHeader + "1,2,3,4.5,\"5\n", "quote.csv:2:11: unterminated quoted field"},
        BadInput{"truncated.csv", kHeader + "1,2,3,4.5,5\n1,2,4,4.", "truncated.csv:3:9: truncated last line"},
        BadInput{"unknown.csv", "store_id,item_id,horizon_days,forecast,p90,extra\n1,2,3,4,5,6\n", "unknown.csv:1:44: unknown column \"extra\""},
        BadInput{"lacking.csv", "store_id,item_id,horizon_days,forecast\n1,2,3,4\n", "lacking.csv:1:1: header lacks column \"p90\""},
        BadInput{"empty.csv", "", "empty.csv:1:1: empty file"},
        BadInput{"header_only.csv", kHeader, "header_only.csv:2:1: no data rows"},
        BadInput{"dup.csv", kHeader + "1,2,3,4.5,5\n9,9,9,1,1\n1,2,3,6.5,5\n", "dup.csv:4: duplicate key (1, 2, 3), first at"},
        BadInput{"bad.jsonl", "{\"store_id\":1,\"item_id\":2,\"horizon_days\":3,\"forecast\":1,\"p90\":2}\n{\"store_id\":1,\n",
                 "bad.jsonl:2:1: expected a JSON object"},
        BadInput{"field.jsonl", "{\"store_id\":1,\"item_id\":2,\"horizon_days\":3,\"forecast\":1,\"p90\":2,\"x\":1}\n",
                 "field.jsonl:1:65: unknown field \"x\""},
        BadInput{"type.jsonl", "{\"store_id\":\"1\",\"item_id\":2,\"horizon_days\":3,\"forecast\":1,\"p90\":2}\n",
                 "type.jsonl:1:13: column \"store_id\": a JSON string"}),
    [](const ::testing::TestParamInfo<BadInput>& info) {
      std::string name = info.param.name.substr(0, info.param.name.find('.'));
      return name + (info.param.name.find(".jsonl") != std::string::npos ? "_jsonl" : "_csv");
    });

// Each command of the two programs takes and lists only its own flags.
TEST(CommandLineTest, EachCommandListsOnlyItsOwnFlagsWithDefaults) {
  ProgramResult sample = RunProgram({LoaderBinary(), "sample", "--help"});
  ASSERT_EQ(sample.exit_code, 0) << sample.err;
  EXPECT_THAT(sample.out, HasSubstr("--rows UINT=1000"));
  EXPECT_THAT(sample.out, Not(HasSubstr("--table")));
  ProgramResult load = RunProgram({LoaderBinary(), "load", "--help"});
  EXPECT_THAT(load.out, HasSubstr("--data_dir TEXT=./predstore-data"));
  EXPECT_THAT(load.out, Not(HasSubstr("--trees")));
  ProgramResult scan = RunProgram({CliBinary(), "scan", "--help"});
  EXPECT_THAT(scan.out, HasSubstr("--where"));
  EXPECT_THAT(scan.out, Not(HasSubstr("--model")));

  // A flag of another command is refused, naming it and the way to help.
  ProgramResult misplaced = RunProgram({LoaderBinary(), "sample", "--out=x.csv", "--trees=5"});
  EXPECT_EQ(misplaced.exit_code, 2);
  EXPECT_THAT(misplaced.err, HasSubstr("--trees=5"));
  EXPECT_THAT(misplaced.err, HasSubstr("predstore-load sample --help"));
  ProgramResult unknown = RunProgram({CliBinary(), "--server=127.0.0.1:1", "frob"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_THAT(unknown.err, HasSubstr("unknown command \"frob\""));
  ProgramResult missing = RunProgram({LoaderBinary(), "versions"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, HasSubstr("--table is required"));
}

TEST_F(EndToEndTest, DuplicatesLastWinsFlagKeepsTheLastRow) {
  {
    std::ofstream out(File("dup.csv"));
    out << kHeader << "1,2,3,4.5,5\n1,2,3,6.5,8\n";
  }
  ProgramResult load = Load("t", {File("dup.csv").string()}, {"--duplicates=last-wins"});
  ASSERT_EQ(load.exit_code, 0) << load.err;
  EXPECT_THAT(load.out, HasSubstr("1 duplicate keys resolved last-wins"));
  ServerProcess server(data());
  PredstoreClient client(ClientFor(server.target()));
  auto response = client.Lookup(LookupOf("t", 1, 2, 3));
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->values(0).double_value(), 6.5);
}

TEST_F(EndToEndTest, ASecondServerOnTheSamePortFailsToStart) {
  WriteTaggedCsv(File("a.csv"), 10, 1);
  ASSERT_EQ(Load("t", {File("a.csv").string()}).exit_code, 0);
  ServerProcess first(data());
  ASSERT_TRUE(first.started());
  ProgramResult second = RunProgram({ServerBinary(), "--data_dir=" + data().string(), "--listen=" + first.target()});
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_THAT(second.err, HasSubstr("cannot listen on 127.0.0.1:" + std::to_string(first.port())));
  PredstoreClient client(ClientFor(first.target()));
  EXPECT_TRUE(client.Lookup(LookupOf("t", 1, 1, 1)).ok());
}

TEST_F(EndToEndTest, RequestErrorsCarryTheRightStatusCodes) {
  WriteTaggedCsv(File("a.csv"), 10, 1);
  ASSERT_EQ(Load("t", {File("a.csv").string()}).exit_code, 0);
  std::ofstream(File("token")) << "s3cret\n";
  fs::permissions(File("token"), fs::perms::owner_read | fs::perms::owner_write);  // a token file must be private
  ServerProcess server(data(), {"--max_batch_keys=5", "--max_message_mb=1",
                                "--admin_token_file=" + File("token").string()});
  ASSERT_TRUE(server.started());
  PredstoreClient client(ClientFor(server.target()));

  EXPECT_EQ(client.Lookup(LookupOf("nope", 1, 1, 1)).status().code(), absl::StatusCode::kNotFound);
  v1::LookupRequest missing = LookupOf("t", 1, 1, 1);
  missing.mutable_key()->RemoveLast();
  auto status = client.Lookup(missing).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("missing key column \"horizon_days\""));
  v1::LookupRequest wrong_type = LookupOf("t", 1, 1, 1);
  wrong_type.mutable_key(0)->mutable_value()->set_string_value("one");
  status = client.Lookup(wrong_type).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("column \"store_id\" is int64 but the value is string_value"));
  v1::LookupRequest unknown = LookupOf("t", 1, 1, 1);
  unknown.mutable_key(0)->set_column("shop");
  EXPECT_EQ(client.Lookup(unknown).status().code(), absl::StatusCode::kInvalidArgument);

  std::vector<Row> keys(6, Row{1, 1, 1, 0, 0});
  status = client.BatchLookup(BatchOf("t", keys, 0, 6)).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(status.message()), HasSubstr("--max_batch_keys"));
  // A message over --max_message_mb is refused before it is read.
  v1::LookupRequest huge = LookupOf("t", 1, 1, 1);
  huge.mutable_key(0)->set_column(std::string(2 << 20, 'x'));
  EXPECT_EQ(client.Lookup(huge).status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(client.BatchLookup(BatchOf("t", keys, 0, 5)).ok());
  v1::BatchLookupRequest short_row = BatchOf("t", keys, 0, 2);
  short_row.mutable_keys(1)->mutable_values()->RemoveLast();
  status = client.BatchLookup(short_row).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("keys[1]"));

  EXPECT_EQ(client.RefreshTables("t").status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(PredstoreClient(ClientFor(server.target(), "wrong")).Rollback("t", 0).status().code(),
            absl::StatusCode::kUnauthenticated);
  PredstoreClient admin(ClientFor(server.target(), "s3cret"));
  EXPECT_TRUE(admin.RefreshTables("t").ok());
  EXPECT_EQ(admin.Rollback("t", 0).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(admin.Rollback("t", 9).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(EndToEndTest, SigtermStopsServingAndExitsCleanly) {
  WriteTaggedCsv(File("a.csv"), 10, 1);
  ASSERT_EQ(Load("t", {File("a.csv").string()}).exit_code, 0);
  ServerProcess server(data());
  ASSERT_TRUE(server.started());
  PredstoreClient client(ClientFor(server.target()));
  auto serving = client.IsServing();
  ASSERT_TRUE(serving.ok());
  EXPECT_TRUE(*serving);
  EXPECT_EQ(server.Stop(), 0);
  EXPECT_EQ(client.Lookup(LookupOf("t", 1, 1, 1)).status().code(), absl::StatusCode::kUnavailable);
}

// Calls in flight when SIGTERM arrives finish, on both front ends: a REST
// scan streamed to a slow reader and a gRPC scan read slowly, both still
// running when the signal is sent, complete whole; then the ports refuse.
TEST_F(EndToEndTest, SigtermLetsCallsInFlightOnBothFrontEndsFinish) {
  ProgramResult sample = RunProgram({LoaderBinary(), "sample", "--rows=20000", "--out=" + File("f.csv").string()});
  ASSERT_EQ(sample.exit_code, 0) << sample.err;
  ASSERT_EQ(Load("forecasts", {File("f.csv").string()}).exit_code, 0);
  ServerProcess server(data(), {"--http_listen=127.0.0.1:0", "--http_port_file=" + File("http_port").string(),
                                "--shutdown_grace_ms=20000"});
  ASSERT_TRUE(server.started());
  int http_port = 0;
  std::ifstream(File("http_port")) >> http_port;
  const std::string scan_url = "http://127.0.0.1:" + std::to_string(http_port) + "/v1/tables/forecasts:scan";
  using Clock = std::chrono::steady_clock;

  // REST: 3000 rows as 3 JSON lines, read at 100 kB/s (about 4 s).
  Clock::time_point rest_done;
  ProgramResult rest;
  std::thread rest_client([&] {
    rest = RunProgram({"/usr/bin/curl", "-s", "-N", "--limit-rate", "100k", "-D", File("rest_headers").string(),
                       "--data-binary", R"({"limit":"3000"})", scan_url});
    rest_done = Clock::now();
  });
  // gRPC: 3000 rows as 3 messages, each read 1 s after the last.
  Clock::time_point grpc_done;
  absl::Status grpc_status;
  std::atomic<uint64_t> grpc_rows{0};
  std::thread grpc_client([&] {
    PredstoreClient client(ClientFor(server.target()));
    v1::ScanRequest request;
    request.set_table("forecasts");
    request.set_limit(3000);
    grpc_status = client.Scan(request, [&](const v1::ScanResponse& message) {
      grpc_rows += message.rows_size();
      std::this_thread::sleep_for(std::chrono::seconds(1));
    });
    grpc_done = Clock::now();
  });
  // Signal once both answers have begun.
  auto rest_began = [&] {
    std::ifstream headers(File("rest_headers"));
    std::string status_line;
    return std::getline(headers, status_line) && status_line.starts_with("HTTP/1.1 200");
  };
  for (int i = 0; i < 200 && !(rest_began() && grpc_rows.load() > 0); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(rest_began());  // (not ASSERT: the client threads must be joined)
  EXPECT_GT(grpc_rows.load(), 0u);
  const Clock::time_point signalled = Clock::now();
  EXPECT_EQ(server.Stop(), 0);
  rest_client.join();
  grpc_client.join();

  // Both were still running when the signal came, and finished whole.
  EXPECT_GT(rest_done, signalled);
  EXPECT_GT(grpc_done, signalled);
  EXPECT_EQ(rest.exit_code, 0) << rest.err;
  std::istringstream lines(rest.out);
  uint64_t rest_rows = 0, stats_rows = 0;
  for (std::string line; std::getline(lines, line);) {
    v1::ScanResponse message;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(line, &message).ok()) << line;
    rest_rows += message.rows_size();
    if (message.has_stats()) stats_rows = message.stats().rows_returned();
  }
  EXPECT_EQ(rest_rows, 3000u);
  EXPECT_EQ(stats_rows, 3000u);
  EXPECT_TRUE(grpc_status.ok()) << grpc_status;
  EXPECT_EQ(grpc_rows.load(), 3000u);
  // Then nothing answers.
  EXPECT_EQ(RunProgram({"/usr/bin/curl", "-s", "--data-binary", "{}", scan_url}).exit_code, 7);  // refused
}

TEST_F(EndToEndTest, HealthAnswersEachServiceByName) {
  WriteTaggedCsv(File("a.csv"), 10, 1);
  ASSERT_EQ(Load("t", {File("a.csv").string()}).exit_code, 0);
  ServerProcess server(data());
  ASSERT_TRUE(server.started());
  PredstoreClient client(ClientFor(server.target()));
  for (const std::string service : {"", "predstore.v1.Predictions", "predstore.v1.Admin"}) {
    auto serving = client.IsServing(service);
    ASSERT_TRUE(serving.ok()) << service << ": " << serving.status();
    EXPECT_TRUE(*serving) << service;
  }
  EXPECT_EQ(client.IsServing("predstore.v1.Nope").status().code(), absl::StatusCode::kNotFound);
  ProgramResult cli = RunProgram({CliBinary(), "--server=" + server.target(), "health",
                                  "--service=predstore.v1.Predictions"});
  EXPECT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_EQ(cli.out, "SERVING\n");
}

TEST_F(EndToEndTest, AdminCredentialsAreCheckedStrictly) {
  WriteTaggedCsv(File("a.csv"), 10, 1);
  ASSERT_EQ(Load("t", {File("a.csv").string()}).exit_code, 0);
  auto server_with = [&](const std::string& contents, fs::perms perms) {
    std::ofstream(File("token"), std::ios::trunc) << contents;
    fs::permissions(File("token"), perms);
    return RunProgram({ServerBinary(), "--data_dir=" + data().string(), "--listen=127.0.0.1:0",
                       "--admin_token_file=" + File("token").string()});
  };
  const auto private_file = fs::perms::owner_read | fs::perms::owner_write;
  // Refused token files: the server does not start.
  ProgramResult world = server_with("s3cret\n", private_file | fs::perms::others_read);
  EXPECT_EQ(world.exit_code, 2);
  EXPECT_THAT(world.err, HasSubstr("world-readable"));
  ProgramResult blank = server_with(" \r\n\t\n", private_file);
  EXPECT_EQ(blank.exit_code, 2);
  EXPECT_THAT(blank.err, HasSubstr("holds no token"));
  ProgramResult inner = server_with("s3 cret\n", private_file);
  EXPECT_EQ(inner.exit_code, 2);
  EXPECT_THAT(inner.err, HasSubstr("whitespace or control characters"));
  // An open Admin beyond loopback is refused unless asked for.
  ProgramResult open = RunProgram({ServerBinary(), "--data_dir=" + data().string(), "--listen=0.0.0.0:0"});
  EXPECT_EQ(open.exit_code, 2);
  EXPECT_THAT(open.err, HasSubstr("--admin_token_file"));

  // A CRLF-terminated file holds the token without its line end.
  std::ofstream(File("token"), std::ios::trunc) << "s3cret\r\n";
  fs::permissions(File("token"), private_file);
  ServerProcess server(data(), {"--admin_token_file=" + File("token").string()});
  ASSERT_TRUE(server.started());
  auto channel = grpc::CreateChannel(server.target(), grpc::InsecureChannelCredentials());
  auto admin = v1::Admin::NewStub(channel);
  auto refresh_with = [&](const std::string& authorization) {
    grpc::ClientContext context;
    if (!authorization.empty()) context.AddMetadata("authorization", authorization);
    v1::RefreshTablesRequest request;
    v1::RefreshTablesResponse response;
    return admin->RefreshTables(&context, request, &response).error_code();
  };
  EXPECT_EQ(refresh_with("Bearer s3cret"), grpc::StatusCode::OK);
  EXPECT_EQ(refresh_with("bearer s3cret"), grpc::StatusCode::OK);  // the scheme in any case
  EXPECT_EQ(refresh_with("BEARER s3cret"), grpc::StatusCode::OK);
  for (const std::string wrong : {"", "s3cret", "Bearer", "Bearer ", "Bearer s3cre", "Bearer s3cret ", "Basic s3cret",
                                  "Bearer S3CRET"}) {
    EXPECT_EQ(refresh_with(wrong), grpc::StatusCode::UNAUTHENTICATED) << "'" << wrong << "'";
  }
}

TEST_F(EndToEndTest, DataTokenGuardsEveryDataCallOnBothFrontEnds) {
  WriteTaggedCsv(File("a.csv"), 10, 1);
  ASSERT_EQ(Load("forecasts", {File("a.csv").string()}).exit_code, 0);
  const auto private_file = fs::perms::owner_read | fs::perms::owner_write;
  for (const auto& [name, token] : {std::pair{"data_token", "d4ta\r\n"}, std::pair{"admin_token", "adm1n\n"}}) {
    std::ofstream(File(name), std::ios::trunc) << token;
    fs::permissions(File(name), private_file);
  }
  ServerProcess server(data(), {"--data_token_file=" + File("data_token").string(),
                                "--admin_token_file=" + File("admin_token").string(), "--http_listen=127.0.0.1:0",
                                "--http_port_file=" + File("http_port").string()});
  ASSERT_TRUE(server.started());
  int http_port = 0;
  std::ifstream(File("http_port")) >> http_port;
  ASSERT_GT(http_port, 0);

  // gRPC: every Predictions method refuses a call without an accepted token
  // and answers one with the data or the admin token.
  auto channel = grpc::CreateChannel(server.target(), grpc::InsecureChannelCredentials());
  auto predictions = v1::Predictions::NewStub(channel);
  auto codes_with = [&](const std::string& authorization) {
    auto prepare = [&](grpc::ClientContext* context) {
      if (!authorization.empty()) context->AddMetadata("authorization", authorization);
    };
    std::vector<grpc::StatusCode> codes;
    {
      grpc::ClientContext context;
      prepare(&context);
      v1::LookupResponse response;
      codes.push_back(predictions->Lookup(&context, LookupOf("forecasts", 1, 1, 1), &response).error_code());
    }
    {
      grpc::ClientContext context;
      prepare(&context);
      v1::BatchLookupRequest request;
      request.set_table("forecasts");
      v1::BatchLookupResponse response;
      codes.push_back(predictions->BatchLookup(&context, request, &response).error_code());
    }
    {
      grpc::ClientContext context;
      prepare(&context);
      v1::ListTablesResponse response;
      codes.push_back(predictions->ListTables(&context, v1::ListTablesRequest(), &response).error_code());
    }
    {
      grpc::ClientContext context;
      prepare(&context);
      v1::GetTableRequest request;
      request.set_table("forecasts");
      v1::TableInfo response;
      codes.push_back(predictions->GetTable(&context, request, &response).error_code());
    }
    {
      grpc::ClientContext context;
      prepare(&context);
      v1::ListModelsResponse response;
      codes.push_back(predictions->ListModels(&context, v1::ListModelsRequest(), &response).error_code());
    }
    {
      grpc::ClientContext context;
      prepare(&context);
      v1::ScanRequest request;
      request.set_table("forecasts");
      auto reader = predictions->Scan(&context, request);
      v1::ScanResponse response;
      while (reader->Read(&response)) {
      }
      codes.push_back(reader->Finish().error_code());
    }
    {
      grpc::ClientContext context;
      prepare(&context);
      auto stream = predictions->LookupStream(&context);
      stream->WritesDone();
      v1::StreamLookupResponse response;
      while (stream->Read(&response)) {
      }
      codes.push_back(stream->Finish().error_code());
    }
    return codes;
  };
  const std::vector<grpc::StatusCode> refused(7, grpc::StatusCode::UNAUTHENTICATED);
  for (const std::string wrong : {"", "d4ta", "Bearer d4t", "Bearer d4ta ", "Basic d4ta", "Bearer D4TA"}) {
    EXPECT_EQ(codes_with(wrong), refused) << "'" << wrong << "'";
  }
  for (const std::string accepted : {"Bearer d4ta", "bearer d4ta", "Bearer adm1n"}) {
    const std::vector<grpc::StatusCode> codes = codes_with(accepted);
    EXPECT_EQ(std::count(codes.begin(), codes.end(), grpc::StatusCode::UNAUTHENTICATED), 0) << accepted;
    EXPECT_EQ(codes[0], grpc::StatusCode::OK) << accepted;
  }
  // The data token is not an admin token.
  {
    auto admin = v1::Admin::NewStub(channel);
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer d4ta");
    v1::RefreshTablesResponse response;
    EXPECT_EQ(admin->RefreshTables(&context, v1::RefreshTablesRequest(), &response).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  // Probes need no token.
  PredstoreClient anonymous(ClientFor(server.target()));
  absl::StatusOr<bool> serving = anonymous.IsServing("predstore.v1.Predictions");
  ASSERT_TRUE(serving.ok()) << serving.status();
  EXPECT_TRUE(*serving);

  // The CLI takes the token from a file.
  ProgramResult without = RunProgram({CliBinary(), "--server=" + server.target(), "tables"});
  EXPECT_EQ(without.exit_code, 1);
  EXPECT_THAT(without.err, HasSubstr("UNAUTHENTICATED"));
  ProgramResult with = RunProgram(
      {CliBinary(), "--server=" + server.target(), "--data_token_file=" + File("data_token").string(), "tables"});
  EXPECT_EQ(with.exit_code, 0) << with.err;
  EXPECT_THAT(with.out, HasSubstr("forecasts"));

  // HTTP: 401 with WWW-Authenticate on the data routes, in each route's
  // error shape; health, version and metrics stay open.
  auto curl = [&](const std::string& method, const std::string& path, const std::string& authorization) {
    std::vector<std::string> args = {"/usr/bin/curl", "-s", "-i", "-X", method,
                                     "http://127.0.0.1:" + std::to_string(http_port) + path};
    if (!authorization.empty()) args.insert(args.end(), {"-H", "Authorization: " + authorization});
    if (method == "POST") {
      args.insert(args.end(), {"-H", "Content-Type: application/json", "--data-binary",
                               R"({"key":[{"column":"store_id","value":{"int64Value":"1"}},)"
                               R"({"column":"item_id","value":{"int64Value":"1"}},)"
                               R"({"column":"horizon_days","value":{"int64Value":"1"}}]})"});
    }
    return RunProgram(args).out;
  };
  for (const auto& [method, path] : {std::pair{"GET", "/v1/tables"}, std::pair{"GET", "/v1/tables/forecasts"},
                                     std::pair{"POST", "/v1/tables/forecasts:lookup"}}) {
    const std::string refused_answer = curl(method, path, "Bearer wrong");
    EXPECT_THAT(refused_answer, HasSubstr("HTTP/1.1 401")) << path;
    EXPECT_THAT(refused_answer, HasSubstr("WWW-Authenticate: Bearer")) << path;
    EXPECT_THAT(refused_answer, HasSubstr(R"("code":401)")) << path;
    EXPECT_THAT(curl(method, path, ""), HasSubstr("HTTP/1.1 401")) << path;
    EXPECT_THAT(curl(method, path, "Bearer d4ta"), HasSubstr("HTTP/1.1 200")) << path;
  }
  const std::string invocation = curl("POST", "/serving-endpoints/m/invocations", "");
  EXPECT_THAT(invocation, HasSubstr("HTTP/1.1 401"));
  EXPECT_THAT(invocation, HasSubstr(R"("error_code": "UNAUTHENTICATED")"));
  for (const std::string open : {"/ping", "/health/live", "/health/ready", "/version", "/metrics"}) {
    EXPECT_THAT(curl("GET", open, ""), HasSubstr("HTTP/1.1 200")) << open;
  }
}

TEST_F(EndToEndTest, ScanRowsHaveTheirLimit) {
  ProgramResult sample = RunProgram({LoaderBinary(), "sample", "--rows=2500", "--out=" + File("f.csv").string()});
  ASSERT_EQ(sample.exit_code, 0) << sample.err;
  ASSERT_EQ(Load("forecasts", {File("f.csv").string()}).exit_code, 0);
  ServerProcess server(data(), {"--max_scan_rows=1000", "--http_listen=127.0.0.1:0",
                                "--http_port_file=" + File("http_port").string()});
  ASSERT_TRUE(server.started());
  PredstoreClient client(ClientFor(server.target()));
  // A scan without a limit stops at --max_scan_rows with a page token.
  v1::ScanRequest all;
  all.set_table("forecasts");
  uint64_t rows = 0;
  std::string token;
  ASSERT_TRUE(client.Scan(all, [&](const v1::ScanResponse& m) {
                      rows += m.rows_size();
                      if (!m.next_page_token().empty()) token = m.next_page_token();
                    })
                  .ok());
  EXPECT_EQ(rows, 1000u);
  EXPECT_FALSE(token.empty());
  // A larger limit is refused, naming the flag, over gRPC and HTTP.
  v1::ScanRequest large = all;
  large.set_limit(1001);
  absl::Status refused = client.Scan(large, [](const v1::ScanResponse&) {});
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(refused.message(), HasSubstr("--max_scan_rows"));
  int http_port = 0;
  std::ifstream(File("http_port")) >> http_port;
  ProgramResult http = RunProgram({"/usr/bin/curl", "-s", "-w", " %{http_code}", "--data-binary", R"({"limit":"1001"})",
                                   "http://127.0.0.1:" + std::to_string(http_port) + "/v1/tables/forecasts:scan"});
  EXPECT_THAT(http.out, HasSubstr("--max_scan_rows"));
  EXPECT_THAT(http.out, HasSubstr(" 429"));

}

TEST_F(EndToEndTest, TlsAndMutualTls) {
  WriteTaggedCsv(File("a.csv"), 10, 1);
  ASSERT_EQ(Load("t", {File("a.csv").string()}).exit_code, 0);
  const fs::path certs = Certificates();
  ASSERT_FALSE(certs.empty());
  auto pem = [&](const std::string& name) { return (certs / name).string(); };
  auto health = [&](const ServerProcess& server, std::vector<std::string> flags) {
    flags.insert(flags.begin(), {CliBinary(), "--server=" + server.target(), "--timeout_ms=3000"});
    flags.push_back("health");
    return RunProgram(flags);
  };
  {
    // Served from copies, which are then renewed in place.
    fs::copy_file(pem("server.pem"), certs / "live.pem");
    fs::copy_file(pem("server.key"), certs / "live.key");
    ServerProcess server(data(), {"--tls_cert=" + pem("live.pem"), "--tls_key=" + pem("live.key"),
                                  "--tls_refresh_seconds=1"});
    ASSERT_TRUE(server.started());
    ProgramResult good = health(server, {"--tls_ca=" + pem("ca.pem")});
    EXPECT_EQ(good.exit_code, 0) << good.err;
    EXPECT_EQ(good.out, "SERVING\n");
    EXPECT_NE(health(server, {"--tls_ca=" + pem("other_ca.pem")}).exit_code, 0);  // a CA that did not sign it
    EXPECT_NE(health(server, {}).exit_code, 0);                                   // plaintext
    // A lookup over TLS answers as over plaintext.
    ClientOptions options = ClientFor(server.target());
    ASSERT_TRUE(LoadClientTls(pem("ca.pem"), "", "", &options).ok());
    PredstoreClient client(options);
    auto found = client.Lookup(LookupOf("t", 1, 1, 1));
    ASSERT_TRUE(found.ok()) << found.status();
    EXPECT_TRUE(found->found());
    // A renewed certificate (here from another CA) is served without a restart.
    fs::copy_file(pem("renewed.key"), certs / "live.key", fs::copy_options::overwrite_existing);
    fs::copy_file(pem("renewed.pem"), certs / "live.pem", fs::copy_options::overwrite_existing);
    bool renewed = false;
    for (int attempt = 0; attempt < 50 && !renewed; ++attempt) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      renewed = health(server, {"--tls_ca=" + pem("other_ca.pem")}).exit_code == 0;
    }
    EXPECT_TRUE(renewed);
    EXPECT_NE(health(server, {"--tls_ca=" + pem("ca.pem")}).exit_code, 0);
  }
  {
    // mTLS: a client without a certificate signed by the CA is refused.
    ServerProcess server(data(), {"--tls_cert=" + pem("server.pem"), "--tls_key=" + pem("server.key"),
                                  "--tls_client_ca=" + pem("ca.pem"), "--http_listen=127.0.0.1:0",
                                  "--http_port_file=" + File("http_port").string()});
    ASSERT_TRUE(server.started());
    // The HTTP front end serves TLS from the same files, with the same mTLS.
    int http_port = 0;
    std::ifstream(File("http_port")) >> http_port;
    auto curl = [&](std::vector<std::string> args) {
      args.insert(args.begin(), {"/usr/bin/curl", "-s", "-o", "-", "-w", " %{http_code}"});
      args.push_back("https://127.0.0.1:" + std::to_string(http_port) + "/v1/tables/t");
      return RunProgram(args);
    };
    ProgramResult https = curl({"--cacert", pem("ca.pem"), "--cert", pem("client.pem"), "--key", pem("client.key")});
    EXPECT_EQ(https.exit_code, 0) << https.err;
    EXPECT_THAT(https.out, HasSubstr(R"("name":"t")"));
    EXPECT_THAT(https.out, HasSubstr(" 200"));
    EXPECT_NE(curl({"--cacert", pem("ca.pem")}).exit_code, 0);  // no client certificate
    EXPECT_NE(curl({"--cacert", pem("other_ca.pem"), "--cert", pem("client.pem"), "--key", pem("client.key")}).exit_code,
              0);  // a CA that did not sign the server's certificate
    EXPECT_NE(RunProgram({"/usr/bin/curl", "-s", "http://127.0.0.1:" + std::to_string(http_port) + "/health"}).out,
              R"({"status":"ready"})");  // plaintext gets no answer
    ProgramResult with_cert =
        health(server, {"--tls_ca=" + pem("ca.pem"), "--tls_cert=" + pem("client.pem"), "--tls_key=" + pem("client.key")});
    EXPECT_EQ(with_cert.exit_code, 0) << with_cert.err;
    EXPECT_NE(health(server, {"--tls_ca=" + pem("ca.pem")}).exit_code, 0);
    EXPECT_NE(health(server, {"--tls_ca=" + pem("ca.pem"), "--tls_cert=" + pem("server.pem"),
                              "--tls_key=" + pem("other_ca.key")})
                  .exit_code,
              0);  // a key that does not match
  }
  // Half a TLS configuration is refused at start.
  ProgramResult half = RunProgram({ServerBinary(), "--data_dir=" + data().string(), "--tls_cert=" + pem("server.pem")});
  EXPECT_EQ(half.exit_code, 2);
  EXPECT_THAT(half.err, HasSubstr("--tls_key"));
}

v1::ColumnRange RangeOf(const std::string& column, int64_t low, int64_t high) {
  v1::ColumnRange range;
  range.set_column(column);
  *range.mutable_low() = Int(low);
  *range.mutable_high() = Int(high);
  return range;
}

// SIGHUP re-reads now what timers re-read otherwise: a published version
// is served, and the HTTP port serves a renewed certificate, though both
// timers are far off.
TEST_F(EndToEndTest, SighupReloadsManifestsAndTheHttpTlsFiles) {
  WriteTaggedCsv(File("a.csv"), 10, 1);
  ASSERT_EQ(Load("t", {File("a.csv").string()}).exit_code, 0);
  const fs::path certs = Certificates();
  ASSERT_FALSE(certs.empty());
  auto pem = [&](const std::string& name) { return (certs / name).string(); };
  fs::copy_file(pem("server.pem"), certs / "live.pem");
  fs::copy_file(pem("server.key"), certs / "live.key");
  ServerProcess server(data(), {"--tls_cert=" + pem("live.pem"), "--tls_key=" + pem("live.key"),
                                "--tls_refresh_seconds=3600", "--refresh_interval_ms=0", "--http_listen=127.0.0.1:0",
                                "--http_port_file=" + File("http_port").string()});
  ASSERT_TRUE(server.started());
  int http_port = 0;
  std::ifstream(File("http_port")) >> http_port;
  auto https_with_ca = [&](const std::string& ca) {
    ProgramResult result = RunProgram({"/usr/bin/curl", "-s", "--cacert", pem(ca), "-o", "/dev/null", "-w",
                                       "%{http_code}", "https://127.0.0.1:" + std::to_string(http_port) + "/ping"});
    return result.exit_code == 0 && result.out == "200";
  };
  EXPECT_TRUE(https_with_ca("ca.pem"));

  WriteTaggedCsv(File("b.csv"), 10, 2);
  ASSERT_EQ(Load("t", {File("b.csv").string()}).exit_code, 0);
  fs::copy_file(pem("renewed.key"), certs / "live.key", fs::copy_options::overwrite_existing);
  fs::copy_file(pem("renewed.pem"), certs / "live.pem", fs::copy_options::overwrite_existing);
  ClientOptions options = ClientFor(server.target());
  ASSERT_TRUE(LoadClientTls(pem("ca.pem"), "", "", &options).ok());
  PredstoreClient client(options);
  ASSERT_EQ(client.GetTable("t")->active_version(), 1u);
  EXPECT_TRUE(https_with_ca("ca.pem"));  // nothing re-read yet

  server.Signal(SIGHUP);
  bool reloaded = false;
  for (int attempt = 0; attempt < 50 && !reloaded; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    reloaded = client.GetTable("t")->active_version() == 2u && https_with_ca("other_ca.pem");
  }
  EXPECT_TRUE(reloaded);
  EXPECT_FALSE(https_with_ca("ca.pem"));
  // The gRPC port still has the old certificate: gRPC re-reads its files
  // every --tls_refresh_seconds.
  EXPECT_TRUE(client.GetTable("t").ok());
  EXPECT_EQ(server.Stop(), 0);
}

TEST_F(EndToEndTest, ScanReturnsTheBoxInPagesThroughClientAndCli) {
  ASSERT_EQ(RunProgram({LoaderBinary(), "sample", "--rows=30000", "--out=" + File("f.csv").string()}).exit_code, 0);
  ASSERT_EQ(Load("forecasts", {File("f.csv").string()}).exit_code, 0);
  ServerProcess server(data());
  ASSERT_TRUE(server.started());
  PredstoreClient client(ClientFor(server.target()));

  // The box, filtered by hand from the file.
  std::multiset<std::tuple<int64_t, int64_t, int64_t, double>> expected;
  for (const Row& row : ReadSampleCsv(File("f.csv"))) {
    if (row.store >= 2 && row.store <= 4 && row.item >= 1100 && row.item <= 1180 && row.horizon <= 7) {
      expected.emplace(row.store, row.item, row.horizon, row.forecast);
    }
  }
  ASSERT_GT(expected.size(), 1000u);  // more than one streamed message

  v1::ScanRequest request;
  request.set_table("forecasts");
  *request.add_where() = RangeOf("store_id", 2, 4);
  *request.add_where() = RangeOf("item_id", 1100, 1180);
  v1::ColumnRange horizon;
  horizon.set_column("horizon_days");
  *horizon.mutable_high() = Int(7);  // unbounded below
  *request.add_where() = horizon;
  request.set_limit(700);
  std::multiset<std::tuple<int64_t, int64_t, int64_t, double>> got;
  int pages = 0;
  uint64_t examined = 0;
  for (;; ++pages) {
    std::string token;
    absl::Status status = client.Scan(request, [&](const v1::ScanResponse& response) {
      for (const v1::ScanRow& row : response.rows()) {
        got.emplace(row.key(0).int64_value(), row.key(1).int64_value(), row.key(2).int64_value(),
                    row.values(0).double_value());
      }
      if (response.has_stats()) examined += response.stats().keys_examined();
      token = response.next_page_token();
    });
    ASSERT_TRUE(status.ok()) << status;
    if (token.empty()) break;
    request.set_page_token(token);
  }
  EXPECT_EQ(got, expected);
  EXPECT_EQ(pages, static_cast<int>(expected.size() / 700));
  EXPECT_LT(examined, 30000u / 4);

  ProgramResult cli = RunProgram({CliBinary(), "--server=" + server.target(), "scan", "--table=forecasts",
                                  "--where=store_id = 3", "--where", "item_id between 1100 and 1101", "--stats"});
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_EQ(std::count(cli.out.begin(), cli.out.end(), '\n'), 28);  // 2 items x 14 horizons
  EXPECT_THAT(cli.out, HasSubstr("{\"store_id\":3,\"item_id\":1100,\"horizon_days\":1,"));
  EXPECT_THAT(cli.err, HasSubstr("scan: 28 rows"));

  auto code_of = [&](const v1::ScanRequest& bad) {
    return client.Scan(bad, [](const v1::ScanResponse&) {}).code();
  };
  v1::ScanRequest inverted;
  inverted.set_table("forecasts");
  *inverted.add_where() = RangeOf("store_id", 5, 1);
  EXPECT_EQ(code_of(inverted), absl::StatusCode::kInvalidArgument);
  v1::ScanRequest unknown = inverted;
  *unknown.mutable_where(0) = RangeOf("shop", 1, 2);
  EXPECT_EQ(code_of(unknown), absl::StatusCode::kInvalidArgument);
  v1::ScanRequest wrong_type = inverted;
  wrong_type.mutable_where(0)->mutable_low()->set_string_value("x");
  EXPECT_EQ(code_of(wrong_type), absl::StatusCode::kInvalidArgument);
  v1::ScanRequest bad_token;
  bad_token.set_table("forecasts");
  bad_token.set_page_token("nonsense");
  EXPECT_EQ(code_of(bad_token), absl::StatusCode::kInvalidArgument);
  v1::ScanRequest no_table;
  no_table.set_table("nope");
  EXPECT_EQ(code_of(no_table), absl::StatusCode::kNotFound);
}

TEST_F(EndToEndTest, PartitionsReplaceListAndDropWhileServing) {
  std::ofstream(File("days.csv")) << "day,user,score\n2026-11-24,ann,1\n2026-11-25,ann,2\n2026-11-26,ann,3\n";
  std::ofstream(File("today.csv")) << "day,user,score\n2026-11-26,ann,30\n2026-11-26,bob,31\n";
  ProgramResult load = RunProgram({LoaderBinary(), "load", "--data_dir=" + data().string(), "--table=churn",
                                   "--keys=user:string", "--values=score:double", "--partition=day:date",
                                   File("days.csv").string()});
  ASSERT_EQ(load.exit_code, 0) << load.err;
  ServerProcess server(data());
  ASSERT_TRUE(server.started());
  auto cli = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {CliBinary(), "--server=" + server.target()});
    return RunProgram(args);
  };

  ProgramResult replace = cli({"load", "--data_dir=" + data().string(), "--table=churn", "--replace=partitions",
                               "--server=" + server.target(), File("today.csv").string()});
  ASSERT_EQ(replace.exit_code, 0) << replace.err;
  EXPECT_THAT(replace.out, HasSubstr("the table now has 4 rows"));
  EXPECT_THAT(replace.out, HasSubstr("now serves table churn version 2"));

  ProgramResult partitions = cli({"partitions", "--table=churn", "--output=table"});
  ASSERT_EQ(partitions.exit_code, 0) << partitions.err;
  EXPECT_EQ(partitions.out,
            "day         rows  written_by_version\n"
            "2026-11-24  1     1\n"
            "2026-11-25  1     1\n"
            "2026-11-26  2     2\n");

  ProgramResult drop = cli({"drop-partition", "--data_dir=" + data().string(), "--table=churn",
                            "--value=2026-11-24", "--server=" + server.target()});
  ASSERT_EQ(drop.exit_code, 0) << drop.err;
  EXPECT_THAT(drop.out, HasSubstr("now serves table churn version 3"));

  ProgramResult scan = cli({"scan", "--table=churn", "--where=day >= 2026-11-01"});
  ASSERT_EQ(scan.exit_code, 0) << scan.err;
  EXPECT_EQ(scan.out,
            "{\"day\":\"2026-11-25\",\"user\":\"ann\",\"score\":2.0,\"snapshot_version\":3}\n"
            "{\"day\":\"2026-11-26\",\"user\":\"ann\",\"score\":30.0,\"snapshot_version\":3}\n"
            "{\"day\":\"2026-11-26\",\"user\":\"bob\",\"score\":31.0,\"snapshot_version\":3}\n");
  ProgramResult missing = cli({"drop-partition", "--data_dir=" + data().string(), "--table=churn",
                               "--value=2026-11-24"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("has no partition 2026-11-24"));
}

TEST_F(EndToEndTest, ColumnarBatchLookupAnswersLikeTheRowForm) {
  ASSERT_EQ(RunProgram({LoaderBinary(), "sample", "--rows=3000", "--out=" + File("f.csv").string()}).exit_code, 0);
  ASSERT_EQ(Load("forecasts", {File("f.csv").string()}).exit_code, 0);
  ServerProcess server(data(), {"--max_batch_keys=60"});
  ASSERT_TRUE(server.started());
  PredstoreClient client(ClientFor(server.target()));
  std::vector<Row> rows = ReadSampleCsv(File("f.csv"));
  rows.resize(50);
  rows.push_back(Row{999999, 1, 1, 0, 0});  // not stored
  rows.push_back(Row{1, 999999, 2, 0, 0});

  // The same keys in both forms, columns in another order than the table's.
  v1::BatchLookupRequest by_row = BatchOf("forecasts", rows, 0, rows.size());
  v1::BatchLookupRequest columnar = ColumnarOf("forecasts", rows, 0, rows.size());
  auto rowwise = client.BatchLookup(by_row);
  auto columns = client.BatchLookup(columnar);
  ASSERT_TRUE(rowwise.ok()) << rowwise.status();
  ASSERT_TRUE(columns.ok()) << columns.status();
  EXPECT_EQ(columns->results_size(), 0);
  ASSERT_EQ(columns->found_size(), static_cast<int>(rows.size()));
  ASSERT_EQ(columns->sources_size(), static_cast<int>(rows.size()));
  ASSERT_EQ(columns->columns_size(), 2);
  EXPECT_THAT(columns->value_columns(), ::testing::ElementsAre("forecast", "p90"));
  EXPECT_EQ(columns->snapshot_version(), rowwise->snapshot_version());
  for (size_t k = 0; k < rows.size(); ++k) {
    const v1::LookupResult& expected = rowwise->results(static_cast<int>(k));
    ASSERT_EQ(columns->found(static_cast<int>(k)), expected.found()) << "key " << k;
    EXPECT_EQ(columns->found(static_cast<int>(k)), k < 50) << "key " << k;
    if (!expected.found()) continue;
    EXPECT_EQ(columns->sources(static_cast<int>(k)), v1::SOURCE_PRECOMPUTED);
    EXPECT_EQ(columns->columns(0).double_values(static_cast<int>(k)), rows[k].forecast);
    EXPECT_EQ(columns->columns(1).double_values(static_cast<int>(k)), expected.values(1).double_value());
  }

  auto code_of = [&](const v1::BatchLookupRequest& bad) { return client.BatchLookup(bad).status(); };
  v1::BatchLookupRequest short_column = columnar;
  short_column.mutable_key_values(2)->mutable_int64_values()->RemoveLast();
  absl::Status status = code_of(short_column);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("key_values[2] (column \"item_id\", int64): 51 values for 52 keys"));
  v1::BatchLookupRequest both = columnar;
  *both.add_keys() = by_row.keys(0);
  EXPECT_EQ(code_of(both).code(), absl::StatusCode::kInvalidArgument);
  v1::BatchLookupRequest wrong_type = columnar;
  wrong_type.mutable_key_values(1)->clear_int64_values();
  wrong_type.mutable_key_values(1)->add_string_values(std::string("3"));
  EXPECT_EQ(code_of(wrong_type).code(), absl::StatusCode::kInvalidArgument);
  v1::BatchLookupRequest too_many = columnar;
  for (int c = 0; c < 3; ++c) {
    for (int k = 0; k < 10; ++k) too_many.mutable_key_values(c)->add_int64_values(1);
  }
  EXPECT_EQ(code_of(too_many).code(), absl::StatusCode::kResourceExhausted);

  // The same batch over a LookupStream answers alike; a row-form batch there
  // is an error answer, and the stream goes on.
  std::unique_ptr<LookupStream> stream = client.OpenLookupStream();
  v1::StreamLookupRequest streamed;
  streamed.set_id(7);
  *streamed.mutable_batch() = columnar;
  v1::StreamLookupRequest row_form;
  row_form.set_id(8);
  *row_form.mutable_batch() = by_row;
  ASSERT_TRUE(stream->Write(streamed) && stream->Write(row_form) && stream->Write(streamed));
  stream->WritesDone();
  std::vector<v1::StreamLookupResponse> answers(3);
  for (auto& answer : answers) ASSERT_TRUE(stream->Read(&answer));
  v1::StreamLookupResponse end;
  EXPECT_FALSE(stream->Read(&end));
  EXPECT_TRUE(stream->Finish().ok());
  std::map<uint64_t, int> answered;
  for (const auto& answer : answers) {
    ++answered[answer.id()];
    if (answer.id() == 8) {
      EXPECT_EQ(answer.error_code(), static_cast<int>(absl::StatusCode::kInvalidArgument));
      EXPECT_THAT(answer.error_message(), HasSubstr("key_values"));
      continue;
    }
    ASSERT_EQ(answer.error_code(), 0) << answer.error_message();
    EXPECT_EQ(answer.batch().SerializeAsString(), columns->SerializeAsString());
  }
  EXPECT_EQ(answered, (std::map<uint64_t, int>{{7, 2}, {8, 1}}));
}

TEST_F(EndToEndTest, LookupStreamAnswersEveryRequestById) {
  ASSERT_EQ(RunProgram({LoaderBinary(), "sample", "--rows=5000", "--out=" + File("f.csv").string()}).exit_code, 0);
  ASSERT_EQ(Load("forecasts", {File("f.csv").string()}).exit_code, 0);
  ServerProcess server(data());
  ASSERT_TRUE(server.started());
  PredstoreClient client(ClientFor(server.target()));
  std::vector<Row> rows = ReadSampleCsv(File("f.csv"));

  std::unique_ptr<LookupStream> stream = client.OpenLookupStream();
  constexpr int kRequests = 3000;
  std::thread writer([&] {
    for (int id = 0; id < kRequests; ++id) {
      v1::StreamLookupRequest request;
      request.set_id(1000 + id);
      const Row& row = rows[(id * 7) % rows.size()];
      *request.mutable_lookup() = LookupOf("forecasts", row.store, row.item, row.horizon);
      if (id % 100 == 99) request.mutable_lookup()->mutable_key(0)->set_column("shop");  // a bad request
      if (id % 100 == 98) request.mutable_lookup()->mutable_key(2)->mutable_value()->set_int64_value(999);  // a miss
      if (!stream->Write(request)) break;
    }
    stream->WritesDone();
  });
  std::map<uint64_t, v1::StreamLookupResponse> answers;
  v1::StreamLookupResponse response;
  while (stream->Read(&response)) answers[response.id()] = response;
  writer.join();
  ASSERT_TRUE(stream->Finish().ok());

  ASSERT_EQ(answers.size(), static_cast<size_t>(kRequests));
  for (int id = 0; id < kRequests; ++id) {
    const v1::StreamLookupResponse& answer = answers[1000 + id];
    const Row& row = rows[(id * 7) % rows.size()];
    if (id % 100 == 99) {
      EXPECT_EQ(answer.error_code(), static_cast<int>(absl::StatusCode::kInvalidArgument)) << id;
      EXPECT_THAT(answer.error_message(), HasSubstr("unknown key column \"shop\"")) << id;
    } else if (id % 100 == 98) {
      EXPECT_EQ(answer.error_code(), 0);
      EXPECT_FALSE(answer.result().found()) << id;
    } else {
      ASSERT_EQ(answer.error_code(), 0) << answer.error_message();
      ASSERT_TRUE(answer.result().found()) << id;
      EXPECT_EQ(answer.result().values(0).double_value(), row.forecast) << id;
      EXPECT_EQ(answer.result().snapshot_version(), 1u);
    }
  }
}

// A client that writes to a LookupStream and never reads holds back only a
// bounded number of answers (the server stops reading, HTTP/2 flow control
// stops the client); streams past --max_concurrent_streams are refused at
// once on both front ends; nothing written is lost once the client reads.
TEST_F(EndToEndTest, StreamsAreBoundedInNumberAndInUnsentAnswers) {
  std::vector<Row> rows = LoadSampleForecasts(File("f.csv"), data(), 3000);
  ASSERT_EQ(rows.size(), 3000u);
  ServerProcess server(data(), {"--max_concurrent_streams=2", "--http_listen=127.0.0.1:0",
                                "--http_port_file=" + File("http_port").string()});
  ASSERT_TRUE(server.started());
  const int http_port = PortIn("http_port");
  PredstoreClient client(ClientFor(server.target()));
  rows.resize(500);
  v1::StreamLookupRequest request;
  *request.mutable_batch() = ColumnarOf("forecasts", rows, 0, rows.size());

  const double rss_before = SampleOf(ScrapeMetrics(http_port), "predstore_process_resident_memory_bytes");
  std::unique_ptr<LookupStream> hog = client.OpenLookupStream();
  std::atomic<int> written{0};
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    v1::StreamLookupRequest next = request;
    for (int id = 0; !stop && id < 1'000'000; ++id) {
      next.set_id(id);
      if (!hog->Write(next)) break;
      ++written;
    }
    hog->WritesDone();
  });
  // Writing stalls within a second (here: after ~7k requests of 4 KB, held
  // in HTTP/2 windows and buffers); unbounded, each second would queue
  // ~20k answers of ~9 KB on the server.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const int written_at_2s = written.load();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_EQ(written.load(), written_at_2s);
  const std::string scrape = ScrapeMetrics(http_port);
  const double rss_grown = SampleOf(scrape, "predstore_process_resident_memory_bytes") - rss_before;
  EXPECT_LT(rss_grown, 64 << 20) << written.load() << " requests written";
  EXPECT_EQ(SampleOf(scrape, "predstore_streams_open"), 1);

  // The second stream fits; a third, a gRPC scan and an HTTP scan do not.
  std::unique_ptr<LookupStream> second = client.OpenLookupStream();
  v1::StreamLookupRequest one = request;
  one.set_id(1);
  ASSERT_TRUE(second->Write(one));
  v1::StreamLookupResponse answer;
  ASSERT_TRUE(second->Read(&answer));
  std::unique_ptr<LookupStream> third = client.OpenLookupStream();
  third->Write(one);
  EXPECT_FALSE(third->Read(&answer));
  absl::Status refused = third->Finish();
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(refused.message(), HasSubstr("--max_concurrent_streams"));
  v1::ScanRequest scan;
  scan.set_table("forecasts");
  absl::Status scanned = client.Scan(scan, [](const v1::ScanResponse&) {});
  EXPECT_EQ(scanned.code(), absl::StatusCode::kResourceExhausted) << scanned;
  ProgramResult http = RunProgram({"/usr/bin/curl", "-s", "-i", "--data-binary", "{}",
                                   "http://127.0.0.1:" + std::to_string(http_port) + "/v1/tables/forecasts:scan"});
  EXPECT_THAT(http.out, HasSubstr("HTTP/1.1 429"));
  EXPECT_THAT(http.out, HasSubstr("Retry-After: 1"));
  EXPECT_THAT(http.out, HasSubstr("--max_concurrent_streams"));

  // The hog reads at last: every request written is answered, in order.
  stop = true;
  int answered = 0;
  while (hog->Read(&answer)) {
    ASSERT_EQ(answer.id(), static_cast<uint64_t>(answered)) << answer.error_message();
    ASSERT_EQ(answer.batch().found_size(), 500);
    ++answered;
  }
  writer.join();
  EXPECT_TRUE(hog->Finish().ok());
  EXPECT_EQ(answered, written.load());
  second->WritesDone();
  EXPECT_TRUE(second->Finish().ok());

  // Closed streams give their slots back: a scan runs again.
  absl::Status again;
  for (int attempt = 0; attempt < 50; ++attempt) {
    again = client.Scan(scan, [](const v1::ScanResponse&) {});
    if (again.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(again.ok()) << again;
}

// A failed request's error response carries a request id (the client's
// own, or a new one), and the server's log has one request_failed line
// with that id; with --log_format=json every log line is JSON that
// Python's json module reads.
TEST_F(EndToEndTest, FailedRequestsCarryTheRequestIdTheirLogLineHas) {
  ASSERT_EQ(LoadSampleForecasts(File("f.csv"), data(), 100).size(), 100u);
  ServerProcess server(data(), {"--log_format=json", "--http_listen=127.0.0.1:0",
                                "--http_port_file=" + File("http_port").string()});
  ASSERT_TRUE(server.started());
  const int http_port = PortIn("http_port");
  auto predictions = v1::Predictions::NewStub(grpc::CreateChannel(server.target(), grpc::InsecureChannelCredentials()));

  // gRPC: the id is in the trailers and after the message.
  auto lookup_missing_table = [&](const std::string& sent_id) {
    grpc::ClientContext context;
    if (!sent_id.empty()) context.AddMetadata("x-request-id", sent_id);
    v1::LookupRequest request = LookupOf("nosuch", 1, 1, 1);
    v1::LookupResponse response;
    grpc::Status status = predictions->Lookup(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
    auto trailer = context.GetServerTrailingMetadata().find("x-request-id");
    std::string id = trailer == context.GetServerTrailingMetadata().end()
                         ? ""
                         : std::string(trailer->second.data(), trailer->second.size());
    EXPECT_THAT(status.error_message(), HasSubstr("(request id " + id + ")"));
    return id;
  };
  const std::string generated = lookup_missing_table("");
  EXPECT_THAT(generated, ::testing::MatchesRegex("[0-9a-f]{16}"));
  EXPECT_EQ(lookup_missing_table("checkout-42.a:b_c"), "checkout-42.a:b_c");
  const std::string replaced = lookup_missing_table("not safe\"");  // not echoed into logs and answers
  EXPECT_THAT(replaced, ::testing::MatchesRegex("[0-9a-f]{16}"));
  EXPECT_NE(replaced, generated);
  {
    grpc::ClientContext context;
    v1::LookupResponse response;
    ASSERT_TRUE(predictions->Lookup(&context, LookupOf("forecasts", 1, 1, 1), &response).ok());
    EXPECT_EQ(context.GetServerTrailingMetadata().count("x-request-id"), 0u);
  }

  // HTTP: the X-Request-Id header and a "request_id" member, in both error
  // shapes (ours and MLflow's); success is untouched.
  auto curl = [&](const std::string& path, const std::string& body, const std::string& sent_id) {
    std::vector<std::string> args = {"/usr/bin/curl", "-s", "-i", "-H", "Content-Type: application/json",
                                     "--data-binary", body, "http://127.0.0.1:" + std::to_string(http_port) + path};
    if (!sent_id.empty()) args.insert(args.end(), {"-H", "X-Request-Id: " + sent_id});
    return RunProgram(args).out;
  };
  const std::string ours = curl("/v1/tables/nosuch:lookup", "{}", "rid-7");
  EXPECT_THAT(ours, HasSubstr("HTTP/1.1 404"));
  EXPECT_THAT(ours, HasSubstr("X-Request-Id: rid-7\r\n"));
  EXPECT_THAT(ours, HasSubstr(R"(,"request_id":"rid-7"})"));
  const std::string mlflow = curl("/invocations", R"({"inputs":[[1]]})", "");
  EXPECT_THAT(mlflow, HasSubstr("HTTP/1.1 404"));
  EXPECT_THAT(mlflow, HasSubstr(R"("error_code": "RESOURCE_DOES_NOT_EXIST")"));
  EXPECT_THAT(mlflow, ::testing::ContainsRegex(R"(X-Request-Id: [0-9a-f]{16})"));
  EXPECT_THAT(mlflow, ::testing::ContainsRegex(R"("request_id":"[0-9a-f]{16}"\}$)"));
  const std::string fine = curl("/v1/tables/forecasts:lookup",
                                R"({"key":[{"column":"store_id","value":{"int64Value":"1"}},)"
                                R"({"column":"item_id","value":{"int64Value":"1"}},)"
                                R"({"column":"horizon_days","value":{"int64Value":"1"}}]})",
                                "rid-8");
  EXPECT_THAT(fine, HasSubstr("HTTP/1.1 200"));
  EXPECT_THAT(fine, Not(HasSubstr("rid-8")));

  // A burst of failures is logged at most 100 a second; a later line counts
  // those left out, so lines plus counts add up to every failure.
  const auto burst_start = std::chrono::steady_clock::now();
  for (int i = 0; i < 300; ++i) {
    grpc::ClientContext context;
    v1::LookupResponse response;
    predictions->Lookup(&context, LookupOf("burst", 1, 1, 1), &response);
  }
  const auto seconds_touched =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - burst_start).count() + 2;
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  {
    grpc::ClientContext context;
    v1::LookupResponse response;
    predictions->Lookup(&context, LookupOf("burst", 1, 1, 1), &response);
  }

  // The log: every line is JSON; one request_failed line per failure above.
  ASSERT_EQ(server.Stop(), 0);
  ProgramResult counted = RunProgram(
      {"/bin/sh", "-c",
       std::string(PREDSTORE_PYTHON) +
           " -c 'import json,sys\nlines = [json.loads(l) for l in open(sys.argv[1])]\n"
           "burst = [e for e in lines if \"burst\" in e.get(\"message\", \"\") and e.get(\"event\")]\n"
           "print(len(burst), len(burst) + sum(e[\"earlier_failures_not_logged\"] for e in lines if "
           "e.get(\"event\")))' " +
           server.log_path().string()});
  ASSERT_EQ(counted.exit_code, 0) << counted.err;
  int burst_lines = 0, burst_total = 0;
  std::istringstream(counted.out) >> burst_lines >> burst_total;
  EXPECT_LE(burst_lines, 100 * seconds_touched + 1) << seconds_touched;
  EXPECT_EQ(burst_total, 301) << counted.out;
  const std::string command = std::string(PREDSTORE_PYTHON) +
                              " -c 'import json,sys\nfor line in open(sys.argv[1]):\n"
                              "  e = json.loads(line)\n"
                              "  if e.get(\"event\") == \"request_failed\" and \"burst\" not in e[\"message\"]:\n"
                              "    print(e[\"front_end\"], e[\"code\"], e[\"request_id\"], e[\"method\"])' " +
                              server.log_path().string();
  ProgramResult parsed = RunProgram({"/bin/sh", "-c", command});
  ASSERT_EQ(parsed.exit_code, 0) << parsed.err;
  EXPECT_EQ(parsed.out, "grpc NOT_FOUND " + generated + " /predstore.v1.Predictions/Lookup\n" +
                            "grpc NOT_FOUND checkout-42.a:b_c /predstore.v1.Predictions/Lookup\n" +
                            "grpc NOT_FOUND " + replaced + " /predstore.v1.Predictions/Lookup\n" +
                            "http 404 rid-7 POST /v1/tables/nosuch:lookup\n" + "http 404 " +
                            mlflow.substr(mlflow.find("X-Request-Id: ") + 14, 16) + " POST /invocations\n");
}

// A config file sets the server's options, flags override it, a file it
// cannot use stops the start naming the line, and docs/configuration.md
// lists every option as --print_config prints it.
TEST_F(EndToEndTest, ConfigFileSetsOptionsAndFlagsOverrideIt) {
  ProgramResult printed = RunProgram({ServerBinary(), "--print_config"});
  ASSERT_EQ(printed.exit_code, 0) << printed.err;
  std::ifstream doc_file(std::string(PREDSTORE_SOURCE_DIR) + "/docs/configuration.md");
  const std::string doc((std::istreambuf_iterator<char>(doc_file)), std::istreambuf_iterator<char>());
  const size_t block = doc.rfind("```yaml\n");
  ASSERT_NE(block, std::string::npos);
  EXPECT_EQ(doc.substr(block + 8, doc.find("```", block + 8) - block - 8), printed.out)
      << "docs/configuration.md is out of date: paste the output of predstore-server --print_config";

  ASSERT_EQ(RunProgram({LoaderBinary(), "sample", "--rows=100", "--out=" + File("f.csv").string()}).exit_code, 0);
  ASSERT_EQ(Load("forecasts", {File("f.csv").string()}).exit_code, 0);
  std::ofstream(File("predstore.yaml")) << "# test\nmax_batch_keys: 5\nlog-format: json\n";
  ProgramResult effective = RunProgram(
      {ServerBinary(), "--config=" + File("predstore.yaml").string(), "--max_batch_keys=7", "--print_config"});
  EXPECT_THAT(effective.out, HasSubstr("\nmax_batch_keys: 7\n"));
  EXPECT_THAT(effective.out, HasSubstr("\nlog_format: \"json\"\n"));
  ServerProcess server(data(), {"--config=" + File("predstore.yaml").string(), "--max_batch_keys=7"});
  ASSERT_TRUE(server.started());
  PredstoreClient client(ClientFor(server.target()));
  const std::vector<Row> rows = ReadSampleCsv(File("f.csv"));
  EXPECT_TRUE(client.BatchLookup(BatchOf("forecasts", rows, 0, 7)).ok());
  absl::Status refused = client.BatchLookup(BatchOf("forecasts", rows, 0, 8)).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(refused.message(), HasSubstr("7"));
  ASSERT_EQ(server.Stop(), 0);
  std::string first_line;
  std::getline(std::ifstream(server.log_path()), first_line);
  EXPECT_THAT(first_line, ::testing::StartsWith(R"({"time":")"));

  for (const auto& [text, message] : std::vector<std::pair<std::string, std::string>>{
           {"max_batch_keys: many\n", "predstore.yaml:1:17: option \"max_batch_keys\": Illegal value 'many'"},
           {"listen: 127.0.0.1:0\nlisten_adress: x\n", "predstore.yaml:2:1: unknown option \"listen_adress\""},
           {"config: other.yaml\n", "predstore.yaml:1:1: unknown option \"config\""}}) {
    std::ofstream(File("predstore.yaml")) << text;
    ProgramResult bad = RunProgram({ServerBinary(), "--config=" + File("predstore.yaml").string(),
                                    "--data_dir=" + data().string(), "--listen=127.0.0.1:0"});
    EXPECT_EQ(bad.exit_code, 2) << text;
    EXPECT_THAT(bad.err, HasSubstr(message)) << text;
  }
  ProgramResult missing = RunProgram({ServerBinary(), "--config=" + File("nowhere.yaml").string()});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, HasSubstr("cannot read the config file"));
}

TEST_F(EndToEndTest, ReflectionListsTheServices) {
  WriteTaggedCsv(File("a.csv"), 10, 1);
  ASSERT_EQ(Load("t", {File("a.csv").string()}).exit_code, 0);
  ServerProcess server(data());
  ASSERT_TRUE(server.started());
  auto channel = grpc::CreateChannel(server.target(), grpc::InsecureChannelCredentials());
  auto stub = grpc::reflection::v1alpha::ServerReflection::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auto stream = stub->ServerReflectionInfo(&context);
  grpc::reflection::v1alpha::ServerReflectionRequest request;
  request.set_list_services("*");
  ASSERT_TRUE(stream->Write(request));
  grpc::reflection::v1alpha::ServerReflectionResponse response;
  ASSERT_TRUE(stream->Read(&response));
  stream->WritesDone();
  std::vector<std::string> services;
  for (const auto& service : response.list_services_response().service()) services.push_back(service.name());
  EXPECT_THAT(services, ::testing::IsSupersetOf({"predstore.v1.Predictions", "predstore.v1.Admin",
                                                 "grpc.health.v1.Health"}));
  while (stream->Read(&response)) {
  }
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(EndToEndTest, OfflineRollbackAndVersions) {
  WriteTaggedCsv(File("a.csv"), 10, 1);
  WriteTaggedCsv(File("b.csv"), 10, 2);
  ASSERT_EQ(Load("t", {File("a.csv").string()}).exit_code, 0);
  ASSERT_EQ(Load("t", {File("b.csv").string()}).exit_code, 0);
  ProgramResult rollback = RunProgram({LoaderBinary(), "rollback", "--data_dir=" + data().string(), "--table=t"});
  ASSERT_EQ(rollback.exit_code, 0) << rollback.err;
  ProgramResult versions = RunProgram({LoaderBinary(), "versions", "--data_dir=" + data().string(), "--table=t"});
  ASSERT_EQ(versions.exit_code, 0) << versions.err;
  EXPECT_THAT(versions.out, HasSubstr("* version 1: 10 rows"));
  EXPECT_THAT(versions.out, HasSubstr("  version 2: 10 rows"));
  ServerProcess server(data());
  PredstoreClient client(ClientFor(server.target()));
  auto response = client.Lookup(LookupOf("t", 3, 3, 0));
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->snapshot_version(), 1u);
  EXPECT_EQ(response->values(1).double_value(), 1);
}

// A load killed (as kill -9 would) at each step of its publish: the served
// version is the last whole one, and the next load publishes normally.
TEST_F(EndToEndTest, ALoadKilledDuringPublishLeavesTheTableWholeAndTheNextLoadWorks) {
  for (int tag : {1, 2, 3, 4}) WriteTaggedCsv(File("v" + std::to_string(tag) + ".csv"), 20, tag);
  ASSERT_EQ(Load("t", {File("v1.csv").string()}).exit_code, 0);
  ServerProcess server(data(), {"--refresh_interval_ms=0"});
  ASSERT_TRUE(server.started());
  PredstoreClient client(ClientFor(server.target()));
  auto served = [&]() -> std::pair<uint64_t, double> {
    EXPECT_TRUE(client.RefreshTables("t").ok());
    auto response = client.Lookup(LookupOf("t", 3, 3, 0));
    EXPECT_TRUE(response.ok() && response->found()) << response.status();
    return response.ok() && response->found() ? std::pair{response->snapshot_version(), response->values(1).double_value()}
                                              : std::pair{uint64_t{0}, 0.0};
  };
  auto crash_load = [&](const std::string& point, const std::string& file) {
    ProgramResult killed = RunProgram({"/usr/bin/env", "PREDSTORE_CRASH_AT=" + point, LoaderBinary(), "load",
                                       "--data_dir=" + data().string(), "--table=t", File(file).string()});
    EXPECT_EQ(killed.exit_code, -1) << point << ": " << killed.err;  // killed by SIGKILL
  };

  // Killed after moving its parts, before the manifest: v2 never existed.
  crash_load("publish:parts-moved", "v2.csv");
  EXPECT_TRUE(fs::exists(data() / "t" / "parts" / "v2-0"));
  EXPECT_EQ(served(), (std::pair<uint64_t, double>{1, 1}));
  ProgramResult next = Load("t", {File("v3.csv").string()});
  ASSERT_EQ(next.exit_code, 0) << next.err;
  EXPECT_EQ(served(), (std::pair<uint64_t, double>{2, 3}));

  // Killed after the manifest, before cleaning up: v3 is published whole.
  crash_load("publish:manifest-written", "v4.csv");
  EXPECT_EQ(served(), (std::pair<uint64_t, double>{3, 4}));
  ASSERT_EQ(Load("t", {File("v1.csv").string()}).exit_code, 0);
  EXPECT_EQ(served(), (std::pair<uint64_t, double>{4, 1}));
  // Nothing is left behind: kept versions' parts only, staging empty.
  std::vector<std::string> parts;
  for (const auto& entry : fs::directory_iterator(data() / "t" / "parts")) parts.push_back(entry.path().filename());
  EXPECT_THAT(parts, ::testing::UnorderedElementsAre("v2-0", "v3-0", "v4-0"));
  EXPECT_TRUE(fs::is_empty(data() / "t" / "staging"));
}

}  // namespace
}  // namespace predstore::testing
