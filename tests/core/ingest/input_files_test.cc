#include "core/ingest/input_files.h"

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "core/base/strings.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/scratch_dir.h"
#include "tests/support/status_matchers.h"

namespace predstore {
namespace {

namespace fs = std::filesystem;
using test_support::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using Values = std::vector<std::pair<std::string, std::optional<std::string>>>;

constexpr char kUuid[] = "5c7a1f0e-3b2d-4e8f-9a6b-1d2c3e4f5a6b";

// Not real Parquet: listing never opens the files.
constexpr char kFakeParquet[] = "PAR1 not really PAR1";

class InputFilesTest : public ::testing::Test {
 protected:
  // Writes `contents` to `relative` under the scratch folder, making its folders.
  fs::path Write(const std::string& relative, std::string_view contents = kFakeParquet) {
    fs::create_directories((dir_.path() / relative).parent_path());
    return dir_.WriteFile(relative, contents);
  }
  static std::string Part(int n, std::string_view extension) {
    std::string number = std::to_string(n);
    return StrCat("part-", std::string(5 - number.size(), '0'), number, "-", kUuid, "-c000", extension);
  }
  // The files' paths relative to the scratch folder.
  std::vector<std::string> Relative(const ExpandedInputs& inputs) const {
    std::vector<std::string> out;
    for (const InputFile& file : inputs.files) out.push_back(file.path.lexically_relative(dir_.path()).string());
    return out;
  }

