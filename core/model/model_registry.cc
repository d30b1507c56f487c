#include "core/model/model_registry.h"

#include <sqlite3.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <system_error>
#include <tuple>
#include <utility>

#include "absl/functional/function_ref.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "core/base/file_io.h"
#include "core/base/status_macros.h"
#include "core/base/strings.h"

// What MLflow writes, as read from its source (mlflow/mlflow):
//
// File store (mlflow/store/model_registry/file_store.py). Every meta.yaml is
// yaml.safe_dump of the entity's properties, keys sorted:
//   models/<name>/meta.yaml: aliases (a map, informational), creation_timestamp,
//     description, last_updated_timestamp, name.
//   models/<name>/version-<N>/meta.yaml: creation_timestamp, current_stage,
//     description, last_updated_timestamp, model_id (MLflow 3), name, run_id,
//     run_link, source, status, status_message, storage_location, user_id,
//     version (an integer). delete_model_version rewrites current_stage as
//     "Deleted_Internal" and keeps the folder; delete_registered_model removes
//     the whole folder. create_model_version sets storage_location to source,
//     except for a models:/ source: then to the logged model's
//     artifact_location (models:/m-<id>) or the other version's location.
//   models/<name>/aliases/<alias>: the version number as text, no newline.
//   First writes (write_yaml) are not atomic, so a meta.yaml can briefly be
//   empty; MLflow retries such reads, and this reader skips that entry.
// Tracking file store (mlflow/store/tracking/file_store.py):
//   <experiment_id>/<run_id>/meta.yaml: artifact_uri (+ run fields), also
//     under .trash/ for deleted experiments.
//   <experiment_id>/models/<model_id>/meta.yaml: artifact_location (+ model
//     fields); model ids are "m-" and 32 hex digits.
//
// SQLite (mlflow/store/model_registry/dbmodels/models.py, db_migrations):
//   registered_models(name, creation_time, last_updated_time, description)
//   model_versions(name, version, creation_time, last_updated_time,
//     description, user_id, current_stage, source, run_id, status,
//     status_message, run_link, storage_location) -- storage_location added
//     by migration acf3f17fdcc7 (2023-10); deletion marks current_stage
//     "Deleted_Internal" here too.
//   registered_model_aliases(name, alias, version)
//   runs(run_uuid, ..., artifact_uri), logged_models(model_id, ...,
//     artifact_location) (migration 400f98739977, MLflow 3)
//   Migration 1b5f0d9ad7c1 adds workspace (default 'default') to these
//   registry tables and widens their keys with it.
//
// models:/ URIs (mlflow/store/artifact/utils/models.py, _parse_model_uri):
//   models:/<name>/<digits> a version; /latest (any case) the highest version
//   of any stage; another suffix a stage, matched case-insensitively against
//   None, Staging, Production, Archived (model_version_stages.py); a single
//   part with '@' an alias (split at the last '@'); a single part without it
//   a logged model id.

namespace predstore {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kDeletedStage = "Deleted_Internal";
constexpr std::array<std::string_view, 4> kStages = {"None", "Staging", "Production", "Archived"};
constexpr std::string_view kReady = "READY";
constexpr int kBusyTimeoutMs = 5000;
// runs:/ -> artifact URI -> path, models:/ -> version -> ...: a bound that
// also stops a cycle of models:/ sources.
constexpr int kMaxLocationHops = 8;

std::optional<std::string_view> CanonicalStage(std::string_view stage) {
  for (std::string_view canonical : kStages) {
    if (absl::EqualsIgnoreCase(ToAbsl(canonical), ToAbsl(stage))) return canonical;
  }
  return std::nullopt;
}

// The lower-case URI scheme of `text` (RFC 3986: a letter, then letters,
// digits, '+', '-' or '.', then ':'), or "" when it has none. One letter is
// not taken as a scheme.
std::string UriScheme(std::string_view text) {
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon < 2) return "";
  if (!absl::ascii_isalpha(static_cast<unsigned char>(text[0]))) return "";
  for (size_t i = 1; i < colon; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (!absl::ascii_isalnum(c) && c != '+' && c != '-' && c != '.') return "";
  }
  return absl::AsciiStrToLower(ToAbsl(text.substr(0, colon)));
}

