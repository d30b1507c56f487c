// Whole-file reads shared by the readers of model files, MLmodel files and
// registry metadata (core-internal), and the reader of token files that the
// server and the programs calling it share. Stateless.
#pragma once

#include <filesystem>
#include <string>

#include "absl/status/statusor.h"

namespace predstore {

// A bearer token: the file at `path` with leading and trailing whitespace
// (spaces, tabs, CR, LF) trimmed, so that "token\r\n" is "token". kNotFound
// when the file cannot be read; kPermissionDenied when anyone may read it
// (world-readable: chmod 600 it); kInvalidArgument when the token is empty
// or holds whitespace or control characters.
absl::StatusOr<std::string> ReadTokenFile(const std::string& path);

namespace internal {

// The bytes of `file`. kNotFound ("<file>: no such file") when it does not
// exist, kPermissionDenied when it cannot be opened, kDataLoss on a read
// error; each message names the file.
absl::StatusOr<std::string> ReadWholeFile(const std::filesystem::path& file);

}  // namespace internal
}  // namespace predstore
