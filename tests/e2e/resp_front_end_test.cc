// The Redis-protocol front end of the real server, driven by the real
// clients: Debian's redis-cli and redis-py (python3-redis). Every answer is
// compared with what gRPC Lookup gives for the same key.
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "client/predstore_client.h"
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

class RespFrontEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    rows_ = LoadSampleForecasts(scratch_.path() / "s.csv", data(), 300);
    ASSERT_EQ(rows_.size(), 300u);
  }

  void Start(std::vector<std::string> flags = {}) {
    const fs::path port_file = scratch_.path() / "resp-port";
    const fs::path http_port_file = scratch_.path() / "http-port";
    fs::remove(port_file);
    flags.insert(flags.end(), {"--resp_listen=127.0.0.1:0", "--resp_port_file=" + port_file.string(),
                               "--http_listen=127.0.0.1:0", "--http_port_file=" + http_port_file.string()});
    server_ = std::make_unique<ServerProcess>(data(), flags);
    ASSERT_TRUE(server_->started());
    std::ifstream(port_file) >> port_;
    std::ifstream(http_port_file) >> http_port_;
    ASSERT_GT(port_, 0);
  }

  fs::path data() const { return scratch_.path() / "data"; }

  static std::string KeyOf(const Row& row) {
    return "forecasts:" + std::to_string(row.store) + ":" + std::to_string(row.item) + ":" + std::to_string(row.horizon);
  }

  // redis-cli with `args`, the commands of `script` (one per line) on stdin.
  ProgramResult Cli(std::vector<std::string> args, const std::string& script = "") {
    args.insert(args.begin(), {"/usr/bin/redis-cli", "-h", "127.0.0.1", "-p", std::to_string(port_)});
    if (script.empty()) return RunProgram(args);
    const fs::path input = scratch_.path() / "cli-input";
    std::ofstream(input, std::ios::trunc) << script;
    std::string command;
    for (const std::string& arg : args) command += "'" + arg + "' ";
    return RunProgram({"/bin/sh", "-c", command + "< " + input.string()});
  }

  // The keys of rows [0, count) plus two that are not stored, with the
  // values gRPC Lookup answers for each, as resp_clients.py reads them.
  fs::path ExpectedFromGrpc(size_t count, const std::string& data_token = "") {
    ClientOptions options = ClientFor(server_->target());
    options.data_token = data_token;
    PredstoreClient client(options);
    Json expected;
    expected["rows"] = Json::array();
    std::vector<std::string> keys;
    for (size_t i = 0; i < count; ++i) keys.push_back(KeyOf(rows_[i]));
    keys.push_back("forecasts:999999:1:1");
    keys.push_back("forecasts:1:999999:2");
    for (const std::string& key : keys) {
      int64_t store = 0, item = 0, horizon = 0;
      std::sscanf(key.c_str(), "forecasts:%ld:%ld:%ld", &store, &item, &horizon);
      auto answer = client.Lookup(LookupOf("forecasts", store, item, horizon));
      EXPECT_TRUE(answer.ok()) << answer.status();
      if (!answer.ok()) continue;
      expected["value_columns"] = Json(std::vector<std::string>(answer->value_columns().begin(),
                                                                answer->value_columns().end()));
      Json values = nullptr;
      if (answer->found()) {
        values = Json::array();
        for (const v1::Value& value : answer->values()) values.push_back(value.double_value());
      }
      expected["rows"].push_back({{"key", key}, {"values", values}});
    }
    const fs::path file = scratch_.path() / "expected.json";
    std::ofstream(file, std::ios::trunc) << expected.dump();
    return file;
  }

  ProgramResult RedisPy(const fs::path& expected, const std::string& password = "") {
    std::vector<std::string> args = {PREDSTORE_PYTHON, std::string(PREDSTORE_SOURCE_DIR) + "/tests/e2e/resp_clients.py",
                                     std::to_string(port_), expected.string()};
    if (!password.empty()) args.push_back(password);
    return RunProgram(args);
  }

  test_support::ScratchDir scratch_;
  std::vector<Row> rows_;
  std::unique_ptr<ServerProcess> server_;
  int port_ = 0;
  int http_port_ = 0;
};

TEST_F(RespFrontEndTest, RedisPyAnswersEqualGrpcLookupKeyForKey) {
  Start();
  ProgramResult result = RedisPy(ExpectedFromGrpc(60));
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_THAT(result.out, HasSubstr("62 keys, 0 mismatches"));
}

