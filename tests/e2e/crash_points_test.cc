// The programs killed (SIGKILL, as a power cut or the OOM killer would) at
// named steps (core/base/crash_points.h), not at moments left to timing
// luck: the loader at each phase of a load and each step of its publish,
// the server in the middle of an ingest commit, a rollback, a refresh and a
// model load; and a load that fills its disk. After each: the store opens,
// the served version is the last whole one, nothing half-published is
// visible, the next load succeeds, no acknowledged event is lost or
// applied twice, and staging is cleaned up.
#include <sys/mount.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "client/predstore_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/e2e/forecast_requests.h"
#include "tests/e2e/subprocess.h"
#include "tests/support/scratch_dir.h"

namespace predstore::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const std::vector<std::string> kDays = {"2026-11-24", "2026-11-25", "2026-11-26"};
constexpr int kUsers = 5;

class CrashPointsTest : public ::testing::Test {
 protected:
  fs::path data() const { return scratch_.path() / "data"; }
  fs::path File(const std::string& name) const { return scratch_.path() / name; }

  // A CSV of kUsers users on each of kDays, every score `tag`: loaded into
  // the table partitioned by day, one part per day.
  fs::path TaggedFile(int tag) const {
    std::string name = std::to_string(tag);
    name.insert(0, 1, 'v');
    name.append(".csv");
    const fs::path path = File(name);
    std::ofstream out(path);
    out << "user,day,score\n";
    for (const std::string& day : kDays) {
      for (int user = 0; user < kUsers; ++user) out << "u" << user << "," << day << "," << tag << "\n";
    }
    return path;
  }

  std::vector<std::string> LoadArgs(const fs::path& file) const {
    return {LoaderBinary(), "load", "--data_dir=" + data().string(), "--table=t", "--keys=user:string",
            "--values=score:double", "--partition=day:date", file.string()};
  }
  ProgramResult Load(int tag) const { return RunProgram(LoadArgs(TaggedFile(tag))); }
  // The loader run with PREDSTORE_CRASH_AT=point.
  ProgramResult LoadKilledAt(const std::string& point, int tag) const {
    std::vector<std::string> args = LoadArgs(TaggedFile(tag));
    args.insert(args.begin(), {"/usr/bin/env", "PREDSTORE_CRASH_AT=" + point});
    return RunProgram(args);
  }

  // (version, score) of every partition's answer for one user, after the
  // server re-read the manifest; every partition must agree.
  std::pair<uint64_t, double> Served(const std::string& target) const {
    PredstoreClient client(ClientFor(target));
    EXPECT_TRUE(client.RefreshTables("t").ok());
    std::set<std::pair<uint64_t, double>> seen;
    for (const std::string& day : kDays) {
      v1::LookupRequest request;
      request.set_table("t");
      v1::KeyField* user = request.add_key();
      user->set_column("user");
      user->mutable_value()->set_string_value("u3");
      v1::KeyField* date = request.add_key();
      date->set_column("day");
      date->mutable_value()->set_date_value(DaysOf(day));
      auto answer = client.Lookup(request);
      EXPECT_TRUE(answer.ok() && answer->found()) << day << ": " << answer.status();
      if (answer.ok() && answer->found()) seen.insert({answer->snapshot_version(), answer->values(0).double_value()});
    }
    EXPECT_EQ(seen.size(), 1u) << "every partition answers from the same version";
    return seen.empty() ? std::pair<uint64_t, double>{0, 0} : *seen.begin();
  }

  static int32_t DaysOf(const std::string& day) {
    std::tm tm = {};
    strptime(day.c_str(), "%Y-%m-%d", &tm);
    return static_cast<int32_t>(timegm(&tm) / 86400);
  }

  // The table's folders hold only what its manifest names: the parts of
  // kept versions, and an empty staging folder.
  void ExpectNothingLeftBehind() const {
    std::ifstream manifest_file(data() / "t" / "manifest.json");
    const nlohmann::json manifest = nlohmann::json::parse(manifest_file);
    std::set<std::string> named, present;
    for (const auto& version : manifest["versions"]) {
      for (const auto& part : version["parts"]) named.insert(part["dir"].get<std::string>());
    }
    for (const auto& entry : fs::directory_iterator(data() / "t" / "parts")) {
      present.insert("parts/" + entry.path().filename().string());
    }
    EXPECT_EQ(present, named);
    EXPECT_TRUE(!fs::exists(data() / "t" / "staging") || fs::is_empty(data() / "t" / "staging"));
  }

  test_support::ScratchDir scratch_;
};

