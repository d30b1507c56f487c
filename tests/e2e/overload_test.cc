// Overload and connection management of the real server. Offered more
// batch lookups than it runs at once, on gRPC (the client library), HTTP
// (Python's urllib) and the Redis protocol (redis-py) together, it refuses
// the surplus at once, in each protocol's own way, answers everything it
// accepts correctly, counts every refusal in /metrics, and serves normally
// once the load is gone. Its gRPC connection settings act on real clients.
#include <atomic>
#include <future>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "client/predstore_client.h"
#include "grpcpp/grpcpp.h"
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

constexpr size_t kKeysPerCall = 300;
constexpr int kThreads = 8;  // per front end
constexpr int kCalls = 25;   // per thread

struct GrpcTally {
  int ok = 0, refused = 0;
  std::vector<std::string> unexpected;
  std::string refusal;
};

// One thread's gRPC batch lookups; each OK answer is checked against the
// sample.
GrpcTally CallGrpc(const std::string& target, const std::vector<Row>& rows) {
  PredstoreClient client(ClientFor(target));
  const v1::BatchLookupRequest request = BatchOf("forecasts", rows, 0, kKeysPerCall);
  GrpcTally tally;
  for (int i = 0; i < kCalls; ++i) {
    absl::StatusOr<v1::BatchLookupResponse> answer = client.BatchLookup(request);
    if (answer.ok()) {
      bool right = answer->results_size() == static_cast<int>(kKeysPerCall);
      for (size_t k = 0; right && k < kKeysPerCall; ++k) {
        right = answer->results(k).found() && answer->results(k).values(0).double_value() == rows[k].forecast;
      }
      if (right) {
        ++tally.ok;
      } else {
        tally.unexpected.push_back("wrong answer");
      }
    } else if (answer.status().code() == absl::StatusCode::kResourceExhausted) {
      ++tally.refused;
      tally.refusal = std::string(answer.status().message());
    } else {
      tally.unexpected.push_back(answer.status().ToString());
    }
  }
  return tally;
}

