#include "core/ingest/delta_table.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cctype>
#include <chrono>
#include <limits>
#include <map>
#include <set>
#include <string_view>
#include <system_error>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "core/base/file_io.h"
#include "core/base/status_macros.h"
#include "core/base/strings.h"
#include "core/parquet/file_reader.h"
#include "core/parquet/nested_reader.h"
#include "simdjson.h"

namespace predstore {
namespace {

// A timestamp partition value as PROTOCOL.md serializes it, "2021-12-04
// 10:00:00[.123456]" (UTC), in RFC 3339 ("2021-12-04T10:00:00[.123456]Z");
// other forms (already ISO 8601) unchanged.
std::string TimestampAsRfc3339(const std::string& value) {
  if (value.size() < 19 || value[10] != ' ' || value.find_first_of("TZz+", 10) != std::string::npos) return value;
  return StrCat(value.substr(0, 10), "T", value.substr(11), "Z");
}

namespace fs = std::filesystem;
using parquet::NestedLeafChunk;
using parquet::ParquetFile;
using parquet::PhysicalType;

// Reader features this reader implements (PROTOCOL.md "Table Features"):
// columnMapping only with mode none (checked separately), timestampNtz (a
// column type; the loader maps or refuses it), v2Checkpoint (UUID-named
// checkpoints and sidecars), vacuumProtocolCheck (nothing to do for a
// reader).
constexpr std::array<std::string_view, 4> kSupportedReaderFeatures = {
    "columnMapping", "timestampNtz", "v2Checkpoint", "vacuumProtocolCheck"};
constexpr int32_t kMaxReaderVersion = 3;

// ---- The log's file names ---------------------------------------------------

// One way to read the table state at a version from a checkpoint.
struct Checkpoint {
  enum class Kind { kClassic, kMultiPart, kUuidJson, kUuidParquet };
  int64_t version = 0;
  Kind kind = Kind::kClassic;
  std::vector<fs::path> files;  // the parts in order, else one file
};

struct LogListing {
  std::map<int64_t, fs::path> commits;
  // Complete checkpoints by version, the preferred first.
  std::map<int64_t, std::vector<Checkpoint>> checkpoints;
};

// "00000000000000000007.json": a commit's file name.
std::string CommitFileName(int64_t version) {
  std::string digits = std::to_string(version);
  if (digits.size() < 20) digits.insert(0, 20 - digits.size(), '0');
  return StrCat(digits, ".json");
}

bool AllDigits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool IsUuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? c != '-' : !std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

absl::StatusOr<LogListing> ListLog(const fs::path& log) {
  LogListing listing;
  // Multi-part checkpoints by (version, parts): part number -> file.
  std::map<std::pair<int64_t, int64_t>, std::map<int64_t, fs::path>> multi_part;
  std::error_code error;
  fs::directory_iterator it(log, error);
  if (error) return absl::NotFoundError(StrCat(log.string(), ": cannot list: ", error.message()));
  for (; it != fs::directory_iterator(); it.increment(error)) {
    if (error) return absl::DataLossError(StrCat(log.string(), ": listing failed: ", error.message()));
    if (!it->is_regular_file(error)) continue;
    const std::string name = it->path().filename().string();
    std::string_view view(name);
    if (view.size() < 21 || !AllDigits(view.substr(0, 20)) || view[20] != '.') continue;
    int64_t version;
    if (!absl::SimpleAtoi(ToAbsl(view.substr(0, 20)), &version)) continue;
    std::string_view rest = view.substr(21);
    if (rest == "json") {
      listing.commits[version] = it->path();
      continue;
    }
    if (rest.substr(0, 11) != "checkpoint.") continue;
    rest.remove_prefix(11);
    if (rest == "parquet") {
      listing.checkpoints[version].push_back({version, Checkpoint::Kind::kClassic, {it->path()}});
    } else if (rest.size() == 10 + 1 + 10 + 8 && AllDigits(rest.substr(0, 10)) && rest[10] == '.' &&
               AllDigits(rest.substr(11, 10)) && rest.substr(21) == ".parquet") {
      int64_t part, parts;
      if (!absl::SimpleAtoi(ToAbsl(rest.substr(0, 10)), &part) || !absl::SimpleAtoi(ToAbsl(rest.substr(11, 10)), &parts)) {
        continue;
      }
      if (part >= 1 && part <= parts) multi_part[{version, parts}][part] = it->path();
    } else if (rest.size() > 37 && IsUuid(rest.substr(0, 36)) && rest[36] == '.') {
      const std::string_view format = rest.substr(37);
      if (format == "json") {
        listing.checkpoints[version].push_back({version, Checkpoint::Kind::kUuidJson, {it->path()}});
      } else if (format == "parquet") {
        listing.checkpoints[version].push_back({version, Checkpoint::Kind::kUuidParquet, {it->path()}});
      }
    }
  }
  // A multi-part checkpoint with a part missing is ignored (PROTOCOL.md:
  // it may be still being written, or its writer failed).
  for (auto& [key, parts] : multi_part) {
    if (static_cast<int64_t>(parts.size()) != key.second) continue;
    Checkpoint checkpoint{key.first, Checkpoint::Kind::kMultiPart, {}};
    for (auto& [part, file] : parts) checkpoint.files.push_back(file);
    listing.checkpoints[key.first].push_back(std::move(checkpoint));
  }
  // Prefer the classic single file, then multi-part, then UUID-named (the
  // enum's order); for a version with several, any is complete.
  for (auto& [version, candidates] : listing.checkpoints) {
    std::stable_sort(candidates.begin(), candidates.end(),
                     [](const Checkpoint& a, const Checkpoint& b) { return a.kind < b.kind; });
  }
  return listing;
}

// ---- Table state while replaying -----------------------------------------

struct Protocol {
  int32_t min_reader_version = 1;
  std::vector<std::string> reader_features;
};

struct Metadata {
  std::string id;
  std::string schema_string;
  std::vector<std::string> partition_columns;
  std::map<std::string, std::string> configuration;
  std::string format_provider = "parquet";
};

struct FileEntry {
  std::string log_path;  // as written in the log, for messages
  std::map<std::string, std::optional<std::string>> partition_values;
  int64_t size = 0;
};

struct LogState {
  std::optional<Protocol> protocol;
  std::optional<Metadata> metadata;
  // Keyed by the data file's full path (decoded, lexically normal).
  absl::flat_hash_map<std::string, FileEntry> files;
  // The first add carrying a deletion vector (refused after the protocol
  // check, so that an unsupported protocol is named first).
  std::optional<std::string> deletion_vector_file;
  // Sidecar files named by a v2 checkpoint.
  std::vector<std::string> sidecars;
};

// Decodes %XX escapes (RFC 2396); a malformed escape is an error.
absl::StatusOr<std::string> PercentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size() || hex(text[i + 1]) < 0 || hex(text[i + 2]) < 0) {
      return absl::DataLossError(StrCat("malformed %-escape in path \"", text, "\""));
    }
    out.push_back(static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2])));
    i += 2;
  }
  if (out.find('\0') != std::string::npos) return absl::DataLossError(StrCat("path \"", text, "\" holds a NUL byte"));
  return out;
}

