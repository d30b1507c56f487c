// Whole-file reads shared by the readers of model files, MLmodel files and
// registry metadata. Core-internal.
#pragma once

#include <filesystem>
#include <string>

#include "absl/status/statusor.h"

namespace predstore::internal {

// The bytes of `file`. kNotFound ("<file>: no such file") when it does not
// exist, kPermissionDenied when it cannot be opened, kDataLoss on a read
// error; each message names the file.
absl::StatusOr<std::string> ReadWholeFile(const std::filesystem::path& file);

}  // namespace predstore::internal
