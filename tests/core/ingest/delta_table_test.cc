// The Delta log reader against delta-rs's test tables (read in place from
// shared/testdata/delta), with expectations taken by hand from their
// _delta_log files, and against small logs written here for the cases the
// real tables lack (gaps, corrupt lines, refused features, time travel,
// cleaned-up logs, multi-part and v2 checkpoints).
#include "core/ingest/delta_table.h"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/base/strings.h"
#include "core/parquet/file_reader.h"
#include "core/parquet/nested_reader.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/scratch_dir.h"
#include "tests/support/status_matchers.h"

namespace predstore {
namespace {

namespace fs = std::filesystem;
using test_support::ScratchDir;
using test_support::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;

const fs::path kDeltaDir = fs::path(PREDSTORE_TESTDATA_DIR) / "delta";

using PartitionValues = std::vector<std::pair<std::string, std::optional<std::string>>>;

// The snapshot's data file names, relative to `table`.
std::vector<std::string> FileNames(const DeltaSnapshot& snapshot, const fs::path& table) {
  std::vector<std::string> names;
  for (const DeltaFile& file : snapshot.files) names.push_back(file.path.lexically_relative(table).string());
  return names;
}

// The file whose path ends in `suffix`; fails the test when none does.
const DeltaFile* FindFile(const DeltaSnapshot& snapshot, std::string_view suffix) {
  for (const DeltaFile& file : snapshot.files) {
    const std::string path = file.path.string();
    if (path.size() >= suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0) {
      return &file;
    }
  }
  ADD_FAILURE() << "no file ending in " << suffix;
  return nullptr;
}

std::string CommitName(int64_t version) {
  std::string digits = std::to_string(version);
  return std::string(20 - digits.size(), '0') + digits + ".json";
}

// ---- Real tables ------------------------------------------------------------

TEST(DeltaTableTest, RecognizesTables) {
  EXPECT_TRUE(IsDeltaTable(kDeltaDir / "simple_table"));
  EXPECT_FALSE(IsDeltaTable(kDeltaDir));
  EXPECT_FALSE(IsDeltaTable(kDeltaDir / "no-such-table"));
  EXPECT_THAT(ReadDeltaSnapshot(kDeltaDir / "no-such-table"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("not a Delta table")));
}

TEST(DeltaTableTest, Delta080AppliesTheRemoveOfVersion1) {
  const fs::path table = kDeltaDir / "delta-0.8.0";
  ASSERT_OK_AND_ASSIGN(DeltaSnapshot snapshot, ReadDeltaSnapshot(table));
  EXPECT_EQ(snapshot.version, 1);
  EXPECT_EQ(snapshot.timestamp_ms, 1615043776199);  // commitInfo.timestamp of version 1
  EXPECT_EQ(snapshot.table_id, "c48a3abf-ea47-498b-b173-52ce534e8dab");
  EXPECT_THAT(snapshot.partition_columns, IsEmpty());
  ASSERT_EQ(snapshot.columns.size(), 1u);
  EXPECT_EQ(snapshot.columns[0].name, "value");
  EXPECT_EQ(snapshot.columns[0].type, "integer");
  EXPECT_TRUE(snapshot.columns[0].nullable);
  EXPECT_THAT(snapshot.schema_string, HasSubstr("\"name\":\"value\""));
  EXPECT_THAT(snapshot.checkpoint_files, IsEmpty());
  EXPECT_EQ(snapshot.min_reader_version, 1);
  // Version 1 removed part-00001-911a94a2 and added part-00000-04ec9591.
  EXPECT_THAT(FileNames(snapshot, table),
              ElementsAre("part-00000-04ec9591-0b73-459e-8d18-ba5711d6cbe1-c000.snappy.parquet",
                          "part-00000-c9b90f86-73e6-46c8-93ba-ff6bfaf892a1-c000.snappy.parquet"));
  EXPECT_EQ(snapshot.files[0].size, 440);
  EXPECT_EQ(snapshot.files[0].path, table / "part-00000-04ec9591-0b73-459e-8d18-ba5711d6cbe1-c000.snappy.parquet");
  EXPECT_TRUE(fs::exists(snapshot.files[0].path));

  ASSERT_OK_AND_ASSIGN(DeltaSnapshot first, ReadDeltaSnapshot(table, 0));
  EXPECT_EQ(first.version, 0);
  EXPECT_EQ(first.timestamp_ms, 1615043767813);
  EXPECT_THAT(FileNames(first, table),
              ElementsAre("part-00000-c9b90f86-73e6-46c8-93ba-ff6bfaf892a1-c000.snappy.parquet",
                          "part-00001-911a94a2-43f6-4acb-8620-5e68c2654989-c000.snappy.parquet"));
  EXPECT_EQ(first.files[1].size, 445);

  EXPECT_THAT(ReadDeltaSnapshot(table, 2), StatusIs(absl::StatusCode::kNotFound, HasSubstr("latest is 1")));
}

TEST(DeltaTableTest, PartitionedTableHasValuesPerFile) {
  const fs::path table = kDeltaDir / "delta-0.8.0-partitioned";
  ASSERT_OK_AND_ASSIGN(DeltaSnapshot snapshot, ReadDeltaSnapshot(table));
  EXPECT_EQ(snapshot.version, 0);
  EXPECT_THAT(snapshot.partition_columns, ElementsAre("year", "month", "day"));
  ASSERT_EQ(snapshot.files.size(), 6u);
  const DeltaFile* file =
      FindFile(snapshot, "year=2021/month=12/day=4/part-00000-6dc763c0-3e8b-4d52-b19e-1f92af3fbb25.c000.snappy.parquet");
  ASSERT_NE(file, nullptr);
  EXPECT_THAT(file->partition_values,
              ElementsAre(Pair("year", "2021"), Pair("month", "12"), Pair("day", "4")));
  EXPECT_EQ(file->size, 414);
  file = FindFile(snapshot, "year=2021/month=12/day=20/part-00000-9275fdf4-3961-4184-baa0-1c8a2bb98104.c000.snappy.parquet");
  ASSERT_NE(file, nullptr);
  EXPECT_THAT(file->partition_values, ElementsAre(Pair("year", "2021"), Pair("month", "12"), Pair("day", "20")));
  EXPECT_EQ(file->size, 407);
  // Sorted by path.
  EXPECT_EQ(FileNames(snapshot, table).front(),
            "year=2020/month=1/day=1/part-00000-8eafa330-3be9-4a39-ad78-fd13c2027c7e.c000.snappy.parquet");
}

TEST(DeltaTableTest, NullPartitionValueIsNullopt) {
  const fs::path table = kDeltaDir / "delta-0.8.0-null-partition";
  ASSERT_OK_AND_ASSIGN(DeltaSnapshot snapshot, ReadDeltaSnapshot(table));
  EXPECT_THAT(snapshot.partition_columns, ElementsAre("k"));
  ASSERT_EQ(snapshot.files.size(), 2u);
  EXPECT_EQ(FileNames(snapshot, table)[0], "k=A/part-00000-b1f1dbbb-70bc-4970-893f-9bb772bf246e.c000.snappy.parquet");
  EXPECT_THAT(snapshot.files[0].partition_values, ElementsAre(Pair("k", std::optional<std::string>("A"))));
  EXPECT_EQ(FileNames(snapshot, table)[1],
            "k=__HIVE_DEFAULT_PARTITION__/part-00001-8474ac85-360b-4f58-b3ea-23990c71b932.c000.snappy.parquet");
  EXPECT_THAT(snapshot.files[1].partition_values, ElementsAre(Pair("k", std::nullopt)));
  ASSERT_EQ(snapshot.columns.size(), 2u);
  EXPECT_EQ(snapshot.columns[1].name, "v");
  EXPECT_EQ(snapshot.columns[1].type, "long");
}

TEST(DeltaTableTest, PartitionedTypesTable) {
  const fs::path table = kDeltaDir / "delta-2.2.0-partitioned-types";
  ASSERT_OK_AND_ASSIGN(DeltaSnapshot snapshot, ReadDeltaSnapshot(table));
  EXPECT_EQ(snapshot.table_id, "aff5cb91-8cd9-4195-aef9-446908507302");
  EXPECT_THAT(snapshot.partition_columns, ElementsAre("c1", "c2"));
  ASSERT_EQ(snapshot.columns.size(), 3u);
  EXPECT_EQ(snapshot.columns[0].type, "integer");
  EXPECT_EQ(snapshot.columns[1].type, "string");
  EXPECT_THAT(FileNames(snapshot, table),
              ElementsAre("c1=4/c2=c/part-00003-f525f459-34f9-46f5-82d6-d42121d883fd.c000.snappy.parquet",
                          "c1=5/c2=b/part-00007-4e73fa3b-2c88-424a-8051-f8b54328ffdb.c000.snappy.parquet",
                          "c1=6/c2=a/part-00011-10619b10-b691-4fd0-acc4-2a9608499d7c.c000.snappy.parquet"));
  EXPECT_THAT(snapshot.files[1].partition_values, ElementsAre(Pair("c1", "5"), Pair("c2", "b")));
  EXPECT_EQ(snapshot.files[2].size, 452);
}

TEST(DeltaTableTest, SimpleTableReplaysFiveCommits) {
  const fs::path table = kDeltaDir / "simple_table";
  // _delta_log/.tmp/00000000000000000005.json is not a commit.
  ASSERT_OK_AND_ASSIGN(DeltaSnapshot latest, ReadDeltaSnapshot(table));
  EXPECT_EQ(latest.version, 4);
  EXPECT_EQ(latest.timestamp_ms, 1587968626537);
  EXPECT_THAT(FileNames(latest, table),
              ElementsAre("part-00000-2befed33-c358-4768-a43c-3eda0d2a499d-c000.snappy.parquet",
                          "part-00000-c1777d7d-89d9-4790-b38a-6ee7e24456b1-c000.snappy.parquet",
                          "part-00001-7891c33d-cedc-47c3-88a6-abcfb049d3b4-c000.snappy.parquet",
                          "part-00004-315835fe-fb44-4562-98f6-5e6cfa3ae45d-c000.snappy.parquet",
                          "part-00007-3a0e4727-de0d-41b6-81ef-5223cf40f025-c000.snappy.parquet"));
  // Version 0 added 6 files; version 1 removed 5 of them and added 21.
  ASSERT_OK_AND_ASSIGN(DeltaSnapshot v0, ReadDeltaSnapshot(table, 0));
  EXPECT_EQ(v0.files.size(), 6u);
  ASSERT_OK_AND_ASSIGN(DeltaSnapshot v1, ReadDeltaSnapshot(table, 1));
  EXPECT_EQ(v1.files.size(), 22u);
  EXPECT_NE(FindFile(v1, "part-00000-a72b1fb3-f2df-41fe-a8f0-e65b746382dd-c000.snappy.parquet"), nullptr);
  // Version 2 removed all 22 and added 6; version 3 replaced 2 of them.
  ASSERT_OK_AND_ASSIGN(DeltaSnapshot v2, ReadDeltaSnapshot(table, 2));
  EXPECT_EQ(v2.files.size(), 6u);
  ASSERT_OK_AND_ASSIGN(DeltaSnapshot v3, ReadDeltaSnapshot(table, 3));
  EXPECT_EQ(v3.files.size(), 6u);
  EXPECT_NE(FindFile(v3, "part-00000-f17fcbf5-e0dc-40ba-adae-ce66d1fcaef6-c000.snappy.parquet"), nullptr);
  EXPECT_EQ(FindFile(v3, "part-00000-f17fcbf5-e0dc-40ba-adae-ce66d1fcaef6-c000.snappy.parquet")->size, 429);
}

TEST(DeltaTableTest, SimpleTableTimeTravelByTimestamp) {
  const fs::path table = kDeltaDir / "simple_table";
  // Commit times (commitInfo.timestamp): v2 1587968604143, v3 1587968614187.
  ASSERT_OK_AND_ASSIGN(DeltaSnapshot between, ReadDeltaSnapshot(table, std::nullopt, 1587968610000));
  EXPECT_EQ(between.version, 2);
  EXPECT_EQ(between.timestamp_ms, 1587968604143);
  ASSERT_OK_AND_ASSIGN(DeltaSnapshot exact, ReadDeltaSnapshot(table, std::nullopt, 1587968614187));
  EXPECT_EQ(exact.version, 3);
  ASSERT_OK_AND_ASSIGN(DeltaSnapshot later, ReadDeltaSnapshot(table, std::nullopt, int64_t{4'000'000'000'000}));
  EXPECT_EQ(later.version, 4);
  EXPECT_THAT(ReadDeltaSnapshot(table, std::nullopt, 1587968586153),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no version at or before")));
  EXPECT_THAT(ReadDeltaSnapshot(table, 1, 1587968586153), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not both")));
}

TEST(DeltaTableTest, CheckpointedTableStartsFromItsCheckpoint) {
  const fs::path table = kDeltaDir / "simple_table_with_checkpoint";
  ASSERT_OK_AND_ASSIGN(DeltaSnapshot snapshot, ReadDeltaSnapshot(table));
  EXPECT_EQ(snapshot.version, 10);
  EXPECT_EQ(snapshot.timestamp_ms, 1615751716705);  // from 00000000000000000010.json
  EXPECT_THAT(snapshot.checkpoint_files,
              ElementsAre(table / "_delta_log" / "00000000000000000010.checkpoint.parquet"));
  EXPECT_EQ(snapshot.table_id, "cf3741a3-5f93-434f-99ac-9a4bebcdf06c");
  ASSERT_EQ(snapshot.columns.size(), 1u);
  EXPECT_EQ(snapshot.columns[0].name, "version");
  // Eleven appends of one 442-byte file each.
  ASSERT_EQ(snapshot.files.size(), 11u);
  for (const DeltaFile& file : snapshot.files) {
    EXPECT_EQ(file.size, 442);
    EXPECT_TRUE(fs::exists(file.path)) << file.path;
  }
  EXPECT_NE(FindFile(snapshot, "part-00000-f0e955c5-a1e3-4eec-834e-dcc098fc9005-c000.snappy.parquet"), nullptr);
  EXPECT_NE(FindFile(snapshot, "part-00000-3810fbe0-9892-431d-bcfd-7de5788dfe8d-c000.snappy.parquet"), nullptr);

  // Before the checkpoint: replayed from commit 0.
  ASSERT_OK_AND_ASSIGN(DeltaSnapshot v9, ReadDeltaSnapshot(table, 9));
  EXPECT_THAT(v9.checkpoint_files, IsEmpty());
  EXPECT_EQ(v9.files.size(), 10u);
  EXPECT_EQ(v9.timestamp_ms, 1615751706703);
  ASSERT_OK_AND_ASSIGN(DeltaSnapshot v4, ReadDeltaSnapshot(table, 4));
  EXPECT_EQ(v4.files.size(), 5u);
  EXPECT_NE(FindFile(v4, "part-00000-e93060ad-9c8c-4170-a9da-7c6f53f6406b-c000.snappy.parquet"), nullptr);
}

TEST(DeltaTableTest, LogOnlyTableWithEqualCommitTimes) {
  const fs::path table = kDeltaDir / "checkpoints";  // twelve appends, no checkpoint file
  ASSERT_OK_AND_ASSIGN(DeltaSnapshot snapshot, ReadDeltaSnapshot(table));
  EXPECT_EQ(snapshot.version, 12);
  EXPECT_THAT(snapshot.partition_columns, ElementsAre("date"));
  ASSERT_EQ(snapshot.files.size(), 12u);
  int june1 = 0, june2 = 0, june3 = 0;
  for (const DeltaFile& file : snapshot.files) {
    ASSERT_EQ(file.partition_values.size(), 1u);
    const std::string value = file.partition_values[0].second.value_or("<null>");
    june1 += value == "2020-06-01";
    june2 += value == "2020-06-02";
    june3 += value == "2020-06-03";
  }
  EXPECT_EQ(june1, 6);  // versions 1-6
  EXPECT_EQ(june2, 2);  // versions 7-8
  EXPECT_EQ(june3, 4);  // versions 9-12
  ASSERT_EQ(snapshot.columns.size(), 4u);
  EXPECT_EQ(snapshot.columns[0].name, "some_struct");
  EXPECT_EQ(snapshot.columns[0].type, "struct");
  EXPECT_EQ(snapshot.columns[2].type, "timestamp");
  // Versions 11 and 12 share commit time 1627668712228: the later wins.
  ASSERT_OK_AND_ASSIGN(DeltaSnapshot at, ReadDeltaSnapshot(table, std::nullopt, 1627668712228));
  EXPECT_EQ(at.version, 12);
  ASSERT_OK_AND_ASSIGN(DeltaSnapshot before, ReadDeltaSnapshot(table, std::nullopt, 1627668712227));
  EXPECT_EQ(before.version, 10);
  EXPECT_EQ(before.files.size(), 10u);
}

TEST(DeltaTableTest, RefusesDeletionVectors) {
  const fs::path table = kDeltaDir / "table-with-dv-small";
  EXPECT_THAT(ReadDeltaSnapshot(table), StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("deletion vectors")));
  // Version 0 has no deletion vector yet, but its protocol lists the feature.
  EXPECT_THAT(ReadDeltaSnapshot(table, 0), StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("deletionVectors")));
}

// The nested-leaf assembly checkpoints rely on, on a pyarrow file with
// list<int64> and list<string> columns (upstream's list_columns.parquet:
// [[1,2,3], [null,1], [4]] and [[abc,efg,hij], null, [efg,null,hij,xyz]]).
// It belongs with the core_parquet tests; it lives here for now.
TEST(DeltaTableTest, NestedLeafChunkAssemblesLists) {
  parquet::ParquetOpenOptions options;
  options.nested = true;
  ASSERT_OK_AND_ASSIGN(auto file, parquet::ParquetFile::Open(
                                      (fs::path(PREDSTORE_TESTDATA_DIR) / "parquet" / "list_columns.parquet").string(),
                                      options));
  const int ints = file->ColumnIndex("int64_list.list.item");
  const int strings = file->ColumnIndex("utf8_list.list.item");
  ASSERT_GE(ints, 0);
  ASSERT_GE(strings, 0);
  EXPECT_EQ(file->columns()[static_cast<size_t>(strings)].max_definition_level, 3);
  EXPECT_EQ(file->columns()[static_cast<size_t>(strings)].max_repetition_level, 1);
  ASSERT_OK_AND_ASSIGN(auto int_chunk, parquet::NestedLeafChunk::Read(*file, 0, ints));
  ASSERT_OK_AND_ASSIGN(auto string_chunk, parquet::NestedLeafChunk::Read(*file, 0, strings));
  ASSERT_EQ(int_chunk.rows(), 3);
  auto int_row = [&](int64_t row) {
    std::vector<std::string> out;
    auto range = int_chunk.Elements(row);
    for (size_t e = range.begin; e < range.end; ++e) {
      out.push_back(int_chunk.has_value(e) ? std::to_string(int_chunk.int64(e)) : "null");
    }
    return out;
  };
  EXPECT_THAT(int_row(0), ElementsAre("1", "2", "3"));
  EXPECT_THAT(int_row(1), ElementsAre("null", "1"));
  EXPECT_THAT(int_row(2), ElementsAre("4"));
  auto string_row = [&](int64_t row) {
    std::vector<std::string> out;
    auto range = string_chunk.Elements(row);
    for (size_t e = range.begin; e < range.end; ++e) {
      out.push_back(string_chunk.has_value(e) ? std::string(string_chunk.bytes(e)) : "null");
    }
    return out;
  };
  EXPECT_THAT(string_row(0), ElementsAre("abc", "efg", "hij"));
  EXPECT_THAT(string_row(1), IsEmpty());
  EXPECT_FALSE(string_chunk.DefinedAt(1, 0));  // the list itself is null
  EXPECT_TRUE(string_chunk.DefinedAt(0, 0));
  EXPECT_THAT(string_row(2), ElementsAre("efg", "null", "hij", "xyz"));
  // Without the option the same file is refused as nested.
  EXPECT_THAT(parquet::ParquetFile::Open(
                  (fs::path(PREDSTORE_TESTDATA_DIR) / "parquet" / "list_columns.parquet").string()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("nested")));
}

// ---- Synthetic logs ---------------------------------------------------------

constexpr char kProtocol[] = R"({"protocol":{"minReaderVersion":1,"minWriterVersion":2}})";
constexpr char kMetadata[] =
    R"({"metaData":{"id":"t1","format":{"provider":"parquet","options":{}},)"
    R"("schemaString":"{\"type\":\"struct\",\"fields\":[{\"name\":\"id\",\"type\":\"long\",\"nullable\":false,\"metadata\":{}},)"
    R"({\"name\":\"p\",\"type\":\"string\",\"nullable\":true,\"metadata\":{}},)"
    R"({\"name\":\"d\",\"type\":\"decimal(10,2)\",\"nullable\":true,\"metadata\":{}}]}",)"
    R"("partitionColumns":["p"],"configuration":{},"createdTime":1}})";

std::string CommitInfo(int64_t time) { return StrCat(R"({"commitInfo":{"timestamp":)", time, "}}"); }

std::string Add(std::string_view path, std::string_view partition = R"("x")") {
  return StrCat(R"({"add":{"path":")", path, R"(","partitionValues":{"p":)", partition,
                R"(},"size":10,"modificationTime":1,"dataChange":true}})");
}

std::string Remove(std::string_view path) {
  return StrCat(R"({"remove":{"path":")", path, R"(","deletionTimestamp":1,"dataChange":true}})");
}

// A table directory with an empty _delta_log.
class SyntheticLogTest : public ::testing::Test {
 protected:
  SyntheticLogTest() { fs::create_directories(log()); }
  fs::path table() const { return scratch_.path(); }
  fs::path log() const { return scratch_.path() / "_delta_log"; }
  void Commit(int64_t version, const std::vector<std::string>& lines) {
    std::string text;
    for (const std::string& line : lines) StrAppend(&text, line, "\n");
    scratch_.WriteFile(StrCat("_delta_log/", CommitName(version)), text);
  }
  void CopyFromTable(std::string_view table, std::string_view name, std::string_view as) {
    fs::create_directories((log() / as).parent_path());
    fs::copy_file(kDeltaDir / table / "_delta_log" / name, log() / as);
  }

