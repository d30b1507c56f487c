// Runs a Python script with Debian's python3, so that a test can read what
// the code under test wrote with the reference parser of its format
// (json, yaml, prometheus_client). Test support only.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace predstore::test_support {

// Runs `script` with `input` as its one argument (sys.argv[1]) and returns
// what it printed, stdout then stderr. A script that cannot run or exits
// non-zero is a test failure (ADD_FAILURE) showing that output.
std::string PythonOutput(std::string_view script, const std::filesystem::path& input);

}  // namespace predstore::test_support
