// libFuzzer target: any bytes as what a Redis client sent. Parsing them
// command after command, as a connection does, must end in commands, an
// incomplete tail or a protocol error, never a crash (AddressSanitizer,
// UBSan); every argument must lie inside the input, every command must
// consume bytes, and an incomplete tail must be within the limits, so a
// connection's buffer stays bounded. Run by tests/fuzz/run_fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "server/resp_protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  predstore::RespLimits limits;
  limits.max_arguments = 64;
  limits.max_argument_bytes = 256;
  limits.max_command_bytes = 4096;
  limits.max_inline_bytes = 512;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> args;
  std::string error;
  while (true) {
    size_t consumed = 0;
    const predstore::RespParse parsed = predstore::ParseRespCommand(input, limits, &args, &consumed, &error);
    if (parsed == predstore::RespParse::kError) break;
    if (parsed == predstore::RespParse::kIncomplete) {
      const size_t bound = input.empty() || input[0] != '*' ? limits.max_inline_bytes : limits.max_command_bytes + 64;
      if (input.size() > bound) std::abort();
      break;
    }
    if (consumed == 0 || consumed > input.size() || args.size() > limits.max_arguments) std::abort();
    for (std::string_view arg : args) {
      if (arg.data() < input.data() || arg.data() + arg.size() > input.data() + consumed) std::abort();
      if (arg.size() > limits.max_argument_bytes && input[0] == '*') std::abort();
    }
    input.remove_prefix(consumed);
  }
  std::string reply;
  predstore::AppendRespBulk(&reply, error);
  predstore::AppendRespError(&reply, error);
  return 0;
}