// The local file a log path names: a URI reference relative to `base` (the
// table directory, or _delta_log/_sidecars for sidecars), an absolute path,
// or a file: URI. Other schemes are kUnimplemented.
absl::StatusOr<fs::path> ResolvePath(const fs::path& base, std::string_view uri) {
  if (uri.empty()) return absl::DataLossError("empty path");
  // A scheme is ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) followed by ':'.
  size_t colon = 0;
  if (std::isalpha(static_cast<unsigned char>(uri[0]))) {
    size_t i = 1;
    while (i < uri.size() && (std::isalnum(static_cast<unsigned char>(uri[i])) || uri[i] == '+' || uri[i] == '-' ||
                              uri[i] == '.')) {
      ++i;
    }
    if (i < uri.size() && uri[i] == ':') colon = i;
  }
  if (colon > 0) {
    std::string scheme(uri.substr(0, colon));
    std::transform(scheme.begin(), scheme.end(), scheme.begin(), [](unsigned char c) { return std::tolower(c); });
    if (scheme != "file") {
      return absl::UnimplementedError(
          StrCat("data path \"", uri, "\" is on a ", scheme, ": file system; only local tables can be read"));
    }
    std::string_view rest = uri.substr(colon + 1);
    if (rest.substr(0, 2) == "//") {
      // file://host/path: only an empty host or localhost is this machine.
      rest.remove_prefix(2);
      const size_t slash = rest.find('/');
      const std::string_view host = rest.substr(0, slash);
      if (slash == std::string_view::npos || (!host.empty() && host != "localhost")) {
        return absl::UnimplementedError(StrCat("data path \"", uri, "\" is on another host; only local tables can be read"));
      }
      rest.remove_prefix(slash);
    }
    if (rest.empty() || rest[0] != '/') return absl::DataLossError(StrCat("file: URI \"", uri, "\" has no absolute path"));
    PREDSTORE_ASSIGN_OR_RETURN(std::string decoded, PercentDecode(rest));
    return fs::path(decoded).lexically_normal();
  }
  PREDSTORE_ASSIGN_OR_RETURN(std::string decoded, PercentDecode(uri));
  fs::path relative(decoded);
  if (relative.is_absolute()) return relative.lexically_normal();
  for (const fs::path& part : relative) {
    if (part == "..") return absl::DataLossError(StrCat("path \"", uri, "\" leaves the table directory"));
  }
  relative = relative.lexically_normal();
  if (relative.empty() || relative == "." || !relative.has_filename()) {
    return absl::DataLossError(StrCat("path \"", uri, "\" names no file"));
  }
  return base / relative;
}

// ---- JSON actions -----------------------------------------------------------

// Where a JSON action comes from, for messages: "<file>: line 3: ".
struct JsonPlace {
  const fs::path* file;
  size_t line;
  std::string Prefix() const { return StrCat(file->string(), ": line ", line, ": "); }
};

absl::Status JsonError(const JsonPlace& place, std::string_view reason) {
  return absl::DataLossError(StrCat(place.Prefix(), reason));
}

// `status` with `prefix` before its message, its code kept.
absl::Status Prefixed(const absl::Status& status, std::string_view prefix) {
  return absl::Status(status.code(), ToAbsl(StrCat(prefix, status.message())));
}

// Field `name` of `object`: nullopt when absent or null.
std::optional<simdjson::dom::element> Field(simdjson::dom::object object, std::string_view name) {
  simdjson::dom::element value;
  if (object.at_key(name).get(value) != simdjson::SUCCESS || value.is_null()) return std::nullopt;
  return value;
}

absl::StatusOr<std::string> RequiredString(const JsonPlace& place, simdjson::dom::object object, std::string_view action,
                                           std::string_view name) {
  auto value = Field(object, name);
  std::string_view text;
  if (!value || value->get_string().get(text) != simdjson::SUCCESS) {
    return JsonError(place, StrCat(action, " action without a string \"", name, "\""));
  }
  return std::string(text);
}

absl::StatusOr<int64_t> RequiredInt(const JsonPlace& place, simdjson::dom::object object, std::string_view action,
                                    std::string_view name) {
  auto value = Field(object, name);
  int64_t number;
  if (!value || value->get_int64().get(number) != simdjson::SUCCESS) {
    return JsonError(place, StrCat(action, " action without an integer \"", name, "\""));
  }
  return number;
}

