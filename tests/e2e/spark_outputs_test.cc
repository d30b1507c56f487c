// What Spark and other Parquet writers produce, loaded by the real loader
// and served by the real server: every row of a real parquet-testing file
// answers a lookup with the values the Parquet reader reads from it (the
// reader's values are checked against upstream's in core.ingest).
#include <fstream>
#include <set>

#include "client/predstore_client.h"
#include "core/ingest/delta_table.h"
#include "core/ingest/parquet_reader.h"
#include "core/ingest/row_encoder.h"
#include "core/snapshot/table_directory.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/wire_values.h"
#include "tests/e2e/forecast_requests.h"
#include "tests/e2e/subprocess.h"
#include "tests/support/scratch_dir.h"

namespace predstore::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const fs::path kTestData = PREDSTORE_TESTDATA_DIR;

class SparkOutputsTest : public ::testing::Test {
 protected:
  fs::path data() const { return scratch_.path() / "data"; }

  ProgramResult Load(std::vector<std::string> args) {
    args.insert(args.begin(), {LoaderBinary(), "load", "--data_dir=" + data().string()});
    return RunProgram(args);
  }

  // Every row `path` holds for `schema` (read by the core reader), looked
  // up on `server` in table `table`: found, with the same values. Adds the
  // rows to `*rows` if given, else expects some.
  void ExpectServedAsRead(const ServerProcess& server, const std::string& table, const fs::path& path,
                          const Schema& schema, const ReadOptions& options = {},
                          v1::Source source = v1::SOURCE_PRECOMPUTED, size_t* total_rows = nullptr) {
    auto reader = OpenParquetRecordReader(path, schema, options);
    ASSERT_TRUE(reader.ok()) << reader.status();
    RowEncoder encoder(schema);
    PredstoreClient client(ClientFor(server.target()));
    const size_t keys = schema.lookup_columns().size();
    v1::BatchLookupRequest request;
    std::vector<std::vector<Cell>> expected;
    auto check = [&]() {
      auto response = client.BatchLookup(request);
      ASSERT_TRUE(response.ok()) << response.status();
      ASSERT_EQ(response->results_size(), static_cast<int>(expected.size()));
      for (size_t i = 0; i < expected.size(); ++i) {
        const v1::LookupResult& result = response->results(static_cast<int>(i));
        ASSERT_TRUE(result.found()) << path << " row " << i;
        EXPECT_EQ(result.source(), source) << path << " row " << i;
        for (size_t v = 0; v < schema.value_columns().size(); ++v) {
          auto cell = CellFromWire(result.values(static_cast<int>(v)), schema.value_columns()[v]);
          ASSERT_TRUE(cell.ok()) << cell.status();
          EXPECT_EQ(*cell, expected[i][keys + v]) << schema.value_columns()[v].name;
        }
      }
      request.clear_keys();
      expected.clear();
    };
    request.set_table(table);
    for (const Column& column : schema.lookup_columns()) request.add_key_columns(column.name);
    size_t rows = 0;
    while (true) {
      auto more = (*reader)->Next();
      ASSERT_TRUE(more.ok()) << more.status();
      if (!*more) break;
      ASSERT_TRUE(encoder.Parse(**reader).ok());
      v1::KeyRow* key = request.add_keys();
      for (size_t k = 0; k < keys; ++k) CellToWire(ViewOf(encoder.cells()[k]), key->add_values());
      expected.emplace_back(encoder.cells().begin(), encoder.cells().end());
      ++rows;
      if (expected.size() == 500) check();
    }
    if (!expected.empty()) check();
    if (total_rows != nullptr) {
      *total_rows += rows;
    } else {
      EXPECT_GT(rows, 0u);
    }
  }

  test_support::ScratchDir scratch_;
};

