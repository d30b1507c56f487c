// Every file of the parquet-testing subset in ../shared/testdata/parquet is
// either read whole, every column chunk page by page, or refused with an
// error that names the file, the column, and for page defects the row
// group and page. Values are checked against upstream's expectations in
// tests/core/ingest/parquet_reader_test.cc.
#include "core/parquet/column_reader.h"

#include <filesystem>
#include <map>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace predstore::parquet {
namespace {

using test_support::StatusHasCode;
using test_support::StatusIs;
using ::testing::HasSubstr;

const std::filesystem::path kParquetDir = std::filesystem::path(PREDSTORE_TESTDATA_DIR) / "parquet";

// Opens `name` and reads every page of every column chunk; returns the
// first error, and the rows read of each column (summed over row groups).
absl::Status ReadWhole(const std::string& name, std::vector<int64_t>* rows_per_column = nullptr) {
  auto file = ParquetFile::Open((kParquetDir / name).string());
  if (!file.ok()) return file.status();
  const auto& groups = (*file)->metadata().row_groups;
  std::vector<int64_t> rows((*file)->columns().size(), 0);
  for (size_t g = 0; g < groups.size(); ++g) {
    for (size_t c = 0; c < rows.size(); ++c) {
      ColumnChunkReader reader(**file, static_cast<int>(g), static_cast<int>(c));
      while (true) {
        auto page = reader.NextPage();
        if (!page.ok()) return page.status();
        if (!*page) break;
        rows[c] += static_cast<int64_t>(reader.rows());
        size_t present = 0;
        for (size_t r = 0; r < reader.rows(); ++r) present += reader.present(r);
        // Touch every value, so that a bad index would show under sanitizers.
        for (size_t v = 0; v < present; ++v) {
          if ((*file)->columns()[c].type == PhysicalType::kByteArray) {
            (void)reader.bytes_at(v).size();
          } else {
            (void)*reader.fixed_at(v);
          }
        }
      }
    }
  }
  if (rows_per_column) *rows_per_column = rows;
  return absl::OkStatus();
}

TEST(ParquetTestData, EveryFileIsReadOrRefusedClearly) {
  ASSERT_TRUE(std::filesystem::is_directory(kParquetDir)) << kParquetDir << " is missing (see tests/README)";
  // The refused files and what their error must say; every other file must
  // read whole.
  const std::map<std::string, std::vector<std::string>> refused = {
      {"datapage_v1-corrupt-checksum.parquet", {"column \"a\", row group 0, page 0", "checksum mismatch"}},
      {"rle-dict-uncompressed-corrupt-checksum.parquet",
       {"column \"long_field\", row group 0, page 0", "checksum mismatch"}},
      {"nation.dict-malformed.parquet", {"column \"name\", row group 0, page 1", "past the column chunk's end"}},
      {"datapage_v2.snappy.parquet", {"column \"e\" is nested (LIST)"}},
      {"list_columns.parquet", {"column \"int64_list\" is nested (LIST)"}},
      {"large_string_map.brotli.parquet", {"column \"arr\" is nested (MAP)"}},
      {"nested_structs.rust.parquet", {"column \"roll_num\" is nested (a struct)"}},
      {"nulls.snappy.parquet", {"column \"b_struct\" is nested (a struct)"}},
  };
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kParquetDir)) {
    if (entry.path().extension() != ".parquet") continue;
    ++files;
    const std::string name = entry.path().filename().string();
    absl::Status status = ReadWhole(name);
    auto it = refused.find(name);
    if (it == refused.end()) {
      EXPECT_TRUE(status.ok()) << name << ": " << status;
      continue;
    }
    EXPECT_THAT(status, StatusHasCode(absl::StatusCode::kInvalidArgument)) << name;
    EXPECT_THAT(std::string(status.message()), HasSubstr(name));
    for (const std::string& part : it->second) EXPECT_THAT(std::string(status.message()), HasSubstr(part)) << name;
  }
  EXPECT_EQ(files, 34);  // the whole subset
}

TEST(ParquetTestData, RowCountsMatchTheFooter) {
  for (const std::string name : {"alltypes_tiny_pages.parquet", "int32_with_null_pages.parquet",
                                 "delta_byte_array.parquet", "concatenated_gzip_members.parquet",
                                 "byte_stream_split_extended.gzip.parquet", "page_v2_empty_compressed.parquet"}) {
    std::vector<int64_t> rows;
    ASSERT_OK(ReadWhole(name, &rows));
    ASSERT_OK_AND_ASSIGN(auto file, ParquetFile::Open((kParquetDir / name).string()));
    for (int64_t count : rows) EXPECT_EQ(count, file->num_rows()) << name;
  }
}

TEST(ParquetFile, RefusesWhatIsNotParquet) {
  EXPECT_THAT(ParquetFile::Open((kParquetDir / "absent.parquet").string()), StatusHasCode(absl::StatusCode::kNotFound));
  EXPECT_THAT(ParquetFile::Open((kParquetDir / "README.md").string()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a Parquet file")));
}

TEST(ParquetFile, DescribesColumnTypes) {
  ASSERT_OK_AND_ASSIGN(auto file, ParquetFile::Open((kParquetDir / "fixed_length_decimal.parquet").string()));
  EXPECT_EQ(DescribeColumnType(file->columns()[0]), "FIXED_LEN_BYTE_ARRAY(11) (DECIMAL(25,2))");
  ASSERT_OK_AND_ASSIGN(file, ParquetFile::Open((kParquetDir / "concatenated_gzip_members.parquet").string()));
  EXPECT_EQ(DescribeColumnType(file->columns()[0]), "INT64 (UINT(64))");
}

}  // namespace
}  // namespace predstore::parquet
