// Reads an MLflow model registry, read-only, from the two local backends
// MLflow ships: a file store (an `mlruns` folder) and a SQLite database.
// ReadRegistry reads every registered model version and resolves each to
// the local directory holding its MLmodel file; ParseModelReference and
// Resolve then pick a version the way MLflow's load_model resolves a models:/
// URI. Nothing here writes to the registry, and MLflow may be writing to it
// concurrently: a SQLite database is read in one transaction (a consistent
// snapshot), a file store file by file (a change made meanwhile, such as a
// stage transition that archives the previous version, may be seen half
// done). All functions are reentrant; a RegistryContents is immutable once
// returned and may be shared by threads.
//
// Formats read (MLflow 2.x and 3.x; see model_registry.cc for the details):
//   file store  <mlruns>/models/<name>/meta.yaml               the model
//               <mlruns>/models/<name>/version-<N>/meta.yaml   one version
//               <mlruns>/models/<name>/aliases/<alias>         text: version
//   SQLite      tables registered_models, model_versions (storage_location
//               optional: schemas older than its late-2023 migration lack
//               it) and registered_model_aliases; with MLflow's workspace
//               columns, only the "default" workspace is read.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace predstore {

// One registered model version, with its fields as MLflow wrote them.
struct ModelVersionRecord {
  std::string name;
  int64_t version = 0;
  // current_stage: "None", "Staging", "Production" or "Archived".
  std::string stage;
  std::vector<std::string> aliases;  // sorted
  // The location the version was registered from: file:///..., a plain
  // path, runs:/<run_id>/<path>, models:/m-<id>, s3://..., ...
  std::string source;
  // Where MLflow says the artifacts are; empty when not recorded (older MLflow).
  std::string storage_location;
  // READY, PENDING_REGISTRATION or FAILED_REGISTRATION (READY if unrecorded).
  std::string status;
  int64_t last_updated_ms = 0;  // last_updated_timestamp, ms since the epoch
  // The absolute, lexically normal local directory holding the version's
  // MLmodel file; empty when it could not be found, and then
  // model_dir_error says why (not READY, not on this machine, missing...).
  std::string model_dir;
  std::string model_dir_error;
};

struct RegistryContents {
  // Every version that is not deleted, of every model, sorted by
  // (name, version).
  std::vector<ModelVersionRecord> versions;
  // Names of all registered models, including those without versions; sorted.
  std::vector<std::string> models;
};

// Reads the registry at `registry_uri`:
//   sqlite:///<path>       SQLAlchemy's rule: <path> is relative to the
//                          current directory unless it starts with '/', so
//                          sqlite:////abs/mlflow.db is absolute and
//                          sqlite:///mlflow.db relative ("sqlite+<driver>:"
//                          and a "?query" are accepted and ignored)
//   file:///abs/mlruns     a file store (file:/abs and file://localhost/abs too)
//   <path>                 a folder: a file store; a file: a SQLite database
// A version's model_dir comes from its storage_location, else its source:
//   - file: URIs and plain paths are used as they are; a relative path is
//     taken relative to the folder MLflow was most likely run from (the one
//     where its default ./mlruns or sqlite:///mlflow.db would be created):
//     the parent of the mlruns folder, or the folder holding the .db file;
//   - runs:/<run_id>/<path> is <path> under the run's artifact_uri (the
//     file store's <mlruns>/<experiment>/<run_id>/meta.yaml, or the runs
//     table);
//   - models:/m-<id> (an MLflow 3 logged model) is the logged model's
//     artifact_location (<mlruns>/<experiment>/models/m-<id>/meta.yaml, or
//     the logged_models table); models:/<name>/<version|stage|@alias> is
//     the model_dir of that version in this registry;
//   - any other scheme (s3:, mlflow-artifacts:, dbfs:, ...) is not local.
// Such per-version failures land in model_dir_error and do not fail the read.
// Errors: kNotFound if the registry path does not exist; kInvalidArgument
// for a URI of another kind (postgresql:, http:, in-memory SQLite...);
// kDataLoss naming the file (and field) for a malformed meta.yaml or alias
// file; kFailedPrecondition for a database without MLflow's registry
// tables; kUnavailable if the database stays locked past a 5 s busy timeout;
// kPermissionDenied if a file or folder of the registry cannot be read.
// Blocks on file and database I/O.
absl::StatusOr<RegistryContents> ReadRegistry(std::string_view registry_uri);

// Which model version a caller asks for.
struct ModelReference {
  enum class Kind {
    kStage,    // models:/<name>/<stage>: the highest version in that stage
    kVersion,  // models:/<name>/<version>
    kAlias,    // models:/<name>@<alias>
    kLatest,   // models:/<name>/latest: the highest version
    kPath,     // a model directory: a plain path or file: URI
  };
  std::string name;
  Kind kind = Kind::kPath;
  std::string stage_or_alias;  // kStage: canonical ("Production"); kAlias
  int64_t version = 0;         // kVersion
  std::string path;            // kPath: a local path (file: URIs decoded)
};

// Parses a models:/ URI as MLflow does: the stage and "latest" match
// case-insensitively and the stage is stored canonically; a version is all
// digits. Anything without a URI scheme, or with file:, is a kPath.
// kInvalidArgument for a malformed models:/ URI, an unknown stage, a
// models:/<id> logged-model URI (it names no registry version), a
// models://<profile>/ URI, or another scheme (runs:, s3:, ...).
absl::StatusOr<ModelReference> ParseModelReference(std::string_view uri);

// The URI ParseModelReference would parse back into `reference`.
std::string FormatModelReference(const ModelReference& reference);

// The version `reference` names in `contents`, as MLflow's load_model picks
// it: a stage gives the highest version currently in that stage, "latest"
// (or the alias "latest") the highest version overall, an alias the version
// it points to. Versions that are not READY are candidates too, as in MLflow;
// their model_dir is empty. The pointer points into `contents` and lives as
// long as it. kNotFound naming the model, and the stage, alias or version
// that is missing; kInvalidArgument for a kPath reference.
absl::StatusOr<const ModelVersionRecord*> Resolve(const RegistryContents& contents, const ModelReference& reference);

}  // namespace predstore
