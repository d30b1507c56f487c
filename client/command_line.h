// Command-line parsing shared by predstore-cli and predstore-load: each
// program is a CLI11 App with one subcommand per command, and each
// subcommand takes and lists (`<command> --help`) only its own flags.
#pragma once

#include <optional>

#include "CLI/CLI.hpp"

namespace predstore {

// Parses argv into `app`. Returns the exit status when parsing ends the
// program: 0 after --help (printed to stdout), 2 after a usage error
// (printed to stderr, with the command to get help); nullopt otherwise.
std::optional<int> ParseCommandLine(CLI::App& app, int argc, char** argv);

}  // namespace predstore
