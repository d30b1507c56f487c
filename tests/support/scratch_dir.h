// ScratchDir: a fresh, empty directory for one test, removed with its
// contents when the ScratchDir is destroyed. Not thread-safe.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace predstore::test_support {

class ScratchDir {
 public:
  // Creates <TempDir>/<suite>.<test>-<pid>-<n>/. Aborts the test binary if
  // the directory cannot be created.
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

  // Writes `contents` byte for byte to `name` inside the directory
  // (replacing any file of that name) and returns the file's path.
  std::filesystem::path WriteFile(std::string_view name, std::string_view contents) const;

 private:
  std::filesystem::path path_;
};

}  // namespace predstore::test_support