  ScratchDir scratch_;
};

TEST_F(SyntheticLogTest, ReplaysAddsRemovesAndReAdds) {
  Commit(0, {CommitInfo(1000), kProtocol, kMetadata, Add("p=x/a.parquet"), Add("p=x/b.parquet"),
             Add("p=y/c%20d.parquet", R"("y")"), Add("e.parquet", R"("")"), Add("file:///data/abs.parquet", "null")});
  Commit(1, {CommitInfo(2000), Remove("p=x/a.parquet")});
  Commit(2, {CommitInfo(3000), Add("p=x/a.parquet")});  // re-added: present again
  ASSERT_OK_AND_ASSIGN(DeltaSnapshot snapshot, ReadDeltaSnapshot(table()));
  EXPECT_EQ(snapshot.version, 2);
  EXPECT_EQ(snapshot.timestamp_ms, 3000);
  ASSERT_EQ(snapshot.columns.size(), 3u);
  EXPECT_EQ(snapshot.columns[0].type, "long");
  EXPECT_FALSE(snapshot.columns[0].nullable);
  EXPECT_EQ(snapshot.columns[2].type, "decimal(10,2)");
  ASSERT_EQ(snapshot.files.size(), 5u);
  EXPECT_EQ(snapshot.files[0].path, fs::path("/data/abs.parquet"));
  EXPECT_THAT(snapshot.files[0].partition_values, ElementsAre(Pair("p", std::nullopt)));
  // Sorted by path; relative paths are URI-decoded and joined to the table.
  std::vector<std::string> relative = FileNames(snapshot, table());
  relative.erase(relative.begin());
  EXPECT_THAT(relative, ElementsAre("e.parquet", "p=x/a.parquet", "p=x/b.parquet", "p=y/c d.parquet"));
  // An empty string is a null partition value (PROTOCOL.md).
  EXPECT_THAT(snapshot.files[1].partition_values, ElementsAre(Pair("p", std::nullopt)));
  EXPECT_THAT(snapshot.files[4].partition_values, ElementsAre(Pair("p", "y")));

  ASSERT_OK_AND_ASSIGN(DeltaSnapshot v1, ReadDeltaSnapshot(table(), 1));
  EXPECT_EQ(v1.files.size(), 4u);
  EXPECT_EQ(v1.timestamp_ms, 2000);
}

TEST_F(SyntheticLogTest, TimestampPartitionValuesAreGivenAsRfc3339) {
  std::string metadata = kMetadata;
  metadata.replace(metadata.find(R"(\"name\":\"p\",\"type\":\"string\")"),
                   std::string_view(R"(\"name\":\"p\",\"type\":\"string\")").size(),
                   R"(\"name\":\"p\",\"type\":\"timestamp\")");
  Commit(0, {CommitInfo(1000), kProtocol, metadata, Add("a.parquet", R"("2021-12-04 10:00:00")"),
             Add("b.parquet", R"("2021-12-04 10:00:00.123456")"), Add("c.parquet", R"("2021-12-04T10:00:00Z")")});
  ASSERT_OK_AND_ASSIGN(DeltaSnapshot snapshot, ReadDeltaSnapshot(table()));
  ASSERT_EQ(snapshot.files.size(), 3u);
  EXPECT_THAT(snapshot.files[0].partition_values, ElementsAre(Pair("p", "2021-12-04T10:00:00Z")));
  EXPECT_THAT(snapshot.files[1].partition_values, ElementsAre(Pair("p", "2021-12-04T10:00:00.123456Z")));
  EXPECT_THAT(snapshot.files[2].partition_values, ElementsAre(Pair("p", "2021-12-04T10:00:00Z")));
}

TEST_F(SyntheticLogTest, RefusesRemoteDataPaths) {
  Commit(0, {CommitInfo(1000), kProtocol, kMetadata, Add("s3://bucket/table/a.parquet")});
  EXPECT_THAT(ReadDeltaSnapshot(table()),
              StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("only local tables")));
}

TEST_F(SyntheticLogTest, RefusesPathsLeavingTheTable) {
  Commit(0, {CommitInfo(1000), kProtocol, kMetadata, Add("../elsewhere/a.parquet")});
  EXPECT_THAT(ReadDeltaSnapshot(table()),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("leaves the table directory")));
}

