// The same job run both ways: one prediction file loaded as a batch
// snapshot, and dropped into a folder that `predstore-load stream
// --files=predictions` sends to a server as a stream. Both answer every key
// with the same values, and a bad file is rejected with the same message.
#include <fstream>

#include "client/predstore_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/forecast_requests.h"
#include "tests/e2e/subprocess.h"
#include "tests/support/scratch_dir.h"

namespace predstore::testing {
namespace {

namespace fs = std::filesystem;

// The key encoding the tables are created with: loader flags.
using LayoutFlags = std::vector<std::string>;

class PipelineModesTest : public ::testing::TestWithParam<LayoutFlags> {
 protected:
  fs::path Path(const std::string& name) const { return scratch_.path() / name; }
  fs::path data() const { return Path("data"); }

  ProgramResult Load(const std::string& table, const fs::path& file) {
    std::vector<std::string> args = {LoaderBinary(), "load", "--data_dir=" + data().string(), "--table=" + table,
                                     kKeys, kValues, file.string()};
    args.insert(args.end(), GetParam().begin(), GetParam().end());
    return RunProgram(args);
  }
  ProgramResult Stream(const ServerProcess& server, const std::string& table, const fs::path& folder) {
    return RunProgram({LoaderBinary(), "stream", "--table=" + table, "--source=folder:" + folder.string(),
                       "--files=predictions", "--server=" + server.target(), "--once", "--batch_size=100"});
  }

  test_support::ScratchDir scratch_;
};

TEST_P(PipelineModesTest, TheSamePredictionFileServedAsBatchOrAsStreamAnswersAlike) {
  const fs::path job = Path("job.csv");
  ASSERT_EQ(RunProgram({LoaderBinary(), "sample", "--rows=1500", "--seed=9", "--out=" + job.string()}).exit_code, 0);
  const std::vector<Row> rows = ReadSampleCsv(job);
  // Batch: the job's file is table "batch"'s snapshot.
  ASSERT_EQ(Load("batch", job).exit_code, 0);
  // Stream: table "streamed" starts from another snapshot (a different
  // sample); the job's file then arrives in the folder.
  const fs::path other = Path("other.csv");
  ASSERT_EQ(RunProgram({LoaderBinary(), "sample", "--rows=1500", "--seed=1", "--out=" + other.string()}).exit_code, 0);
  ASSERT_EQ(Load("streamed", other).exit_code, 0);
  ServerProcess server(data(), {"--ingest", "--refresh_interval_ms=0"});
  ASSERT_TRUE(server.started());
  const fs::path folder = Path("landing");
  fs::create_directories(folder);
  fs::copy_file(job, folder / "2030-01-01T00-00.csv");
  fs::last_write_time(folder / "2030-01-01T00-00.csv", fs::file_time_type::clock::now() + std::chrono::hours(1));
  ProgramResult streamed = Stream(server, "streamed", folder);
  ASSERT_EQ(streamed.exit_code, 0) << streamed.err;

  PredstoreClient client(ClientFor(server.target()));
  for (size_t begin = 0; begin < rows.size(); begin += 500) {
    const size_t end = std::min(rows.size(), begin + 500);
    auto batch = client.BatchLookup(BatchOf("batch", rows, begin, end));
    auto stream = client.BatchLookup(BatchOf("streamed", rows, begin, end));
    ASSERT_TRUE(batch.ok() && stream.ok());
    for (size_t i = 0; i < end - begin; ++i) {
      const v1::LookupResult& a = batch->results(static_cast<int>(i));
      const v1::LookupResult& b = stream->results(static_cast<int>(i));
      ASSERT_TRUE(a.found() && b.found()) << "row " << begin + i;
      EXPECT_EQ(a.source(), v1::SOURCE_PRECOMPUTED);
      EXPECT_EQ(b.source(), v1::SOURCE_STREAM);
      EXPECT_EQ(a.values(0).double_value(), rows[begin + i].forecast);
      EXPECT_EQ(b.values(0).double_value(), a.values(0).double_value()) << "row " << begin + i;
      EXPECT_EQ(b.values(1).double_value(), a.values(1).double_value()) << "row " << begin + i;
    }
  }
  // A columnar batch reads the stream the same way.
  auto columnar = client.BatchLookup(ColumnarOf("streamed", rows, 0, 200));
  ASSERT_TRUE(columnar.ok()) << columnar.status();
  ASSERT_EQ(columnar->found_size(), 200);
  for (int i = 0; i < 200; ++i) {
    EXPECT_TRUE(columnar->found(i));
    EXPECT_EQ(columnar->sources(i), v1::SOURCE_STREAM);
    EXPECT_EQ(columnar->columns(0).double_values(i), rows[i].forecast) << "row " << i;
  }
}

TEST_P(PipelineModesTest, ABadFileIsRejectedWithTheSameMessageEitherWay) {
  const fs::path good = Path("good.csv");
  ASSERT_EQ(RunProgram({LoaderBinary(), "sample", "--rows=50", "--out=" + good.string()}).exit_code, 0);
  ASSERT_EQ(Load("forecasts", good).exit_code, 0);
  const fs::path folder = Path("landing");
  fs::create_directories(folder);
  const fs::path bad = folder / "bad.csv";
  std::ofstream(bad) << "store_id,item_id,horizon_days,forecast,p90\n1,1000,1,12.5,15\n1,1000,2,inf,15\n";
  ProgramResult batch = Load("forecasts", bad);
  ASSERT_EQ(batch.exit_code, 1);
  ServerProcess server(data(), {"--ingest", "--refresh_interval_ms=0"});
  ASSERT_TRUE(server.started());
  ProgramResult stream = Stream(server, "forecasts", folder);
  ASSERT_EQ(stream.exit_code, 1);
  EXPECT_THAT(batch.err, ::testing::HasSubstr("bad.csv:3:"));
  EXPECT_EQ(stream.err, batch.err);  // one validation: the same words
  // The stream committed the good row before the bad one; the batch load published nothing.
  PredstoreClient client(ClientFor(server.target()));
  auto first = client.Lookup(LookupOf("forecasts", 1, 1000, 1));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->source(), v1::SOURCE_STREAM);
  EXPECT_EQ(first->values(0).double_value(), 12.5);
}

// The stream keys rows without the snapshot's key mapping: a normalised
// layout must answer alike.
INSTANTIATE_TEST_SUITE_P(Layouts, PipelineModesTest,
                         ::testing::Values(LayoutFlags{}, LayoutFlags{"--layout=hilbert", "--normalize=quantile"},
                                           LayoutFlags{"--layout=zorder", "--normalize=minmax"}),
                         [](const ::testing::TestParamInfo<LayoutFlags>& info) {
                           switch (info.index) {
                             case 0: return std::string("zorder");
                             case 1: return std::string("hilbert_quantile");
                             default: return std::string("zorder_minmax");
                           }
                         });

}  // namespace
}  // namespace predstore::testing