TEST_F(RespFrontEndTest, RedisCliCommandsAndTheirErrors) {
  Start();
  const Row& row = rows_[0];
  PredstoreClient client(ClientFor(server_->target()));
  auto grpc = client.Lookup(LookupOf("forecasts", row.store, row.item, row.horizon));
  ASSERT_TRUE(grpc.ok());
  char forecast[64], p90[64];
  std::snprintf(forecast, sizeof forecast, "%.17g", grpc->values(0).double_value());
  std::snprintf(p90, sizeof p90, "%.17g", grpc->values(1).double_value());
  // redis-cli prints a bulk reply as is when its output is not a terminal.
  ProgramResult get = Cli({"GET", KeyOf(row)});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  const size_t comma = get.out.find(',');
  ASSERT_NE(comma, std::string::npos) << get.out;
  EXPECT_EQ(std::stod(get.out.substr(0, comma)), grpc->values(0).double_value()) << get.out << " vs " << forecast;
  EXPECT_EQ(std::stod(get.out.substr(comma + 1)), grpc->values(1).double_value()) << get.out << " vs " << p90;

  const std::string script = "PING\nPING hello\nECHO hi\nSELECT 0\nSELECT 1\nDBSIZE\nEXISTS " + KeyOf(row) +
                             " forecasts:999999:1:1\nGET forecasts:999999:1:1\nSET a b\nDEL " + KeyOf(row) +
                             "\nFLUSHALL\nNOSUCH x y\nGET forecasts:1:2\nGET forecasts:x:1:1\nGET nosuch:1:1:1\n"
                             "GET nocolon\nGET\nCLIENT SETNAME tester\nCLIENT GETNAME\nCOMMAND COUNT\n"
                             "AUTH secret\nHELLO 4\nQUIT\nPING\n";
  ProgramResult many = Cli({}, script);
  EXPECT_EQ(many.exit_code, 0) << many.err;
  // redis-cli, not on a terminal, prints an error reply's text and a blank line.
  const std::string read_only = " is not served; predictions are published with predstore-load (or streamed with "
                                "Admin.Ingest)\n\n";
  EXPECT_EQ(many.out,
            "PONG\nhello\nhi\nOK\nERR DB index is out of range\n\n300\n1\n\n"
            "ERR predstore is read-only: SET" + read_only +
            "ERR predstore is read-only: DEL" + read_only +
            "ERR predstore is read-only: FLUSHALL" + read_only +
            "ERR unknown command 'NOSUCH', with args beginning with: 'x' 'y' \n\n"
            "ERR key 'forecasts:1:2': table forecasts has 3 key columns: write "
            "forecasts:<store_id>:<item_id>:<horizon_days>\n\n"
            "ERR key 'forecasts:x:1:1': column store_id (int64): not a valid int64: \"x\"\n\n"
            "ERR table \"nosuch\" is not served (see ListTables)\n\n"
            "ERR key 'nocolon': write <table>:<key column 1>:<key column 2>:... (TABLES: INFO keyspace)\n\n"
            "ERR wrong number of arguments for 'get' command\n\n"
            "OK\ntester\n17\n"
            "ERR AUTH <password> called without any password configured for the default user. Are you sure "
            "your configuration is correct?\n\n"
            "NOPROTO unsupported protocol version\n\n");

  // Each command was counted by name and code.
  const std::string scrape = ScrapeMetrics(http_port_);
  EXPECT_EQ(SampleOf(scrape, R"(predstore_requests_total{front_end="resp",method="get",code="OK"})"), 2);
  EXPECT_EQ(SampleOf(scrape, R"(predstore_requests_total{front_end="resp",method="get",code="ERR"})"), 5);
  EXPECT_EQ(SampleOf(scrape, R"(predstore_requests_total{front_end="resp",method="other",code="ERR"})"), 4);
  EXPECT_EQ(SampleOf(scrape, R"(predstore_requests_total{front_end="resp",method="hello",code="NOPROTO"})"), 1);
  EXPECT_EQ(SampleOf(scrape, R"(predstore_request_duration_seconds_count{front_end="resp",method="ping"})"), 2);

  // RESP3 (HELLO 3): HGETALL is a map; a miss is RESP3's null.
  ProgramResult resp3 = Cli({"-3", "HGETALL", KeyOf(row)});
  EXPECT_THAT(resp3.out, HasSubstr("forecast"));
  EXPECT_THAT(resp3.out, HasSubstr("p90"));
  ProgramResult info = Cli({"INFO", "keyspace"});
  EXPECT_THAT(info.out, HasSubstr("db0:keys=300,expires=0,avg_ttl=0"));
  EXPECT_THAT(info.out, HasSubstr("table_forecasts:keys=300,version=1,key=forecasts:<store_id>:<item_id>:<horizon_days>"));
}

