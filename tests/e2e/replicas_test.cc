// Replicas on loopback: three predstore-server processes serving one data
// directory, read through one gRPC target naming all three
// (ipv4:a,b,c), as the client library balances and retries them.
// - Failover: one replica is killed (SIGKILL) under a bounded read load and
//   restarted on its port: with retries no read fails and the restarted
//   replica takes calls again; without retries the failed reads are
//   counted, and each is the UNAVAILABLE of a call the dead replica held.
// - The shared-volume contract: a replica serves a read-only mount of the
//   data directory, and picks up what a loader publishes through a
//   writable one.
// - Monotonic reads: versions are published while clients read; replicas
//   see each publish at different moments (each polls on its own), yet no
//   client ever reads an older version after a newer one, and every answer
//   holds its version's data.
#include <sys/mount.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "client/predstore_client.h"
#include "grpcpp/grpcpp.h"
#include "proto/wire_values.h"
#include "gtest/gtest.h"
#include "tests/e2e/forecast_requests.h"
#include "tests/e2e/metrics_scrape.h"
#include "tests/e2e/subprocess.h"
#include "tests/support/scratch_dir.h"

namespace predstore::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr int kUsers = 200;
constexpr int kReplicas = 3;

// What a load run saw.
struct ReadTally {
  std::atomic<uint64_t> calls{0};
  std::atomic<uint64_t> failed{0};
  std::atomic<uint64_t> failed_not_unavailable{0};
  std::atomic<uint64_t> wrong_data{0};       // a score that is not its version's
  std::atomic<uint64_t> older_than_seen{0};  // a version below one this client had read
  std::atomic<uint64_t> newest{0};
  std::mutex mu;
  std::string first_failure;
};

class ReplicasTest : public ::testing::Test {
 protected:
  fs::path data() const { return scratch_.path() / "data"; }
  fs::path File(const std::string& name) const { return scratch_.path() / name; }

  // Publishes the next version of table t: every user's score is `tag`, so
  // that an answer shows which version it came from.
  void Publish(int tag) {
    const fs::path csv = File("v" + std::to_string(tag) + ".csv");
    {
      std::ofstream out(csv);
      out << "user,score\n";
      for (int user = 0; user < kUsers; ++user) out << user << "," << tag << "\n";
    }
    ProgramResult load = RunProgram({LoaderBinary(), "load", "--data_dir=" + data().string(), "--table=t",
                                     "--keys=user:int64", "--values=score:double", csv.string()});
    ASSERT_EQ(load.exit_code, 0) << load.err;
  }

  // Starts replica i (on `port`, 0: a free one), with its HTTP port for
  // /metrics.
  void StartReplica(int i, int port = 0) {
    const fs::path http_port = File("http_port" + std::to_string(i));
    fs::remove(http_port);
    replicas_[i] = std::make_unique<ServerProcess>(
        data(), std::vector<std::string>{"--refresh_interval_ms=" + std::to_string(refresh_ms_[i]),
                                         "--http_listen=127.0.0.1:0", "--http_port_file=" + http_port.string()},
        port);
    ASSERT_TRUE(replicas_[i]->started());
    ASSERT_TRUE(WaitForFile(http_port, 10s));
    std::ifstream in(http_port);
    in >> http_ports_[i];
  }

  std::string ClusterTarget() const {
    std::string target = "ipv4:";
    for (int i = 0; i < kReplicas; ++i) {
      if (i > 0) target.push_back(',');
      target.append(replicas_[i]->target());
    }
    return target;
  }

  // Data-plane calls replica i answered OK, from its /metrics.
  uint64_t CallsAnswered(int i, const std::string& code = "OK") const {
    const std::string scrape = ScrapeMetrics(http_ports_[i]);
    uint64_t total = 0;
    for (const char* method : {"Lookup", "BatchLookup"}) {
      const double value =
          SampleOf(scrape, "predstore_requests_total{front_end=\"grpc\",method=\"predstore.v1.Predictions/" +
                               std::string(method) + "\",code=\"" + code + "\"}");
      if (value > 0) total += static_cast<uint64_t>(value);
    }
    return total;
  }