struct LoaderCrash {
  std::string point;
  bool published;  // whether the killed load's version is served afterwards
};

class LoaderCrashTest : public CrashPointsTest, public ::testing::WithParamInterface<LoaderCrash> {};

TEST_P(LoaderCrashTest, TheServedVersionIsTheLastWholeOneAndTheNextLoadWorks) {
  const LoaderCrash crash = GetParam();
  ASSERT_EQ(Load(1).exit_code, 0);
  auto server = std::make_unique<ServerProcess>(data(), std::vector<std::string>{"--refresh_interval_ms=0"});
  ASSERT_TRUE(server->started());
  ASSERT_EQ(Served(server->target()), (std::pair<uint64_t, double>{1, 1}));

  const ProgramResult killed = LoadKilledAt(crash.point, 2);
  ASSERT_EQ(killed.exit_code, -1) << crash.point << " was not reached: " << killed.err;
  const std::pair<uint64_t, double> expected = crash.published ? std::pair<uint64_t, double>{2, 2}
                                                               : std::pair<uint64_t, double>{1, 1};
  EXPECT_EQ(Served(server->target()), expected) << "the running server";
  server.reset();
  server = std::make_unique<ServerProcess>(data(), std::vector<std::string>{"--refresh_interval_ms=0"});
  ASSERT_TRUE(server->started()) << "the store opens after the kill";
  EXPECT_EQ(Served(server->target()), expected) << "a restarted server";

  const ProgramResult next = Load(3);
  ASSERT_EQ(next.exit_code, 0) << next.err;
  EXPECT_EQ(Served(server->target()), (std::pair<uint64_t, double>{expected.first + 1, 3}));
  ExpectNothingLeftBehind();
}

INSTANTIATE_TEST_SUITE_P(EveryStep, LoaderCrashTest,
                         ::testing::Values(LoaderCrash{"load:reading", false}, LoaderCrash{"load:sorted", false},
                                           LoaderCrash{"load:sst-written", false},
                                           LoaderCrash{"load:parts-built", false},
                                           LoaderCrash{"publish:part-moved", false},
                                           LoaderCrash{"publish:parts-moved", false},
                                           LoaderCrash{"manifest:temp-written", false},
                                           LoaderCrash{"publish:manifest-written", true}),
                         [](const ::testing::TestParamInfo<LoaderCrash>& info) {
                           std::string name;
                           for (char c : info.param.point) name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                           return name;
                         });

// A shard build whose loads are killed while staging a shard (moved but
// not yet recorded; recorded as the last one, not yet published): nothing
// of the build is served, and running the shard's load again completes it.
TEST_F(CrashPointsTest, AShardLoadKilledWhileStagingIsRunAgainAndTheBuildPublishesOnce) {
  auto shard_load = [&](int shard, const std::string& crash_at) {
    std::vector<std::string> args = LoadArgs(TaggedFile(7));
    args.push_back("--shard=" + std::to_string(shard) + "/2");
    args.push_back("--build_id=b1");
    if (!crash_at.empty()) args.insert(args.begin(), {"/usr/bin/env", "PREDSTORE_CRASH_AT=" + crash_at});
    return RunProgram(args);
  };
  ASSERT_EQ(shard_load(0, "stage:shard-moved").exit_code, -1);
  ASSERT_EQ(shard_load(1, "").exit_code, 0);
  EXPECT_FALSE(fs::exists(data() / "t" / "manifest.json")) << "half a build is never served";
  // Shard 0 again: the last one, killed once recorded, before publishing.
  ASSERT_EQ(shard_load(0, "stage:shard-recorded").exit_code, -1);
  EXPECT_FALSE(fs::exists(data() / "t" / "manifest.json"));
  const ProgramResult again = shard_load(0, "");
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_THAT(again.out, HasSubstr("published version 1"));
  for (int shard = 0; shard < 2; ++shard) {
    ServerProcess server(data(), {"--refresh_interval_ms=0", "--shard=" + std::to_string(shard) + "/2"});
    ASSERT_TRUE(server.started());
    PredstoreClient client(ClientFor(server.target()));
    absl::StatusOr<v1::TableInfo> info = client.GetTable("t");
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_EQ(info->active_version(), 1u);
    EXPECT_EQ(info->row_count(), static_cast<uint64_t>(kUsers * kDays.size()));
  }
  ExpectNothingLeftBehind();
}