TEST_F(SyntheticLogTest, VersionGapIsAnError) {
  Commit(0, {CommitInfo(1000), kProtocol, kMetadata, Add("a.parquet")});
  Commit(1, {CommitInfo(2000), Add("b.parquet")});
  Commit(3, {CommitInfo(4000), Add("d.parquet")});
  EXPECT_THAT(ReadDeltaSnapshot(table()),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("commit 2 (00000000000000000002.json) is missing")));
  // Versions before the gap still read.
  ASSERT_OK_AND_ASSIGN(DeltaSnapshot v1, ReadDeltaSnapshot(table(), 1));
  EXPECT_EQ(v1.files.size(), 2u);
}

TEST_F(SyntheticLogTest, MissingFirstCommitWithoutCheckpointIsAnError) {
  Commit(1, {CommitInfo(2000), kProtocol, kMetadata, Add("b.parquet")});
  EXPECT_THAT(ReadDeltaSnapshot(table()), StatusIs(absl::StatusCode::kDataLoss, HasSubstr("commit 0")));
}

TEST_F(SyntheticLogTest, CorruptJsonNamesFileAndLine) {
  Commit(0, {CommitInfo(1000), kProtocol, kMetadata, Add("a.parquet")});
  Commit(1, {CommitInfo(2000), R"({"add":{"path":"b.parquet",)"});
  EXPECT_THAT(ReadDeltaSnapshot(table()),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("_delta_log/00000000000000000001.json: line 2: invalid JSON")));
  Commit(1, {CommitInfo(2000), R"({"add":{"partitionValues":{},"size":1}})"});
  EXPECT_THAT(ReadDeltaSnapshot(table()),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("line 2: add action without a string \"path\"")));
}