absl::StatusOr<std::vector<std::string>> StringArray(const JsonPlace& place, simdjson::dom::object object,
                                                     std::string_view action, std::string_view name) {
  std::vector<std::string> out;
  auto value = Field(object, name);
  if (!value) return out;
  simdjson::dom::array array;
  if (value->get_array().get(array) != simdjson::SUCCESS) {
    return JsonError(place, StrCat(action, ".", name, " is not an array"));
  }
  for (simdjson::dom::element item : array) {
    std::string_view text;
    if (item.get_string().get(text) != simdjson::SUCCESS) {
      return JsonError(place, StrCat(action, ".", name, " holds a non-string"));
    }
    out.emplace_back(text);
  }
  return out;
}

// A JSON object of strings; `nulls_allowed` keeps null values as nullopt
// (partition values), else they are skipped.
absl::StatusOr<std::map<std::string, std::optional<std::string>>> StringMap(const JsonPlace& place,
                                                                           simdjson::dom::object object,
                                                                           std::string_view action,
                                                                           std::string_view name) {
  std::map<std::string, std::optional<std::string>> out;
  auto value = Field(object, name);
  if (!value) return out;
  simdjson::dom::object map;
  if (value->get_object().get(map) != simdjson::SUCCESS) {
    return JsonError(place, StrCat(action, ".", name, " is not an object"));
  }
  for (auto field : map) {
    if (field.value.is_null()) {
      out[std::string(field.key)] = std::nullopt;
      continue;
    }
    std::string_view text;
    if (field.value.get_string().get(text) != simdjson::SUCCESS) {
      return JsonError(place, StrCat(action, ".", name, ".", field.key, " is not a string"));
    }
    out[std::string(field.key)] = std::string(text);
  }
  return out;
}

absl::Status ApplyAdd(const fs::path& table, std::string log_path, std::map<std::string, std::optional<std::string>> partition_values,
                      int64_t size, bool has_deletion_vector, LogState* state) {
  auto resolved = ResolvePath(table, log_path);
  if (!resolved.ok()) return resolved.status();
  if (has_deletion_vector && !state->deletion_vector_file) state->deletion_vector_file = log_path;
  state->files[resolved->string()] = FileEntry{std::move(log_path), std::move(partition_values), size};
  return absl::OkStatus();
}

absl::Status ApplyRemove(const fs::path& table, std::string_view log_path, bool has_deletion_vector, LogState* state) {
  // A remove keyed by (path, a deletion vector) does not remove the file
  // without one (PROTOCOL.md "Action Reconciliation").
  if (has_deletion_vector) return absl::OkStatus();
  auto resolved = ResolvePath(table, log_path);
  if (!resolved.ok()) return resolved.status();
  state->files.erase(resolved->string());
  return absl::OkStatus();
}

// The commit time a commitInfo gives (inCommitTimestamp, else timestamp).
std::optional<int64_t> CommitInfoTime(simdjson::dom::object commit_info) {
  for (std::string_view name : {"inCommitTimestamp", "timestamp"}) {
    auto value = Field(commit_info, name);
    int64_t time;
    if (value && value->get_int64().get(time) == simdjson::SUCCESS) return time;
  }
  return std::nullopt;
}

enum class JsonLogKind { kCommit, kCheckpoint };