  test_support::ScratchDir dir_;
};

TEST_F(InputFilesTest, SparkParquetFolder) {
  fs::create_directories(dir_.path() / "out");
  Write("out/_SUCCESS", "");
  Write("out/._SUCCESS.crc", "crc");
  Write("out/_committed_123", "{\"added\":[]}");
  Write("out/_started_123", "");
  Write(StrCat("out/", Part(1, ".snappy.parquet")));
  Write(StrCat("out/.", Part(1, ".snappy.parquet.crc")), "crc");
  Write(StrCat("out/", Part(0, ".snappy.parquet")));
  Write(StrCat("out/", Part(2, ".snappy.parquet")), "");  // an empty task
  Write("out/_temporary/0/task/part-00009.snappy.parquet");
  Write("out/.spark-staging-1/part-00009.snappy.parquet");
  Write("out/part-00003.c000.crc", "crc");

  ASSERT_OK_AND_ASSIGN(ExpandedInputs inputs, ExpandInputs({dir_.path() / "out"}, std::nullopt));
  EXPECT_THAT(Relative(inputs),
              ElementsAre(StrCat("out/", Part(0, ".snappy.parquet")), StrCat("out/", Part(1, ".snappy.parquet"))));
  for (const InputFile& file : inputs.files) {
    EXPECT_EQ(file.format, InputFormat::kParquet);
    EXPECT_THAT(file.partition_values, IsEmpty());
    EXPECT_EQ(file.size, sizeof(kFakeParquet) - 1);
  }
  EXPECT_EQ(inputs.empty_files_skipped, 1u);
  // _SUCCESS, ._SUCCESS.crc, _committed_123, _started_123, the .crc of part 1,
  // _temporary/, .spark-staging-1/, part-00003.c000.crc.
  EXPECT_EQ(inputs.other_files_skipped, 8u);
}

TEST_F(InputFilesTest, HivePartitionFoldersOutermostFirstAndUnescaped) {
  Write("out/_SUCCESS", "");
  Write(StrCat("out/day=2026-11-26/hour=3/", Part(0, ".snappy.parquet")));
  Write(StrCat("out/day=2026-11-26/hour=3/", Part(1, ".snappy.parquet")), "");
  Write(StrCat("out/day=2026-11-26/hour=10/", Part(0, ".snappy.parquet")));
  Write(StrCat("out/day=2026-11-25/hour=23/", Part(0, ".snappy.parquet")));
  // Spark escapes ':', '/', '%', '=' and others as %XX; a '%' without two hex
  // digits stays itself; other characters are kept as they are.
  Write(StrCat("out/day=2026-11-27/hour=12%3A30%2F%25%3D%zz%4/", Part(0, ".snappy.parquet")));
  Write(StrCat("out/day=caf\xC3\xA9%C3/hour=1/", Part(0, ".snappy.parquet")));

  ASSERT_OK_AND_ASSIGN(ExpandedInputs inputs, ExpandInputs({dir_.path() / "out"}, std::nullopt));
  ASSERT_EQ(inputs.files.size(), 5u);
  EXPECT_THAT(Relative(inputs),
              ElementsAre(StrCat("out/day=2026-11-25/hour=23/", Part(0, ".snappy.parquet")),
                          StrCat("out/day=2026-11-26/hour=10/", Part(0, ".snappy.parquet")),
                          StrCat("out/day=2026-11-26/hour=3/", Part(0, ".snappy.parquet")),
                          StrCat("out/day=2026-11-27/hour=12%3A30%2F%25%3D%zz%4/", Part(0, ".snappy.parquet")),
                          StrCat("out/day=caf\xC3\xA9%C3/hour=1/", Part(0, ".snappy.parquet"))));
  EXPECT_EQ(inputs.files[0].partition_values, (Values{{"day", "2026-11-25"}, {"hour", "23"}}));
  EXPECT_EQ(inputs.files[2].partition_values, (Values{{"day", "2026-11-26"}, {"hour", "3"}}));
  EXPECT_EQ(inputs.files[3].partition_values, (Values{{"day", "2026-11-27"}, {"hour", "12:30/%=%zz%4"}}));
  // %C3 is U+00C3 (Spark decodes %XX as one UTF-16 unit), in UTF-8.
  EXPECT_EQ(inputs.files[4].partition_values, (Values{{"day", "caf\xC3\xA9\xC3\x83"}, {"hour", "1"}}));
  EXPECT_EQ(inputs.empty_files_skipped, 1u);
  EXPECT_EQ(inputs.other_files_skipped, 1u);
}

TEST_F(InputFilesTest, EscapedColumnName) {
  Write("out/a%3Db=x/part-00000.csv", "id\n1\n");
  ASSERT_OK_AND_ASSIGN(ExpandedInputs inputs, ExpandInputs({dir_.path() / "out"}, std::nullopt));
  ASSERT_EQ(inputs.files.size(), 1u);
  EXPECT_EQ(inputs.files[0].partition_values, (Values{{"a=b", "x"}}));
  EXPECT_EQ(inputs.files[0].format, InputFormat::kCsv);
}

TEST_F(InputFilesTest, MixedFormatsAndArgumentOrder) {
  Write("out/b.json", "{}\n");
  Write("out/a.csv", "id\n1\n");
  Write("out/c.ndjson", "{}\n");
  Write("out/d.jsonl", "{}\n");
  Write("out/e.PARQUET");
  Write("single.csv", "id\n1\n");
  ASSERT_OK_AND_ASSIGN(ExpandedInputs inputs,
                       ExpandInputs({dir_.path() / "single.csv", dir_.path() / "out"}, std::nullopt));
  EXPECT_THAT(Relative(inputs),
              ElementsAre("single.csv", "out/a.csv", "out/b.json", "out/c.ndjson", "out/d.jsonl", "out/e.PARQUET"));
  std::vector<InputFormat> formats;
  for (const InputFile& file : inputs.files) formats.push_back(file.format);
  EXPECT_THAT(formats, ElementsAre(InputFormat::kCsv, InputFormat::kCsv, InputFormat::kJsonLines,
                                   InputFormat::kJsonLines, InputFormat::kJsonLines, InputFormat::kParquet));
}

TEST_F(InputFilesTest, FileArgumentStaysItself) {
  // Even inside a partition folder, even empty, even named like a bookkeeping file.
  auto path = Write("out/day=1/_part.data", "");
  ASSERT_OK_AND_ASSIGN(ExpandedInputs inputs, ExpandInputs({path}, InputFormat::kCsv));
  ASSERT_EQ(inputs.files.size(), 1u);
  EXPECT_EQ(inputs.files[0].path, path);
  EXPECT_EQ(inputs.files[0].format, InputFormat::kCsv);
  EXPECT_THAT(inputs.files[0].partition_values, IsEmpty());
  EXPECT_EQ(inputs.files[0].size, 0u);
  // Without --format the extension decides, and must be known.
  EXPECT_THAT(ExpandInputs({path}, std::nullopt),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(path.string())));
  auto parquet = Write("x.snappy.parquet");
  ASSERT_OK_AND_ASSIGN(inputs, ExpandInputs({parquet}, std::nullopt));
  EXPECT_EQ(inputs.files[0].format, InputFormat::kParquet);
}

TEST_F(InputFilesTest, FormatGivenTakesFilesWithoutExtension) {
  // rdd.saveAsTextFile writes part-00000 without an extension.
  Write("out/_SUCCESS", "");
  Write("out/part-00000", "{\"id\":1}\n");
  Write("out/part-00001", "");
  Write("out/part-00002.json", "{\"id\":2}\n");
  ASSERT_OK_AND_ASSIGN(ExpandedInputs inputs, ExpandInputs({dir_.path() / "out"}, InputFormat::kJsonLines));
  EXPECT_THAT(Relative(inputs), ElementsAre("out/part-00000", "out/part-00002.json"));
  EXPECT_EQ(inputs.empty_files_skipped, 1u);
  // Without --format such a file cannot be placed.
  EXPECT_THAT(ExpandInputs({dir_.path() / "out"}, std::nullopt),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr((dir_.path() / "out/part-00000").string()), HasSubstr("--format"))));
  // A file whose extension contradicts --format is refused.
  EXPECT_THAT(ExpandInputs({dir_.path() / "out"}, InputFormat::kCsv),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr((dir_.path() / "out/part-00002.json").string()), HasSubstr("csv"))));
}