TEST_F(SyntheticLogTest, RefusesColumnMapping) {
  Commit(0, {CommitInfo(1000), R"({"protocol":{"minReaderVersion":2,"minWriterVersion":5}})",
             R"({"metaData":{"id":"t","format":{"provider":"parquet"},"schemaString":"{\"type\":\"struct\",\"fields\":[]}",)"
             R"("partitionColumns":[],"configuration":{"delta.columnMapping.mode":"name"}}})",
             Add("a.parquet")});
  EXPECT_THAT(ReadDeltaSnapshot(table()),
              StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("column mapping (delta.columnMapping.mode = name)")));
}

TEST_F(SyntheticLogTest, ColumnMappingModeNoneIsRead) {
  Commit(0, {CommitInfo(1000),
             R"({"protocol":{"minReaderVersion":3,"minWriterVersion":7,"readerFeatures":["columnMapping","timestampNtz"],)"
             R"("writerFeatures":["columnMapping","timestampNtz"]}})",
             R"({"metaData":{"id":"t","format":{"provider":"parquet"},)"
             R"("schemaString":"{\"type\":\"struct\",\"fields\":[{\"name\":\"t\",\"type\":\"timestamp_ntz\",\"nullable\":true,\"metadata\":{}}]}",)"
             R"("partitionColumns":[],"configuration":{"delta.columnMapping.mode":"none"}}})",
             Add("a.parquet")});
  ASSERT_OK_AND_ASSIGN(DeltaSnapshot snapshot, ReadDeltaSnapshot(table()));
  EXPECT_THAT(snapshot.reader_features, ElementsAre("columnMapping", "timestampNtz"));
  EXPECT_EQ(snapshot.min_reader_version, 3);
  EXPECT_THAT(snapshot.configuration, ElementsAre(Pair("delta.columnMapping.mode", "none")));
  ASSERT_EQ(snapshot.columns.size(), 1u);
  EXPECT_EQ(snapshot.columns[0].type, "timestamp_ntz");
}