TEST(AdmissionTest, PastCapacityEveryFrontEndRefusesAtOnceAndAnswersWhatItAccepts) {
  test_support::ScratchDir scratch;
  const fs::path data = scratch.path() / "data";
  const std::vector<Row> rows = LoadSampleForecasts(scratch.path() / "s.csv", data, 20000);
  ASSERT_EQ(rows.size(), 20000u);
  const fs::path http_port_file = scratch.path() / "http-port", resp_port_file = scratch.path() / "resp-port";
  // One call at a time, and no waiting: every call that arrives while
  // another waits is refused. RocksDB reads (no memory index) make each
  // batch take long enough for calls to meet.
  ServerProcess server(data, {"--lookup_workers=1", "--max_queue_wait_ms=0", "--memory_index_mb=0",
                              "--http_listen=127.0.0.1:0", "--http_port_file=" + http_port_file.string(),
                              "--resp_listen=127.0.0.1:0", "--resp_port_file=" + resp_port_file.string()});
  ASSERT_TRUE(server.started());
  int http_port = 0, resp_port = 0;
  std::ifstream(http_port_file) >> http_port;
  std::ifstream(resp_port_file) >> resp_port;
  Json keys = {{"keys", Json::array()}};
  for (size_t k = 0; k < kKeysPerCall; ++k) keys["keys"].push_back({rows[k].store, rows[k].item, rows[k].horizon});
  std::ofstream(scratch.path() / "keys.json") << keys.dump();

  std::future<ProgramResult> python = std::async(std::launch::async, [&] {
    return RunProgram({PREDSTORE_PYTHON, std::string(PREDSTORE_SOURCE_DIR) + "/tests/e2e/overload_clients.py",
                       std::to_string(http_port), std::to_string(resp_port), (scratch.path() / "keys.json").string(),
                       std::to_string(kThreads), std::to_string(kCalls)});
  });
  std::vector<std::future<GrpcTally>> grpc;
  for (int t = 0; t < kThreads; ++t) {
    grpc.push_back(std::async(std::launch::async, [&] { return CallGrpc(server.target(), rows); }));
  }
  GrpcTally total;
  for (auto& tally : grpc) {
    GrpcTally one = tally.get();
    total.ok += one.ok;
    total.refused += one.refused;
    total.unexpected.insert(total.unexpected.end(), one.unexpected.begin(), one.unexpected.end());
    if (!one.refusal.empty()) total.refusal = one.refusal;
  }
  const ProgramResult clients = python.get();
  ASSERT_EQ(clients.exit_code, 0) << clients.err;
  const Json report = Json::parse(clients.out);

  // gRPC: RESOURCE_EXHAUSTED, naming the flag.
  EXPECT_THAT(total.unexpected, ::testing::IsEmpty());
  EXPECT_GT(total.ok, 0);
  EXPECT_GT(total.refused, 0);
  EXPECT_THAT(total.refusal, HasSubstr("the server is at capacity"));
  EXPECT_THAT(total.refusal, HasSubstr("--max_queue_wait_ms"));
  // HTTP: 429 with Retry-After and the JSON error.
  const Json& http = report["http"];
  EXPECT_THAT(http["wrong"], ::testing::IsEmpty()) << http.dump();
  EXPECT_GT(http["ok"].get<int>(), 0);
  ASSERT_GT(http["refused"].get<int>(), 0) << http.dump();
  EXPECT_EQ(http["refusal"]["status"], 429);
  EXPECT_EQ(http["refusal"]["retry_after"], "1");
  EXPECT_THAT(http["refusal"]["body"]["error"]["message"].get<std::string>(), HasSubstr("at capacity"));
  // Redis protocol: a TRYAGAIN error, as Redis clients retry on.
  const Json& resp = report["resp"];
  EXPECT_THAT(resp["wrong"], ::testing::IsEmpty()) << resp.dump();
  EXPECT_GT(resp["ok"].get<int>(), 0);
  ASSERT_GT(resp["refused"].get<int>(), 0) << resp.dump();
  EXPECT_THAT(resp["refusal"].get<std::string>(), HasSubstr("TRYAGAIN the server is at capacity"));
  // Every call was answered one way or the other, and every refusal counted.
  EXPECT_EQ(total.ok + total.refused, kThreads * kCalls);
  EXPECT_EQ(http["ok"].get<int>() + http["refused"].get<int>(), kThreads * kCalls);
  EXPECT_EQ(resp["ok"].get<int>() + resp["refused"].get<int>(), kThreads * kCalls);
  const int refused = total.refused + http["refused"].get<int>() + resp["refused"].get<int>();
  EXPECT_EQ(SampleOf(ScrapeMetrics(http_port), "predstore_admission_refused_total{reason=\"capacity\"}"), refused);

  // The load is gone: calls are served at once again.
  PredstoreClient client(ClientFor(server.target()));
  for (int i = 0; i < 20; ++i) {
    absl::StatusOr<v1::BatchLookupResponse> answer = client.BatchLookup(BatchOf("forecasts", rows, 0, kKeysPerCall));
    ASSERT_TRUE(answer.ok()) << answer.status();
  }
}