std::string PercentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && absl::ascii_isxdigit(static_cast<unsigned char>(text[i + 1])) &&
        absl::ascii_isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      auto hex = [](char c) {
        return absl::ascii_isdigit(static_cast<unsigned char>(c)) ? c - '0' : (c | 0x20) - 'a' + 10;
      };
      out.push_back(static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

// The local path a file: URI names (file:///abs, file:/abs,
// file://localhost/abs; %-escapes decoded). kInvalidArgument for another host.
absl::StatusOr<std::string> FileUriToPath(std::string_view uri) {
  std::string_view rest = uri.substr(uri.find(':') + 1);
  if (rest.starts_with("//")) {
    rest.remove_prefix(2);
    const size_t slash = rest.find('/');
    const std::string_view host = rest.substr(0, slash);
    if (!host.empty() && !absl::EqualsIgnoreCase(ToAbsl(host), "localhost")) {
      return absl::InvalidArgumentError(StrCat("'", uri, "' is on host '", host, "', not on this machine"));
    }
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  }
  if (rest.empty()) return absl::InvalidArgumentError(StrCat("'", uri, "' names no path"));
  return PercentDecode(rest);
}

// `path` made absolute against `base` when relative, lexically normal, with
// no trailing separator.
fs::path AbsoluteUnder(const fs::path& base, const fs::path& path) {
  fs::path normal = (path.is_absolute() ? path : base / path).lexically_normal();
  if (!normal.has_filename() && normal != normal.root_path()) normal = normal.parent_path();
  return normal;
}

// `base` + "/" + `path`, with one slash between them.
std::string JoinUri(std::string_view base, std::string_view path) {
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  return StrCat(base, "/", path);
}

// True for ids MLflow generates and validates (run ids, logged model ids):
// a letter or digit, then letters, digits, '_' or '-'. Anything else could
// walk out of the store's folders.
bool IsPlainId(std::string_view id) {
  if (id.empty() || id.size() > 256 || !absl::ascii_isalnum(static_cast<unsigned char>(id[0]))) return false;
  return std::all_of(id.begin(), id.end(),
                     [](char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; });
}

// ---------------------------------------------------------------------------
// Files and YAML. yaml-cpp throws; every call into it is inside a try here.

enum class EntryKind { kDirectories, kFiles };

// The names of the directories (or regular files) in `dir`, sorted; empty
// when `dir` does not exist.
absl::StatusOr<std::vector<std::string>> ListDir(const fs::path& dir, EntryKind kind) {
  std::vector<std::string> names;
  std::error_code error;
  if (!fs::is_directory(dir, error)) return names;
  fs::directory_iterator it(dir, error);
  for (; !error && it != fs::directory_iterator(); it.increment(error)) {
    std::error_code type_error;
    const bool wanted =
        kind == EntryKind::kDirectories ? it->is_directory(type_error) : it->is_regular_file(type_error);
    if (wanted) names.push_back(it->path().filename().string());
  }
  if (error) return absl::PermissionDeniedError(StrCat(dir.string(), ": cannot list: ", error.message()));
  std::sort(names.begin(), names.end());
  return names;
}

// A parsed meta.yaml: a YAML mapping, read field by field.
class MetaFile {
 public:
  // kNotFound if `file` is missing; std::nullopt when it is empty (MLflow is
  // still writing it); kDataLoss naming the file when it is not a mapping.
  static absl::StatusOr<std::optional<MetaFile>> Load(const fs::path& file) {
    PREDSTORE_ASSIGN_OR_RETURN(const std::string text, internal::ReadWholeFile(file));
    try {
      YAML::Node root = YAML::Load(text);
      if (!root.IsDefined() || root.IsNull()) return std::optional<MetaFile>();
      if (!root.IsMap()) return absl::DataLossError(StrCat(file.string(), ": not a YAML mapping"));
      return std::optional<MetaFile>(MetaFile(file, std::move(root)));
    } catch (const YAML::Exception& e) {
      return absl::DataLossError(StrCat(file.string(), ": malformed YAML: ", e.what()));
    }
  }

  const fs::path& file() const { return file_; }

  // The scalar `field` as text; "" when absent or null.
  absl::StatusOr<std::string> Text(const std::string& field) const {
    try {
      const YAML::Node& root = root_;
      const YAML::Node node = root[field];
      if (!node.IsDefined() || node.IsNull()) return std::string();
      if (!node.IsScalar()) return WrongType(field, "text");
      return node.Scalar();
    } catch (const YAML::Exception& e) {
      return absl::DataLossError(StrCat(file_.string(), ": field '", field, "': ", e.what()));
    }
  }

  // The integer `field`; `fallback` when absent or null.
  absl::StatusOr<int64_t> Integer(const std::string& field, int64_t fallback) const {
    PREDSTORE_ASSIGN_OR_RETURN(const std::string text, Text(field));
    if (text.empty()) return fallback;
    int64_t value = 0;
    if (!absl::SimpleAtoi(text, &value)) return WrongType(field, "an integer");
    return value;
  }

 private:
  MetaFile(fs::path file, YAML::Node root) : file_(std::move(file)), root_(std::move(root)) {}

  absl::Status WrongType(const std::string& field, std::string_view expected) const {
    return absl::DataLossError(StrCat(file_.string(), ": field '", field, "' is not ", expected));
  }

  fs::path file_;
  YAML::Node root_;
};

// ---------------------------------------------------------------------------
// SQLite, opened read-only: MLflow may be writing to the database.

class SqliteDb {
 public:
  static absl::StatusOr<std::unique_ptr<SqliteDb>> OpenReadOnly(const fs::path& file) {
    sqlite3* db = nullptr;
    const int rc = sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
    std::unique_ptr<SqliteDb> opened(new SqliteDb(db, file));  // closes db even on failure
    if (rc != SQLITE_OK) return opened->Error(rc, "cannot open");
    sqlite3_busy_timeout(db, kBusyTimeoutMs);
    return opened;
  }
  ~SqliteDb() { sqlite3_close(db_); }
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  const fs::path& file() const { return file_; }

  absl::Status Exec(const std::string& sql) {
    return Query(sql, {}, [](sqlite3_stmt*) { return absl::OkStatus(); });
  }

  // Runs `sql` with `params` bound as text to ?1, ?2, ...; calls `on_row`
  // for each result row.
  absl::Status Query(const std::string& sql, const std::vector<std::string>& params,
                     absl::FunctionRef<absl::Status(sqlite3_stmt*)> on_row) {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &raw, nullptr);
    std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> statement(raw, &sqlite3_finalize);
    if (rc != SQLITE_OK) return Error(rc, sql);
    for (size_t i = 0; i < params.size(); ++i) {
      rc = sqlite3_bind_text(raw, static_cast<int>(i + 1), params[i].data(), static_cast<int>(params[i].size()),
                             SQLITE_TRANSIENT);
      if (rc != SQLITE_OK) return Error(rc, sql);
    }
    while ((rc = sqlite3_step(raw)) == SQLITE_ROW) PREDSTORE_RETURN_IF_ERROR(on_row(raw));
    if (rc != SQLITE_DONE) return Error(rc, sql);
    return absl::OkStatus();
  }

  absl::StatusOr<bool> HasTable(const std::string& table) {
    bool found = false;
    PREDSTORE_RETURN_IF_ERROR(
        Query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1", {table}, [&](sqlite3_stmt*) {
          found = true;
          return absl::OkStatus();
        }));
    return found;
  }

  absl::StatusOr<std::set<std::string>> Columns(const std::string& table) {
    std::set<std::string> columns;
    PREDSTORE_RETURN_IF_ERROR(Query(StrCat("PRAGMA table_info(\"", table, "\")"), {}, [&](sqlite3_stmt* row) {
      columns.insert(Text(row, 1));
      return absl::OkStatus();
    }));
    return columns;
  }

  // Column `i` of `row` as text; "" for NULL.
  static std::string Text(sqlite3_stmt* row, int i) {
    const unsigned char* text = sqlite3_column_text(row, i);
    if (text == nullptr) return "";
    return std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(sqlite3_column_bytes(row, i)));
  }
  static bool IsNull(sqlite3_stmt* row, int i) { return sqlite3_column_type(row, i) == SQLITE_NULL; }

  absl::Status Error(int rc, std::string_view context) const {
    const std::string message =
        StrCat(file_.string(), ": ", context, ": ", db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
    switch (rc & 0xff) {
      case SQLITE_BUSY:
      case SQLITE_LOCKED:
        return absl::UnavailableError(message);
      case SQLITE_CORRUPT:
      case SQLITE_NOTADB:
        return absl::DataLossError(message);
      case SQLITE_CANTOPEN:
      case SQLITE_PERM:
      case SQLITE_AUTH:
        return absl::PermissionDeniedError(message);
      default:
        return absl::InternalError(message);
    }
  }

 private:
  SqliteDb(sqlite3* db, fs::path file) : db_(db), file_(std::move(file)) {}

  sqlite3* db_;
  fs::path file_;
};