TEST_F(SparkOutputsTest, AParquetFileLoadsWithItsSchemaTakenFromTheFile) {
  // Impala's alltypes: 7300 rows in many small dictionary-encoded pages.
  const fs::path file = kTestData / "parquet" / "alltypes_tiny_pages.parquet";
  ProgramResult load = Load({"--table=alltypes", "--keys=id,timestamp_col", file.string()});
  ASSERT_EQ(load.exit_code, 0) << load.err;
  EXPECT_THAT(load.out, HasSubstr("7300 rows"));
  auto manifest = TableDirectory(data(), "alltypes").ReadManifest();
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  const Schema& schema = manifest->schema;
  EXPECT_EQ(schema.key_columns()[1].type, ColumnType::kTimestamp);  // INT96
  EXPECT_EQ(schema.value_columns().size(), 11u);
  ServerProcess server(data());
  ASSERT_TRUE(server.started());
  ExpectServedAsRead(server, "alltypes", file, schema);
}

TEST_F(SparkOutputsTest, BadParquetInputPublishesNothing) {
  const fs::path corrupt = kTestData / "parquet" / "datapage_v1-corrupt-checksum.parquet";
  ProgramResult load = Load({"--table=t", "--keys=a", corrupt.string()});
  EXPECT_EQ(load.exit_code, 1);
  EXPECT_THAT(load.err, HasSubstr("datapage_v1-corrupt-checksum.parquet: column \"a\", row group 0, page 0: page "
                                  "checksum mismatch"));
  const fs::path nested = kTestData / "parquet" / "nested_structs.rust.parquet";
  load = Load({"--table=t", "--keys=a", nested.string()});
  EXPECT_EQ(load.exit_code, 1);
  EXPECT_THAT(load.err, HasSubstr("is nested"));
  // Columns the table lacks are refused unless asked to skip them.
  const fs::path alltypes = kTestData / "parquet" / "alltypes_plain.parquet";
  load = Load({"--table=t", "--keys=id:int64", "--values=double_col:double?", alltypes.string()});
  EXPECT_EQ(load.exit_code, 1);
  EXPECT_THAT(load.err, HasSubstr("column \"bool_col\" of the file is not in the table"));
  EXPECT_FALSE(TableDirectory(data(), "t").ReadManifest().ok());
  load = Load({"--table=t", "--keys=id:int64", "--values=double_col:double?", "--extra_fields=ignore",
               alltypes.string()});
  EXPECT_EQ(load.exit_code, 0) << load.err;
  EXPECT_THAT(load.out, HasSubstr("8 rows"));
}

// A Spark job's output folder: part files in Hive partition folders, with
// the bookkeeping Spark leaves beside them. The part files are real files
// of other writers, linked in place.
TEST_F(SparkOutputsTest, ASparkOutputFolderLoadsWithItsPartitionValues) {
  const fs::path out = scratch_.path() / "job-output";
  const fs::path parquet = kTestData / "parquet";
  fs::create_directories(out / "day=2026-11-26");
  fs::create_directories(out / "day=2026-11-27");
  fs::create_symlink(parquet / "alltypes_plain.parquet",
                     out / "day=2026-11-26" / "part-00000-5b2d-c000.snappy.parquet");
  fs::create_symlink(parquet / "alltypes_dictionary.parquet",
                     out / "day=2026-11-27" / "part-00001-5b2d-c000.snappy.parquet");
  std::ofstream(out / "day=2026-11-27" / "part-00002-5b2d-c000.snappy.parquet");  // an empty task's file
  std::ofstream(out / "_SUCCESS");
  std::ofstream(out / "day=2026-11-26" / ".part-00000-5b2d-c000.snappy.parquet.crc") << "crc";
  std::ofstream(out / "_committed_123") << "{}";

  ProgramResult load = Load({"--table=daily", "--keys=id,timestamp_col", "--partition=day", out.string()});
  ASSERT_EQ(load.exit_code, 0) << load.err;
  EXPECT_THAT(load.out, HasSubstr("10 rows"));
  EXPECT_THAT(load.out, HasSubstr("read 2 file(s), skipped 1 empty part file(s)"));
  auto manifest = TableDirectory(data(), "daily").ReadManifest();
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  const Schema& schema = manifest->schema;
  ASSERT_TRUE(schema.partition_column().has_value());
  EXPECT_EQ(schema.partition_column()->type, ColumnType::kDate);  // typed from the folder names
  ServerProcess server(data(), {"--refresh_interval_ms=100"});
  ASSERT_TRUE(server.started());
  ReadOptions day26, day27;
  day26.column_values = {{"day", "2026-11-26"}};
  day27.column_values = {{"day", "2026-11-27"}};
  ExpectServedAsRead(server, "daily", parquet / "alltypes_plain.parquet", schema, day26);
  ExpectServedAsRead(server, "daily", parquet / "alltypes_dictionary.parquet", schema, day27);

  // A folder value that is not of the partition column's type is refused.
  const fs::path bad = scratch_.path() / "bad-output";
  fs::create_directories(bad / "day=yesterday");
  fs::create_symlink(parquet / "alltypes_plain.parquet", bad / "day=yesterday" / "part-00000.parquet");
  load = Load({"--table=daily", bad.string()});
  EXPECT_EQ(load.exit_code, 1);
  EXPECT_THAT(load.err, HasSubstr("column \"day\""));
}