// A server killed while reloading models (the registry's new versions
// loaded, not yet swapped in): restarted, it serves what the registry says.
TEST_F(CrashPointsTest, AServerKilledDuringAModelReloadServesTheRegistryWhenRestarted) {
  ASSERT_EQ(Load(1).exit_code, 0);
  const fs::path registry = File("mlruns");
  auto register_model = [&](int version, const std::string& stage) {
    return RunProgram({LoaderBinary(), "sample-model", "--out=" + File("m" + std::to_string(version)).string(),
                       "--features=3", "--trees=4", "--depth=2", "--seed=" + std::to_string(version),
                       "--registry=" + registry.string(), "--name=m", "--version=" + std::to_string(version),
                       "--stage=" + stage});
  };
  ASSERT_EQ(register_model(1, "Production").exit_code, 0);
  const std::vector<std::string> flags = {"--refresh_interval_ms=0", "--model_registry=" + registry.string()};
  {
    // Reload #1 runs at start; #2 is the Admin call below.
    ServerProcess server(data(), flags, 0, {"PREDSTORE_CRASH_AT=models:loaded#2"});
    ASSERT_TRUE(server.started());
    ASSERT_EQ(register_model(2, "Production").exit_code, 0);
    PredstoreClient client(ClientFor(server.target()));
    EXPECT_FALSE(client.ReloadModels().ok()) << "the server died mid-reload";
    EXPECT_EQ(server.Wait(), -1);
  }
  ServerProcess server(data(), flags);
  ASSERT_TRUE(server.started());
  PredstoreClient client(ClientFor(server.target()));
  v1::PredictRequest request;
  request.set_model("models:/m/Production");
  for (const char* feature : {"f0", "f1", "f2"}) request.add_feature_names(feature);
  v1::FeatureRow* row = request.add_rows();
  for (int f = 0; f < 3; ++f) row->add_values()->set_double_value(0.25 * f);
  absl::StatusOr<v1::PredictResponse> answer = client.Predict(request);
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->model_version(), 2);
}

// A server killed during a rollback (its manifest written but not yet in
// place), during a refresh (the new version opened, not yet swapped in), and
// while loading its models: each time it restarts onto a whole version.
TEST_F(CrashPointsTest, AServerKilledDuringARollbackOrARefreshRestartsOntoAWholeVersion) {
  ASSERT_EQ(Load(1).exit_code, 0);
  ASSERT_EQ(Load(2).exit_code, 0);
  {
    ServerProcess server(data(), {"--refresh_interval_ms=0"}, 0, {"PREDSTORE_CRASH_AT=manifest:temp-written"});
    ASSERT_TRUE(server.started());
    PredstoreClient client(ClientFor(server.target()));
    auto rolled = client.Rollback("t", 1);
    EXPECT_FALSE(rolled.ok()) << "the server died mid-rollback";
    EXPECT_EQ(server.Wait(), -1);
  }
  {
    ServerProcess server(data(), {"--refresh_interval_ms=0"});
    ASSERT_TRUE(server.started());
    EXPECT_EQ(Served(server.target()), (std::pair<uint64_t, double>{2, 2})) << "the rollback never happened";
    PredstoreClient client(ClientFor(server.target()));
    ASSERT_TRUE(client.Rollback("t", 1).ok()) << "and can be made again";
    EXPECT_EQ(Served(server.target()), (std::pair<uint64_t, double>{1, 1}));
  }
  {
    // The first refresh opens the store at start; the second is killed
    // after opening version 3, before swapping it in.
    ServerProcess server(data(), {"--refresh_interval_ms=0"}, 0, {"PREDSTORE_CRASH_AT=refresh:opened#2"});
    ASSERT_TRUE(server.started());
    EXPECT_EQ(Load(3).exit_code, 0);
    PredstoreClient client(ClientFor(server.target()));
    EXPECT_FALSE(client.RefreshTables("t").ok()) << "the server died mid-refresh";
    EXPECT_EQ(server.Wait(), -1);
  }
  ServerProcess server(data(), {"--refresh_interval_ms=0"});
  ASSERT_TRUE(server.started());
  EXPECT_EQ(Served(server.target()), (std::pair<uint64_t, double>{3, 3}));
  ExpectNothingLeftBehind();
}

// A batch of `count` events for users u0.. of the first day, all scored
// `score`, from source "producer".
v1::IngestRequest EventBatch(uint64_t sequence, int count, double score, int64_t time_micros) {
  v1::IngestRequest request;
  request.set_table("t");
  request.set_source("producer");
  request.set_sequence(sequence);
  request.set_position("after batch " + std::to_string(sequence));
  for (int user = 0; user < count; ++user) {
    v1::StreamEvent* event = request.add_events();
    v1::KeyField* name = event->add_key();
    name->set_column("user");
    name->mutable_value()->set_string_value("stream-" + std::to_string(sequence) + "-" + std::to_string(user));
    v1::KeyField* day = event->add_key();
    day->set_column("day");
    day->mutable_value()->set_date_value(20416);  // 2025-11-24
    event->set_event_time_micros(time_micros);
    v1::KeyField* value = event->add_values();
    value->set_column("score");
    value->mutable_value()->set_double_value(score);
  }
  return request;
}

