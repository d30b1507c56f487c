#include "tests/support/scratch_dir.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <system_error>

#include "core/base/strings.h"
#include "gtest/gtest.h"

namespace predstore::test_support {

ScratchDir::ScratchDir() {
  static std::atomic<int> counter{0};
  std::string name = "predstore";
  if (const auto* info = ::testing::UnitTest::GetInstance()->current_test_info()) {
    name = StrCat(info->test_suite_name(), ".", info->name());
    for (char& c : name) {
      if (c == '/') c = '_';  // parameterized test names
    }
  }
  name = StrCat(name, "-", ::getpid(), "-", counter++);
  path_ = std::filesystem::path(::testing::TempDir()) / name;
  std::error_code error;
  std::filesystem::remove_all(path_, error);
  std::filesystem::create_directories(path_, error);
  if (error) {
    std::cerr << "cannot create " << path_ << ": " << error.message() << "\n";
    std::abort();
  }
}

ScratchDir::~ScratchDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::filesystem::path ScratchDir::WriteFile(std::string_view name, std::string_view contents) const {
  std::filesystem::path file = path_ / std::filesystem::path(name);
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  out.close();
  if (!out) {
    std::cerr << "cannot write " << file << "\n";
    std::abort();
  }
  return file;
}

}  // namespace predstore::test_support
