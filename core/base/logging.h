// The project's one logging facility (the pinned Abseil has no absl/log).
// Writes one timestamped line per call to stderr. Thread-safe: lines from
// concurrent callers never interleave.
#pragma once

#include <string_view>

#include "core/base/strings.h"

namespace predstore {

enum class LogLevel { kInfo, kWarning, kError };

// Writes `message` at `level`. Blocks briefly on a process-wide mutex.
void LogLine(LogLevel level, std::string_view message);

template <typename... Args>
void LogInfo(const Args&... args) {
  LogLine(LogLevel::kInfo, StrCat(args...));
}
template <typename... Args>
void LogWarning(const Args&... args) {
  LogLine(LogLevel::kWarning, StrCat(args...));
}
template <typename... Args>
void LogError(const Args&... args) {
  LogLine(LogLevel::kError, StrCat(args...));
}

}  // namespace predstore
