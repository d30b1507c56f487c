// The models a server answers for: every version of an MLflow registry that
// has a stage (Production, Staging) or an alias, and each model's latest
// version, loaded side by side.
//
// Concurrency: the resolved state is an immutable value behind an atomic
// shared_ptr. Resolve() takes it once and never blocks on Reload(), which
// reads the registry, loads new versions outside any lock and swaps the
// state in one store; a request that resolved before the swap finishes on the
// model it got. Reload() calls are serialised.
//
// Which version a stage, alias or "latest" names is decided by the
// registry's Resolve (MLflow's rules), the same resolver the loader uses.
// Failure: a version that fails to load is reported (LastErrors, log) and
// leaves the stage or alias it was meant to take serving its previous
// target, which StandIns() reports; with no previous target, resolving the
// name is kFailedPrecondition carrying the load error.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model/model_registry.h"
#include "core/model/served_model.h"

namespace predstore {

struct ModelCatalogOptions {
  std::string registry_uri;  // see ReadRegistry
  int scorer_threads = 1;    // XGBoost threads per scoring call
};

// One loaded version and the names it answers to right now.
struct ServedVersionInfo {
  std::string name;
  int64_t version = 0;
  std::vector<std::string> serves;  // e.g. "Production", "@champion"
  std::string model_dir;
};

struct ModelReloadSummary {
  int loaded = 0;    // versions newly loaded
  int unloaded = 0;  // versions no longer served
  std::vector<std::string> errors;  // one line per version that failed
  bool changed() const { return loaded > 0 || unloaded > 0 || !errors.empty(); }
};

// Loads the one model `uri` names, outside any catalog (batch scoring): a
// models:/ reference resolved in the registry at `registry_uri` as
// ModelCatalog::Resolve would, or a model directory (a path or file: URI;
// then the name is the directory and the version 0).
absl::StatusOr<std::shared_ptr<const ServedModel>> LoadModelFromReference(std::string_view registry_uri,
                                                                          std::string_view uri, int scorer_threads);

class ModelCatalog {
 public:
  // Reads the registry and loads what it serves. Fails only if the registry
  // itself cannot be read; versions that fail to load are reported.
  static absl::StatusOr<std::unique_ptr<ModelCatalog>> Open(ModelCatalogOptions options);

  // The served model for a models:/ reference: a stage, alias, "latest" or
  // "@latest" gives its current target, a version number that version if it
  // is served. kNotFound says which part did not match; kFailedPrecondition
  // carries the load error of the version asked for.
  absl::StatusOr<std::shared_ptr<const ServedModel>> Resolve(const ModelReference& reference) const;

  // Re-reads the registry; loads versions that became served, drops those no
  // longer served, and swaps. kUnavailable if the registry cannot be read
  // (the current state keeps serving).
  absl::StatusOr<ModelReloadSummary> Reload();

  std::vector<ServedVersionInfo> Served() const;
  // Load errors of the versions the registry currently asks for.
  std::vector<std::string> LastErrors() const;
  // One line per name served by an older version because the one the
  // registry names failed: "churn Production → v1 (v2 failed to load: ...)".
  std::vector<std::string> StandIns() const;

 private:
  using VersionKey = std::pair<std::string, int64_t>;
  using NameKey = std::pair<std::string, std::string>;  // model, lowercase stage or "@alias"
  struct State {
    std::map<VersionKey, std::shared_ptr<const ServedModel>> versions;
    std::map<VersionKey, std::string> failed;  // load errors
    std::map<NameKey, std::shared_ptr<const ServedModel>> targets;
    std::map<NameKey, std::string> stand_ins;  // served by an older version: why
    std::map<NameKey, std::string> unserved;   // no version to serve: why
    std::set<std::string> model_names;  // models with at least one served name
  };

  explicit ModelCatalog(ModelCatalogOptions options) : options_(std::move(options)) {}

  ModelCatalogOptions options_;
  std::mutex reload_mutex_;  // serialises Reload
  std::atomic<std::shared_ptr<const State>> state_;
};

}  // namespace predstore
