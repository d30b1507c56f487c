#include "core/model/model_catalog.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "absl/status/status.h"
#include "core/base/logging.h"
#include "core/base/status_macros.h"
#include "core/base/strings.h"

namespace predstore {
namespace {

std::string Lowercase(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return lower;
}

// The names a registry version answers to: its stage if it is a serving
// stage, "@alias" for each alias, and "latest" when it is the model's highest
// version (as MLflow resolves models:/name/latest). Empty: not served.
std::vector<std::string> ServingNames(const ModelVersionRecord& record, bool is_latest) {
  std::vector<std::string> names;
  const std::string stage = Lowercase(record.stage);
  if (stage == "production" || stage == "staging") names.push_back(stage);
  for (const std::string& alias : record.aliases) names.push_back("@" + alias);
  if (is_latest) names.push_back("latest");
  return names;
}

std::string DisplayName(const std::string& serving_name) {
  if (serving_name == "production") return "Production";
  if (serving_name == "staging") return "Staging";
  return serving_name;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const ServedModel>> LoadModelFromReference(std::string_view registry_uri,
                                                                          std::string_view uri, int scorer_threads) {
  PREDSTORE_ASSIGN_OR_RETURN(ModelReference reference, ParseModelReference(uri));
  if (reference.kind == ModelReference::Kind::kPath) {
    return LoadServedModel(reference.path, 0, reference.path, scorer_threads);
  }
  if (registry_uri.empty()) {
    return absl::InvalidArgumentError(StrCat("resolving ", uri, " needs a model registry (--registry)"));
  }
  PREDSTORE_ASSIGN_OR_RETURN(RegistryContents registry, ReadRegistry(registry_uri));
  PREDSTORE_ASSIGN_OR_RETURN(const ModelVersionRecord* record, Resolve(registry, reference));
  if (record->model_dir.empty()) {
    return absl::FailedPreconditionError(
        StrCat(uri, " is model '", record->name, "' version ", record->version, ": ", record->model_dir_error));
  }
  return LoadServedModel(record->name, record->version, record->model_dir, scorer_threads);
}

absl::StatusOr<std::unique_ptr<ModelCatalog>> ModelCatalog::Open(ModelCatalogOptions options) {
  std::unique_ptr<ModelCatalog> catalog(new ModelCatalog(std::move(options)));
  catalog->state_.store(std::make_shared<const State>());
  PREDSTORE_ASSIGN_OR_RETURN(ModelReloadSummary summary, catalog->Reload());
  (void)summary;  // Reload logged the load errors; they stay visible in LastErrors()
  return catalog;
}

absl::StatusOr<ModelReloadSummary> ModelCatalog::Reload() {
  std::lock_guard<std::mutex> reload_lock(reload_mutex_);
  absl::StatusOr<RegistryContents> registry = ReadRegistry(options_.registry_uri);
  if (!registry.ok()) {
    return absl::UnavailableError(StrCat("cannot read the model registry: ", FromAbsl(registry.status().message())));
  }
  const std::shared_ptr<const State> current = state_.load(std::memory_order_acquire);
  auto next = std::make_shared<State>();
  ModelReloadSummary summary;
  const std::vector<ModelVersionRecord>& versions = registry->versions;  // sorted by (name, version)
  for (size_t v = 0; v < versions.size(); ++v) {
    const ModelVersionRecord& record = versions[v];
    const bool is_latest = v + 1 == versions.size() || versions[v + 1].name != record.name;
    const std::vector<std::string> names = ServingNames(record, is_latest);
    if (names.empty()) continue;
    next->model_names.insert(record.name);
    const VersionKey key{record.name, record.version};
    std::shared_ptr<const ServedModel> model;
    if (auto loaded = current->versions.find(key); loaded != current->versions.end()) {
      model = loaded->second;
    } else if (!record.model_dir_error.empty()) {
      next->failed[key] = record.model_dir_error;
    } else {
      absl::StatusOr<std::shared_ptr<const ServedModel>> fresh =
          LoadServedModel(record.name, record.version, record.model_dir, options_.scorer_threads);
      if (fresh.ok()) {
        model = *std::move(fresh);
        ++summary.loaded;
        LogInfo("model ", record.name, " version ", record.version, " loaded from ", record.model_dir);
      } else {
        next->failed[key] = std::string(FromAbsl(fresh.status().message()));
      }
    }
    if (auto failure = next->failed.find(key); failure != next->failed.end()) {
      summary.errors.push_back(StrCat(record.name, " version ", record.version, ": ", failure->second));
      if (!current->failed.contains(key)) LogError("model ", summary.errors.back());  // once, not every poll
    }
    if (model != nullptr) next->versions[key] = model;
    for (const std::string& name : names) {
      const NameKey target{record.name, name};
      if (model != nullptr) {
        next->targets[target] = model;
        continue;
      }
      // The version meant to take this name failed: the previous one keeps it.
      if (auto previous = current->targets.find(target); previous != current->targets.end()) {
        next->targets[target] = previous->second;
        next->versions[{record.name, previous->second->version}] = previous->second;
        if (!current->failed.contains(key)) {
          LogWarning("model ", record.name, " ", DisplayName(name), " keeps serving version ",
                     previous->second->version);
        }
      }
    }
  }
  for (const auto& [key, model] : current->versions) {
    if (!next->versions.contains(key)) ++summary.unloaded;
  }
  state_.store(std::move(next), std::memory_order_release);
  return summary;
}

absl::StatusOr<std::shared_ptr<const ServedModel>> ModelCatalog::Resolve(const ModelReference& reference) const {
  const std::shared_ptr<const State> state = state_.load(std::memory_order_acquire);
  const std::string& name = reference.name;
  if (reference.kind == ModelReference::Kind::kPath) {
    return absl::InvalidArgumentError("the server answers for registered models only (models:/name/...)");
  }
  if (!state->model_names.contains(name)) {
    return absl::NotFoundError(StrCat("model '", name, "' has no served version in the registry"));
  }
  switch (reference.kind) {
    case ModelReference::Kind::kStage:
    case ModelReference::Kind::kAlias: {
      const bool is_stage = reference.kind == ModelReference::Kind::kStage;
      const std::string serving_name = is_stage ? Lowercase(reference.stage_or_alias) : "@" + reference.stage_or_alias;
      if (auto target = state->targets.find({name, serving_name}); target != state->targets.end()) {
        return target->second;
      }
      return absl::NotFoundError(is_stage ? StrCat("no version of model '", name, "' is in stage '",
                                                   reference.stage_or_alias, "' (or it failed to load)")
                                          : StrCat("model '", name, "' has no alias '", reference.stage_or_alias,
                                                   "' (or its version failed to load)"));
    }
    case ModelReference::Kind::kVersion: {
      const VersionKey key{name, reference.version};
      if (auto found = state->versions.find(key); found != state->versions.end()) return found->second;
      if (auto failure = state->failed.find(key); failure != state->failed.end()) {
        return absl::FailedPreconditionError(
            StrCat("model '", name, "' version ", reference.version, " failed to load: ", failure->second));
      }
      return absl::NotFoundError(StrCat("model '", name, "' version ", reference.version,
                                        " is not served: only versions with a stage or an alias are loaded"));
    }
    case ModelReference::Kind::kLatest: {
      if (auto target = state->targets.find({name, "latest"}); target != state->targets.end()) return target->second;
      return absl::NotFoundError(StrCat("the latest version of model '", name, "' failed to load"));
    }
    case ModelReference::Kind::kPath:
      break;
  }
  return absl::InvalidArgumentError("unsupported model reference");
}

std::vector<ServedVersionInfo> ModelCatalog::Served() const {
  const std::shared_ptr<const State> state = state_.load(std::memory_order_acquire);
  std::vector<ServedVersionInfo> served;
  for (const auto& [key, model] : state->versions) {
    ServedVersionInfo info{key.first, key.second, {}, model->model_dir};
    for (const auto& [target, target_model] : state->targets) {
      if (target_model == model) info.serves.push_back(DisplayName(target.second));
    }
    served.push_back(std::move(info));
  }
  return served;
}

std::vector<std::string> ModelCatalog::LastErrors() const {
  const std::shared_ptr<const State> state = state_.load(std::memory_order_acquire);
  std::vector<std::string> errors;
  for (const auto& [key, message] : state->failed) {
    errors.push_back(StrCat(key.first, " version ", key.second, ": ", message));
  }
  return errors;
}

}  // namespace predstore