// ---------------------------------------------------------------------------
// Where runs:/ and models:/m-<id> locations point: the tracking data kept
// beside the registry. Errors carry a message for model_dir_error.

class TrackingLookup {
 public:
  virtual ~TrackingLookup() = default;
  virtual absl::StatusOr<std::string> RunArtifactUri(const std::string& run_id) = 0;
  virtual absl::StatusOr<std::string> LoggedModelLocation(const std::string& model_id) = 0;
};

class FileTracking : public TrackingLookup {
 public:
  explicit FileTracking(fs::path root) : root_(std::move(root)) {}

  absl::StatusOr<std::string> RunArtifactUri(const std::string& run_id) override {
    if (!IsPlainId(run_id)) return absl::InvalidArgumentError(StrCat("'", run_id, "' is not a run id"));
    return FindField(fs::path(run_id), "artifact_uri", StrCat("run ", run_id));
  }

  absl::StatusOr<std::string> LoggedModelLocation(const std::string& model_id) override {
    if (!IsPlainId(model_id)) return absl::InvalidArgumentError(StrCat("'", model_id, "' is not a model id"));
    return FindField(fs::path("models") / model_id, "artifact_location", StrCat("logged model ", model_id));
  }

 private:
  // `field` of the first <experiment>/<relative>/meta.yaml, looking in active
  // experiments, then deleted ones (.trash).
  absl::StatusOr<std::string> FindField(const fs::path& relative, const std::string& field, std::string_view what) {
    for (const fs::path& parent : {root_, root_ / ".trash"}) {
      PREDSTORE_ASSIGN_OR_RETURN(const std::vector<std::string> experiments, ListDir(parent, EntryKind::kDirectories));
      for (const std::string& experiment : experiments) {
        if (parent == root_ && (experiment == "models" || experiment == ".trash")) continue;
        const fs::path file = parent / experiment / relative / "meta.yaml";
        std::error_code error;
        if (!fs::is_regular_file(file, error)) continue;
        PREDSTORE_ASSIGN_OR_RETURN(const std::optional<MetaFile> meta, MetaFile::Load(file));
        if (!meta) return absl::UnavailableError(StrCat(file.string(), ": empty (MLflow may be writing it)"));
        PREDSTORE_ASSIGN_OR_RETURN(std::string value, meta->Text(field));
        if (value.empty()) return absl::DataLossError(StrCat(file.string(), ": no field '", field, "'"));
        return value;
      }
    }
    return absl::NotFoundError(StrCat(what, " is not in ", root_.string()));
  }

