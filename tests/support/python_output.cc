#include "tests/support/python_output.h"

#include <cstdio>
#include <fstream>

#include "gtest/gtest.h"

namespace predstore::test_support {

std::string PythonOutput(std::string_view script, const std::filesystem::path& input) {
  const std::filesystem::path script_file = input.parent_path() / (input.filename().string() + ".check.py");
  std::ofstream(script_file, std::ios::trunc) << script;
  const std::string command = "/usr/bin/python3 '" + script_file.string() + "' '" + input.string() + "' 2>&1";
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    ADD_FAILURE() << "cannot run " << command;
    return out;
  }
  char buffer[4096];
  for (size_t n; (n = fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
  if (pclose(pipe) != 0) ADD_FAILURE() << command << " failed:\n" << out;
  return out;
}

}  // namespace predstore::test_support
