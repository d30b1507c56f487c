// Log lines in both formats: one line per event whatever the message holds,
// and JSON lines that Python's own json module reads back field for field.
#include "core/base/logging.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/python_output.h"
#include "tests/support/scratch_dir.h"

namespace predstore {
namespace {

using ::testing::ElementsAre;

// The lines `log` writes to stderr.
template <typename Log>
std::vector<std::string> LinesLoggedBy(LogFormat format, Log log) {
  test_support::ScratchDir dir;
  const std::string file = (dir.path() / "stderr").string();
  std::fflush(stderr);
  const int saved = dup(2);
  const int fd = open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  dup2(fd, 2);
  close(fd);
  SetLogFormat(format);
  log();
  SetLogFormat(LogFormat::kText);
  std::fflush(stderr);
  dup2(saved, 2);
  close(saved);
  std::vector<std::string> lines;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// What Python's json module reads from each line: "key=repr(value)" pairs.
std::string ParsedByPython(const std::vector<std::string>& lines) {
  test_support::ScratchDir dir;
  const std::string file = (dir.path() / "lines.jsonl").string();
  std::ofstream out(file);
  for (const std::string& line : lines) out << line << "\n";
  out.close();
  return test_support::PythonOutput(
      "import json,sys\nfor line in open(sys.argv[1], encoding='utf-8'):\n"
      "  print(' '.join(k + '=' + repr(v) for k, v in json.loads(line).items() if k != 'time'))\n",
      file);
}

void LogSamples() {
  LogInfo("loaded 3 tables");
  LogWarning("two\nlines \"quoted\" \\ and \x01");
  LogEvent(LogLevel::kError, "request_failed",
           {{"front_end", "grpc"}, {"code", "NOT_FOUND"}, {"message", "no table \"x\"\nat all"},
            {"duration_ms", "1.5", true}, {"empty", ""}});
}

TEST(LoggingTest, TextLinesAreOneLinePerEventWithLogfmtFields) {
  std::vector<std::string> lines = LinesLoggedBy(LogFormat::kText, LogSamples);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(lines[0], ::testing::MatchesRegex(R"(I 20[0-9-]+T[0-9:.]+Z loaded 3 tables)"));
  EXPECT_EQ(lines[1].substr(27), R"(two\nlines "quoted" \ and \x01)");
  EXPECT_EQ(lines[1][0], 'W');
  EXPECT_EQ(lines[2].substr(0, 2), "E ");
  EXPECT_EQ(lines[2].substr(27),
            R"(request_failed front_end=grpc code=NOT_FOUND message="no table \"x\"\nat all" duration_ms=1.5 empty="")");
}

TEST(LoggingTest, JsonLinesReadBackThroughPythonsJsonModule) {
  std::vector<std::string> lines = LinesLoggedBy(LogFormat::kJson, LogSamples);
  ASSERT_EQ(lines.size(), 3u);
  std::istringstream parsed(ParsedByPython(lines));
  std::vector<std::string> rows;
  for (std::string row; std::getline(parsed, row);) rows.push_back(row);
  EXPECT_THAT(rows, ElementsAre("level='info' message='loaded 3 tables'",
                                R"(level='warning' message='two\nlines "quoted" \\ and \x01')",
                                "level='error' event='request_failed' front_end='grpc' code='NOT_FOUND' "
                                R"(message='no table "x"\nat all' duration_ms=1.5 empty='')"));
  EXPECT_THAT(lines[0], ::testing::MatchesRegex(R"(\{"time":"20[0-9-]+T[0-9:.]+Z",.*)"));
}

}  // namespace
}  // namespace predstore