// The folder stream source takes Parquet prediction files too, and with
// --extra_fields=ignore skips the columns the table lacks, naming them once.
TEST_F(SparkOutputsTest, ParquetFilesStreamIntoATable) {
  const fs::path parquet = kTestData / "parquet";
  // The table: Impala's alltypes with its year and month columns.
  ProgramResult load = Load({"--table=alltypes", "--keys=id,timestamp_col",
                             (parquet / "alltypes_tiny_pages.parquet").string()});
  ASSERT_EQ(load.exit_code, 0) << load.err;
  ServerProcess server(data(), {"--ingest", "--refresh_interval_ms=0"});
  ASSERT_TRUE(server.started());
  // alltypes_plain lacks year and month (nullable: null) and its rows
  // arrive as a stream.
  const fs::path folder = scratch_.path() / "landing";
  fs::create_directories(folder);
  fs::create_symlink(parquet / "alltypes_plain.parquet", folder / "2030-01-01T00-00.parquet");
  ProgramResult streamed = RunProgram({LoaderBinary(), "stream", "--table=alltypes", "--source=folder:" + folder.string(),
                                       "--files=predictions", "--server=" + server.target(), "--once"});
  ASSERT_EQ(streamed.exit_code, 0) << streamed.err;
  auto manifest = TableDirectory(data(), "alltypes").ReadManifest();
  ASSERT_TRUE(manifest.ok());
  ExpectServedAsRead(server, "alltypes", parquet / "alltypes_plain.parquet", manifest->schema, {},
                     v1::SOURCE_STREAM);

  // A Spark job's output folder moved into the landing folder is taken
  // once its job has committed (_SUCCESS), bookkeeping and empty parts
  // skipped.
  const fs::path job = folder / "2030-01-01T01-00-job";
  fs::create_directories(job);
  fs::create_symlink(parquet / "alltypes_dictionary.parquet", job / "part-00000-1f2e-c000.snappy.parquet");
  std::ofstream(job / "part-00001-1f2e-c000.snappy.parquet");  // an empty task's file
  std::ofstream(job / ".part-00000-1f2e-c000.snappy.parquet.crc") << "crc";
  auto stream_once = [&] {
    return RunProgram({LoaderBinary(), "stream", "--table=alltypes", "--source=folder:" + folder.string(),
                       "--files=predictions", "--server=" + server.target(), "--once"});
  };
  ProgramResult waiting = stream_once();
  ASSERT_EQ(waiting.exit_code, 0) << waiting.err;
  EXPECT_EQ(waiting.out, "");  // not committed yet: nothing sent
  std::ofstream(job / "_SUCCESS");
  ProgramResult committed = stream_once();
  ASSERT_EQ(committed.exit_code, 0) << committed.err;
  EXPECT_THAT(committed.out, HasSubstr("applied"));
  ExpectServedAsRead(server, "alltypes", parquet / "alltypes_dictionary.parquet", manifest->schema, {},
                     v1::SOURCE_STREAM);

  // A file with a column the table lacks stops the source, unless ignored.
  const fs::path other = scratch_.path() / "landing-extra";
  fs::create_directories(other);
  fs::create_symlink(parquet / "alltypes_tiny_pages.parquet", other / "2030-01-02T00-00.parquet");
  ProgramResult refused = RunProgram({LoaderBinary(), "stream", "--table=t2", "--source=folder:" + other.string(),
                                      "--files=predictions", "--server=" + server.target(), "--once"});
  EXPECT_NE(refused.exit_code, 0);
  ASSERT_EQ(Load({"--table=t2", "--keys=id:int64,timestamp_col:timestamp", "--values=double_col:double?",
                  "--extra_fields=ignore", (parquet / "alltypes_plain.parquet").string()})
                .exit_code,
            0);
  server.Stop();
  ServerProcess restarted(data(), {"--ingest", "--refresh_interval_ms=0"});
  ASSERT_TRUE(restarted.started());
  refused = RunProgram({LoaderBinary(), "stream", "--table=t2", "--source=folder:" + other.string(),
                        "--files=predictions", "--server=" + restarted.target(), "--once"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err, HasSubstr("column \"bool_col\" of the file is not in the table"));
  ProgramResult ignored = RunProgram({LoaderBinary(), "stream", "--table=t2", "--source=folder:" + other.string(),
                                      "--files=predictions", "--extra_fields=ignore",
                                      "--server=" + restarted.target(), "--once"});
  ASSERT_EQ(ignored.exit_code, 0) << ignored.err;
  EXPECT_THAT(ignored.err, HasSubstr("ignoring field \"bool_col\""));
  EXPECT_THAT(ignored.err, HasSubstr("ignoring field \"month\""));
}

// Delta tables written by Spark and delta-rs: the latest version (removes
// applied, partition values filled in from the log), an older one, and
// the refusal of a feature predstore does not implement.
TEST_F(SparkOutputsTest, DeltaTablesLoadTheirSnapshot) {
  const fs::path delta = kTestData / "delta";
  struct Case {
    std::string table;
    std::vector<std::string> schema;
    std::optional<int64_t> version;
  };
  const std::vector<Case> cases = {
      {"simple_table", {"--keys=id:int64", "--values=score:double?"}, std::nullopt},
      {"simple_table", {"--keys=id:int64", "--values=score:double?"}, 0},
      {"delta-0.8.0-partitioned", {"--keys=value:string,year:int64,month:int64,day:int64", "--values=x:double?"},
       std::nullopt},
      // k's null partition is a null in a nullable value column.
      {"delta-0.8.0-null-partition", {"--keys=v"}, std::nullopt},
      {"delta-2.2.0-partitioned-types", {"--keys=c3:int64,c1:int64,c2:string", "--values=x:double?"}, std::nullopt},
      {"simple_table_with_checkpoint", {"--keys=version:int64", "--values=x:double?", "--duplicates=last-wins"},
       std::nullopt},
  };
  int n = 0;
  for (const Case& c : cases) {
    const std::string table = "delta" + std::to_string(n++);
    std::vector<std::string> args = {"--table=" + table, (delta / c.table).string()};
    args.insert(args.end(), c.schema.begin(), c.schema.end());
    if (c.version) args.push_back("--delta_version=" + std::to_string(*c.version));
    ProgramResult load = Load(args);
    ASSERT_EQ(load.exit_code, 0) << c.table << ": " << load.err;
    auto snapshot = ReadDeltaSnapshot(delta / c.table, c.version);
    ASSERT_TRUE(snapshot.ok()) << snapshot.status();
    EXPECT_THAT(load.out, HasSubstr("read " + std::to_string(snapshot->files.size()) + " file(s)")) << c.table;
    ProgramResult versions = RunProgram({LoaderBinary(), "versions", "--data_dir=" + data().string(), "--table=" + table});
    EXPECT_THAT(versions.out, HasSubstr("from delta table " + (delta / c.table).string() + " version " +
                                        std::to_string(snapshot->version)));
  }
  // Every row of every file of the snapshot is served, with the partition
  // values the log gives (checked against the files read directly).
  ServerProcess server(data());
  ASSERT_TRUE(server.started());
  for (int i : {0, 2, 3, 4}) {
    const Case& c = cases[static_cast<size_t>(i)];
    auto manifest = TableDirectory(data(), "delta" + std::to_string(i)).ReadManifest();
    ASSERT_TRUE(manifest.ok());
    auto snapshot = ReadDeltaSnapshot(delta / c.table);
    ASSERT_TRUE(snapshot.ok());
    size_t rows = 0;
    for (const DeltaFile& file : snapshot->files) {
      ReadOptions options;
      options.column_values = file.partition_values;
      ExpectServedAsRead(server, "delta" + std::to_string(i), file.path, manifest->schema, options,
                         v1::SOURCE_PRECOMPUTED, &rows);
    }
    EXPECT_GT(rows, 0u) << c.table;
    EXPECT_EQ(manifest->Find(manifest->active_version)->row_count, rows) << c.table;
  }
  // Deletion vectors are refused, naming the feature; nothing is published.
  ProgramResult refused = Load({"--table=dv", "--keys=value:int64", "--values=x:double?",
                                (delta / "table-with-dv-small").string()});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err, HasSubstr("table-with-dv-small: the table uses deletion vectors"));
  EXPECT_FALSE(TableDirectory(data(), "dv").ReadManifest().ok());
}

