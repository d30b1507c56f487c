// Shards on loopback: the sample table built as 3 shards by 3 independent
// loads (predstore-load --shard=i/3, as 3 Kubernetes Job pods would), each
// shard served by 2 replicas (predstore-server --shard=i/3), read through
// the client library's shard routing, against the same table loaded whole
// and served by one server:
// - lookups, row and columnar batches, and scans of boxes (whole and
//   paged) answer exactly as the unsharded table does, in the same order;
// - a replica of one shard killed (SIGKILL) under load costs no read.
#include <atomic>
#include <chrono>
#include <functional>
#include <fstream>
#include <mutex>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "client/predstore_client.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/e2e/forecast_requests.h"
#include "tests/e2e/subprocess.h"
#include "tests/support/scratch_dir.h"

namespace predstore::testing {
namespace {

namespace fs = std::filesystem;
using google::protobuf::util::MessageDifferencer;
using namespace std::chrono_literals;

constexpr int kShards = 3;
constexpr int kReplicas = 2;

class ShardsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    rows_ = LoadSampleForecasts(File("sample.csv"), Data("whole"), 3000);
    ASSERT_FALSE(rows_.empty());
    // Each shard's rows as the documented hash, written in Python from the
    // documentation alone, places them.
    ProgramResult reference = RunProgram({PREDSTORE_PYTHON, std::string(PREDSTORE_SOURCE_DIR) + "/tests/e2e/shard_of.py",
                                          File("sample.csv").string(), "3"});
    ASSERT_EQ(reference.exit_code, 0) << reference.err;
    std::istringstream expected_counts(reference.out);
    for (int shard = 0; shard < kShards; ++shard) {
      ProgramResult load = RunProgram({LoaderBinary(), "load", "--data_dir=" + Data("sharded").string(),
                                       "--table=forecasts", kKeys, kValues,
                                       "--shard=" + std::to_string(shard) + "/3", "--build_id=nightly-1",
                                       File("sample.csv").string()});
      ASSERT_EQ(load.exit_code, 0) << load.err;
      std::string count;
      expected_counts >> count;
      EXPECT_NE(load.out.find(": " + count + " rows of shard " + std::to_string(shard) + "/3"), std::string::npos)
          << "the documented hash puts " << count << " rows in shard " << shard << "; the loader says " << load.out;
      EXPECT_NE(load.out.find(shard == kShards - 1 ? "published version 1" : "staged for build nightly-1"),
                std::string::npos)
          << load.out;
    }
    whole_ = std::make_unique<ServerProcess>(Data("whole"));
    ASSERT_TRUE(whole_->started());
    ClientOptions options;
    for (int shard = 0; shard < kShards; ++shard) {
      std::string target = "ipv4:";
      for (int r = 0; r < kReplicas; ++r) {
        auto& replica = replicas_[shard][r];
        replica = std::make_unique<ServerProcess>(Data("sharded"),
                                                  std::vector<std::string>{"--shard=" + std::to_string(shard) + "/3"});
        ASSERT_TRUE(replica->started());
        target += (r > 0 ? "," : "") + replica->target();
      }
      options.shard_targets.push_back(target);
    }
    sharded_ = std::make_unique<PredstoreClient>(options);
    unsharded_ = std::make_unique<PredstoreClient>(ClientFor(whole_->target()));
    ASSERT_TRUE(unsharded_->WaitUntilServing(10s).ok());
  }

  fs::path Data(const std::string& name) const { return scratch_.path() / name; }
  fs::path File(const std::string& name) const { return scratch_.path() / name; }

  // Every message of a scan, as one response (rows concatenated).
  static absl::StatusOr<v1::ScanResponse> ScanAll(const PredstoreClient& client, const v1::ScanRequest& request) {
    v1::ScanResponse all;
    absl::Status status = client.Scan(request, [&](const v1::ScanResponse& message) {
      for (const v1::ScanRow& row : message.rows()) *all.add_rows() = row;
      if (!message.next_page_token().empty()) all.set_next_page_token(message.next_page_token());
    });
    if (!status.ok()) return status;
    return all;
  }