  fs::path root_;
};

class SqliteTracking : public TrackingLookup {
 public:
  explicit SqliteTracking(SqliteDb* db) : db_(db) {}

  absl::StatusOr<std::string> RunArtifactUri(const std::string& run_id) override {
    return Lookup("runs", "SELECT artifact_uri FROM runs WHERE run_uuid = ?1", run_id, StrCat("run ", run_id));
  }

  absl::StatusOr<std::string> LoggedModelLocation(const std::string& model_id) override {
    return Lookup("logged_models", "SELECT artifact_location FROM logged_models WHERE model_id = ?1", model_id,
                  StrCat("logged model ", model_id));
  }

 private:
  absl::StatusOr<std::string> Lookup(const std::string& table, const std::string& sql, const std::string& id,
                                     std::string_view what) {
    PREDSTORE_ASSIGN_OR_RETURN(const bool has_table, db_->HasTable(table));
    if (!has_table) return absl::NotFoundError(StrCat(db_->file().string(), " has no ", table, " table"));
    std::optional<std::string> value;
    PREDSTORE_RETURN_IF_ERROR(db_->Query(sql, {id}, [&](sqlite3_stmt* row) {
      value = SqliteDb::Text(row, 0);
      return absl::OkStatus();
    }));
    if (!value) return absl::NotFoundError(StrCat(what, " is not in ", db_->file().string()));
    if (value->empty()) return absl::DataLossError(StrCat(what, " has no location in ", db_->file().string()));
    return *value;
  }

  SqliteDb* db_;
};

// ---------------------------------------------------------------------------
// From a recorded location to a local model directory.

struct LocateContext {
  fs::path base_dir;  // for relative paths
  TrackingLookup* tracking;
  const RegistryContents* contents;  // for models:/<name>/... locations
};

// The local directory `location` names (not yet checked to exist), or an
// error whose message says why there is none.
absl::StatusOr<fs::path> LocateDir(std::string_view location, const LocateContext& context, int hops) {
  if (hops > kMaxLocationHops)
    return absl::FailedPreconditionError("too many indirections (a cycle of models:/ sources?)");
  if (location.empty()) return absl::FailedPreconditionError("no location recorded");
  const std::string scheme = UriScheme(location);
  if (scheme.empty()) return AbsoluteUnder(context.base_dir, fs::path(location));
  if (scheme == "file") {
    PREDSTORE_ASSIGN_OR_RETURN(const std::string path, FileUriToPath(location));
    return AbsoluteUnder(context.base_dir, fs::path(path));
  }
  if (scheme == "runs") {
    // runs:/<run_id>/<artifact path>, as mlflow.utils.uri's parse_runs_uri.
    std::string_view rest = location.substr(5);
    if (!rest.starts_with("/") || rest.starts_with("//") || rest.size() == 1) {
      return absl::InvalidArgumentError(StrCat("'", location, "' is not a runs:/<run_id>/<path> URI"));
    }
    rest.remove_prefix(1);
    const size_t slash = rest.find('/');
    const std::string run_id(rest.substr(0, slash));
    const std::string_view artifact_path =
        slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    PREDSTORE_ASSIGN_OR_RETURN(const std::string artifact_uri, context.tracking->RunArtifactUri(run_id));
    const std::string target = artifact_path.empty() ? artifact_uri : JoinUri(artifact_uri, artifact_path);
    return LocateDir(target, context, hops + 1);
  }
  if (scheme == "models") {
    std::string_view rest = location.substr(7);
    if (rest.starts_with("/") && !rest.starts_with("//")) {
      const std::string_view body = rest.substr(1);
      if (!body.empty() && body.find('/') == std::string_view::npos && body.find('@') == std::string_view::npos) {
        PREDSTORE_ASSIGN_OR_RETURN(const std::string artifact_location,
                                   context.tracking->LoggedModelLocation(std::string(body)));
        return LocateDir(artifact_location, context, hops + 1);
      }
    }
    PREDSTORE_ASSIGN_OR_RETURN(const ModelReference reference, ParseModelReference(location));
    PREDSTORE_ASSIGN_OR_RETURN(const ModelVersionRecord* version, Resolve(*context.contents, reference));
    return LocateDir(version->storage_location.empty() ? version->source : version->storage_location, context,
                     hops + 1);
  }
  return absl::InvalidArgumentError(
      StrCat("not on the local filesystem (", scheme, ":); copy the model to a local folder and register that"));
}