// The server killed after committing a batch, before acknowledging it: the
// producer resends it (it has no ack), and the batch counts once.
TEST_F(CrashPointsTest, AServerKilledBetweenAnIngestCommitAndItsAckAppliesTheBatchOnce) {
  ASSERT_EQ(Load(1).exit_code, 0);
  const int64_t now = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  {
    ServerProcess server(data(), {"--ingest"}, 0, {"PREDSTORE_CRASH_AT=ingest:written#2"});
    ASSERT_TRUE(server.started());
    PredstoreClient client(ClientFor(server.target()));
    std::unique_ptr<IngestStream> stream = client.OpenIngestStream();
    v1::IngestAck ack;
    ASSERT_TRUE(stream->Write(EventBatch(1, 5, 10, now)) && stream->Read(&ack));
    EXPECT_EQ(ack.error_code(), 0) << ack.error_message();
    stream->Write(EventBatch(2, 5, 20, now));
    EXPECT_FALSE(stream->Read(&ack)) << "the server died before acknowledging batch 2";
    EXPECT_EQ(server.Wait(), -1);
  }
  ServerProcess server(data(), {"--ingest"});
  ASSERT_TRUE(server.started());
  PredstoreClient client(ClientFor(server.target()));
  auto status = client.IngestStatus("t");
  ASSERT_TRUE(status.ok() && status->sources_size() == 1) << status.status();
  EXPECT_EQ(status->sources(0).sequence(), 2u) << "batch 2 was committed before the kill";
  EXPECT_EQ(status->sources(0).applied(), 10u);
  // The producer resends what it has no ack for, then goes on.
  std::unique_ptr<IngestStream> stream = client.OpenIngestStream();
  v1::IngestAck ack;
  ASSERT_TRUE(stream->Write(EventBatch(2, 5, 20, now)) && stream->Read(&ack));
  EXPECT_EQ(ack.error_code(), 0) << ack.error_message();
  ASSERT_TRUE(stream->Write(EventBatch(3, 5, 30, now)) && stream->Read(&ack));
  stream->WritesDone();
  while (stream->Read(&ack)) {
  }
  EXPECT_TRUE(stream->Finish().ok());
  status = client.IngestStatus("t");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->sources(0).sequence(), 3u);
  EXPECT_EQ(status->sources(0).applied(), 15u) << "the replayed batch 2 was not applied again";
  ExpectNothingLeftBehind();
}

// A load that fills its disk (a 4 MiB tmpfs) fails with an error saying so,
// leaves nothing behind, and the server keeps serving the last version.
TEST_F(CrashPointsTest, ALoadThatFillsTheDiskFailsCleanlyAndTheServerKeepsServing) {
  fs::create_directories(data());
  if (::mount("tmpfs", data().c_str(), "tmpfs", 0, "size=4m") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs here (" << std::strerror(errno) << "): needs root or CAP_SYS_ADMIN";
  }
  struct Unmount {
    fs::path path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{data()};
  ASSERT_EQ(Load(1).exit_code, 0);
  ServerProcess server(data(), {"--refresh_interval_ms=0"});
  ASSERT_TRUE(server.started());
  // About 30 MiB of rows: more than the disk holds, even compressed.
  {
    std::ofstream out(File("big.csv"));
    out << "user,day,score\n";
    for (int64_t user = 0; user < 400000; ++user) {
      out << "user-with-a-long-name-" << user * 7919 << "," << kDays[user % 3] << "," << user * 0.37 << "\n";
    }
  }
  const ProgramResult full = RunProgram(LoadArgs(File("big.csv")));
  EXPECT_NE(full.exit_code, 0);
  EXPECT_THAT(full.err, ::testing::AnyOf(HasSubstr("No space left on device"), HasSubstr("disk full")));
  EXPECT_EQ(Served(server.target()), (std::pair<uint64_t, double>{1, 1}));
  ExpectNothingLeftBehind();
  const ProgramResult next = Load(2);
  ASSERT_EQ(next.exit_code, 0) << next.err;
  EXPECT_EQ(Served(server.target()), (std::pair<uint64_t, double>{2, 2}));
}

}  // namespace
}  // namespace predstore::testing