TEST_F(SyntheticLogTest, RefusesUnknownReaderFeatureAndNewerReaderVersion) {
  Commit(0, {CommitInfo(1000),
             R"({"protocol":{"minReaderVersion":3,"minWriterVersion":7,"readerFeatures":["timestampNtz","fancyFeature"],)"
             R"("writerFeatures":[]}})",
             kMetadata, Add("a.parquet")});
  EXPECT_THAT(ReadDeltaSnapshot(table()),
              StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("reader feature \"fancyFeature\"")));
  Commit(1, {CommitInfo(2000), R"({"protocol":{"minReaderVersion":4,"minWriterVersion":7}})"});
  EXPECT_THAT(ReadDeltaSnapshot(table()),
              StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("reader version 4")));
}

TEST_F(SyntheticLogTest, RefusesDeletionVectorOnAnAdd) {
  Commit(0, {CommitInfo(1000), kProtocol, kMetadata,
             R"({"add":{"path":"a.parquet","partitionValues":{"p":"x"},"size":1,"modificationTime":1,"dataChange":true,)"
             R"("deletionVector":{"storageType":"i","pathOrInlineDv":"abc","sizeInBytes":3,"cardinality":1}}})"});
  EXPECT_THAT(ReadDeltaSnapshot(table()),
              StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("deletion vectors (data file \"a.parquet\"")));
}