  // One reader: until `stop`, alternately a Lookup of one user and a
  // BatchLookup of 8, each answer checked against its version.
  static void Read(const PredstoreClient& client, unsigned seed, const std::atomic<bool>& stop, ReadTally* tally) {
    std::mt19937 random(seed);
    uint64_t seen = 0;
    auto check = [&](uint64_t version, double score) {
      if (score != static_cast<double>(version)) tally->wrong_data++;
      if (version < seen) tally->older_than_seen++;
      seen = std::max(seen, version);
      uint64_t newest = tally->newest.load();
      while (version > newest && !tally->newest.compare_exchange_weak(newest, version)) {
      }
    };
    auto failed = [&](const absl::Status& status) {
      tally->failed++;
      if (status.code() != absl::StatusCode::kUnavailable) tally->failed_not_unavailable++;
      std::lock_guard<std::mutex> lock(tally->mu);
      if (tally->first_failure.empty()) tally->first_failure = status.ToString();
    };
    for (uint64_t n = 0; !stop.load(std::memory_order_relaxed); ++n) {
      tally->calls++;
      if (n % 2 == 0) {
        v1::LookupRequest request;
        request.set_table("t");
        v1::KeyField* key = request.add_key();
        key->set_column("user");
        key->mutable_value()->set_int64_value(static_cast<int64_t>(random() % kUsers));
        absl::StatusOr<v1::LookupResponse> answer = client.Lookup(request);
        if (!answer.ok()) {
          failed(answer.status());
        } else if (!answer->found()) {
          tally->wrong_data++;
        } else {
          check(answer->snapshot_version(), answer->values(0).double_value());
        }
        continue;
      }
      v1::BatchLookupRequest request;
      request.set_table("t");
      request.add_key_columns("user");
      for (int k = 0; k < 8; ++k) {
        request.add_keys()->add_values()->set_int64_value(static_cast<int64_t>(random() % kUsers));
      }
      absl::StatusOr<v1::BatchLookupResponse> answer = client.BatchLookup(request);
      if (!answer.ok()) {
        failed(answer.status());
        continue;
      }
      for (const v1::LookupResult& result : answer->results()) {
        if (!result.found()) {
          tally->wrong_data++;
        } else {
          check(answer->snapshot_version(), result.values(0).double_value());
        }
      }
    }
  }

  // Runs `readers` readers, each with its own client (a client's channel
  // is what monotonic reads are promised to), while `during` runs.
  void ReadWhile(int readers, ClientOptions options, ReadTally* tally, const std::function<void()>& during) {
    std::atomic<bool> stop{false};
    std::vector<std::unique_ptr<PredstoreClient>> clients;
    std::vector<std::thread> threads;
    for (int r = 0; r < readers; ++r) {
      clients.push_back(std::make_unique<PredstoreClient>(options));
      ASSERT_TRUE(clients.back()->WaitUntilServing(10s).ok());
    }
    for (int r = 0; r < readers; ++r) {
      threads.emplace_back([&, r] { Read(*clients[r], 1000u + static_cast<unsigned>(r), stop, tally); });
    }
    during();
    stop = true;
    for (std::thread& thread : threads) thread.join();
  }

  ClientOptions Options(bool retries, bool monotonic) const {
    ClientOptions options = ClientFor(ClusterTarget());
    options.timeout = 5s;
    options.retry_reads = retries;
    options.monotonic_reads = monotonic;
    return options;
  }

