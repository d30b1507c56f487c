// Config files set flags as the command line would, refuse what they cannot
// set with the file, line and column, change nothing then, and print a
// file that Python's YAML parser reads back value for value.
#include "server/config_file.h"

#include <cstdio>
#include <fstream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/python_output.h"
#include "tests/support/scratch_dir.h"

ABSL_FLAG(std::string, config_test_address, "127.0.0.1:1", "An address.");
ABSL_FLAG(int32_t, config_test_count, 10, "A count.\nSecond line of help.");
ABSL_FLAG(bool, config_test_switch, false, "A switch.");
ABSL_FLAG(double, config_test_ratio, 0.5, "A ratio.");

namespace predstore {
namespace {

using ::testing::HasSubstr;

bool IsTestFlag(const absl::CommandLineFlag& flag) { return absl::StartsWith(flag.Name(), "config_test_"); }

class ConfigFileTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& text) {
    const std::string file = (dir_.path() / "predstore.yaml").string();
    std::ofstream(file) << text;
    return file;
  }
  absl::Status Apply(const std::string& text) { return ApplyConfigFile(Write(text), IsTestFlag); }

  test_support::ScratchDir dir_;
  absl::FlagSaver restore_flags_;
};

TEST_F(ConfigFileTest, SetsEachOptionAsTheCommandLineWould) {
  ASSERT_TRUE(Apply("# comment\n"
                    "config_test_address: \"0.0.0.0:50051\"  # trailing comment\n"
                    "config-test-count: 250\n"
                    "config_test_switch: yes\n"
                    "config_test_ratio: 1e-3\n")
                  .ok());
  EXPECT_EQ(absl::GetFlag(FLAGS_config_test_address), "0.0.0.0:50051");
  EXPECT_EQ(absl::GetFlag(FLAGS_config_test_count), 250);
  EXPECT_TRUE(absl::GetFlag(FLAGS_config_test_switch));
  EXPECT_EQ(absl::GetFlag(FLAGS_config_test_ratio), 1e-3);
  EXPECT_TRUE(Apply("").ok());
  EXPECT_TRUE(Apply("# only comments\n").ok());
  EXPECT_EQ(absl::GetFlag(FLAGS_config_test_count), 250);
}

TEST_F(ConfigFileTest, RefusalsNameTheLineAndColumnAndChangeNothing) {
  const struct {
    std::string text;
    std::string message;
  } cases[] = {
      {"config_test_count: 5\nconfig_test_switch: maybe\n", ":2:21: option \"config_test_switch\": "},
      {"config_test_count: 5\nconfig_test_count: 6\n", ":2:1: option \"config_test_count\" is set twice"},
      {"config_test_count: 5\nconfig_test_cuont: 6\n", ":2:1: unknown option \"config_test_cuont\""},
      {"config_test_count: 5\ndata_dir: /x\n", ":2:1: unknown option \"data_dir\""},
      {"config_test_count: 5\nconfig_test_address:\n", ":2:1: option \"config_test_address\" needs one value"},
      {"config_test_count: 5\nconfig_test_address: [a, b]\n", ":2:22: option \"config_test_address\" needs one value"},
      {"config_test_switch: true\nconfig_test_count: 99999999999\n", ":2:20: option \"config_test_count\": "},
      {"config_test_count: 5\nconfig_test_ratio: 99999999999x\n", ":2:20: option \"config_test_ratio\": "},
      {"- config_test_count\n", ":1:1: the config file must be a mapping"},
      {"config_test_count: 5\n  bad: [\n", ":2:"},
  };
  for (const auto& c : cases) {
    const absl::Status status = Apply(c.text);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_THAT(std::string(status.message()), HasSubstr("predstore.yaml" + c.message)) << c.text;
    EXPECT_EQ(absl::GetFlag(FLAGS_config_test_count), 10) << c.text;
    EXPECT_FALSE(absl::GetFlag(FLAGS_config_test_switch)) << c.text;
  }
  EXPECT_EQ(ApplyConfigFile(dir_.path() / "missing.yaml", IsTestFlag).code(), absl::StatusCode::kNotFound);
}

TEST_F(ConfigFileTest, FlagArgumentFindsTheLastValueInEitherForm) {
  const char* args[] = {"prog", "--config=a.yaml", "--config_test_count=3", "-config", "b.yaml", "--configx=c", "--",
                        "--config=d"};
  EXPECT_EQ(FlagArgument(8, const_cast<char**>(args), "config"), "b.yaml");
  EXPECT_EQ(FlagArgument(3, const_cast<char**>(args), "config"), "a.yaml");
  EXPECT_EQ(FlagArgument(1, const_cast<char**>(args), "config"), std::nullopt);
}

TEST_F(ConfigFileTest, ThePrintedFileReadsBackThroughPythonsYamlAndThroughApply) {
  absl::SetFlag(&FLAGS_config_test_address, "say \"hi\" \\ # not a comment");
  absl::SetFlag(&FLAGS_config_test_count, -7);
  const std::string printed = ConfigFileOfCurrentValues("Header line.", IsTestFlag);
  EXPECT_THAT(printed, HasSubstr("# A count.\n# Second line of help.\nconfig_test_count: -7\n"));
  const std::string file = Write(printed);
  const std::string parsed = test_support::PythonOutput(
      "import sys,yaml\nfor k, v in yaml.safe_load(open(sys.argv[1])).items(): print(k, repr(v))\n", file);
  EXPECT_EQ(parsed,
            "config_test_address 'say \"hi\" \\\\ # not a comment'\n"
            "config_test_count -7\n"
            "config_test_ratio 0.5\n"
            "config_test_switch False\n");
  absl::SetFlag(&FLAGS_config_test_address, "changed");
  absl::SetFlag(&FLAGS_config_test_count, 1);
  ASSERT_TRUE(ApplyConfigFile(file, IsTestFlag).ok());
  EXPECT_EQ(absl::GetFlag(FLAGS_config_test_address), "say \"hi\" \\ # not a comment");
  EXPECT_EQ(absl::GetFlag(FLAGS_config_test_count), -7);
}

}  // namespace
}  // namespace predstore
