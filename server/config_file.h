// Configuration files for a program's Abseil flags (the server's). A
// config file is YAML: one mapping from option names (the flag names, '-'
// or '_') to scalar values, written as on the command line ("true", "250",
// "127.0.0.1:50051"); a comment may follow any line. Flags given on the command line override
// the file: call ApplyConfigFile before absl::ParseCommandLine.
//
//   # predstore.yaml
//   data_dir: /var/lib/predstore
//   max_batch_keys: 5000
//
// Errors name the file, line and column: YAML that does not parse, a
// document that is not a mapping, an unknown or repeated option, a value
// that is not a scalar or that the flag refuses. On error no flag changes.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "absl/flags/commandlineflag.h"
#include "absl/status/status.h"

namespace predstore {

// Which flags a config file may set (the program's own, say).
using ConfigurableFlag = std::function<bool(const absl::CommandLineFlag&)>;

// The value of `--<flag_name>=VALUE` or `--<flag_name> VALUE` in argv (the
// last one wins), if any.
std::optional<std::string> FlagArgument(int argc, char** argv, std::string_view flag_name);

// Sets the flags `file` names; every name must pass `configurable`.
absl::Status ApplyConfigFile(const std::filesystem::path& file, const ConfigurableFlag& configurable);

// A config file that sets every configurable flag to its current value,
// each under its help text as a comment, in name order, after `header`
// (comment lines). Reading it back with ApplyConfigFile changes nothing.
std::string ConfigFileOfCurrentValues(std::string_view header, const ConfigurableFlag& configurable);

}  // namespace predstore