// Sets model_dir, or model_dir_error, of every version in `contents`.
void LocateModelDirs(const fs::path& base_dir, TrackingLookup* tracking, RegistryContents* contents) {
  const LocateContext context{base_dir, tracking, contents};
  std::vector<std::pair<std::string, std::string>> located;  // (model_dir, model_dir_error)
  located.reserve(contents->versions.size());
  for (const ModelVersionRecord& version : contents->versions) {
    auto& [dir, error] = located.emplace_back();
    if (version.status != kReady) {
      error = StrCat("status is ", version.status, ", not READY: MLflow has not (or not successfully) registered it");
      continue;
    }
    const std::string& location = version.storage_location.empty() ? version.source : version.storage_location;
    if (location.empty()) {
      error = "neither source nor storage_location is recorded";
      continue;
    }
    const absl::StatusOr<fs::path> found = LocateDir(location, context, 0);
    std::error_code fs_error;
    if (!found.ok()) {
      error = StrCat(location, ": ", FromAbsl(found.status().message()));
    } else if (!fs::is_directory(*found, fs_error)) {
      error = StrCat(location, ": ", found->string(), " is not a directory");
    } else if (!fs::is_regular_file(*found / "MLmodel", fs_error)) {
      error = StrCat(location, ": ", found->string(), " has no MLmodel file");
    } else {
      dir = found->string();
    }
  }
  for (size_t i = 0; i < located.size(); ++i) {
    contents->versions[i].model_dir = std::move(located[i].first);
    contents->versions[i].model_dir_error = std::move(located[i].second);
  }
}

void SortContents(RegistryContents* contents) {
  std::sort(contents->versions.begin(), contents->versions.end(),
            [](const ModelVersionRecord& a, const ModelVersionRecord& b) {
              return std::tie(a.name, a.version) < std::tie(b.name, b.version);
            });
  for (ModelVersionRecord& version : contents->versions) std::sort(version.aliases.begin(), version.aliases.end());
  std::sort(contents->models.begin(), contents->models.end());
  contents->models.erase(std::unique(contents->models.begin(), contents->models.end()), contents->models.end());
}

// Attaches `alias` to version `version` of `name`, if that version exists.
void AddAlias(const std::string& name, int64_t version, const std::string& alias, RegistryContents* contents) {
  for (ModelVersionRecord& record : contents->versions) {
    if (record.name == name && record.version == version) record.aliases.push_back(alias);
  }
}

// ---------------------------------------------------------------------------
// The file store.

absl::StatusOr<RegistryContents> ReadFileStore(const fs::path& root) {
  RegistryContents contents;
  const fs::path models_dir = root / "models";
  PREDSTORE_ASSIGN_OR_RETURN(const std::vector<std::string> model_dirs, ListDir(models_dir, EntryKind::kDirectories));
  std::vector<std::pair<std::string, fs::path>> alias_dirs;  // (model name, aliases folder)
  for (const std::string& dir_name : model_dirs) {
    const fs::path model_dir = models_dir / dir_name;
    absl::StatusOr<std::optional<MetaFile>> model_meta = MetaFile::Load(model_dir / "meta.yaml");
    if (absl::IsNotFound(model_meta.status())) continue;  // deleted, or not a model
    PREDSTORE_RETURN_IF_ERROR(model_meta.status());
    if (!*model_meta) continue;  // being created
    PREDSTORE_ASSIGN_OR_RETURN(std::string name, (*model_meta)->Text("name"));
    if (name.empty()) name = dir_name;
    contents.models.push_back(name);

    PREDSTORE_ASSIGN_OR_RETURN(const std::vector<std::string> version_dirs,
                               ListDir(model_dir, EntryKind::kDirectories));
    for (const std::string& version_dir : version_dirs) {
      if (!version_dir.starts_with("version-")) continue;
      absl::StatusOr<std::optional<MetaFile>> loaded = MetaFile::Load(model_dir / version_dir / "meta.yaml");
      if (absl::IsNotFound(loaded.status())) continue;
      PREDSTORE_RETURN_IF_ERROR(loaded.status());
      if (!*loaded) continue;
      const MetaFile& meta = **loaded;
      ModelVersionRecord record;
      record.name = name;
      PREDSTORE_ASSIGN_OR_RETURN(record.stage, meta.Text("current_stage"));
      if (record.stage == kDeletedStage) continue;
      if (record.stage.empty()) record.stage = "None";
      int64_t dir_version = 0;
      const bool numbered = absl::SimpleAtoi(version_dir.substr(8), &dir_version);
      PREDSTORE_ASSIGN_OR_RETURN(record.version, meta.Integer("version", numbered ? dir_version : -1));
      if (record.version < 0) {
        return absl::DataLossError(StrCat(meta.file().string(), ": no field 'version'"));
      }
      PREDSTORE_ASSIGN_OR_RETURN(record.source, meta.Text("source"));
      PREDSTORE_ASSIGN_OR_RETURN(record.storage_location, meta.Text("storage_location"));
      PREDSTORE_ASSIGN_OR_RETURN(record.status, meta.Text("status"));
      if (record.status.empty()) record.status = kReady;
      PREDSTORE_ASSIGN_OR_RETURN(record.last_updated_ms, meta.Integer("last_updated_timestamp", 0));
      contents.versions.push_back(std::move(record));
    }
    alias_dirs.emplace_back(name, model_dir / "aliases");
  }
  for (const auto& [name, aliases_dir] : alias_dirs) {
    PREDSTORE_ASSIGN_OR_RETURN(const std::vector<std::string> aliases, ListDir(aliases_dir, EntryKind::kFiles));
    for (const std::string& alias : aliases) {
      const fs::path file = aliases_dir / alias;
      PREDSTORE_ASSIGN_OR_RETURN(const std::string text, internal::ReadWholeFile(file));
      int64_t version = 0;
      if (!absl::SimpleAtoi(text, &version)) {  // SimpleAtoi allows surrounding whitespace
        return absl::DataLossError(StrCat(file.string(), ": alias file does not hold a version number"));
      }
      AddAlias(name, version, alias, &contents);
    }
  }
  SortContents(&contents);
  FileTracking tracking(root);
  LocateModelDirs(root.parent_path(), &tracking, &contents);
  return contents;
}

