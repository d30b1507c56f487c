// What Spark and other Parquet writers produce, loaded by the real loader
// and served by the real server: every row of a real parquet-testing file
// answers a lookup with the values the Parquet reader reads from it (the
// reader's values are checked against upstream's in core.ingest).
#include <fstream>

#include "client/predstore_client.h"
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
  // up on `server` in table `table`: found, with the same values.
  void ExpectServedAsRead(const ServerProcess& server, const std::string& table, const fs::path& path,
                          const Schema& schema, const ReadOptions& options = {}) {
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
    EXPECT_GT(rows, 0u);
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

}  // namespace
}  // namespace predstore::testing
