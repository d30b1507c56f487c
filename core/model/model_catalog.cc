#include "core/model/model_catalog.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <span>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "core/base/crash_points.h"
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

// The names a model answers to, each with the reference MLflow resolves it
// by: a serving stage (production, staging) some version is in, "@alias"
// for each alias, and "latest".
std::vector<std::pair<std::string, ModelReference>> ServingNames(std::span<const ModelVersionRecord> versions) {
  std::vector<std::pair<std::string, ModelReference>> names;
  const std::string& model = versions.front().name;
  for (const char* stage : {"Production", "Staging"}) {
    if (std::any_of(versions.begin(), versions.end(), [&](const ModelVersionRecord& v) { return v.stage == stage; })) {
      names.push_back({Lowercase(stage), ModelReference{model, ModelReference::Kind::kStage, stage, 0, ""}});
    }
  }
  for (const ModelVersionRecord& version : versions) {
    for (const std::string& alias : version.aliases) {
      names.push_back({"@" + alias, ModelReference{model, ModelReference::Kind::kAlias, alias, 0, ""}});
    }
  }
  names.push_back({"latest", ModelReference{model, ModelReference::Kind::kLatest, "", 0, ""}});
  return names;
}

// The serving name `reference` asks for: "production", "staging", "@alias",
// or "latest" (also for the alias "latest", which MLflow reserves for it).
std::string ServingName(const ModelReference& reference) {
  if (reference.kind == ModelReference::Kind::kStage) return Lowercase(reference.stage_or_alias);
  if (reference.kind == ModelReference::Kind::kAlias && !absl::EqualsIgnoreCase(reference.stage_or_alias, "latest")) {
    return "@" + reference.stage_or_alias;
  }
  return "latest";
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
  // The loaded model of `record` (reused from the current state, or loaded
  // now), or nullptr with its error in next->failed.
  auto load = [&](const ModelVersionRecord& record) -> std::shared_ptr<const ServedModel> {
    const VersionKey key{record.name, record.version};
    if (auto loaded = next->versions.find(key); loaded != next->versions.end()) return loaded->second;
    if (next->failed.contains(key)) return nullptr;
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
    if (model != nullptr) {
      next->versions[key] = model;
      return model;
    }
    summary.errors.push_back(StrCat(record.name, " version ", record.version, ": ", next->failed[key]));
    if (!current->failed.contains(key)) LogError("model ", summary.errors.back());  // once, not every poll
    return nullptr;
  };
  const std::vector<ModelVersionRecord>& versions = registry->versions;  // sorted by (name, version)
  for (size_t first = 0, last = 0; first < versions.size(); first = last) {
    while (last < versions.size() && versions[last].name == versions[first].name) ++last;
    const std::span<const ModelVersionRecord> model_versions(versions.data() + first, last - first);
    next->model_names.insert(versions[first].name);
    for (const auto& [serving_name, reference] : ServingNames(model_versions)) {
      // The one resolver MLflow's rules are written in, shared with the loader.
      absl::StatusOr<const ModelVersionRecord*> record = predstore::Resolve(*registry, reference);
      if (!record.ok()) continue;
      const NameKey target{reference.name, serving_name};
      if (std::shared_ptr<const ServedModel> model = load(**record)) {
        next->targets[target] = std::move(model);
        continue;
      }
      const VersionKey failed{(*record)->name, (*record)->version};
      const std::string why = StrCat("v", failed.second, " failed to load: ", next->failed[failed]);
      // The version meant to take this name failed: the previous one keeps it.
      if (auto previous = current->targets.find(target); previous != current->targets.end()) {
        next->targets[target] = previous->second;
        next->versions[{reference.name, previous->second->version}] = previous->second;
        next->stand_ins[target] = why;
        if (!current->failed.contains(failed)) {
          LogWarning("model ", reference.name, " ", DisplayName(serving_name), " keeps serving version ",
                     previous->second->version, " (", why, ")");
        }
      } else {
        next->unserved[target] = why;
      }
    }
  }
  for (const auto& [key, model] : current->versions) {
    if (!next->versions.contains(key)) ++summary.unloaded;
  }
  CrashPoint("models:loaded");
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
    case ModelReference::Kind::kAlias:
    case ModelReference::Kind::kLatest: {
      const NameKey target{name, ServingName(reference)};
      if (auto found = state->targets.find(target); found != state->targets.end()) return found->second;
      if (auto unserved = state->unserved.find(target); unserved != state->unserved.end()) {
        return absl::FailedPreconditionError(
            StrCat(FormatModelReference(reference), " is not served: ", unserved->second));
      }
      if (reference.kind == ModelReference::Kind::kStage) {
        return absl::NotFoundError(
            StrCat("no version of model '", name, "' is in stage '", reference.stage_or_alias, "'"));
      }
      return absl::NotFoundError(StrCat("model '", name, "' has no alias '", reference.stage_or_alias, "'"));
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

std::vector<std::string> ModelCatalog::StandIns() const {
  const std::shared_ptr<const State> state = state_.load(std::memory_order_acquire);
  std::vector<std::string> lines;
  for (const auto& [target, why] : state->stand_ins) {
    const auto served = state->targets.find(target);
    if (served == state->targets.end()) continue;
    lines.push_back(StrCat(target.first, " ", DisplayName(target.second), " \u2192 v", served->second->version, " (", why, ")"));
  }
  return lines;
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