TEST_F(InputFilesTest, GzipAndZstdTextIsTakenOtherCodecsAreUnimplemented) {
  Write(StrCat("out/", Part(0, ".csv")), "id\n1\n");
  auto gz = Write(StrCat("out/", Part(1, ".csv.gz")), "\x1f\x8b");
  auto zst = Write(StrCat("out/", Part(2, ".json.zst")), "(");
  ASSERT_OK_AND_ASSIGN(ExpandedInputs inputs, ExpandInputs({dir_.path() / "out"}, std::nullopt));
  ASSERT_EQ(inputs.files.size(), 3u);
  EXPECT_EQ(inputs.files[1].compression, InputCompression::kGzip);
  EXPECT_EQ(inputs.files[1].format, InputFormat::kCsv);
  EXPECT_EQ(inputs.files[2].compression, InputCompression::kZstd);
  EXPECT_EQ(inputs.files[2].format, InputFormat::kJsonLines);
  ASSERT_OK_AND_ASSIGN(inputs, ExpandInputs({gz}, std::nullopt));
  EXPECT_EQ(inputs.files[0].compression, InputCompression::kGzip);
  // Parquet compresses inside the file; a compressed Parquet file is refused.
  auto parquet_gz = Write("pq/x.parquet.gz", "data");
  EXPECT_THAT(ExpandInputs({parquet_gz}, std::nullopt),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("must be CSV or JSON Lines")));
  for (const char* extension : {".json.bz2", ".csv.snappy", ".json.deflate", ".csv.lz4"}) {
    SCOPED_TRACE(extension);
    auto path = Write(StrCat("other/x", extension), "data");
    EXPECT_THAT(ExpandInputs({dir_.path() / "other"}, std::nullopt),
                StatusIs(absl::StatusCode::kUnimplemented, AllOf(HasSubstr(path.string()), HasSubstr("gzip"))));
    fs::remove(path);
  }
}

TEST_F(InputFilesTest, UnknownFilesAreRefusedNotSkipped) {
  Write(StrCat("out/", Part(0, ".snappy.parquet")));
  auto orc = Write(StrCat("out/", Part(1, ".snappy.orc")), "ORC");
  EXPECT_THAT(ExpandInputs({dir_.path() / "out"}, std::nullopt),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(orc.string())));
  auto readme = Write("docs/README.txt", "hello");
  EXPECT_THAT(ExpandInputs({dir_.path() / "docs"}, InputFormat::kCsv),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(readme.string())));
}

TEST_F(InputFilesTest, FolderWithoutDataFiles) {
  Write("out/_SUCCESS", "");
  Write(StrCat("out/", Part(0, ".snappy.parquet")), "");
  Write("out/.hidden.parquet");
  EXPECT_THAT(ExpandInputs({dir_.path() / "out"}, std::nullopt),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr((dir_.path() / "out").string()), HasSubstr("no data file"),
                             HasSubstr("1 empty and 2 hidden"))));
  fs::create_directories(dir_.path() / "empty");
  EXPECT_THAT(ExpandInputs({dir_.path() / "empty"}, std::nullopt),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr((dir_.path() / "empty").string())));
}

TEST_F(InputFilesTest, MissingPathIsNotFound) {
  EXPECT_THAT(ExpandInputs({dir_.path() / "absent"}, std::nullopt),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr((dir_.path() / "absent").string())));
  EXPECT_THAT(ExpandInputs({}, std::nullopt), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no input")));
}