TEST_F(SyntheticLogTest, TimestampTravel) {
  Commit(0, {CommitInfo(1000), kProtocol, kMetadata, Add("a.parquet")});
  Commit(1, {CommitInfo(2000), Add("b.parquet")});
  // An in-commit timestamp wins over the wall-clock one.
  Commit(2, {R"({"commitInfo":{"timestamp":9999,"inCommitTimestamp":3000}})", Add("c.parquet")});
  // A clock running backwards: version 3 counts as committed at 3000.
  Commit(3, {CommitInfo(2500), Add("d.parquet")});
  Commit(4, {CommitInfo(5000), Add("e.parquet")});
  auto version_at = [&](int64_t time) -> int64_t {
    auto snapshot = ReadDeltaSnapshot(table(), std::nullopt, time);
    return snapshot.ok() ? snapshot->version : -1;
  };
  EXPECT_EQ(version_at(999), -1);
  EXPECT_EQ(version_at(1000), 0);
  EXPECT_EQ(version_at(1999), 0);
  EXPECT_EQ(version_at(2000), 1);
  EXPECT_EQ(version_at(2600), 1);
  EXPECT_EQ(version_at(3000), 3);
  EXPECT_EQ(version_at(4999), 3);
  EXPECT_EQ(version_at(6000), 4);
  ASSERT_OK_AND_ASSIGN(DeltaSnapshot v2, ReadDeltaSnapshot(table(), std::nullopt, 3000 - 1));
  EXPECT_EQ(v2.version, 1);
  EXPECT_EQ(v2.files.size(), 2u);
}