// Applies the actions of a JSON commit (or a UUID-named JSON checkpoint)
// to `state`; returns the commit time its commitInfo gives, if any. With
// `state` null it only looks for the commit time (and stops there).
absl::StatusOr<std::optional<int64_t>> ReadJsonLogFile(const fs::path& table, const fs::path& file, JsonLogKind kind,
                                                       LogState* state) {
  PREDSTORE_ASSIGN_OR_RETURN(std::string text, internal::ReadWholeFile(file));
  simdjson::dom::parser parser;
  std::optional<int64_t> commit_time;
  size_t line_number = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + start, end - start);
    start = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    const JsonPlace place{&file, line_number};
    simdjson::dom::element doc;
    if (auto error = parser.parse(line.data(), line.size(), true).get(doc)) {
      return JsonError(place, StrCat("invalid JSON: ", simdjson::error_message(error)));
    }
    simdjson::dom::object action;
    if (doc.get_object().get(action) != simdjson::SUCCESS) return JsonError(place, "not a JSON object");
    if (auto info = Field(action, "commitInfo")) {
      simdjson::dom::object object;
      if (info->get_object().get(object) == simdjson::SUCCESS && !commit_time) commit_time = CommitInfoTime(object);
      if (state == nullptr) return commit_time;
      continue;
    }
    if (state == nullptr) continue;
    if (auto add = Field(action, "add")) {
      simdjson::dom::object object;
      if (add->get_object().get(object) != simdjson::SUCCESS) return JsonError(place, "add is not an object");
      PREDSTORE_ASSIGN_OR_RETURN(std::string path, RequiredString(place, object, "add", "path"));
      PREDSTORE_ASSIGN_OR_RETURN(auto partition_values, StringMap(place, object, "add", "partitionValues"));
      PREDSTORE_ASSIGN_OR_RETURN(int64_t size, RequiredInt(place, object, "add", "size"));
      const bool deletion_vector = Field(object, "deletionVector").has_value();
      auto status = ApplyAdd(table, std::move(path), std::move(partition_values), size, deletion_vector, state);
      if (!status.ok()) return Prefixed(status, place.Prefix());
    } else if (auto remove = Field(action, "remove")) {
      simdjson::dom::object object;
      if (remove->get_object().get(object) != simdjson::SUCCESS) return JsonError(place, "remove is not an object");
      PREDSTORE_ASSIGN_OR_RETURN(std::string path, RequiredString(place, object, "remove", "path"));
      // In a checkpoint, removes are tombstones for VACUUM only.
      if (kind == JsonLogKind::kCommit) {
        auto status = ApplyRemove(table, path, Field(object, "deletionVector").has_value(), state);
        if (!status.ok()) return Prefixed(status, place.Prefix());
      }
    } else if (auto metadata = Field(action, "metaData")) {
      simdjson::dom::object object;
      if (metadata->get_object().get(object) != simdjson::SUCCESS) return JsonError(place, "metaData is not an object");
      Metadata parsed;
      PREDSTORE_ASSIGN_OR_RETURN(parsed.id, RequiredString(place, object, "metaData", "id"));
      PREDSTORE_ASSIGN_OR_RETURN(parsed.schema_string, RequiredString(place, object, "metaData", "schemaString"));
      PREDSTORE_ASSIGN_OR_RETURN(parsed.partition_columns, StringArray(place, object, "metaData", "partitionColumns"));
      PREDSTORE_ASSIGN_OR_RETURN(auto configuration, StringMap(place, object, "metaData", "configuration"));
      for (auto& [key, value] : configuration) {
        if (value) parsed.configuration[key] = *value;
      }
      if (auto format = Field(object, "format")) {
        simdjson::dom::object format_object;
        std::string_view provider;
        if (format->get_object().get(format_object) == simdjson::SUCCESS) {
          if (auto field = Field(format_object, "provider"); field && field->get_string().get(provider) == simdjson::SUCCESS) {
            parsed.format_provider = std::string(provider);
          }
        }
      }
      state->metadata = std::move(parsed);
    } else if (auto protocol = Field(action, "protocol")) {
      simdjson::dom::object object;
      if (protocol->get_object().get(object) != simdjson::SUCCESS) return JsonError(place, "protocol is not an object");
      Protocol parsed;
      PREDSTORE_ASSIGN_OR_RETURN(int64_t reader, RequiredInt(place, object, "protocol", "minReaderVersion"));
      parsed.min_reader_version = static_cast<int32_t>(std::clamp<int64_t>(reader, 0, 1 << 30));
      PREDSTORE_ASSIGN_OR_RETURN(parsed.reader_features, StringArray(place, object, "protocol", "readerFeatures"));
      state->protocol = std::move(parsed);
    } else if (auto sidecar = Field(action, "sidecar")) {
      if (kind != JsonLogKind::kCheckpoint) return JsonError(place, "a sidecar action outside a checkpoint");
      simdjson::dom::object object;
      if (sidecar->get_object().get(object) != simdjson::SUCCESS) return JsonError(place, "sidecar is not an object");
      PREDSTORE_ASSIGN_OR_RETURN(std::string path, RequiredString(place, object, "sidecar", "path"));
      state->sidecars.push_back(std::move(path));
    }
    // txn, cdc, domainMetadata, checkpointMetadata and unknown actions do
    // not change the set of files.
  }
  return commit_time;
}

// ---- Parquet checkpoints ----------------------------------------------------

// The leaves of `file` whose path starts with `prefix`.
std::vector<int> LeavesUnder(const ParquetFile& file, std::initializer_list<std::string_view> prefix) {
  std::vector<int> out;
  for (size_t i = 0; i < file.columns().size(); ++i) {
    const auto& path = file.columns()[i].path_in_schema;
    if (path.size() < prefix.size()) continue;
    if (std::equal(prefix.begin(), prefix.end(), path.begin())) out.push_back(static_cast<int>(i));
  }
  return out;
}

absl::Status ShapeError(const ParquetFile& file, std::string_view what, std::string_view expected) {
  return absl::DataLossError(StrCat(file.path(), ": checkpoint column ", what, " is not ", expected));
}

// A scalar leaf `prefix` (exactly that path, not repeated, of `type`), or
// -1 when the file lacks it (a missing column reads as null).
absl::StatusOr<int> ScalarLeaf(const ParquetFile& file, std::initializer_list<std::string_view> path, PhysicalType type) {
  const std::vector<int> leaves = LeavesUnder(file, path);
  if (leaves.empty()) return -1;
  const auto& leaf = file.columns()[static_cast<size_t>(leaves[0])];
  if (leaves.size() != 1 || leaf.path_in_schema.size() != path.size() || leaf.max_repetition_level != 0 ||
      leaf.type != type) {
    return ShapeError(file, StrCat(leaf.name, " (", parquet::DescribeColumnType(leaf), ")"),
                      StrCat("a non-repeated ", parquet::PhysicalTypeName(type)));
  }
  return leaves[0];
}

// A list<string> under `path`: its one BYTE_ARRAY leaf with one repeated
// level (3-level list/element or legacy 2-level), or -1 when absent.
absl::StatusOr<int> StringListLeaf(const ParquetFile& file, std::initializer_list<std::string_view> path) {
  const std::vector<int> leaves = LeavesUnder(file, path);
  if (leaves.empty()) return -1;
  const auto& leaf = file.columns()[static_cast<size_t>(leaves[0])];
  if (leaves.size() != 1 || leaf.max_repetition_level != 1 || leaf.type != PhysicalType::kByteArray) {
    return ShapeError(file, leaf.name, "a list of strings");
  }
  return leaves[0];
}

// A map<string,string> under `path`: its key and value leaves, or -1s.
absl::StatusOr<std::pair<int, int>> StringMapLeaves(const ParquetFile& file, std::initializer_list<std::string_view> path) {
  const std::vector<int> leaves = LeavesUnder(file, path);
  if (leaves.empty()) return std::pair<int, int>{-1, -1};
  for (int leaf : leaves) {
    const auto& column = file.columns()[static_cast<size_t>(leaf)];
    if (leaves.size() != 2 || column.max_repetition_level != 1 || column.type != PhysicalType::kByteArray ||
        column.path_in_schema.size() != path.size() + 2) {
      return ShapeError(file, column.name, "part of a map of strings to strings");
    }
  }
  return std::pair<int, int>{leaves[0], leaves[1]};
}

