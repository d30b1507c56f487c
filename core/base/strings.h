// String helpers bridging std::string_view and the pinned Abseil, whose
// absl::string_view is its own type (ABSL_OPTION_USE_STD_STRING_VIEW is 0 in
// Debian's build). Project code uses std::string_view; these accept it.
#pragma once

#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace predstore {

inline absl::string_view ToAbsl(std::string_view text) { return absl::string_view(text.data(), text.size()); }
inline std::string_view FromAbsl(absl::string_view text) { return std::string_view(text.data(), text.size()); }

namespace internal {
template <typename T>
const T& AsPiece(const T& value) {
  return value;
}
inline absl::string_view AsPiece(const std::string_view& value) { return ToAbsl(value); }
}  // namespace internal

// absl::StrCat / absl::StrAppend that also take std::string_view arguments.
template <typename... Args>
std::string StrCat(const Args&... args) {
  return absl::StrCat(internal::AsPiece(args)...);
}
template <typename... Args>
void StrAppend(std::string* out, const Args&... args) {
  absl::StrAppend(out, internal::AsPiece(args)...);
}

// The value of the hex digit `c` (either case), or -1.
inline int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace predstore
