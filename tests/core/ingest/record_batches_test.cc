// ProcessRecordBatches: records copied into batches, processed on several
// threads, delivered in input order; errors stop it.
#include "core/ingest/record_batches.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "core/base/strings.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/scratch_dir.h"
#include "tests/support/status_matchers.h"

namespace predstore {
namespace {

using test_support::StatusHasCode;
using test_support::ValueOrDie;

class RecordBatchesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    schema_ = ValueOrDie(Schema::Create({{"id", ColumnType::kInt64}}, {{"name", ColumnType::kString}}, std::nullopt));
  }
  std::unique_ptr<RecordReader> Open(const std::string& csv) {
    return ValueOrDie(OpenRecordReader(dir_.WriteFile("in.csv", csv), InputFormat::kCsv, schema_));
  }
  // "id,name" rows 0..n-1, names with quotes and commas on every 7th row.
  static std::string Rows(int n) {
    std::string csv = "id,name\n";
    for (int i = 0; i < n; ++i) {
      csv += i % 7 == 0 ? StrCat(i, ",\"a \"\"quoted\"\", name ", i, "\"\n") : StrCat(i, ",n", i, "\n");
    }
    return csv;
  }

  test_support::ScratchDir dir_;
  Schema schema_;
};

TEST_F(RecordBatchesTest, BatchesComeBackInInputOrderWithTheirFields) {
  auto reader = Open(Rows(1000));
  std::atomic<int> threads_seen{0};
  auto process = [&](RecordBatch& batch) {
    ++threads_seen;
    std::vector<FieldText> fields;
    for (size_t row = 0; row < batch.rows(); ++row) {
      batch.Fields(row, &fields);
      if (fields[0].text == "500") {
        batch.AddError(StrCat(batch.path(), ":", batch.line(row), ": five hundred"));
      } else {
        batch.AddRow(fields[0].text, fields[1].text);
      }
    }
    std::this_thread::yield();
  };
  std::vector<std::string> delivered;
  std::vector<std::string> errors;
  absl::Status status = ProcessRecordBatches(*reader, {3, 7}, process, [&](const RecordBatch& batch) {
    for (size_t row = 0; row < batch.rows(); ++row) {
      if (const std::string* error = batch.error(row)) {
        errors.push_back(*error);
        continue;
      }
      EXPECT_EQ(batch.line(row), static_cast<uint64_t>(std::stoi(std::string(batch.key(row))) + 2));
      delivered.push_back(StrCat(batch.key(row), "=", batch.value(row)));
    }
    return absl::OkStatus();
  });
  ASSERT_TRUE(status.ok()) << status;
  ASSERT_EQ(delivered.size(), 999u);
  for (int i = 0, d = 0; i < 1000; ++i) {
    if (i == 500) continue;
    ASSERT_EQ(delivered[d++], i % 7 == 0 ? StrCat(i, "=a \"quoted\", name ", i) : StrCat(i, "=n", i));
  }
  EXPECT_THAT(errors, ::testing::ElementsAre(::testing::EndsWith("in.csv:502: five hundred")));
  EXPECT_EQ(threads_seen.load(), 143);  // ceil(1000 / 7) batches
}

TEST_F(RecordBatchesTest, AReadErrorStopsAfterTheRowsBeforeIt) {
  std::string csv = Rows(100) + "7,x,extra\n" + Rows(5).substr(8);
  auto reader = Open(csv);
  size_t rows = 0;
  absl::Status status = ProcessRecordBatches(
      *reader, {2, 10},
      [](RecordBatch& batch) {
        for (size_t row = 0; row < batch.rows(); ++row) batch.AddRow("k", "v");
      },
      [&](const RecordBatch& batch) {
        rows += batch.rows();
        return absl::OkStatus();
      });
  EXPECT_THAT(status, StatusHasCode(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr("in.csv:102:"));
  EXPECT_LE(rows, 100u);
}

TEST_F(RecordBatchesTest, AFailedBatchOrDeliveryIsReturned) {
  auto reader = Open(Rows(50));
  absl::Status failed = ProcessRecordBatches(
      *reader, {2, 8}, [](RecordBatch& batch) { batch.Fail(absl::InternalError("model failed")); },
      [](const RecordBatch&) { return absl::OkStatus(); });
  EXPECT_THAT(failed, StatusHasCode(absl::StatusCode::kInternal));

  reader = Open(Rows(50));
  int deliveries = 0;
  absl::Status refused = ProcessRecordBatches(
      *reader, {2, 8},
      [](RecordBatch& batch) {
        for (size_t row = 0; row < batch.rows(); ++row) batch.AddRow("k", "v");
      },
      [&](const RecordBatch&) {
        return ++deliveries == 2 ? absl::ResourceExhaustedError("disk full") : absl::OkStatus();
      });
  EXPECT_THAT(refused, StatusHasCode(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(deliveries, 2);
}

}  // namespace
}  // namespace predstore