// A Delta table as a stream source: the rows of every file each commit
// adds arrive as events at the commit's time, each exactly once.
TEST_F(SparkOutputsTest, ADeltaTableStreamsItsCommits) {
  const fs::path delta = kTestData / "delta" / "simple_table";
  std::ofstream(scratch_.path() / "seed.csv") << "id,score\n-1,0.5\n";
  ASSERT_EQ(Load({"--table=ids", "--keys=id:int64", "--values=score:double?", (scratch_.path() / "seed.csv").string()})
                .exit_code,
            0);
  ServerProcess server(data(), {"--ingest", "--refresh_interval_ms=0"});
  ASSERT_TRUE(server.started());
  auto stream = [&] {
    return RunProgram({LoaderBinary(), "stream", "--table=ids", "--source=delta:" + delta.string(),
                       "--server=" + server.target(), "--once", "--batch_size=7"});
  };
  ProgramResult first = stream();
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_THAT(first.out, HasSubstr("applied"));
  // Every file any commit added (removed later or not), read directly.
  auto latest = ReadDeltaSnapshot(delta);
  ASSERT_TRUE(latest.ok());
  auto manifest = TableDirectory(data(), "ids").ReadManifest();
  ASSERT_TRUE(manifest.ok());
  std::set<fs::path> files;
  for (int64_t v = 0; v <= latest->version; ++v) {
    auto snapshot = ReadDeltaSnapshot(delta, v);
    ASSERT_TRUE(snapshot.ok()) << snapshot.status();
    for (const DeltaFile& file : snapshot->files) files.insert(file.path);
  }
  size_t rows = 0;
  for (const fs::path& file : files) {
    ExpectServedAsRead(server, "ids", file, manifest->schema, {}, v1::SOURCE_STREAM, &rows);
  }
  EXPECT_GT(rows, 0u);
  // Run again: nothing new is sent.
  ProgramResult second = stream();
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(second.out, "");
}

}  // namespace
}  // namespace predstore::testing
