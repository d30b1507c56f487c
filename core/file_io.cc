#include "core/file_io.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

#include "absl/status/status.h"
#include "core/strings.h"

namespace predstore::internal {

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

}  // namespace predstore::internal