  // The rows of a box read page by page (`limit` rows each).
  static std::vector<v1::ScanRow> Paged(const PredstoreClient& client, v1::ScanRequest request, uint64_t limit,
                                        int* pages) {
    std::vector<v1::ScanRow> rows;
    request.set_limit(limit);
    for (*pages = 0; *pages < 1000; ++*pages) {
      absl::StatusOr<v1::ScanResponse> page = ScanAll(client, request);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) break;
      EXPECT_LE(static_cast<uint64_t>(page->rows_size()), limit);
      rows.insert(rows.end(), page->rows().begin(), page->rows().end());
      if (page->next_page_token().empty()) break;
      request.set_page_token(page->next_page_token());
    }
    return rows;
  }

  static v1::ScanRequest Box(int64_t store_low, int64_t store_high, int64_t item_low) {
    v1::ScanRequest request;
    request.set_table("forecasts");
    v1::ColumnRange* store = request.add_where();
    store->set_column("store_id");
    store->mutable_low()->set_int64_value(store_low);
    store->mutable_high()->set_int64_value(store_high);
    v1::ColumnRange* item = request.add_where();
    item->set_column("item_id");
    item->mutable_low()->set_int64_value(item_low);
    return request;
  }

  // What readers of random batches saw.
  struct BatchTally {
    std::atomic<uint64_t> calls{0}, failed{0};
    std::mutex mu;
    std::string first_failure;
  };
  // Runs 3 readers of random `keys`-key batches through the sharded client
  // while `during` runs. check(answer, first key's row, reader's state)
  // judges each answer on its reader's thread; the state starts at 0.
  void ReadBatchesWhile(size_t keys,
                        const std::function<void(const v1::BatchLookupResponse&, size_t, uint64_t*)>& check,
                        const std::function<void()>& during, BatchTally* tally) {
    std::atomic<bool> stop{false};
    std::vector<std::thread> readers;
    for (int t = 0; t < 3; ++t) {
      readers.emplace_back([&, t] {
        std::mt19937 random(static_cast<unsigned>(t));
        uint64_t state = 0;
        while (!stop) {
          const size_t begin = random() % (rows_.size() - keys);
          absl::StatusOr<v1::BatchLookupResponse> answer =
              sharded_->BatchLookup(BatchOf("forecasts", rows_, begin, begin + keys));
          ++tally->calls;
          if (answer.ok()) {
            check(*answer, begin, &state);
            continue;
          }
          ++tally->failed;
          std::lock_guard<std::mutex> lock(tally->mu);
          if (tally->first_failure.empty()) tally->first_failure = answer.status().ToString();
        }
      });
    }
    during();
    stop = true;
    for (std::thread& reader : readers) reader.join();
  }

  test_support::ScratchDir scratch_;
  std::vector<Row> rows_;
  std::unique_ptr<ServerProcess> whole_;
  std::unique_ptr<ServerProcess> replicas_[kShards][kReplicas];
  std::unique_ptr<PredstoreClient> sharded_, unsharded_;
};

TEST_F(ShardsTest, AnswersAsTheUnshardedTableDoes) {
  // Lookups: every tenth row, and keys that are absent.
  int compared = 0;
  for (size_t i = 0; i < rows_.size(); i += 10) {
    for (int64_t horizon : {rows_[i].horizon, int64_t{999}}) {
      v1::LookupRequest request = LookupOf("forecasts", rows_[i].store, rows_[i].item, horizon);
      absl::StatusOr<v1::LookupResponse> expected = unsharded_->Lookup(request);
      absl::StatusOr<v1::LookupResponse> actual = sharded_->Lookup(request);
      ASSERT_TRUE(expected.ok() && actual.ok()) << expected.status() << " " << actual.status();
      EXPECT_TRUE(MessageDifferencer::Equals(*expected, *actual)) << expected->DebugString() << actual->DebugString();
      ++compared;
    }
  }
  EXPECT_EQ(compared, 600);

  // Batches of 250 keys (row and columnar forms), with misses among them.
  std::vector<Row> keys(rows_.begin(), rows_.begin() + 200);
  for (int i = 0; i < 50; ++i) keys.push_back(Row{100000 + i, 1, 1, 0, 0});
  std::shuffle(keys.begin(), keys.end(), std::mt19937(7));
  for (const v1::BatchLookupRequest& request :
       {BatchOf("forecasts", keys, 0, keys.size()), ColumnarOf("forecasts", keys, 0, keys.size())}) {
    absl::StatusOr<v1::BatchLookupResponse> expected = unsharded_->BatchLookup(request);
    absl::StatusOr<v1::BatchLookupResponse> actual = sharded_->BatchLookup(request);
    ASSERT_TRUE(expected.ok() && actual.ok()) << expected.status() << " " << actual.status();
    EXPECT_TRUE(MessageDifferencer::Equals(*expected, *actual))
        << "columnar: " << request.key_values_size() << "\n" << expected->ShortDebugString().substr(0, 400) << "\n"
        << actual->ShortDebugString().substr(0, 400);
  }

  // Boxes: whole, then paged; the same rows in the same (key) order.
  // (The sample's 3000 rows are store 1, items 1000-1214, horizons 1-14.)
  for (const v1::ScanRequest& box : {Box(1, 40, 0), Box(0, 1000000, 1200), Box(1, 1, 1100)}) {
    absl::StatusOr<v1::ScanResponse> expected = ScanAll(*unsharded_, box);
    absl::StatusOr<v1::ScanResponse> actual = ScanAll(*sharded_, box);
    ASSERT_TRUE(expected.ok() && actual.ok()) << expected.status() << " " << actual.status();
    ASSERT_EQ(expected->rows_size(), actual->rows_size());
    EXPECT_GT(expected->rows_size(), 0);
    for (int r = 0; r < expected->rows_size(); ++r) {
      ASSERT_TRUE(MessageDifferencer::Equals(expected->rows(r), actual->rows(r)))
          << "row " << r << ": " << expected->rows(r).ShortDebugString() << " vs " << actual->rows(r).ShortDebugString();
    }
    int expected_pages = 0, actual_pages = 0;
    std::vector<v1::ScanRow> expected_paged = Paged(*unsharded_, box, 37, &expected_pages);
    std::vector<v1::ScanRow> actual_paged = Paged(*sharded_, box, 37, &actual_pages);
    ASSERT_EQ(expected_paged.size(), static_cast<size_t>(expected->rows_size()));
    ASSERT_EQ(actual_paged.size(), expected_paged.size());
    for (size_t r = 0; r < expected_paged.size(); ++r) {
      ASSERT_TRUE(MessageDifferencer::Equals(expected_paged[r], actual_paged[r])) << "paged row " << r;
    }
  }
}

