#include "core/base/logging.h"

#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/base/json_text.h"

namespace predstore {
namespace {

std::atomic<LogFormat> log_format{LogFormat::kText};

std::string_view LevelName(LogLevel level) {
  return level == LogLevel::kInfo ? "info" : level == LogLevel::kWarning ? "warning" : "error";
}

// `text` on one line: line breaks become \n, other control characters \xHH.
void AppendOneLine(std::string* out, std::string_view text) {
  for (const char c : text) {
    if (c == '\n') {
      out->append("\\n");
    } else if (c == '\r') {
      out->append("\\r");
    } else if (static_cast<unsigned char>(c) < 0x20 && c != '\t') {
      constexpr char kHex[] = "0123456789abcdef";
      out->append("\\x");
      out->push_back(kHex[(c >> 4) & 0xf]);
      out->push_back(kHex[c & 0xf]);
    } else {
      out->push_back(c);
    }
  }
}

// A logfmt value: bare when it needs no quoting, else quoted with \" and \\.
void AppendTextValue(std::string* out, std::string_view value) {
  const bool bare = !value.empty() && value.find_first_of(" \"=\\\t\r\n") == std::string_view::npos;
  if (bare) return AppendOneLine(out, value);
  out->push_back('"');
  std::string escaped;
  for (const char c : value) {
    if (c == '"' || c == '\\') escaped.push_back('\\');
    escaped.push_back(c);
  }
  AppendOneLine(out, escaped);
  out->push_back('"');
}

std::string Prefix(LogLevel level) {
  std::string stamp = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  if (log_format.load(std::memory_order_relaxed) == LogFormat::kJson) {
    return StrCat(R"({"time":")", stamp, R"(","level":")", LevelName(level), "\"");
  }
  const char tag = level == LogLevel::kInfo ? 'I' : level == LogLevel::kWarning ? 'W' : 'E';
  return StrCat(std::string_view(&tag, 1), " ", stamp);
}

void JsonMember(std::string* line, std::string_view name, std::string_view value, bool number) {
  line->append(",\"");
  AppendJsonEscaped(line, name);
  line->append("\":");
  if (number) return line->append(value), void();
  line->push_back('"');
  AppendJsonEscaped(line, value);
  line->push_back('"');
}

void Write(std::string line) {
  static std::mutex mu;
  line.push_back('\n');
  std::lock_guard<std::mutex> lock(mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace

void SetLogFormat(LogFormat format) { log_format.store(format, std::memory_order_relaxed); }

void LogLine(LogLevel level, std::string_view message) {
  std::string line = Prefix(level);
  if (log_format.load(std::memory_order_relaxed) == LogFormat::kJson) {
    JsonMember(&line, "message", message, false);
    line.push_back('}');
  } else {
    line.push_back(' ');
    AppendOneLine(&line, message);
  }
  Write(std::move(line));
}

void LogEvent(LogLevel level, std::string_view event, std::initializer_list<LogField> fields) {
  std::string line = Prefix(level);
  if (log_format.load(std::memory_order_relaxed) == LogFormat::kJson) {
    JsonMember(&line, "event", event, false);
    for (const LogField& field : fields) JsonMember(&line, field.name, field.value, field.number);
    line.push_back('}');
  } else {
    line.push_back(' ');
    AppendOneLine(&line, event);
    for (const LogField& field : fields) {
      line.push_back(' ');
      line.append(field.name);
      line.push_back('=');
      AppendTextValue(&line, field.value);
    }
  }
  Write(std::move(line));
}

}  // namespace predstore