// ---------------------------------------------------------------------------
// SQLite.

absl::StatusOr<RegistryContents> ReadSqlite(const fs::path& file) {
  PREDSTORE_ASSIGN_OR_RETURN(const std::unique_ptr<SqliteDb> db, SqliteDb::OpenReadOnly(file));
  // One read transaction: every query below sees the same snapshot.
  PREDSTORE_RETURN_IF_ERROR(db->Exec("BEGIN"));
  for (const char* table : {"registered_models", "model_versions"}) {
    PREDSTORE_ASSIGN_OR_RETURN(const bool has_table, db->HasTable(table));
    if (!has_table) {
      return absl::FailedPreconditionError(
          StrCat(file.string(), ": no table ", table, "; not an MLflow database, or one without a model registry"));
    }
  }
  // With workspaces (MLflow's migration 1b5f0d9ad7c1) only "default" is read.
  auto workspace_filter = [&](const std::string& table) -> absl::StatusOr<std::string> {
    PREDSTORE_ASSIGN_OR_RETURN(const std::set<std::string> columns, db->Columns(table));
    return columns.count("workspace") != 0 ? std::string(" WHERE workspace = 'default'") : std::string();
  };

  RegistryContents contents;
  PREDSTORE_ASSIGN_OR_RETURN(const std::string models_filter, workspace_filter("registered_models"));
  PREDSTORE_RETURN_IF_ERROR(
      db->Query(StrCat("SELECT name FROM registered_models", models_filter), {}, [&](sqlite3_stmt* row) {
        contents.models.push_back(SqliteDb::Text(row, 0));
        return absl::OkStatus();
      }));

  PREDSTORE_ASSIGN_OR_RETURN(const std::set<std::string> version_columns, db->Columns("model_versions"));
  const bool has_storage_location = version_columns.count("storage_location") != 0;
  PREDSTORE_ASSIGN_OR_RETURN(const std::string versions_filter, workspace_filter("model_versions"));
  PREDSTORE_RETURN_IF_ERROR(db->Query(
      StrCat("SELECT name, version, current_stage, source, ", has_storage_location ? "storage_location" : "NULL",
             ", status, last_updated_time FROM model_versions", versions_filter),
      {}, [&](sqlite3_stmt* row) {
        ModelVersionRecord record;
        record.stage = SqliteDb::IsNull(row, 2) ? "None" : SqliteDb::Text(row, 2);
        if (record.stage == kDeletedStage) return absl::OkStatus();
        record.name = SqliteDb::Text(row, 0);
        record.version = sqlite3_column_int64(row, 1);
        record.source = SqliteDb::Text(row, 3);
        record.storage_location = SqliteDb::Text(row, 4);
        record.status = SqliteDb::IsNull(row, 5) ? std::string(kReady) : SqliteDb::Text(row, 5);
        record.last_updated_ms = sqlite3_column_int64(row, 6);  // 0 for NULL
        contents.versions.push_back(std::move(record));
        return absl::OkStatus();
      }));

  PREDSTORE_ASSIGN_OR_RETURN(const bool has_aliases, db->HasTable("registered_model_aliases"));
  if (has_aliases) {
    PREDSTORE_ASSIGN_OR_RETURN(const std::string aliases_filter, workspace_filter("registered_model_aliases"));
    PREDSTORE_RETURN_IF_ERROR(
        db->Query(StrCat("SELECT name, alias, version FROM registered_model_aliases", aliases_filter), {},
                  [&](sqlite3_stmt* row) {
                    AddAlias(SqliteDb::Text(row, 0), sqlite3_column_int64(row, 2), SqliteDb::Text(row, 1), &contents);
                    return absl::OkStatus();
                  }));
  }
  SortContents(&contents);
  SqliteTracking tracking(db.get());
  LocateModelDirs(file.parent_path(), &tracking, &contents);
  PREDSTORE_RETURN_IF_ERROR(db->Exec("COMMIT"));
  return contents;
}