// The client library's adaptive concurrency limit, shared by more threads
// than the server runs calls at once: past the limit, calls are refused in
// the client, at once, naming the limit; what is sent is answered right;
// once the load is gone, every call goes through again.
TEST(AdmissionTest, TheClientsAdaptiveLimitRefusesLocallyAndRecovers) {
  test_support::ScratchDir scratch;
  const fs::path data = scratch.path() / "data";
  const std::vector<Row> rows = LoadSampleForecasts(scratch.path() / "s.csv", data, 20000);
  ASSERT_EQ(rows.size(), 20000u);
  ServerProcess server(data, {"--lookup_workers=1", "--max_queue_wait_ms=0", "--memory_index_mb=0"});
  ASSERT_TRUE(server.started());
  ClientOptions options = ClientFor(server.target());
  options.adaptive_concurrency = AdaptiveConcurrencyLimit::Options();
  PredstoreClient client(options);
  const v1::BatchLookupRequest request = BatchOf("forecasts", rows, 0, kKeysPerCall);
  auto right = [&](const v1::BatchLookupResponse& answer) {
    bool all = answer.results_size() == static_cast<int>(kKeysPerCall);
    for (size_t k = 0; all && k < kKeysPerCall; ++k) {
      all = answer.results(k).found() && answer.results(k).values(0).double_value() == rows[k].forecast;
    }
    return all;
  };
  std::atomic<int> ok{0}, by_client{0}, by_server{0};
  std::vector<std::string> unexpected;
  std::mutex mu;
  std::vector<std::thread> threads;
  for (int t = 0; t < 2 * kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kCalls; ++i) {
        absl::StatusOr<v1::BatchLookupResponse> answer = client.BatchLookup(request);
        if (answer.ok() && right(*answer)) {
          ++ok;
        } else if (!answer.ok() && absl::StrContains(answer.status().message(), "adaptive concurrency limit")) {
          ++by_client;
        } else if (!answer.ok() && absl::StrContains(answer.status().message(), "the server is at capacity")) {
          ++by_server;
        } else {
          std::lock_guard lock(mu);
          unexpected.push_back(answer.ok() ? "wrong answer" : answer.status().ToString());
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_THAT(unexpected, ::testing::IsEmpty());
  EXPECT_GT(ok.load(), 0);
  EXPECT_GT(by_client.load(), 0) << "16 threads on one client start past its initial limit of 8";
  EXPECT_EQ(ok + by_client + by_server, 2 * kThreads * kCalls);

  // One caller at a time: the limit lets every call through again.
  for (int i = 0; i < 20; ++i) {
    absl::StatusOr<v1::BatchLookupResponse> answer = client.BatchLookup(request);
    ASSERT_TRUE(answer.ok()) << "call " << i << ": " << answer.status();
  }
}

// --max_connection_age_s closes a connection at that age (so that clients
// re-resolve and spread over replicas); the client reconnects by itself.
TEST(ConnectionSettingsTest, MaxConnectionAgeAndIdleCloseConnectionsAndClientsReconnect) {
  test_support::ScratchDir scratch;
  const fs::path data = scratch.path() / "data";
  ASSERT_EQ(LoadSampleForecasts(scratch.path() / "s.csv", data, 100).size(), 100u);
  // Whether the client's connection, ready after a call, changed state
  // within 3 s; then whether the next call works.
  auto connection_changes = [&](const std::vector<std::string>& flags) {
    ServerProcess server(data, flags);
    EXPECT_TRUE(server.started());
    std::shared_ptr<grpc::Channel> channel = grpc::CreateChannel(server.target(), grpc::InsecureChannelCredentials());
    auto stub = v1::Predictions::NewStub(channel);
    grpc::ClientContext context;
    v1::ListTablesResponse tables;
    EXPECT_TRUE(stub->ListTables(&context, v1::ListTablesRequest(), &tables).ok());
    EXPECT_EQ(channel->GetState(false), GRPC_CHANNEL_READY);
    const bool changed =
        channel->WaitForStateChange(GRPC_CHANNEL_READY, std::chrono::system_clock::now() + std::chrono::seconds(3));
    grpc::ClientContext again;
    EXPECT_TRUE(stub->ListTables(&again, v1::ListTablesRequest(), &tables).ok()) << "the client reconnects";
    return changed;
  };
  EXPECT_FALSE(connection_changes({}));
  EXPECT_TRUE(connection_changes({"--max_connection_age_s=1"}));
  EXPECT_TRUE(connection_changes({"--max_connection_idle_s=1"})) << "an idle connection is closed";
}

// --max_streams_per_connection (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS):
// past it, a connection's next stream waits in the client until one ends,
// costing the server nothing meanwhile.
TEST(ConnectionSettingsTest, StreamsPastTheConnectionLimitWaitInTheClient) {
  test_support::ScratchDir scratch;
  const fs::path data = scratch.path() / "data";
  const std::vector<Row> rows = LoadSampleForecasts(scratch.path() / "s.csv", data, 100);
  ASSERT_EQ(rows.size(), 100u);
  using Stream = grpc::ClientReaderWriter<v1::StreamLookupRequest, v1::StreamLookupResponse>;
  struct OpenStream {
    grpc::ClientContext context;
    std::unique_ptr<Stream> stream;
  };
  // Whether a lookup on `open` is answered before its deadline.
  auto answered = [&](OpenStream& open) {
    v1::StreamLookupRequest request;
    request.set_id(1);
    *request.mutable_lookup() = LookupOf("forecasts", rows[0].store, rows[0].item, rows[0].horizon);
    v1::StreamLookupResponse response;
    return open.stream->Write(request) && open.stream->Read(&response) && response.result().found();
  };
  // Opens two streams on one connection, then a third with a 1 s deadline:
  // whether the third is answered.
  auto third_answered = [&](const std::vector<std::string>& flags) {
    ServerProcess server(data, flags);
    EXPECT_TRUE(server.started());
    auto stub = v1::Predictions::NewStub(grpc::CreateChannel(server.target(), grpc::InsecureChannelCredentials()));
    OpenStream first, second, third;
    for (OpenStream* open : {&first, &second}) {
      open->stream = stub->LookupStream(&open->context);
      EXPECT_TRUE(answered(*open));
    }
    third.context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
    third.stream = stub->LookupStream(&third.context);
    const bool third_ok = answered(third);
    if (!third_ok) {
      third.stream->WritesDone();
      EXPECT_EQ(third.stream->Finish().error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
      // Once a stream ends, a new one starts.
      first.stream->WritesDone();
      EXPECT_TRUE(first.stream->Finish().ok());
      OpenStream fourth;
      fourth.context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
      fourth.stream = stub->LookupStream(&fourth.context);
      EXPECT_TRUE(answered(fourth)) << "a stream starts once another ended";
      fourth.stream->WritesDone();
      EXPECT_TRUE(fourth.stream->Finish().ok());
    } else {
      third.stream->WritesDone();
      EXPECT_TRUE(third.stream->Finish().ok());
      first.stream->WritesDone();
      EXPECT_TRUE(first.stream->Finish().ok());
    }
    second.stream->WritesDone();
    EXPECT_TRUE(second.stream->Finish().ok());
    return third_ok;
  };
  EXPECT_TRUE(third_answered({}));
  EXPECT_FALSE(third_answered({"--max_streams_per_connection=2"}));
}

// The keepalive flags against a raw HTTP/2 peer (tests/e2e/http2_silent_peer.py)
// that never answers the server's pings, or pings the server too often.
TEST(ConnectionSettingsTest, KeepaliveDropsPeersThatNeverAnswerAndPingFloodsAreRefused) {
  test_support::ScratchDir scratch;
  const fs::path data = scratch.path() / "data";
  ASSERT_EQ(LoadSampleForecasts(scratch.path() / "s.csv", data, 100).size(), 100u);
  auto probe = [&](const std::vector<std::string>& flags, int send_pings) {
    ServerProcess server(data, flags);
    EXPECT_TRUE(server.started());
    return RunProgram({PREDSTORE_PYTHON, std::string(PREDSTORE_SOURCE_DIR) + "/tests/e2e/http2_silent_peer.py",
                       std::to_string(server.port()), "3", std::to_string(send_pings)})
        .out;
  };
  // Defaults: no ping within 3 s (keepalive every 60 s).
  EXPECT_THAT(probe({}, 0), HasSubstr("open after 3.0 s, 0 pings"));
  // A ping after 1 s, unanswered for 1 s: the connection is dropped.
  EXPECT_THAT(probe({"--keepalive_time_s=1", "--keepalive_timeout_s=1"}, 0),
              ::testing::ContainsRegex("closed after [12]\\.[0-9] s, [1-9] pings"));
  // A client pinging every 100 ms gets GOAWAY (--client_ping_interval_s 10
  // by default), unless the interval is 0.
  EXPECT_THAT(probe({}, 5), HasSubstr("1 goaways"));
  EXPECT_THAT(probe({"--client_ping_interval_s=0"}, 5), HasSubstr("open after 3.0 s, 0 pings, 0 goaways"));
}

}  // namespace
}  // namespace predstore::testing
