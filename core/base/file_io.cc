#include "core/base/file_io.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

#include "absl/status/status.h"
#include "core/base/strings.h"

namespace predstore {

absl::StatusOr<std::string> ReadTokenFile(const std::string& path) {
  std::ifstream in(path);
  std::string token;
  if (!in) return absl::NotFoundError(StrCat("cannot read the token file ", path));
  if (!std::getline(in, token) || token.empty()) {
    return absl::InvalidArgumentError(StrCat("the token file ", path, " has an empty first line"));
  }
  return token;
}

namespace internal {

absl::StatusOr<std::string> ReadWholeFile(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::error_code error;
    if (!std::filesystem::exists(file, error)) return absl::NotFoundError(StrCat(file.string(), ": no such file"));
    return absl::PermissionDeniedError(StrCat(file.string(), ": cannot open: ", std::strerror(errno)));
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return absl::DataLossError(StrCat(file.string(), ": read error"));
  return buffer.str();
}

}  // namespace internal
}  // namespace predstore