// The database path of a sqlite:// URL, by SQLAlchemy's rules.
absl::StatusOr<std::string> SqlitePath(std::string_view uri) {
  std::string_view rest = uri.substr(uri.find(':') + 1);
  rest = rest.substr(0, rest.find('?'));
  if (!rest.starts_with("//")) return absl::InvalidArgumentError(StrCat("'", uri, "': expected sqlite:///<path>"));
  rest.remove_prefix(2);
  if (rest.empty()) return absl::InvalidArgumentError(StrCat("'", uri, "' is an in-memory database"));
  if (!rest.starts_with("/")) {
    return absl::InvalidArgumentError(StrCat("'", uri, "': SQLite URLs have no host; expected sqlite:///<path>"));
  }
  rest.remove_prefix(1);
  if (rest.empty()) return absl::InvalidArgumentError(StrCat("'", uri, "' is an in-memory database"));
  return std::string(rest);
}

absl::StatusOr<fs::path> CurrentDirectory() {
  std::error_code error;
  fs::path cwd = fs::current_path(error);
  if (error) return absl::InternalError(StrCat("cannot read the current directory: ", error.message()));
  return cwd;
}

// `hint` is appended to a kNotFound message.
absl::StatusOr<RegistryContents> ReadLocalPath(const std::string& path, bool must_be_database, std::string_view hint) {
  PREDSTORE_ASSIGN_OR_RETURN(const fs::path cwd, CurrentDirectory());
  const fs::path absolute = AbsoluteUnder(cwd, fs::path(path));
  std::error_code error;
  const fs::file_status status = fs::status(absolute, error);
  if (!fs::exists(status)) {
    return absl::NotFoundError(StrCat(absolute.string(), ": no such file or directory", hint));
  }
  if (fs::is_directory(status) && !must_be_database) return ReadFileStore(absolute);
  if (fs::is_regular_file(status)) return ReadSqlite(absolute);
  return absl::InvalidArgumentError(StrCat(absolute.string(), ": not a SQLite database file"));
}

}  // namespace

absl::StatusOr<RegistryContents> ReadRegistry(std::string_view registry_uri) {
  if (registry_uri.empty()) return absl::InvalidArgumentError("empty registry URI");
  const std::string scheme = UriScheme(registry_uri);
  if (scheme == "sqlite" || scheme.starts_with("sqlite+")) {
    PREDSTORE_ASSIGN_OR_RETURN(const std::string path, SqlitePath(registry_uri));
    const bool relative = !fs::path(path).is_absolute();
    return ReadLocalPath(path, /*must_be_database=*/true,
                         relative ? " (sqlite:///<path> is relative to the current directory; "
                                    "sqlite:////<path> is absolute)"
                                  : "");
  }
  if (scheme == "file") {
    PREDSTORE_ASSIGN_OR_RETURN(const std::string path, FileUriToPath(registry_uri));
    return ReadLocalPath(path, /*must_be_database=*/false, "");
  }
  if (!scheme.empty()) {
    return absl::InvalidArgumentError(StrCat("registry URI '", registry_uri, "': only sqlite: databases and local ",
                                             "file stores can be read, not ", scheme, ":"));
  }
  return ReadLocalPath(std::string(registry_uri), /*must_be_database=*/false, "");
}

