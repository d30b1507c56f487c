// The Redis serialization protocol (RESP2 and RESP3) as a server needs it:
// an incremental parser of client commands, with limits, and writers of
// replies. Pure functions over buffers, no I/O; thread-safe.
// Specification: https://redis.io/docs/reference/protocol-spec/
//
// A command is an array of bulk strings ("*2\r\n$3\r\nGET\r\n$5\r\nkey:1\r\n"),
// as every client library sends it, or an inline command (a line of words
// separated by spaces or tabs, as typed into telnet; no quoting).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace predstore {

struct RespLimits {
  // Most arguments (the command name included) in one command.
  size_t max_arguments = 1 << 16;
  // Longest argument.
  size_t max_argument_bytes = 64 << 10;
  // Longest command, framing included.
  size_t max_command_bytes = 4 << 20;
  // Longest inline command line.
  size_t max_inline_bytes = 64 << 10;
};

enum class RespParse {
  kCommand,     // one command parsed; `args` and `consumed` are set
  kIncomplete,  // `input` holds only the start of a command: read more
  kError,       // a protocol error or a limit: `error` says which
};

// Parses the command at the front of `input`. On kCommand, `args` views
// into `input` (valid while it is unchanged) and `consumed` is the command's
// length; an empty inline line is a command with no arguments. On
// kIncomplete nothing is consumed, and everything `input` holds is within
// the limits. On kError, `error` is the text of the reply (without "-ERR ")
// and the stream cannot be resynchronised: the connection must close after
// answering it, as Redis does.
RespParse ParseRespCommand(std::string_view input, const RespLimits& limits, std::vector<std::string_view>* args,
                           size_t* consumed, std::string* error);

// Reply writers: each appends one complete RESP value to `out`. `protocol`
// is 2 or 3 (the connection's, as HELLO set it).
void AppendRespSimple(std::string* out, std::string_view text);  // +OK; CR and LF become spaces
void AppendRespError(std::string* out, std::string_view text);   // -ERR ...; CR and LF become spaces
void AppendRespInteger(std::string* out, int64_t value);
void AppendRespBulk(std::string* out, std::string_view bytes);
void AppendRespNull(std::string* out, int protocol);  // $-1 in RESP2, _ in RESP3
void AppendRespArrayHeader(std::string* out, size_t elements);
// A map of `pairs` key/value pairs: %N in RESP3, an array of 2N in RESP2.
void AppendRespMapHeader(std::string* out, size_t pairs, int protocol);

}  // namespace predstore