TEST_F(InputFilesTest, DeltaTablesAreRefused) {
  Write("table/_delta_log/00000000000000000000.json", "{}\n");
  Write(StrCat("table/", Part(0, ".snappy.parquet")));
  EXPECT_THAT(ExpandInputs({dir_.path() / "table"}, std::nullopt),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(StrCat((dir_.path() / "table").string(), " is a Delta table; "))));
  // Below a folder argument too: its _delta_log/ would otherwise be skipped
  // as hidden and its removed files read.
  Write(StrCat("lake/a.parquet"));
  Write("lake/events/_delta_log/00000000000000000000.json", "{}\n");
  Write(StrCat("lake/events/day=1/", Part(0, ".snappy.parquet")));
  EXPECT_THAT(ExpandInputs({dir_.path() / "lake"}, std::nullopt),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(StrCat((dir_.path() / "lake/events").string(), " is a Delta table"))));
  // A streaming file sink is refused likewise.
  Write("stream/_spark_metadata/0", "v1\n");
  Write(StrCat("stream/", Part(0, ".snappy.parquet")));
  EXPECT_THAT(ExpandInputs({dir_.path() / "stream"}, std::nullopt),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("_spark_metadata")));
}

TEST_F(InputFilesTest, PartitionLayoutMustAgree) {
  Write(StrCat("out/day=1/", Part(0, ".snappy.parquet")));
  Write(StrCat("out/", Part(0, ".snappy.parquet")));
  EXPECT_THAT(ExpandInputs({dir_.path() / "out"}, std::nullopt),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr((dir_.path() / "out/day=1").string()), HasSubstr("partition columns"))));

  Write(StrCat("deep/day=1/hour=2/", Part(0, ".parquet")));
  Write(StrCat("deep/hour=2/day=1/", Part(0, ".parquet")));
  EXPECT_THAT(ExpandInputs({dir_.path() / "deep"}, std::nullopt),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("(day, hour)")));

  Write(StrCat("twice/day=1/day=2/", Part(0, ".parquet")));
  EXPECT_THAT(ExpandInputs({dir_.path() / "twice"}, std::nullopt),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("outer folder")));

  Write(StrCat("novalue/day=/", Part(0, ".parquet")));
  EXPECT_THAT(ExpandInputs({dir_.path() / "novalue"}, std::nullopt),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("day=")));

  Write(StrCat("nulls/day=__HIVE_DEFAULT_PARTITION__/", Part(0, ".parquet")));
  ASSERT_OK_AND_ASSIGN(ExpandedInputs nulls, ExpandInputs({dir_.path() / "nulls"}, std::nullopt));
  EXPECT_EQ(nulls.files[0].partition_values, (Values{{"day", std::nullopt}}));  // Spark's null

  // Plain folders give no value but are walked.
  Write(StrCat("plain/batch1/", Part(0, ".parquet")));
  Write(StrCat("plain/batch2/", Part(0, ".parquet")));
  ASSERT_OK_AND_ASSIGN(ExpandedInputs inputs, ExpandInputs({dir_.path() / "plain"}, std::nullopt));
  EXPECT_EQ(inputs.files.size(), 2u);
}

TEST_F(InputFilesTest, SameFileTwiceIsRefused) {
  auto path = Write(StrCat("out/", Part(0, ".parquet")));
  EXPECT_THAT(ExpandInputs({dir_.path() / "out", path}, std::nullopt),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("given twice")));
  EXPECT_THAT(ExpandInputs({path, dir_.path() / "out/../out" / Part(0, ".parquet")}, std::nullopt),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("given twice")));
}

TEST_F(InputFilesTest, SymbolicLinks) {
  Write(StrCat("real/", Part(0, ".parquet")));
  Write(StrCat("out/day=1/", Part(0, ".parquet")));
  fs::create_directory_symlink(dir_.path() / "real", dir_.path() / "out/day=2");
  ASSERT_OK_AND_ASSIGN(ExpandedInputs inputs, ExpandInputs({dir_.path() / "out"}, std::nullopt));
  ASSERT_EQ(inputs.files.size(), 2u);
  EXPECT_EQ(inputs.files[1].partition_values, (Values{{"day", "2"}}));

  fs::create_directories(dir_.path() / "loop/day=3");
  fs::create_directory_symlink(dir_.path() / "loop", dir_.path() / "loop/day=3/again");
  EXPECT_THAT(ExpandInputs({dir_.path() / "loop"}, std::nullopt),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("loop")));
}

TEST(SparkBookkeepingTest, NamesSparkLeavesBesideItsData) {
  for (const char* name : {"_SUCCESS", "_committed_123", "_started_123", "_temporary", ".part-0.parquet.crc",
                           ".hidden", "part-0.parquet.CRC"}) {
    EXPECT_TRUE(IsSparkBookkeeping(name)) << name;
  }
  for (const char* name : {"part-00000-1f2e-c000.snappy.parquet", "day=2026-11-26", "a.csv", "crc"}) {
    EXPECT_FALSE(IsSparkBookkeeping(name)) << name;
  }
}

}  // namespace
}  // namespace predstore
