// libFuzzer target: any bytes as a model's MLmodel file (ReadMlModel), as a
// version's and as a model's meta.yaml in an MLflow file store
// (ReadRegistry; the other files hold what MLflow writes, and the version's
// runs:/ source resolves through the tracking store beside it), and as a
// model reference (ParseModelReference). The SQLite registry's rows are
// fuzzed by registry_sqlite_fuzz.cc.
// Reading must end in a value or an error, never a crash (AddressSanitizer,
// UBSan); beyond that, an MLmodel's flavors are sorted, its xgboost data
// file is a file inside the model directory, a tensor signature has no
// columns; a registry's versions are sorted, each with either a model
// directory (absolute, normal, holding an MLmodel file) or the reason it has
// none, its models sorted and unique, and a version found again through the
// models:/ URI FormatModelReference writes for it (by number, and by stage);
// and a reference parses back from the URI it formats to. Run by
// tests/fuzz/run_fuzz.sh.
#include <stdlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <tuple>

#include "core/model/ml_model.h"
#include "core/model/model_registry.h"

namespace {

namespace fs = std::filesystem;
using predstore::ModelReference;

void Write(const fs::path& file, std::string_view text) {
  fs::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary | std::ios::trunc) << text;
}

// A scratch folder with a model directory and a file store as MLflow leaves
// them; removed at exit.
class Scratch {
 public:
  Scratch() {
    std::string pattern = (fs::temp_directory_path() / "registry_fuzz.XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) std::abort();
    root_ = pattern;
    Write(model_dir() / "model.xgb", "");
    Write(artifacts() / "model" / "MLmodel", "flavors:\n  xgboost:\n    data: model.xgb\n");
    Write(artifacts() / "model" / "model.xgb", "");
    Write(mlruns() / "0" / "meta.yaml", "artifact_location: file://" + mlruns().string() + "/0\nname: Default\n");
    Write(mlruns() / "0" / "0123456789abcdef0123456789abcdef" / "meta.yaml",
          "artifact_uri: file://" + artifacts().string() + "\nrun_id: 0123456789abcdef0123456789abcdef\n");
    Write(mlruns() / "models" / "m" / "aliases" / "champion", "1");
  }
  ~Scratch() {
    std::error_code ignored;
    fs::remove_all(root_, ignored);
  }

  fs::path model_dir() const { return root_ / "model"; }
  fs::path artifacts() const { return root_ / "artifacts"; }
  fs::path mlruns() const { return root_ / "mlruns"; }
  fs::path model_meta() const { return mlruns() / "models" / "m" / "meta.yaml"; }
  fs::path version_meta() const { return mlruns() / "models" / "m" / "version-1" / "meta.yaml"; }

 private:
  fs::path root_;
};

constexpr std::string_view kModelMeta =
    "aliases:\n  champion: 1\ncreation_timestamp: 1767348000000\ndescription: ''\n"
    "last_updated_timestamp: 1767348000000\nname: m\n";
constexpr std::string_view kVersionMeta =
    "creation_timestamp: 1767348000000\ncurrent_stage: Production\ndescription: ''\n"
    "last_updated_timestamp: 1767348000000\nname: m\nrun_id: 0123456789abcdef0123456789abcdef\nrun_link: ''\n"
    "source: runs:/0123456789abcdef0123456789abcdef/model\nstatus: READY\nstatus_message: ''\n"
    "storage_location: runs:/0123456789abcdef0123456789abcdef/model\nuser_id: ''\nversion: 1\n";

void CheckMlModel(const Scratch& scratch) {
  absl::StatusOr<predstore::MlModel> model = predstore::ReadMlModel(scratch.model_dir().string());
  if (!model.ok()) return;
  if (model->dir != scratch.model_dir().string()) std::abort();
  if (!std::is_sorted(model->flavors.begin(), model->flavors.end())) std::abort();
  if (model->has_xgboost) {
    std::error_code error;
    if (!model->xgboost_data_path.starts_with(model->dir + "/") ||
        !fs::is_regular_file(model->xgboost_data_path, error) || model->xgboost_model_class.empty()) {
      std::abort();
    }
  }
  if (model->inputs_are_tensors && !model->inputs.empty()) std::abort();
}

// Aborts unless `reference` parses back from the URI it formats to.
void CheckFormatted(const ModelReference& reference) {
  absl::StatusOr<ModelReference> again = predstore::ParseModelReference(predstore::FormatModelReference(reference));
  if (!again.ok()) return;  // a name the URI form cannot hold (a '/', blanks)
  if (std::tie(again->kind, again->name, again->stage_or_alias, again->version, again->path) !=
      std::tie(reference.kind, reference.name, reference.stage_or_alias, reference.version, reference.path)) {
    std::abort();
  }
}

// Aborts unless the version `reference` names in `contents` is `version`.
void CheckResolves(const predstore::RegistryContents& contents, const ModelReference& reference,
                   const predstore::ModelVersionRecord& version) {
  absl::StatusOr<ModelReference> parsed = predstore::ParseModelReference(predstore::FormatModelReference(reference));
  if (!parsed.ok()) return;
  absl::StatusOr<const predstore::ModelVersionRecord*> found = predstore::Resolve(contents, *parsed);
  if (!found.ok() || (*found)->name != version.name || (*found)->version != version.version) std::abort();
}

void CheckRegistry(const Scratch& scratch) {
  absl::StatusOr<predstore::RegistryContents> contents = predstore::ReadRegistry(scratch.mlruns().string());
  if (!contents.ok()) return;
  const auto& versions = contents->versions;
  const auto& models = contents->models;
  if (!std::is_sorted(models.begin(), models.end()) ||
      std::adjacent_find(models.begin(), models.end()) != models.end()) {
    std::abort();
  }
  for (size_t i = 0; i < versions.size(); ++i) {
    const predstore::ModelVersionRecord& v = versions[i];
    if (i > 0 && std::tie(versions[i - 1].name, versions[i - 1].version) >= std::tie(v.name, v.version)) std::abort();
    if (!std::binary_search(models.begin(), models.end(), v.name)) std::abort();
    if (!std::is_sorted(v.aliases.begin(), v.aliases.end()) || v.stage.empty() || v.status.empty()) std::abort();
    if (v.model_dir.empty() == v.model_dir_error.empty()) std::abort();
    if (!v.model_dir.empty()) {
      const fs::path dir(v.model_dir);
      std::error_code error;
      if (!dir.is_absolute() || dir.lexically_normal() != dir || !fs::is_regular_file(dir / "MLmodel", error)) {
        std::abort();
      }
    }
    ModelReference by_number;
    by_number.kind = ModelReference::Kind::kVersion;
    by_number.name = v.name;
    by_number.version = v.version;
    CheckFormatted(by_number);
    CheckResolves(*contents, by_number, v);
    const bool highest_in_stage = std::none_of(versions.begin() + i + 1, versions.end(), [&](const auto& later) {
      return later.name == v.name && later.stage == v.stage;
    });
    for (std::string_view stage : {"None", "Staging", "Production", "Archived"}) {
      if (v.stage != stage || !highest_in_stage) continue;
      ModelReference by_stage;
      by_stage.kind = ModelReference::Kind::kStage;
      by_stage.name = v.name;
      by_stage.stage_or_alias = std::string(stage);
      CheckResolves(*contents, by_stage, v);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Scratch scratch;
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  Write(scratch.model_dir() / "MLmodel", input);
  CheckMlModel(scratch);

  Write(scratch.model_meta(), kModelMeta);
  Write(scratch.version_meta(), input);
  CheckRegistry(scratch);
  Write(scratch.model_meta(), input);
  Write(scratch.version_meta(), kVersionMeta);
  CheckRegistry(scratch);

  absl::StatusOr<ModelReference> reference = predstore::ParseModelReference(input);
  if (reference.ok()) {
    if (reference->kind != ModelReference::Kind::kPath) CheckFormatted(*reference);
    if (reference->kind == ModelReference::Kind::kPath && reference->path.empty()) std::abort();
  }
  return 0;
}