// The entries of a map<string,string> in `row`.
absl::StatusOr<std::map<std::string, std::optional<std::string>>> ReadStringMap(const NestedLeafChunk& keys,
                                                                               const NestedLeafChunk& values,
                                                                               int64_t row) {
  std::map<std::string, std::optional<std::string>> out;
  const NestedLeafChunk::Range key_range = keys.Elements(row);
  const NestedLeafChunk::Range value_range = values.Elements(row);
  if (key_range.end - key_range.begin != value_range.end - value_range.begin) {
    return absl::DataLossError(StrCat("map ", keys.column().name, " has ", key_range.end - key_range.begin,
                                      " keys but ", value_range.end - value_range.begin, " values in row ", row));
  }
  for (size_t i = 0; i < key_range.end - key_range.begin; ++i) {
    const size_t key = key_range.begin + i, value = value_range.begin + i;
    if (!keys.has_value(key)) return absl::DataLossError(StrCat("map ", keys.column().name, " has a null key"));
    out[std::string(keys.bytes(key))] =
        values.has_value(value) ? std::optional<std::string>(std::string(values.bytes(value))) : std::nullopt;
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> ReadStringList(const NestedLeafChunk& elements, int64_t row) {
  std::vector<std::string> out;
  const NestedLeafChunk::Range range = elements.Elements(row);
  for (size_t entry = range.begin; entry < range.end; ++entry) {
    if (!elements.has_value(entry)) {
      return absl::DataLossError(StrCat("list ", elements.column().name, " holds a null"));
    }
    out.emplace_back(elements.bytes(entry));
  }
  return out;
}

// What a Parquet checkpoint file may hold: every action (a classic or
// multi-part checkpoint, a UUID-named v2 one), or file actions only (a
// sidecar).
enum class CheckpointPart { kCheckpoint, kSidecar };

// Reads the actions of a Parquet checkpoint file into `state`: adds,
// metaData, protocol and sidecars; removes are tombstones and are skipped.
absl::Status ReadParquetCheckpoint(const fs::path& table, const fs::path& path, CheckpointPart part, LogState* state) {
  parquet::ParquetOpenOptions options;
  options.nested = true;
  auto opened = ParquetFile::Open(path.string(), options);
  if (!opened.ok()) {
    return absl::DataLossError(StrCat("cannot read checkpoint: ", opened.status().message()));
  }
  const ParquetFile& file = **opened;
  PREDSTORE_ASSIGN_OR_RETURN(const int add_path, ScalarLeaf(file, {"add", "path"}, PhysicalType::kByteArray));
  PREDSTORE_ASSIGN_OR_RETURN(const int add_size, ScalarLeaf(file, {"add", "size"}, PhysicalType::kInt64));
  PREDSTORE_ASSIGN_OR_RETURN(const auto add_partitions, StringMapLeaves(file, {"add", "partitionValues"}));
  const std::vector<int> add_deletion_vector = LeavesUnder(file, {"add", "deletionVector"});
  // A sidecar holds add and remove actions only; other columns are ignored.
  const bool all_actions = part == CheckpointPart::kCheckpoint;
  PREDSTORE_ASSIGN_OR_RETURN(const int metadata_id, all_actions ? ScalarLeaf(file, {"metaData", "id"}, PhysicalType::kByteArray)
                                                                : absl::StatusOr<int>(-1));
  PREDSTORE_ASSIGN_OR_RETURN(const int metadata_schema,
                             ScalarLeaf(file, {"metaData", "schemaString"}, PhysicalType::kByteArray));
  PREDSTORE_ASSIGN_OR_RETURN(const int metadata_partitions, StringListLeaf(file, {"metaData", "partitionColumns"}));
  PREDSTORE_ASSIGN_OR_RETURN(const auto metadata_configuration, StringMapLeaves(file, {"metaData", "configuration"}));
  PREDSTORE_ASSIGN_OR_RETURN(const int metadata_provider,
                             ScalarLeaf(file, {"metaData", "format", "provider"}, PhysicalType::kByteArray));
  PREDSTORE_ASSIGN_OR_RETURN(const int protocol_reader,
                             all_actions ? ScalarLeaf(file, {"protocol", "minReaderVersion"}, PhysicalType::kInt32)
                                         : absl::StatusOr<int>(-1));
  PREDSTORE_ASSIGN_OR_RETURN(const int protocol_features, StringListLeaf(file, {"protocol", "readerFeatures"}));
  PREDSTORE_ASSIGN_OR_RETURN(const int sidecar_path, all_actions
                                                        ? ScalarLeaf(file, {"sidecar", "path"}, PhysicalType::kByteArray)
                                                        : absl::StatusOr<int>(-1));
  if (add_path >= 0 && add_size < 0) return ShapeError(file, "add", "a struct with a size");

  for (int group = 0; group < static_cast<int>(file.metadata().row_groups.size()); ++group) {
    auto where = [&](std::string_view reason) {
      return absl::DataLossError(StrCat(file.path(), ": row group ", group, ": ", reason));
    };
    std::map<int, NestedLeafChunk> chunks;
    const bool metadata = metadata_id >= 0, protocol = protocol_reader >= 0;
    for (int leaf : {add_path, add_size, add_partitions.first, add_partitions.second,
                     add_deletion_vector.empty() ? -1 : add_deletion_vector[0], metadata_id,
                     metadata ? metadata_schema : -1, metadata ? metadata_partitions : -1,
                     metadata ? metadata_configuration.first : -1, metadata ? metadata_configuration.second : -1,
                     metadata ? metadata_provider : -1, protocol_reader, protocol ? protocol_features : -1,
                     sidecar_path}) {
      if (leaf < 0 || chunks.count(leaf)) continue;
      auto chunk = NestedLeafChunk::Read(file, group, leaf);
      if (!chunk.ok()) return absl::DataLossError(StrCat("cannot read checkpoint: ", chunk.status().message()));
      chunks.emplace(leaf, *std::move(chunk));
    }
    auto chunk = [&](int leaf) -> const NestedLeafChunk* { return leaf < 0 ? nullptr : &chunks.at(leaf); };
    const int64_t rows = file.metadata().row_groups[static_cast<size_t>(group)].num_rows;
    for (int64_t row = 0; row < rows; ++row) {
      if (const NestedLeafChunk* paths = chunk(add_path)) {
        if (auto path = paths->OptionalBytes(row)) {
          auto size = chunk(add_size)->OptionalInt64(row);
          if (!size) return where(StrCat("row ", row, ": add of \"", *path, "\" without a size"));
          std::map<std::string, std::optional<std::string>> partition_values;
          if (add_partitions.first >= 0) {
            auto map = ReadStringMap(*chunk(add_partitions.first), *chunk(add_partitions.second), row);
            if (!map.ok()) return where(FromAbsl(map.status().message()));
            partition_values = *std::move(map);
          }
          bool deletion_vector = false;
          if (!add_deletion_vector.empty()) deletion_vector = chunk(add_deletion_vector[0])->DefinedAt(row, 1);
          auto status = ApplyAdd(table, std::string(*path), std::move(partition_values), *size, deletion_vector, state);
          if (!status.ok()) return Prefixed(status, StrCat(file.path(), ": row group ", group, ": "));
          continue;
        }
      }
      if (const NestedLeafChunk* ids = chunk(metadata_id)) {
        if (auto id = ids->OptionalBytes(row)) {
          Metadata metadata;
          metadata.id = std::string(*id);
          auto schema = metadata_schema >= 0 ? chunk(metadata_schema)->OptionalBytes(row) : std::nullopt;
          if (!schema) return where(StrCat("row ", row, ": metaData without a schemaString"));
          metadata.schema_string = std::string(*schema);
          if (metadata_partitions >= 0) {
            auto list = ReadStringList(*chunk(metadata_partitions), row);
            if (!list.ok()) return where(FromAbsl(list.status().message()));
            metadata.partition_columns = *std::move(list);
          }
          if (metadata_configuration.first >= 0) {
            auto map = ReadStringMap(*chunk(metadata_configuration.first), *chunk(metadata_configuration.second), row);
            if (!map.ok()) return where(FromAbsl(map.status().message()));
            for (auto& [key, value] : *map) {
              if (value) metadata.configuration[key] = *value;
            }
          }
          if (metadata_provider >= 0) {
            if (auto provider = chunk(metadata_provider)->OptionalBytes(row)) metadata.format_provider = *provider;
          }
          state->metadata = std::move(metadata);
          continue;
        }
      }
      if (const NestedLeafChunk* readers = chunk(protocol_reader)) {
        if (auto reader = readers->OptionalInt32(row)) {
          Protocol protocol;
          protocol.min_reader_version = *reader;
          if (protocol_features >= 0) {
            auto list = ReadStringList(*chunk(protocol_features), row);
            if (!list.ok()) return where(FromAbsl(list.status().message()));
            protocol.reader_features = *std::move(list);
          }
          state->protocol = std::move(protocol);
          continue;
        }
      }
      if (const NestedLeafChunk* sidecars = chunk(sidecar_path)) {
        if (auto path = sidecars->OptionalBytes(row)) state->sidecars.emplace_back(*path);
      }
    }
    opened->get()->ReleaseRowGroup(group);
  }
  return absl::OkStatus();
}

// Reads checkpoint `checkpoint` (and any sidecars it names) into `state`.
absl::Status ReadCheckpoint(const fs::path& table, const fs::path& log, const Checkpoint& checkpoint, LogState* state,
                            std::vector<fs::path>* files_read) {
  for (const fs::path& file : checkpoint.files) {
    if (checkpoint.kind == Checkpoint::Kind::kUuidJson) {
      PREDSTORE_ASSIGN_OR_RETURN(auto ignored, ReadJsonLogFile(table, file, JsonLogKind::kCheckpoint, state));
      (void)ignored;  // checkpoints carry no commitInfo
    } else {
      PREDSTORE_RETURN_IF_ERROR(ReadParquetCheckpoint(table, file, CheckpointPart::kCheckpoint, state));
    }
    files_read->push_back(file);
  }
  // A v2 checkpoint's file actions may live in sidecars (Parquet files in
  // _delta_log/_sidecars/, named relative to it).
  std::vector<std::string> sidecars = std::move(state->sidecars);
  state->sidecars.clear();
  for (const std::string& sidecar : sidecars) {
    auto path = ResolvePath(log / "_sidecars", sidecar);
    if (!path.ok()) return Prefixed(path.status(), StrCat(checkpoint.files[0].string(), ": sidecar: "));
    PREDSTORE_RETURN_IF_ERROR(ReadParquetCheckpoint(table, *path, CheckpointPart::kSidecar, state));
    files_read->push_back(*path);
  }
  return absl::OkStatus();
}

// ---- Protocol and schema ----------------------------------------------------

absl::Status CheckReadable(const Protocol& protocol, const Metadata& metadata) {
  if (protocol.min_reader_version > kMaxReaderVersion) {
    return absl::UnimplementedError(StrCat("the table needs Delta reader version ", protocol.min_reader_version,
                                           "; this reader implements versions up to ", kMaxReaderVersion));
  }
  for (const std::string& feature : protocol.reader_features) {
    if (feature == "deletionVectors") {
      return absl::UnimplementedError(
          "the table uses deletion vectors (reader feature deletionVectors), which this reader does not support");
    }
  }
  for (const std::string& feature : protocol.reader_features) {
    if (std::find(kSupportedReaderFeatures.begin(), kSupportedReaderFeatures.end(), feature) ==
        kSupportedReaderFeatures.end()) {
      return absl::UnimplementedError(StrCat("the table needs reader feature \"", feature,
                                             "\", which this reader does not support"));
    }
  }
  if (auto mode = metadata.configuration.find("delta.columnMapping.mode");
      mode != metadata.configuration.end() && mode->second != "none") {
    return absl::UnimplementedError(StrCat("the table uses column mapping (delta.columnMapping.mode = ", mode->second,
                                           "), which this reader does not support"));
  }
  if (metadata.format_provider != "parquet") {
    return absl::UnimplementedError(
        StrCat("the table's data files are in format \"", metadata.format_provider, "\"; only parquet is supported"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<DeltaColumn>> ParseSchema(std::string_view schema_string) {
  auto error = [](std::string_view reason) {
    return absl::DataLossError(StrCat("metaData.schemaString: ", reason));
  };
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto code = parser.parse(schema_string.data(), schema_string.size(), true).get(doc)) {
    return error(StrCat("invalid JSON: ", simdjson::error_message(code)));
  }
  simdjson::dom::object root;
  simdjson::dom::array fields;
  if (doc.get_object().get(root) != simdjson::SUCCESS || root["fields"].get_array().get(fields) != simdjson::SUCCESS) {
    return error("not a struct with fields");
  }
  std::vector<DeltaColumn> columns;
  for (simdjson::dom::element field : fields) {
    simdjson::dom::object object;
    std::string_view name;
    if (field.get_object().get(object) != simdjson::SUCCESS || object["name"].get_string().get(name) != simdjson::SUCCESS) {
      return error("a field without a name");
    }
    DeltaColumn column;
    column.name = std::string(name);
    simdjson::dom::element type;
    if (object["type"].get(type) != simdjson::SUCCESS) return error(StrCat("field \"", name, "\" has no type"));
    std::string_view type_name;
    if (type.get_string().get(type_name) != simdjson::SUCCESS) {
      simdjson::dom::object nested;
      if (type.get_object().get(nested) != simdjson::SUCCESS ||
          nested["type"].get_string().get(type_name) != simdjson::SUCCESS) {
        return error(StrCat("field \"", name, "\" has a malformed type"));
      }
    }
    column.type = std::string(type_name);
    bool nullable = true;
    if (auto value = Field(object, "nullable"); value && value->get_bool().get(nullable) != simdjson::SUCCESS) {
      return error(StrCat("field \"", name, "\" has a non-boolean nullable"));
    }
    column.nullable = nullable;
    columns.push_back(std::move(column));
  }
  return columns;
}

// ---- Versions and times -----------------------------------------------------

int64_t ModificationTimeMs(const fs::path& file) {
  std::error_code error;
  const auto time = fs::last_write_time(file, error);
  if (error) return 0;
  const auto system = std::chrono::time_point_cast<std::chrono::milliseconds>(
      time - fs::file_time_type::clock::now() + std::chrono::system_clock::now());
  return system.time_since_epoch().count();
}

// The commit time of `version`: its commitInfo's, else the commit file's
// (or, without one, the checkpoint's) modification time.
absl::StatusOr<int64_t> CommitTime(const fs::path& table, const LogListing& listing, int64_t version) {
  if (auto commit = listing.commits.find(version); commit != listing.commits.end()) {
    PREDSTORE_ASSIGN_OR_RETURN(auto time, ReadJsonLogFile(table, commit->second, JsonLogKind::kCommit, nullptr));
    return time ? *time : ModificationTimeMs(commit->second);
  }
  auto checkpoint = listing.checkpoints.find(version);
  assert(checkpoint != listing.checkpoints.end());
  return ModificationTimeMs(checkpoint->second.front().files.front());
}

// The oldest version the log can rebuild: 0 when it has commit 0, else its
// oldest checkpoint's version (-1 when it has neither).
int64_t OldestRebuildable(const LogListing& listing) {
  if (listing.commits.count(0)) return 0;
  if (!listing.checkpoints.empty()) return listing.checkpoints.begin()->first;
  return -1;
}

absl::StatusOr<int64_t> VersionAtTime(const fs::path& table, const LogListing& listing, int64_t latest,
                                      int64_t timestamp_ms) {
  const int64_t oldest = OldestRebuildable(listing);
  if (oldest < 0) return absl::NotFoundError(StrCat(table.string(), ": the log has neither commit 0 nor a checkpoint"));
  std::optional<int64_t> found;
  int64_t running = std::numeric_limits<int64_t>::min();
  int64_t oldest_time = 0;
  for (int64_t version = oldest; version <= latest; ++version) {
    if (!listing.commits.count(version) && !listing.checkpoints.count(version)) {
      return absl::DataLossError(StrCat(table.string(), ": the log is missing commit ", version));
    }
    PREDSTORE_ASSIGN_OR_RETURN(int64_t time, CommitTime(table, listing, version));
    running = std::max(running, time);
    if (version == oldest) oldest_time = running;
    if (running > timestamp_ms) break;
    found = version;
  }
  if (!found) {
    return absl::NotFoundError(StrCat(table.string(), ": no version at or before time ", timestamp_ms,
                                      " ms; the oldest available, version ", oldest, ", was committed at ",
                                      oldest_time, " ms"));
  }
  return *found;
}

}  // namespace

bool IsDeltaTable(const fs::path& table) {
  std::error_code error;
  return fs::is_directory(table / "_delta_log", error);
}

absl::StatusOr<DeltaSnapshot> ReadDeltaSnapshot(const fs::path& table, std::optional<int64_t> version,
                                                std::optional<int64_t> timestamp_ms) {
  if (version && timestamp_ms) {
    return absl::InvalidArgumentError("give a Delta table version or a timestamp, not both");
  }
  if (version && *version < 0) return absl::InvalidArgumentError(StrCat("negative Delta table version ", *version));
  if (!IsDeltaTable(table)) {
    return absl::NotFoundError(StrCat(table.string(), ": not a Delta table (no _delta_log directory)"));
  }
  const fs::path log = table / "_delta_log";
  PREDSTORE_ASSIGN_OR_RETURN(const LogListing listing, ListLog(log));
  if (listing.commits.empty() && listing.checkpoints.empty()) {
    return absl::NotFoundError(StrCat(log.string(), ": no commits"));
  }
  int64_t latest = -1;
  if (!listing.commits.empty()) latest = listing.commits.rbegin()->first;
  if (!listing.checkpoints.empty()) latest = std::max(latest, listing.checkpoints.rbegin()->first);

  int64_t target = latest;
  if (version) {
    if (*version > latest) {
      return absl::NotFoundError(
          StrCat(table.string(), ": version ", *version, " does not exist; the latest is ", latest));
    }
    target = *version;
  } else if (timestamp_ms) {
    PREDSTORE_ASSIGN_OR_RETURN(target, VersionAtTime(table, listing, latest, *timestamp_ms));
  }

  // The newest complete checkpoint not newer than the target.
  const Checkpoint* checkpoint = nullptr;
  if (auto it = listing.checkpoints.upper_bound(target); it != listing.checkpoints.begin()) {
    checkpoint = &std::prev(it)->second.front();
  }
  const int64_t first_commit = checkpoint ? checkpoint->version + 1 : 0;
  for (int64_t v = first_commit; v <= target; ++v) {
    if (listing.commits.count(v)) continue;
    // Without a checkpoint the replay starts at commit 0: when the log's
    // oldest checkpoint is newer than the target, the older commits were
    // cleaned up (expected: the version is gone); otherwise the log has a
    // hole.
    if (const int64_t oldest = OldestRebuildable(listing); !checkpoint && oldest > target) {
      return absl::NotFoundError(StrCat(table.string(), ": version ", target,
                                        " can no longer be read: the log's commits before its oldest checkpoint, "
                                        "version ", oldest, ", were cleaned up"));
    }
    return absl::DataLossError(StrCat(log.string(), ": commit ", v, " (", CommitFileName(v),
                                      ") is missing; the log cannot be replayed ",
                                      checkpoint ? StrCat("from its checkpoint at version ", checkpoint->version)
                                                 : std::string("from version 0"),
                                      " to version ", target));
  }

  DeltaSnapshot snapshot;
  snapshot.version = target;
  LogState state;
  if (checkpoint) {
    PREDSTORE_RETURN_IF_ERROR(ReadCheckpoint(table, log, *checkpoint, &state, &snapshot.checkpoint_files));
  }
  std::optional<int64_t> target_time;
  for (int64_t v = first_commit; v <= target; ++v) {
    const fs::path& commit = listing.commits.at(v);
    PREDSTORE_ASSIGN_OR_RETURN(auto time, ReadJsonLogFile(table, commit, JsonLogKind::kCommit, &state));
    if (v == target) target_time = time ? *time : ModificationTimeMs(commit);
  }
  if (!target_time) {
    PREDSTORE_ASSIGN_OR_RETURN(target_time, CommitTime(table, listing, target));
  }
  snapshot.timestamp_ms = *target_time;

  if (!state.protocol) return absl::DataLossError(StrCat(log.string(), ": no protocol action up to version ", target));
  if (!state.metadata) return absl::DataLossError(StrCat(log.string(), ": no metaData action up to version ", target));
  PREDSTORE_RETURN_IF_ERROR(CheckReadable(*state.protocol, *state.metadata));
  if (state.deletion_vector_file) {
    return absl::UnimplementedError(StrCat("the table uses deletion vectors (data file \"", *state.deletion_vector_file,
                                           "\" has one), which this reader does not support"));
  }

  Metadata& metadata = *state.metadata;
  snapshot.table_id = metadata.id;
  snapshot.partition_columns = metadata.partition_columns;
  snapshot.schema_string = metadata.schema_string;
  PREDSTORE_ASSIGN_OR_RETURN(snapshot.columns, ParseSchema(metadata.schema_string));
  for (const std::string& partition : snapshot.partition_columns) {
    if (std::none_of(snapshot.columns.begin(), snapshot.columns.end(),
                     [&](const DeltaColumn& column) { return column.name == partition; })) {
      return absl::DataLossError(StrCat(log.string(), ": partition column \"", partition, "\" is not in the schema"));
    }
  }
  snapshot.configuration.assign(metadata.configuration.begin(), metadata.configuration.end());
  snapshot.min_reader_version = state.protocol->min_reader_version;
  snapshot.reader_features = state.protocol->reader_features;

  // Partition columns holding timestamps: their values are rewritten to
  // RFC 3339 (see DeltaFile).
  std::set<std::string> timestamp_columns;
  for (const DeltaColumn& column : snapshot.columns) {
    if (column.type == "timestamp" || column.type == "timestamp_ntz") timestamp_columns.insert(column.name);
  }
  snapshot.files.reserve(state.files.size());
  for (auto& [path, entry] : state.files) {
    DeltaFile file;
    file.path = path;
    file.size = entry.size;
    for (const std::string& column : snapshot.partition_columns) {
      std::optional<std::string> value;
      // PROTOCOL.md: an empty string is a null partition value.
      if (auto it = entry.partition_values.find(column); it != entry.partition_values.end() && it->second &&
                                                          !it->second->empty()) {
        value = it->second;
      }
      if (value && timestamp_columns.contains(column)) *value = TimestampAsRfc3339(*value);
      file.partition_values.emplace_back(column, std::move(value));
    }
    snapshot.files.push_back(std::move(file));
  }
  std::sort(snapshot.files.begin(), snapshot.files.end(),
            [](const DeltaFile& a, const DeltaFile& b) { return a.path < b.path; });
  return snapshot;
}

}  // namespace predstore
