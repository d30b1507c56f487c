#include "server/config_file.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/flags/reflection.h"
#include "core/base/strings.h"
#include "yaml-cpp/yaml.h"

namespace predstore {
namespace {

// "file:line:column: " for a YAML mark (which counts from 0).
std::string Where(const std::filesystem::path& file, const YAML::Mark& mark) {
  return StrCat(file.string(), ":", mark.line + 1, ":", mark.column + 1, ": ");
}

// `value` as a YAML double-quoted scalar.
std::string Quoted(std::string_view value) {
  std::string out = "\"";
  for (const char c : value) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out.append("\\n");
    } else if (c == '\t') {
      out.append("\\t");
    } else {
      out.push_back(c);
    }
  }
  return out + "\"";
}

// `text` as comment lines of at most ~100 columns; its line breaks stay.
std::string Comment(std::string_view text) {
  std::string out;
  size_t line_start = 0;  // in `out`
  size_t start = 0;
  out.push_back('#');
  while (start <= text.size()) {
    size_t end = text.find_first_of(" \n", start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view word = text.substr(start, end - start);
    if (!word.empty()) {
      if (out.size() - line_start > 1 && out.size() - line_start + 1 + word.size() > 100) {
        line_start = out.size() + 1;
        out.append("\n#");
      }
      out.push_back(' ');
      out.append(word);
    }
    if (end < text.size() && text[end] == '\n') {
      line_start = out.size() + 1;
      out.append("\n#");
    }
    start = end + 1;
  }
  out.push_back('\n');
  return out;
}

}  // namespace

std::optional<std::string> FlagArgument(int argc, char** argv, std::string_view flag_name) {
  std::optional<std::string> value;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--") break;
    if (!arg.starts_with("-")) continue;
    arg.remove_prefix(arg.starts_with("--") ? 2 : 1);
    if (!arg.starts_with(flag_name)) continue;
    arg.remove_prefix(flag_name.size());
    if (arg.starts_with("=")) {
      value = std::string(arg.substr(1));
    } else if (arg.empty() && i + 1 < argc) {
      value = argv[++i];
    }
  }
  return value;
}

absl::Status ApplyConfigFile(const std::filesystem::path& file, const ConfigurableFlag& configurable) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(file.string());
  } catch (const YAML::BadFile&) {
    return absl::NotFoundError(StrCat("cannot read the config file ", file.string()));
  } catch (const YAML::ParserException& error) {
    return absl::InvalidArgumentError(StrCat(Where(file, error.mark), "not YAML: ", error.msg));
  }
  if (root.IsNull()) return absl::OkStatus();  // empty, or comments only
  if (!root.IsMap()) {
    return absl::InvalidArgumentError(
        StrCat(Where(file, root.Mark()), "the config file must be a mapping of option names to values"));
  }
  // Each flag is set as its entry is read; on an error, the flags set so
  // far get their earlier values back.
  std::vector<std::pair<absl::CommandLineFlag*, std::string>> earlier_values;
  auto refuse = [&earlier_values](const YAML::Mark& mark, const std::filesystem::path& at, std::string message) {
    std::string ignored;
    for (auto& [flag, value] : earlier_values) flag->ParseFrom(value, &ignored);
    return absl::InvalidArgumentError(StrCat(Where(at, mark), message));
  };
  for (const auto& entry : root) {
    const YAML::Node& key = entry.first;
    const YAML::Node& value = entry.second;
    if (!key.IsScalar()) return refuse(key.Mark(), file, "an option name must be a word");
    std::string name = key.Scalar();
    std::replace(name.begin(), name.end(), '-', '_');
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr || !configurable(*flag)) {
      return refuse(key.Mark(), file, StrCat("unknown option \"", key.Scalar(), "\" (--helpfull lists the options)"));
    }
    for (const auto& [earlier, unused] : earlier_values) {
      if (earlier == flag) return refuse(key.Mark(), file, StrCat("option \"", name, "\" is set twice"));
    }
    if (!value.IsScalar()) {
      return refuse(value.IsNull() ? key.Mark() : value.Mark(), file,
                    StrCat("option \"", name, "\" needs one value, written as on the command line"));
    }
    earlier_values.emplace_back(flag, flag->CurrentValue());
    std::string error;
    if (!flag->ParseFrom(value.Scalar(), &error)) {
      return refuse(value.Mark(), file, StrCat("option \"", name, "\": ", error.empty() ? "bad value" : error));
    }
  }
  return absl::OkStatus();
}

std::string ConfigFileOfCurrentValues(std::string_view header, const ConfigurableFlag& configurable) {
  std::vector<const absl::CommandLineFlag*> flags;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (configurable(*flag)) flags.push_back(flag);
  }
  std::sort(flags.begin(), flags.end(), [](const auto* a, const auto* b) { return a->Name() < b->Name(); });
  std::string out = Comment(header);
  for (const absl::CommandLineFlag* flag : flags) {
    out += StrCat("\n", Comment(flag->Help()), flag->Name(), ": ");
    const std::string value = flag->CurrentValue();
    out += flag->TryGet<std::string>().has_value() ? Quoted(value) : value;
    out += "\n";
  }
  return out;
}

}  // namespace predstore