absl::StatusOr<ModelReference> ParseModelReference(std::string_view uri) {
  if (uri.empty()) return absl::InvalidArgumentError("empty model reference");
  ModelReference reference;
  const std::string scheme = UriScheme(uri);
  if (scheme.empty()) {
    reference.kind = ModelReference::Kind::kPath;
    reference.path = std::string(uri);
    return reference;
  }
  if (scheme == "file") {
    reference.kind = ModelReference::Kind::kPath;
    PREDSTORE_ASSIGN_OR_RETURN(reference.path, FileUriToPath(uri));
    return reference;
  }
  if (scheme != "models") {
    return absl::InvalidArgumentError(
        StrCat("'", uri, "' is neither a models:/ URI nor a local model directory (", scheme, ":)"));
  }
  const auto malformed = [&] {
    return absl::InvalidArgumentError(StrCat("'", uri, "' is not a proper models:/ URI; expected ",
                                             "models:/<name>/<version|stage|latest> or models:/<name>@<alias>"));
  };
  std::string_view rest = uri.substr(7);
  if (rest.starts_with("///")) {
    rest.remove_prefix(2);  // an empty authority, as urlparse reads it
  } else if (rest.starts_with("//")) {
    return absl::InvalidArgumentError(
        StrCat("'", uri, "' names a remote registry (models://<profile>/...); only local registries are read"));
  }
  if (!rest.starts_with("/") || rest.size() <= 1) return malformed();
  const std::string_view body = rest.substr(1);
  const size_t slash = body.find('/');
  const auto blank = [](std::string_view text) { return absl::StripAsciiWhitespace(ToAbsl(text)).empty(); };
  if (slash != std::string_view::npos) {
    const std::string_view name = body.substr(0, slash);
    const std::string_view suffix = body.substr(slash + 1);
    if (blank(name) || blank(suffix) || suffix.find('/') != std::string_view::npos) return malformed();
    reference.name = std::string(name);
    if (std::all_of(suffix.begin(), suffix.end(),
                    [](char c) { return absl::ascii_isdigit(static_cast<unsigned char>(c)); })) {
      reference.kind = ModelReference::Kind::kVersion;
      if (!absl::SimpleAtoi(ToAbsl(suffix), &reference.version)) return malformed();
    } else if (absl::EqualsIgnoreCase(ToAbsl(suffix), "latest")) {
      reference.kind = ModelReference::Kind::kLatest;
    } else if (const std::optional<std::string_view> stage = CanonicalStage(suffix)) {
      reference.kind = ModelReference::Kind::kStage;
      reference.stage_or_alias = std::string(*stage);
    } else {
      return absl::InvalidArgumentError(StrCat("'", uri, "': unknown stage '", suffix,
                                               "' (MLflow's stages are None, Staging, Production, Archived)"));
    }
    return reference;
  }
  const size_t at = body.rfind('@');
  if (at == std::string_view::npos) {
    return absl::InvalidArgumentError(StrCat("'", uri, "' names a logged model by id, not a registered model ",
                                             "version; use models:/<name>/<version> or models:/<name>@<alias>"));
  }
  if (blank(body.substr(0, at)) || blank(body.substr(at + 1))) return malformed();
  reference.kind = ModelReference::Kind::kAlias;
  reference.name = std::string(body.substr(0, at));
  reference.stage_or_alias = std::string(body.substr(at + 1));
  return reference;
}

std::string FormatModelReference(const ModelReference& reference) {
  switch (reference.kind) {
    case ModelReference::Kind::kStage:
      return StrCat("models:/", reference.name, "/", reference.stage_or_alias);
    case ModelReference::Kind::kVersion:
      return StrCat("models:/", reference.name, "/", reference.version);
    case ModelReference::Kind::kAlias:
      return StrCat("models:/", reference.name, "@", reference.stage_or_alias);
    case ModelReference::Kind::kLatest:
      return StrCat("models:/", reference.name, "/latest");
    case ModelReference::Kind::kPath:
      return reference.path;
  }
  return reference.path;
}

absl::StatusOr<const ModelVersionRecord*> Resolve(const RegistryContents& contents, const ModelReference& reference) {
  if (reference.kind == ModelReference::Kind::kPath) {
    return absl::InvalidArgumentError(
        StrCat("'", reference.path, "' is a model directory, not a registered model version"));
  }
  // Versions are sorted by (name, version): the model's run, ascending.
  const auto first =
      std::lower_bound(contents.versions.begin(), contents.versions.end(), reference.name,
                       [](const ModelVersionRecord& v, const std::string& name) { return v.name < name; });
  auto last = first;
  while (last != contents.versions.end() && last->name == reference.name) ++last;
  if (first == last) {
    if (!std::binary_search(contents.models.begin(), contents.models.end(), reference.name)) {
      return absl::NotFoundError(StrCat("no registered model named '", reference.name, "'"));
    }
    return absl::NotFoundError(StrCat("registered model '", reference.name, "' has no versions"));
  }
  const std::string quoted_name = StrCat("model '", reference.name, "'");
  switch (reference.kind) {
    case ModelReference::Kind::kVersion:
      for (auto it = first; it != last; ++it) {
        if (it->version == reference.version) return &*it;
      }
      return absl::NotFoundError(StrCat(quoted_name, " has no version ", reference.version));
    case ModelReference::Kind::kStage: {
      const std::optional<std::string_view> stage = CanonicalStage(reference.stage_or_alias);
      if (!stage) return absl::InvalidArgumentError(StrCat("unknown stage '", reference.stage_or_alias, "'"));
      for (auto it = last; it != first; --it) {
        if (std::prev(it)->stage == *stage) return &*std::prev(it);
      }
      return absl::NotFoundError(StrCat(quoted_name, " has no version in stage ", *stage));
    }
    case ModelReference::Kind::kAlias:
      if (!absl::EqualsIgnoreCase(reference.stage_or_alias, "latest")) {
        for (auto it = first; it != last; ++it) {
          if (std::find(it->aliases.begin(), it->aliases.end(), reference.stage_or_alias) != it->aliases.end()) {
            return &*it;
          }
        }
        return absl::NotFoundError(StrCat(quoted_name, " has no alias '", reference.stage_or_alias, "'"));
      }
      [[fallthrough]];  // MLflow reserves the alias "latest" for the highest version
    case ModelReference::Kind::kLatest:
      return &*std::prev(last);
    case ModelReference::Kind::kPath:
      break;
  }
  return absl::InternalError("unreachable");
}

}  // namespace predstore