TEST_F(ShardsTest, AScanMergeStopsWhereTheFirstShardHitItsRowLimitAndPagesOnFromThere) {
  // Shard servers that end every scan after 50 rows (--max_scan_rows): a
  // merged scan without a limit must stop where the first shard stopped,
  // and its page tokens must walk the whole box in order.
  ClientOptions options;
  std::vector<std::unique_ptr<ServerProcess>> servers;
  for (int shard = 0; shard < kShards; ++shard) {
    servers.push_back(std::make_unique<ServerProcess>(
        Data("sharded"), std::vector<std::string>{"--shard=" + std::to_string(shard) + "/3", "--max_scan_rows=50"}));
    ASSERT_TRUE(servers.back()->started());
    options.shard_targets.push_back(servers.back()->target());
  }
  PredstoreClient limited(options);
  v1::ScanRequest box = Box(1, 1, 1100);
  absl::StatusOr<v1::ScanResponse> expected = ScanAll(*unsharded_, box);
  ASSERT_TRUE(expected.ok()) << expected.status();
  ASSERT_GT(expected->rows_size(), 300);
  std::vector<v1::ScanRow> rows;
  int pages = 0;
  for (; pages < 100; ++pages) {
    absl::StatusOr<v1::ScanResponse> page = ScanAll(limited, box);
    ASSERT_TRUE(page.ok()) << page.status();
    EXPECT_LE(page->rows_size(), 3 * 50);
    rows.insert(rows.end(), page->rows().begin(), page->rows().end());
    if (page->next_page_token().empty()) break;
    box.set_page_token(page->next_page_token());
  }
  EXPECT_GT(pages, 2);
  ASSERT_EQ(rows.size(), static_cast<size_t>(expected->rows_size()));
  for (size_t r = 0; r < rows.size(); ++r) {
    ASSERT_TRUE(MessageDifferencer::Equals(expected->rows(static_cast<int>(r)), rows[r])) << "row " << r;
  }
}

TEST_F(ShardsTest, AReplicaOfOneShardKilledUnderLoadCostsNoRead) {
  BatchTally tally;
  std::atomic<uint64_t> wrong{0};
  ReadBatchesWhile(
      20,
      [&](const v1::BatchLookupResponse& answer, size_t begin, uint64_t*) {
        for (int k = 0; k < answer.results_size(); ++k) {
          const v1::LookupResult& result = answer.results(k);
          if (!result.found() || result.values(0).double_value() != rows_[begin + k].forecast) ++wrong;
        }
      },
      [&] {
        std::this_thread::sleep_for(700ms);
        replicas_[1][0]->Kill();
        std::this_thread::sleep_for(1500ms);
      },
      &tally);
  std::printf("[ shards ] 3 shards x 2 replicas, one replica of shard 1 killed: %llu batches of 20 keys, %llu failed\n",
              static_cast<unsigned long long>(tally.calls.load()), static_cast<unsigned long long>(tally.failed.load()));
  EXPECT_GT(tally.calls.load(), 200u);
  EXPECT_EQ(tally.failed.load(), 0u) << tally.first_failure;
  EXPECT_EQ(wrong.load(), 0u);
}

