#include "loader/progress_line.h"

#include "gtest/gtest.h"

namespace predstore {
namespace {

TEST(ProgressLineTest, ReadingShowsRateShareAndEta) {
  LoadProgress progress;
  progress.phase = LoadProgress::Phase::kReading;
  progress.rows = 2500000;
  progress.bytes_read = 250;
  progress.total_bytes = 1000;
  progress.elapsed_seconds = 2;
  EXPECT_EQ(ProgressLine(progress), "reading  2.5M rows  1.2M rows/s   25%  ETA 6s");
}

TEST(ProgressLineTest, WritingShowsShareOfRowsRead) {
  LoadProgress progress;
  progress.phase = LoadProgress::Phase::kWriting;
  progress.rows = 500;
  progress.total_rows = 2000;
  progress.elapsed_seconds = 1;
  EXPECT_EQ(ProgressLine(progress), "writing  500 rows of 2.0k   25%");
}

TEST(ProgressLineTest, NoEtaBeforeOnePercent) {
  LoadProgress progress;
  progress.rows = 10;
  progress.bytes_read = 1;
  progress.total_bytes = 1000;
  progress.elapsed_seconds = 0.1;
  EXPECT_EQ(ProgressLine(progress), "reading  10 rows  100 rows/s    0%");
}

}  // namespace
}  // namespace predstore
