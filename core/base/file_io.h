// Whole-file reads shared by the readers of model files, MLmodel files and
// registry metadata (core-internal), and the reader of token files that the
// server and the programs calling it share. Stateless.
#pragma once

#include <filesystem>
#include <string>

#include "absl/status/statusor.h"

namespace predstore {

// A bearer token: the first line of the file at `path`. kNotFound when the
// file cannot be read, kInvalidArgument when its first line is empty.
absl::StatusOr<std::string> ReadTokenFile(const std::string& path);

namespace internal {

// The bytes of `file`. kNotFound ("<file>: no such file") when it does not
// exist, kPermissionDenied when it cannot be opened, kDataLoss on a read
// error; each message names the file.
absl::StatusOr<std::string> ReadWholeFile(const std::filesystem::path& file);

}  // namespace internal
}  // namespace predstore
