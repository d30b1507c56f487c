#include "client/command_line.h"

#include <cstdio>
#include <string>

namespace predstore {

std::optional<int> ParseCommandLine(CLI::App& app, int argc, char** argv) {
  // The first word that is neither a flag nor a flag's value names the
  // command (the program's own flags all take a value).
  for (int i = 1; i < argc; ++i) {
    const std::string word = argv[i];
    if (word.starts_with("-")) {
      if (word.find('=') == std::string::npos) ++i;  // --flag value
      continue;
    }
    try {
      app.get_subcommand(word);
    } catch (const CLI::OptionNotFound&) {
      std::fprintf(stderr, "%s: unknown command \"%s\"\nRun '%s --help' for the commands.\n",
                   app.get_name().c_str(), word.c_str(), app.get_name().c_str());
      return 2;
    }
    break;
  }
  try {
    app.parse(argc, argv);
    return std::nullopt;
  } catch (const CLI::CallForHelp&) {
    // The help of the innermost command named on the line.
    CLI::App* command = &app;
    while (!command->get_subcommands().empty()) command = command->get_subcommands().front();
    std::fputs(command->help().c_str(), stdout);
    return 0;
  } catch (const CLI::ParseError& error) {
    std::string where = app.get_name();
    for (const CLI::App* command : app.get_subcommands()) where += " " + command->get_name();
    std::fprintf(stderr, "%s: %s\nRun '%s --help' for its flags.\n", where.c_str(), error.what(), where.c_str());
    return 2;
  }
}

}  // namespace predstore
