#include "core/base/file_io.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>
#include <system_error>

#include "absl/status/status.h"
#include "core/base/strings.h"

namespace predstore {

absl::StatusOr<std::string> ReadTokenFile(const std::string& path) {
  std::error_code error;
  const std::filesystem::file_status status = std::filesystem::status(path, error);
  if (error || !std::filesystem::is_regular_file(status)) {
    return absl::NotFoundError(StrCat("cannot read the token file ", path));
  }
  if ((status.permissions() & std::filesystem::perms::others_read) != std::filesystem::perms::none) {
    return absl::PermissionDeniedError(
        StrCat("the token file ", path, " is world-readable; make it private (chmod 600 ", path, ")"));
  }
  auto contents = internal::ReadWholeFile(path);
  if (!contents.ok()) return absl::NotFoundError(StrCat("cannot read the token file ", path));
  std::string_view token = *contents;
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!token.empty() && is_space(token.front())) token.remove_prefix(1);
  while (!token.empty() && is_space(token.back())) token.remove_suffix(1);
  if (token.empty()) return absl::InvalidArgumentError(StrCat("the token file ", path, " holds no token"));
  for (char c : token) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7F) {
      return absl::InvalidArgumentError(
          StrCat("the token file ", path, " holds whitespace or control characters inside the token"));
    }
  }
  return std::string(token);
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