  // Kills replica 1 under load, restarts it on its port, and waits until
  // it answers calls again; returns what the readers saw.
  void KillAndRestartUnderLoad(bool retries, ReadTally* tally) {
    const int port = replicas_[1]->port();
    ReadWhile(4, Options(retries, true), tally, [&] {
      std::this_thread::sleep_for(500ms);
      const uint64_t before_kill = CallsAnswered(1);
      EXPECT_GT(before_kill, 0u) << "replica 1 took no calls before it was killed";
      replicas_[1]->Kill();
      std::this_thread::sleep_for(500ms);
      StartReplica(1, port);
      // The client reconnects within its reconnect backoff
      // (ClientOptions::max_reconnect_backoff).
      const auto deadline = std::chrono::steady_clock::now() + 15s;
      while (CallsAnswered(1) == 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(50ms);
      EXPECT_GT(CallsAnswered(1), 0u) << "the restarted replica never took a call";
      std::this_thread::sleep_for(300ms);
    });
  }

  test_support::ScratchDir scratch_;
  std::unique_ptr<ServerProcess> replicas_[kReplicas];
  int http_ports_[kReplicas] = {};
  // Each replica polls for publishes on its own clock, as replicas do.
  int refresh_ms_[kReplicas] = {150, 230, 310};
};

TEST_F(ReplicasTest, AReplicaKilledUnderLoadCostsNoReadWithRetriesAndRejoinsWhenRestarted) {
  Publish(1);
  for (int i = 0; i < kReplicas; ++i) StartReplica(i);

  ReadTally with_retries;
  KillAndRestartUnderLoad(true, &with_retries);
  ReadTally without_retries;
  KillAndRestartUnderLoad(false, &without_retries);

  std::printf("[ replicas ] failover with retries: %llu reads, %llu failed; without retries: %llu reads, %llu "
              "failed (%s)\n",
              static_cast<unsigned long long>(with_retries.calls.load()),
              static_cast<unsigned long long>(with_retries.failed.load()),
              static_cast<unsigned long long>(without_retries.calls.load()),
              static_cast<unsigned long long>(without_retries.failed.load()),
              without_retries.first_failure.c_str());
  EXPECT_GT(with_retries.calls.load(), 1000u);
  EXPECT_EQ(with_retries.failed.load(), 0u) << with_retries.first_failure;
  EXPECT_EQ(with_retries.wrong_data.load(), 0u);
  // Without retries, only the calls in flight on the killed replica fail,
  // and they fail as a lost connection does.
  EXPECT_EQ(without_retries.failed_not_unavailable.load(), 0u) << without_retries.first_failure;
  EXPECT_LT(without_retries.failed.load(), 100u);
  EXPECT_EQ(without_retries.wrong_data.load(), 0u);
}

TEST_F(ReplicasTest, ClientsNeverReadAnOlderVersionWhileReplicasPickUpPublishesAtDifferentMoments) {
  Publish(1);
  for (int i = 0; i < kReplicas; ++i) StartReplica(i);
  constexpr int kLastVersion = 7;

  auto publish_all = [&](int from, int to) {
    for (int tag = from; tag <= to; ++tag) {
      Publish(tag);
      std::this_thread::sleep_for(250ms);
    }
    std::this_thread::sleep_for(400ms);  // every replica has polled since
  };
  // First without a floor: what replicas that lag one another show a
  // client that hops between them.
  ReadTally unguarded;
  ReadWhile(4, Options(true, false), &unguarded, [&] { publish_all(2, 4); });
  uint64_t refused_before = 0;
  for (int i = 0; i < kReplicas; ++i) refused_before += CallsAnswered(i, "UNAVAILABLE");

  ReadTally monotonic;
  ReadWhile(4, Options(true, true), &monotonic, [&] { publish_all(5, kLastVersion); });
  uint64_t refused = 0;
  for (int i = 0; i < kReplicas; ++i) refused += CallsAnswered(i, "UNAVAILABLE");
  refused -= refused_before;

  std::printf("[ replicas ] without min_version: %llu reads, %llu answered from an older version than one already "
              "read; with it: %llu reads, %llu older, %llu refused by a lagging replica and retried\n",
              static_cast<unsigned long long>(unguarded.calls.load()),
              static_cast<unsigned long long>(unguarded.older_than_seen.load()),
              static_cast<unsigned long long>(monotonic.calls.load()),
              static_cast<unsigned long long>(monotonic.older_than_seen.load()),
              static_cast<unsigned long long>(refused));
  EXPECT_GT(monotonic.calls.load(), 1000u);
  EXPECT_EQ(monotonic.older_than_seen.load(), 0u);
  EXPECT_EQ(monotonic.failed.load(), 0u) << monotonic.first_failure;
  EXPECT_EQ(monotonic.wrong_data.load(), 0u);
  EXPECT_EQ(unguarded.wrong_data.load(), 0u);
  EXPECT_EQ(monotonic.newest.load(), static_cast<uint64_t>(kLastVersion));
}

TEST_F(ReplicasTest, MinVersionTravelsInTheRequestOrInItsMetadata) {
  Publish(1);
  ServerProcess replica(data(), {"--refresh_interval_ms=100"});
  ASSERT_TRUE(replica.started());
  auto stub = v1::Predictions::NewStub(grpc::CreateChannel(replica.target(), grpc::InsecureChannelCredentials()));
  auto lookup = [&](uint64_t field, const char* metadata) {
    v1::LookupRequest request;
    request.set_table("t");
    v1::KeyField* key = request.add_key();
    key->set_column("user");
    key->mutable_value()->set_int64_value(3);
    request.set_min_version(field);
    grpc::ClientContext context;
    if (metadata != nullptr) context.AddMetadata(kMinVersionMetadata, metadata);
    v1::LookupResponse response;
    return stub->Lookup(&context, request, &response);
  };
  EXPECT_EQ(lookup(1, nullptr).error_code(), grpc::StatusCode::OK);
  EXPECT_EQ(lookup(2, nullptr).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(lookup(0, "2").error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(lookup(2, "1").error_code(), grpc::StatusCode::UNAVAILABLE);  // the higher applies
  EXPECT_EQ(lookup(0, "1").error_code(), grpc::StatusCode::OK);
  grpc::Status bad = lookup(0, "two");
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(bad.error_message().find("x-predstore-min-version metadata: \"two\" is not a version number"),
            std::string::npos)
      << bad.error_message();
}

TEST_F(ReplicasTest, AReplicaServesAReadOnlyMountAndPicksUpWhatTheLoaderPublishes) {
  Publish(1);
  const fs::path read_only = scratch_.path() / "read-only";
  fs::create_directories(read_only);
  if (::mount(data().c_str(), read_only.c_str(), nullptr, MS_BIND, nullptr) != 0) {
    GTEST_SKIP() << "cannot bind-mount here (" << std::strerror(errno) << "): needs root or CAP_SYS_ADMIN";
  }
  struct Unmount {
    fs::path path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{read_only};
  ASSERT_EQ(::mount(nullptr, read_only.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr), 0)
      << std::strerror(errno);
  ASSERT_NE(std::ofstream(read_only / "probe").is_open(), true) << "the mount is writable";

  ServerProcess replica(read_only, {"--refresh_interval_ms=100"});
  ASSERT_TRUE(replica.started());
  PredstoreClient client(ClientFor(replica.target()));
  v1::LookupRequest request;
  request.set_table("t");
  v1::KeyField* key = request.add_key();
  key->set_column("user");
  key->mutable_value()->set_int64_value(7);
  absl::StatusOr<v1::LookupResponse> answer = client.Lookup(request);
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->snapshot_version(), 1u);

  Publish(2);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (answer.ok() && answer->snapshot_version() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
    answer = client.Lookup(request);
  }
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->snapshot_version(), 2u);
  EXPECT_EQ(answer->values(0).double_value(), 2.0);
}

}  // namespace
}  // namespace predstore::testing