TEST_F(SyntheticLogTest, CleanedUpLogStartsAtItsCheckpoint) {
  // simple_table_with_checkpoint after metadata cleanup: only the
  // checkpoint at 10 and the commits from 10 on remain.
  CopyFromTable("simple_table_with_checkpoint", "00000000000000000010.checkpoint.parquet",
                "00000000000000000010.checkpoint.parquet");
  CopyFromTable("simple_table_with_checkpoint", "00000000000000000010.json", "00000000000000000010.json");
  Commit(11, {CommitInfo(1615751800000), Remove("part-00000-3810fbe0-9892-431d-bcfd-7de5788dfe8d-c000.snappy.parquet")});
  ASSERT_OK_AND_ASSIGN(DeltaSnapshot snapshot, ReadDeltaSnapshot(table()));
  EXPECT_EQ(snapshot.version, 11);
  EXPECT_EQ(snapshot.files.size(), 10u);
  EXPECT_THAT(snapshot.checkpoint_files, ElementsAre(log() / "00000000000000000010.checkpoint.parquet"));
  ASSERT_OK_AND_ASSIGN(DeltaSnapshot v10, ReadDeltaSnapshot(table(), 10));
  EXPECT_EQ(v10.files.size(), 11u);
  EXPECT_EQ(v10.timestamp_ms, 1615751716705);
  EXPECT_THAT(ReadDeltaSnapshot(table(), 9), StatusIs(absl::StatusCode::kNotFound, HasSubstr("cleaned up")));
  EXPECT_THAT(ReadDeltaSnapshot(table(), std::nullopt, 1615751716704),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no version at or before")));
  ASSERT_OK_AND_ASSIGN(DeltaSnapshot at, ReadDeltaSnapshot(table(), std::nullopt, 1615751716705));
  EXPECT_EQ(at.version, 10);
}

TEST_F(SyntheticLogTest, MultiPartCheckpoint) {
  // Part 1 of 2 is a real checkpoint; part 2 a Parquet file with no action
  // columns (missing columns read as null, PROTOCOL.md "Checkpoints").
  CopyFromTable("simple_table_with_checkpoint", "00000000000000000010.checkpoint.parquet",
                "00000000000000000010.checkpoint.0000000001.0000000002.parquet");
  fs::copy_file(fs::path(PREDSTORE_TESTDATA_DIR) / "parquet" / "alltypes_plain.parquet",
                log() / "00000000000000000010.checkpoint.0000000002.0000000002.parquet");
  ASSERT_OK_AND_ASSIGN(DeltaSnapshot snapshot, ReadDeltaSnapshot(table()));
  EXPECT_EQ(snapshot.version, 10);
  EXPECT_EQ(snapshot.files.size(), 11u);
  EXPECT_THAT(snapshot.checkpoint_files,
              ElementsAre(log() / "00000000000000000010.checkpoint.0000000001.0000000002.parquet",
                          log() / "00000000000000000010.checkpoint.0000000002.0000000002.parquet"));
}

TEST_F(SyntheticLogTest, IncompleteMultiPartCheckpointIsIgnored) {
  for (int version = 0; version <= 10; ++version) {
    CopyFromTable("simple_table_with_checkpoint", CommitName(version), CommitName(version));
  }
  // Part 1 of 3 only: being written, or its writer failed.
  CopyFromTable("simple_table_with_checkpoint", "00000000000000000010.checkpoint.parquet",
                "00000000000000000010.checkpoint.0000000001.0000000003.parquet");
  ASSERT_OK_AND_ASSIGN(DeltaSnapshot snapshot, ReadDeltaSnapshot(table()));
  EXPECT_EQ(snapshot.version, 10);
  EXPECT_THAT(snapshot.checkpoint_files, IsEmpty());
  EXPECT_EQ(snapshot.files.size(), 11u);
}

TEST_F(SyntheticLogTest, V2CheckpointWithSidecar) {
  // A UUID-named JSON checkpoint at version 10 whose adds live in a sidecar
  // (here the real classic checkpoint's Parquet file: only its add column
  // is read from a sidecar).
  CopyFromTable("simple_table_with_checkpoint", "00000000000000000010.checkpoint.parquet",
                "_sidecars/016ae953-37a9-438e-8683-9a9a4a79a395.parquet");
  const std::string checkpoint = "00000000000000000010.checkpoint.80a083e8-7026-4e79-81be-64bd76c43a11.json";
  scratch_.WriteFile(
      StrCat("_delta_log/", checkpoint),
      StrCat(R"({"checkpointMetadata":{"version":10,"tags":{}}})", "\n",
             R"({"protocol":{"minReaderVersion":3,"minWriterVersion":7,"readerFeatures":["v2Checkpoint"],"writerFeatures":["v2Checkpoint"]}})",
             "\n", kMetadata, "\n",
             R"({"sidecar":{"path":"016ae953-37a9-438e-8683-9a9a4a79a395.parquet","sizeInBytes":11088,"modificationTime":1}})",
             "\n"));
  Commit(10, {CommitInfo(10000)});
  Commit(11, {CommitInfo(11000), Add("p=x/new.parquet")});
  ASSERT_OK_AND_ASSIGN(DeltaSnapshot snapshot, ReadDeltaSnapshot(table()));
  EXPECT_EQ(snapshot.version, 11);
  EXPECT_EQ(snapshot.table_id, "t1");  // from the checkpoint, not the sidecar
  EXPECT_THAT(snapshot.reader_features, ElementsAre("v2Checkpoint"));
  EXPECT_EQ(snapshot.files.size(), 12u);
  EXPECT_THAT(snapshot.checkpoint_files,
              ElementsAre(log() / checkpoint, log() / "_sidecars" / "016ae953-37a9-438e-8683-9a9a4a79a395.parquet"));
}

TEST_F(SyntheticLogTest, EmptyLogIsNotFound) {
  EXPECT_THAT(ReadDeltaSnapshot(table()), StatusIs(absl::StatusCode::kNotFound, HasSubstr("no commits")));
}

}  // namespace
}  // namespace predstore