TEST_F(RespFrontEndTest, PipelinesOfTenThousandCommandsAllAnswerInOrder) {
  Start();
  std::string commands;
  for (int i = 0; i < 10000; ++i) {
    const std::string key = KeyOf(rows_[static_cast<size_t>(i) % rows_.size()]);
    commands += "*2\r\n$3\r\nGET\r\n$" + std::to_string(key.size()) + "\r\n" + key + "\r\n";
  }
  const fs::path input = scratch_.path() / "pipe";
  std::ofstream(input, std::ios::binary) << commands;
  ProgramResult piped = RunProgram({"/bin/sh", "-c", "/usr/bin/redis-cli -h 127.0.0.1 -p " + std::to_string(port_) +
                                                          " --pipe < " + input.string()});
  EXPECT_EQ(piped.exit_code, 0) << piped.out << piped.err;
  EXPECT_THAT(piped.out, HasSubstr("errors: 0, replies: 10000"));
}

// SCAN walks every key in key order, with redis-cli's own cursor loop, and
// MATCH on leading key parts is a range scan; each key found GETs a value.
TEST_F(RespFrontEndTest, ScanWalksEveryKeyAndMatchIsARangeScan) {
  Start();
  std::set<std::string> stored;
  for (const Row& row : rows_) stored.insert(KeyOf(row));
  ProgramResult all = Cli({"--scan"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  std::set<std::string> scanned;
  std::istringstream lines(all.out);
  size_t returned = 0;
  for (std::string line; std::getline(lines, line); ++returned) scanned.insert(line);
  EXPECT_EQ(returned, stored.size());  // each key once
  EXPECT_EQ(scanned, stored);
  // redis-py's cursor loop, 7 keys a call.
  ProgramResult python = RunProgram(
      {PREDSTORE_PYTHON, "-c",
       "import redis,sys\nr = redis.Redis(port=int(sys.argv[1]))\nkeys = list(r.scan_iter(count=7))\n"
       "print(len(keys), len(set(keys)))",
       std::to_string(port_)});
  EXPECT_EQ(python.out, "300 300\n") << python.err;

  const int64_t store = rows_[0].store;
  std::set<std::string> of_store;
  for (const Row& row : rows_) {
    if (row.store == store) of_store.insert(KeyOf(row));
  }
  ProgramResult matched = Cli({"--scan", "--pattern", "forecasts:" + std::to_string(store) + ":*"});
  std::set<std::string> matched_keys;
  std::istringstream matched_lines(matched.out);
  for (std::string line; std::getline(matched_lines, line);) matched_keys.insert(line);
  EXPECT_EQ(matched_keys, of_store);
  ASSERT_FALSE(matched_keys.empty());
  ProgramResult got = Cli({"GET", *matched_keys.begin()});
  EXPECT_THAT(got.out, HasSubstr(","));

  EXPECT_EQ(Cli({"SCAN", "0", "MATCH", "fore*"}).out,
            "ERR MATCH 'fore*': write <table>:<leading key parts>:* (exact parts, then one '*'), or *\n\n");
  EXPECT_EQ(Cli({"SCAN", "987654321"}).out, "ERR invalid cursor\n\n");
  EXPECT_EQ(Cli({"SCAN", "0", "TYPE", "list"}).out, "0\n\n");  // cursor 0, no keys
}

TEST_F(RespFrontEndTest, WithADataTokenEveryCommandNeedsAuth) {
  const fs::path token = scratch_.path() / "token";
  std::ofstream(token) << "s3cret\n";
  fs::permissions(token, fs::perms::owner_read | fs::perms::owner_write);
  Start({"--data_token_file=" + token.string()});
  const std::string key = KeyOf(rows_[0]);
  EXPECT_EQ(Cli({"GET", key}).out, "NOAUTH Authentication required.\n\n");
  ProgramResult wrong = Cli({"--no-auth-warning", "-a", "wrong", "GET", key});
  EXPECT_THAT(wrong.err, HasSubstr("WRONGPASS invalid username-password pair or user is disabled."));
  EXPECT_EQ(wrong.out, "NOAUTH Authentication required.\n\n");
  ProgramResult authed = Cli({"--no-auth-warning", "-a", "s3cret", "GET", key});
  EXPECT_THAT(authed.out, HasSubstr(","));
  ProgramResult users = Cli({}, "AUTH default s3cret\nAUTH someone s3cret\n");
  EXPECT_EQ(users.out, "OK\nWRONGPASS invalid username-password pair or user is disabled.\n\n");
  ProgramResult python = RedisPy(ExpectedFromGrpc(5, "s3cret"), "s3cret");
  EXPECT_EQ(python.exit_code, 0) << python.out << python.err;
}

TEST_F(RespFrontEndTest, JsonValuesAndPerTablePrefixAndFallbackSettings) {
  Start({"--resp_value_format=json", "--resp_tables=table=forecasts,prefix=fc,fallback=off"});
  const Row& row = rows_[0];
  PredstoreClient client(ClientFor(server_->target()));
  auto grpc = client.Lookup(LookupOf("forecasts", row.store, row.item, row.horizon));
  ASSERT_TRUE(grpc.ok());
  const std::string fc_key =
      "fc:" + std::to_string(row.store) + ":" + std::to_string(row.item) + ":" + std::to_string(row.horizon);
  ProgramResult json = Cli({"GET", fc_key});
  const Json parsed = Json::parse(json.out);
  EXPECT_EQ(parsed["forecast"].get<double>(), grpc->values(0).double_value());
  EXPECT_EQ(parsed["p90"].get<double>(), grpc->values(1).double_value());
  EXPECT_THAT(Cli({"GET", KeyOf(row)}).out, HasSubstr("table forecasts is addressed as fc:..."));
}

TEST_F(RespFrontEndTest, ProtocolErrorsCloseTheConnectionAndClientsThatNeverReadStayBounded) {
  Start();
  // A bad length: one error reply, then the server closes.
  const std::string probe = std::string(PREDSTORE_PYTHON) +
                            " -c 'import socket,sys\n"
                            "s = socket.create_connection((\"127.0.0.1\", int(sys.argv[1])))\n"
                            "s.sendall(b\"*1\\r\\n$x\\r\\nPING\\r\\n\")\n"
                            "data = b\"\"\n"
                            "while True:\n"
                            "  chunk = s.recv(4096)\n"
                            "  if not chunk: break\n"
                            "  data += chunk\n"
                            "print(data.decode().strip())' " +
                            std::to_string(port_);
  ProgramResult closed = RunProgram({"/bin/sh", "-c", probe});
  EXPECT_EQ(closed.out, "-ERR Protocol error: invalid length\n");

  // A client that sends up to 2M MGETs of 10 keys and never reads: the
  // server stops reading it once 4 MiB of replies are unsent, instead of
  // growing (unbounded, it would queue ~400 MB of replies).
  const double rss_before = SampleOf(ScrapeMetrics(http_port_), "predstore_process_resident_memory_bytes");
  const std::string key = KeyOf(rows_[0]);
  const std::string flood = std::string(PREDSTORE_PYTHON) +
                            " -c 'import socket,sys,time\n"
                            "s = socket.create_connection((\"127.0.0.1\", int(sys.argv[1])))\n"
                            "s.settimeout(3)\n"
                            "key = b\"$" + std::to_string(key.size()) + "\\r\\n" + key +
                            "\\r\\n\"\n"
                            "one = b\"*11\\r\\n$4\\r\\nMGET\\r\\n\" + key * 10\n"
                            "sent = 0\n"
                            "try:\n"
                            "  for i in range(20000): s.sendall(one * 100); sent += 100\n"
                            "except socket.timeout: pass\n"
                            "print(sent)\n"
                            "time.sleep(1)' " +
                            std::to_string(port_);
  ChildProcess flooder({"/bin/sh", "-c", flood}, scratch_.path() / "flood.err");
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const double rss_grown = SampleOf(ScrapeMetrics(http_port_), "predstore_process_resident_memory_bytes") - rss_before;
  EXPECT_LT(rss_grown, 64 << 20);
  EXPECT_EQ(flooder.Wait(), 0);
  ASSERT_EQ(flooder.lines().size(), 1u);
  EXPECT_LT(std::atoi(flooder.lines()[0].c_str()), 2000000) << "the server read everything";
  EXPECT_EQ(Cli({"PING"}).out, "PONG\n");
}

}  // namespace
}  // namespace predstore::testing
