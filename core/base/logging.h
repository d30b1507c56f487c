// The project's one logging facility (the pinned Abseil has no absl/log).
// Writes one line per event to stderr, as text (the default) or as JSON
// (SetLogFormat), so a log shipper can parse it:
//   text: I 2026-12-06T20:50:24.123Z message
//         W 2026-12-06T20:50:24.123Z request_failed front_end=grpc code=NOT_FOUND message="no table \"x\""
//   json: {"time":"2026-12-06T20:50:24.123Z","level":"info","message":"message"}
//         {"time":"...","level":"warning","event":"request_failed","front_end":"grpc",...}
// A message never spans lines: line breaks in it are written as \n.
// Thread-safe: lines from concurrent callers never interleave.
#pragma once

#include <initializer_list>
#include <string_view>

#include "core/base/strings.h"

namespace predstore {

enum class LogLevel { kInfo, kWarning, kError };
enum class LogFormat { kText, kJson };

// Sets the format of every later line. Call once at start, before threads
// log; the default is kText.
void SetLogFormat(LogFormat format);

// Writes `message` at `level`. Blocks briefly on a process-wide mutex.
void LogLine(LogLevel level, std::string_view message);

// One named field of a structured event; a number is written unquoted in
// JSON (`value` must then be a JSON number).
struct LogField {
  std::string_view name;
  std::string_view value;
  bool number = false;
};

// Writes the event `event` with its fields, in order, at `level`.
void LogEvent(LogLevel level, std::string_view event, std::initializer_list<LogField> fields);

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