TEST_F(ShardsTest, ANewVersionReachesEveryShardAtOnceForEachClient) {
  // Version 2: every forecast 1000 higher, built as another 3-shard build.
  {
    std::ofstream out(File("v2.csv"));
    out.precision(17);  // every double read back exactly
    out << "store_id,item_id,horizon_days,forecast,p90\n";
    for (const Row& row : rows_) {
      out << row.store << "," << row.item << "," << row.horizon << "," << row.forecast + 1000 << "," << row.p90
          << "\n";
    }
  }
  BatchTally tally;
  std::atomic<uint64_t> mixed{0}, older{0}, on_v2{0};
  auto check = [&](const v1::BatchLookupResponse& answer, size_t begin, uint64_t* seen) {
    const uint64_t version = answer.snapshot_version();
    if (version < *seen) ++older;
    *seen = std::max(*seen, version);
    if (version == 2) ++on_v2;
    // Every key of the batch (30 keys: all three shards) from that version.
    for (int k = 0; k < answer.results_size(); ++k) {
      const double offset = version == 2 ? 1000 : 0;
      if (answer.results(k).values(0).double_value() != rows_[begin + k].forecast + offset) ++mixed;
    }
  };
  ReadBatchesWhile(30, check, [&] {
    std::this_thread::sleep_for(300ms);
    for (int shard = 0; shard < kShards; ++shard) {
      ProgramResult load = RunProgram({LoaderBinary(), "load", "--data_dir=" + Data("sharded").string(),
                                       "--table=forecasts", "--shard=" + std::to_string(shard) + "/3",
                                       "--build_id=nightly-2", File("v2.csv").string()});
      EXPECT_EQ(load.exit_code, 0) << load.err;
    }
    // Each replica picks version 2 up at its own next refresh (2 s apart at most).
    std::this_thread::sleep_for(3000ms);
  }, &tally);
  std::printf("[ shards ] publish under load: %llu batches of 30 keys over 3 shards, %llu failed, %llu from a mix "
              "of versions, %llu older than one already read, %llu on version 2\n",
              static_cast<unsigned long long>(tally.calls.load()), static_cast<unsigned long long>(tally.failed.load()),
              static_cast<unsigned long long>(mixed.load()), static_cast<unsigned long long>(older.load()),
              static_cast<unsigned long long>(on_v2.load()));
  EXPECT_GT(tally.calls.load(), 200u);
  EXPECT_EQ(tally.failed.load(), 0u) << tally.first_failure;
  EXPECT_EQ(mixed.load(), 0u);
  EXPECT_EQ(older.load(), 0u);
  EXPECT_GT(on_v2.load(), 0u);
}

TEST_F(ShardsTest, EachShardsIngestingServerTakesItsOwnEventsFromOneFeed) {
  // Streams need a data directory per ingesting server (a node-local copy).
  ClientOptions options;
  std::vector<std::unique_ptr<ServerProcess>> servers;
  for (int shard = 0; shard < kShards; ++shard) {
    const fs::path node = Data("node" + std::to_string(shard));
    fs::copy(Data("sharded"), node, fs::copy_options::recursive);
    servers.push_back(std::make_unique<ServerProcess>(
        node, std::vector<std::string>{"--shard=" + std::to_string(shard) + "/3", "--ingest"}));
    ASSERT_TRUE(servers.back()->started());
    options.shard_targets.push_back(servers.back()->target());
  }
  constexpr int kEvents = 300;
  {
    std::ofstream events(File("events.jsonl"));
    for (int i = 0; i < kEvents; ++i) {
      events << R"({"store_id":)" << rows_[i].store << R"(,"item_id":)" << rows_[i].item << R"(,"horizon_days":)"
             << rows_[i].horizon << R"(,"event_time":"2030-01-01T00:00:00Z","forecast":)" << 5000 + i
             << R"(,"p90":1})" << "\n";
    }
  }
  // Every shard's feed reads the whole file and keeps its own events.
  int sent = 0;
  for (int shard = 0; shard < kShards; ++shard) {
    ProgramResult ingest = RunProgram({CliBinary(), "--server=" + servers[shard]->target(), "ingest",
                                       "--table=forecasts", "--source=feed", "--events=" + File("events.jsonl").string(),
                                       "--batch_size=50"});
    ASSERT_EQ(ingest.exit_code, 0) << ingest.err;
    int count = 0, skipped = 0;
    ASSERT_EQ(std::sscanf(ingest.out.c_str(), "sent %d events (skipped %d of other shards)", &count, &skipped), 2)
        << ingest.out;
    EXPECT_EQ(count + skipped, kEvents);
    sent += count;
  }
  EXPECT_EQ(sent, kEvents);
  PredstoreClient client(options);
  absl::StatusOr<v1::BatchLookupResponse> answer = client.BatchLookup(BatchOf("forecasts", rows_, 0, kEvents));
  ASSERT_TRUE(answer.ok()) << answer.status();
  for (int i = 0; i < kEvents; ++i) {
    EXPECT_EQ(answer->results(i).source(), v1::SOURCE_STREAM) << i;
    EXPECT_EQ(answer->results(i).values(0).double_value(), 5000 + i) << i;
  }
}

}  // namespace
}  // namespace predstore::testing
