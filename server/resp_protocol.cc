#include "server/resp_protocol.h"

#include <charconv>

#include "core/base/strings.h"

namespace predstore {
namespace {

constexpr std::string_view kCrlf = "\r\n";

// Reads the decimal integer of a "*N" or "$N" header line at `at` (after its
// type byte), up to CRLF. Returns false when the line is incomplete; sets
// `error` when it is not a number.
bool ReadHeaderNumber(std::string_view input, size_t at, int64_t* value, size_t* line_end, std::string* error) {
  const size_t end = input.find(kCrlf, at);
  if (end == std::string_view::npos) {
    if (input.size() - at > 32) *error = "Protocol error: invalid length";
    return false;
  }
  const char* first = input.data() + at;
  const char* last = input.data() + end;
  auto [ptr, ec] = std::from_chars(first, last, *value);
  if (ec != std::errc() || ptr != last || first == last) {
    *error = "Protocol error: invalid length";
    return false;
  }
  *line_end = end + 2;
  return true;
}

RespParse ParseInline(std::string_view input, const RespLimits& limits, std::vector<std::string_view>* args,
                      size_t* consumed, std::string* error) {
  const size_t newline = input.find('\n');
  if (newline == std::string_view::npos) {
    if (input.size() > limits.max_inline_bytes) {
      *error = "Protocol error: too big inline request";
      return RespParse::kError;
    }
    return RespParse::kIncomplete;
  }
  if (newline > limits.max_inline_bytes) {
    *error = "Protocol error: too big inline request";
    return RespParse::kError;
  }
  std::string_view line = input.substr(0, newline);
  if (line.ends_with('\r')) line.remove_suffix(1);
  args->clear();
  size_t at = 0;
  while (at < line.size()) {
    const size_t start = line.find_first_not_of(" \t", at);
    if (start == std::string_view::npos) break;
    size_t end = line.find_first_of(" \t", start);
    if (end == std::string_view::npos) end = line.size();
    if (args->size() == limits.max_arguments) {
      *error = "Protocol error: too many arguments";
      return RespParse::kError;
    }
    args->push_back(line.substr(start, end - start));
    at = end;
  }
  *consumed = newline + 1;
  return RespParse::kCommand;
}

}  // namespace

RespParse ParseRespCommand(std::string_view input, const RespLimits& limits, std::vector<std::string_view>* args,
                           size_t* consumed, std::string* error) {
  if (input.empty()) return RespParse::kIncomplete;
  if (input[0] != '*') return ParseInline(input, limits, args, consumed, error);
  int64_t count = 0;
  size_t at = 0;
  if (!ReadHeaderNumber(input, 1, &count, &at, error)) {
    return error->empty() ? RespParse::kIncomplete : RespParse::kError;
  }
  if (count < 0 || static_cast<uint64_t>(count) > limits.max_arguments) {
    *error = count < 0 ? "Protocol error: invalid multibulk length" : "Protocol error: too many arguments";
    return RespParse::kError;
  }
  args->clear();
  for (int64_t i = 0; i < count; ++i) {
    if (at >= input.size()) return RespParse::kIncomplete;
    if (input[at] != '$') {
      *error = StrCat("Protocol error: expected '$', got '", std::string_view(&input[at], 1), "'");
      return RespParse::kError;
    }
    int64_t length = 0;
    size_t data = 0;
    if (!ReadHeaderNumber(input, at + 1, &length, &data, error)) {
      return error->empty() ? RespParse::kIncomplete : RespParse::kError;
    }
    if (length < 0 || static_cast<uint64_t>(length) > limits.max_argument_bytes) {
      *error = length < 0 ? "Protocol error: invalid bulk length"
                          : StrCat("Protocol error: an argument of ", length, " bytes; at most ",
                                   limits.max_argument_bytes, " are taken");
      return RespParse::kError;
    }
    const size_t end = data + static_cast<size_t>(length) + 2;
    if (end > limits.max_command_bytes) {
      *error = StrCat("Protocol error: a command of more than ", limits.max_command_bytes, " bytes");
      return RespParse::kError;
    }
    if (end > input.size()) return RespParse::kIncomplete;
    if (input.substr(end - 2, 2) != kCrlf) {
      *error = "Protocol error: a bulk string does not end with CRLF";
      return RespParse::kError;
    }
    args->push_back(input.substr(data, static_cast<size_t>(length)));
    at = end;
  }
  *consumed = at;
  return RespParse::kCommand;
}

namespace {

void AppendLine(std::string* out, char type, std::string_view text) {
  out->push_back(type);
  const size_t start = out->size();
  out->append(text);
  for (size_t i = start; i < out->size(); ++i) {
    if ((*out)[i] == '\r' || (*out)[i] == '\n') (*out)[i] = ' ';
  }
  out->append(kCrlf);
}

void AppendHeader(std::string* out, char type, int64_t number) {
  char buffer[24];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, number);
  out->push_back(type);
  out->append(buffer, end);
  out->append(kCrlf);
}

}  // namespace

void AppendRespSimple(std::string* out, std::string_view text) { AppendLine(out, '+', text); }
void AppendRespError(std::string* out, std::string_view text) { AppendLine(out, '-', text); }
void AppendRespInteger(std::string* out, int64_t value) { AppendHeader(out, ':', value); }

void AppendRespBulk(std::string* out, std::string_view bytes) {
  AppendHeader(out, '$', static_cast<int64_t>(bytes.size()));
  out->append(bytes);
  out->append(kCrlf);
}

void AppendRespNull(std::string* out, int protocol) { out->append(protocol >= 3 ? "_\r\n" : "$-1\r\n"); }

void AppendRespArrayHeader(std::string* out, size_t elements) {
  AppendHeader(out, '*', static_cast<int64_t>(elements));
}

void AppendRespMapHeader(std::string* out, size_t pairs, int protocol) {
  if (protocol >= 3) {
    AppendHeader(out, '%', static_cast<int64_t>(pairs));
  } else {
    AppendHeader(out, '*', static_cast<int64_t>(2 * pairs));
  }
}

}  // namespace predstore
