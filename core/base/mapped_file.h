// A read-only memory map of a whole file, for readers that walk large
// inputs: pages they are done with can be released so that the resident
// size stays bounded however large the file is. Not thread-safe for
// ReleaseBefore/Release; reads of the mapping are.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace predstore {

class MappedFile {
 public:
  // kNotFound when `path` does not exist, kPermissionDenied when it cannot
  // be opened, kInvalidArgument when it is not a regular file. An empty
  // file maps to data() == nullptr, size() == 0.
  static absl::StatusOr<std::unique_ptr<MappedFile>> Open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const char* data() const { return data_; }
  const char* end() const { return data_ + size_; }
  uint64_t size() const { return size_; }

  // For sequential readers: drops resident pages before `position` once
  // 64 MiB have been passed since the last release; they are re-read from
  // the file if touched again.
  void ReleaseBefore(const char* position);
  // Drops the resident whole pages inside [offset, offset + length).
  void Release(uint64_t offset, uint64_t length);

 private:
  MappedFile() = default;
  const char* data_ = nullptr;
  uint64_t size_ = 0;
  uint64_t released_ = 0;
};

}  // namespace predstore
