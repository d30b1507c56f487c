// The RESP command parser: every way a command arrives (whole, in pieces,
// pipelined, inline), every limit, and the protocol errors Redis names;
// and the reply writers, byte for byte against the specification's
// examples.
#include "server/resp_protocol.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace predstore {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

struct Parsed {
  RespParse result;
  std::vector<std::string> args;
  size_t consumed = 0;
  std::string error;
};

Parsed Parse(std::string_view input, const RespLimits& limits = {}) {
  Parsed parsed;
  std::vector<std::string_view> args;
  parsed.result = ParseRespCommand(input, limits, &args, &parsed.consumed, &parsed.error);
  parsed.args.assign(args.begin(), args.end());
  return parsed;
}

TEST(RespProtocolTest, AMultibulkCommandParsesWholeAndIsIncompleteAtEveryShorterPrefix) {
  const std::string command = "*3\r\n$4\r\nHGET\r\n$13\r\nforecasts:1:2\r\n$0\r\n\r\n";
  Parsed whole = Parse(command + "*1\r\n$4\r\nPING\r\n");
  ASSERT_EQ(whole.result, RespParse::kCommand) << whole.error;
  EXPECT_THAT(whole.args, ElementsAre("HGET", "forecasts:1:2", ""));
  EXPECT_EQ(whole.consumed, command.size());
  for (size_t length = 0; length < command.size(); ++length) {
    Parsed prefix = Parse(command.substr(0, length));
    EXPECT_EQ(prefix.result, RespParse::kIncomplete) << length << ": " << prefix.error;
  }
  // Binary-safe: CR, LF and NUL inside a bulk string.
  Parsed binary = Parse(std::string("*1\r\n$5\r\na\r\n\0b\r\n", 16));
  ASSERT_EQ(binary.result, RespParse::kCommand);
  EXPECT_EQ(binary.args[0], std::string("a\r\n\0b", 5));
}

TEST(RespProtocolTest, InlineCommandsSplitOnSpacesAndTabs) {
  Parsed parsed = Parse("  GET \t forecasts:1:2:3  \r\nPING\r\n");
  ASSERT_EQ(parsed.result, RespParse::kCommand);
  EXPECT_THAT(parsed.args, ElementsAre("GET", "forecasts:1:2:3"));
  EXPECT_EQ(parsed.consumed, 27u);
  Parsed bare_lf = Parse("PING\n");
  ASSERT_EQ(bare_lf.result, RespParse::kCommand);
  EXPECT_THAT(bare_lf.args, ElementsAre("PING"));
  Parsed empty = Parse("\r\n");
  ASSERT_EQ(empty.result, RespParse::kCommand);
  EXPECT_TRUE(empty.args.empty());
  EXPECT_EQ(Parse("PING").result, RespParse::kIncomplete);
}

TEST(RespProtocolTest, MalformedFramingIsAnErrorNamingIt) {
  const struct {
    std::string input;
    std::string error;
  } cases[] = {
      {"*x\r\n", "invalid length"},
      {"*-2\r\n", "invalid multibulk length"},
      {"*1\r\n+PING\r\n", "expected '$', got '+'"},
      {"*1\r\n$-1\r\n", "invalid bulk length"},
      {"*1\r\n$4\r\nPINGxx", "does not end with CRLF"},
      {"*1\r\n$4x\r\nPING\r\n", "invalid length"},
      {"*" + std::string(40, '1'), "invalid length"},
  };
  for (const auto& c : cases) {
    Parsed parsed = Parse(c.input);
    EXPECT_EQ(parsed.result, RespParse::kError) << c.input;
    EXPECT_THAT(parsed.error, HasSubstr(c.error)) << c.input;
  }
}

TEST(RespProtocolTest, LimitsAreErrorsAsSoonAsAHeaderCrossesThem) {
  RespLimits limits;
  limits.max_arguments = 3;
  limits.max_argument_bytes = 10;
  limits.max_command_bytes = 40;
  limits.max_inline_bytes = 16;
  EXPECT_EQ(Parse("*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n", limits).result, RespParse::kCommand);
  EXPECT_THAT(Parse("*4\r\n", limits).error, HasSubstr("too many arguments"));
  EXPECT_THAT(Parse("*1\r\n$11\r\n", limits).error, HasSubstr("an argument of 11 bytes"));
  // Declared lengths that would pass max_command_bytes fail before the bytes come.
  EXPECT_EQ(Parse("*3\r\n$10\r\n0123456789\r\n$10\r\n", limits).result, RespParse::kIncomplete);
  EXPECT_THAT(Parse("*3\r\n$10\r\n0123456789\r\n$10\r\n0123456789\r\n$1\r\n", limits).error,
              HasSubstr("more than 40 bytes"));
  EXPECT_THAT(Parse(std::string(17, 'a'), limits).error, HasSubstr("too big inline request"));
  EXPECT_THAT(Parse("a b c d\r\n", limits).error, HasSubstr("too many arguments"));
  EXPECT_EQ(Parse(std::string(16, 'a'), limits).result, RespParse::kIncomplete);
}

TEST(RespProtocolTest, RepliesAreWrittenAsTheSpecificationShowsThem) {
  std::string out;
  AppendRespSimple(&out, "OK");
  AppendRespError(&out, "ERR two\r\nlines");
  AppendRespInteger(&out, -42);
  AppendRespBulk(&out, "hello");
  AppendRespBulk(&out, "");
  AppendRespNull(&out, 2);
  AppendRespNull(&out, 3);
  AppendRespArrayHeader(&out, 2);
  AppendRespMapHeader(&out, 2, 2);
  AppendRespMapHeader(&out, 2, 3);
  EXPECT_EQ(out, "+OK\r\n-ERR two  lines\r\n:-42\r\n$5\r\nhello\r\n$0\r\n\r\n$-1\r\n_\r\n*2\r\n*4\r\n%2\r\n");
}

}  // namespace
}  // namespace predstore
