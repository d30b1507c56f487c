#include "core/model/model_registry.h"

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/strings.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/mlflow_sqlite.h"
#include "tests/support/scratch_dir.h"
#include "tests/support/status_matchers.h"

namespace predstore {

void PrintTo(const ModelVersionRecord& record, std::ostream* os) {
  *os << record.name << " v" << record.version << " [" << record.stage << ", " << record.status
      << "] dir=" << record.model_dir << " error=" << record.model_dir_error;
}

namespace {

namespace fs = std::filesystem;
using test_support::ExecSql;
using test_support::IsOkAndHolds;
using test_support::kMlflow3Migrations;
using test_support::kMlflowSchema;
using test_support::ScratchDir;
using test_support::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pointee;

constexpr char kRunId[] = "5f2a9c1d8e3b4a6f9d0c7b1e2a3f4d5c";
constexpr char kModelId[] = "m-8d1c6a2e4b7f40e9a3c5d2b1f0e9a8c7";

void WriteTextFile(const fs::path& file, std::string_view contents) {
  fs::create_directories(file.parent_path());
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  out.close();
  ASSERT_TRUE(out) << "cannot write " << file;
}

// A model directory as MLflow saves it (only the MLmodel file matters here).
void WriteModelDir(const fs::path& dir) {
  WriteTextFile(dir / "MLmodel",
                "artifact_path: model\n"
                "flavors:\n"
                "  python_function:\n"
                "    loader_module: mlflow.sklearn\n"
                "    model_path: model.pkl\n"
                "  sklearn:\n"
                "    pickled_model: model.pkl\n"
                "mlflow_version: 2.17.2\n");
}

// ---------------------------------------------------------------------------
// A file store, written the way MLflow's FileStore writes it (yaml.safe_dump
// of each entity's properties, keys sorted).
class FileStoreWriter {
 public:
  explicit FileStoreWriter(fs::path mlruns) : mlruns_(std::move(mlruns)) {}
  const fs::path& mlruns() const { return mlruns_; }

  void Experiment(std::string_view id) {
    WriteTextFile(mlruns_ / id / "meta.yaml",
                  StrCat("artifact_location: file://", (mlruns_ / id).string(),
                         "\ncreation_time: 1732000000000\nexperiment_id: '", id,
                         "'\nlast_update_time: 1732000000000\nlifecycle_stage: active\nname: churn\n"));
  }

  // A run's meta.yaml; returns its artifacts folder.
  fs::path Run(std::string_view experiment, std::string_view run_id) {
    const fs::path run_dir = mlruns_ / experiment / run_id;
    WriteTextFile(
        run_dir / "meta.yaml",
        StrCat("artifact_uri: file://", (run_dir / "artifacts").string(),
               "\nend_time: 1732000005000\nentry_point_name: ''\nexperiment_id: '", experiment,
               "'\nlifecycle_stage: active\nrun_id: ", run_id, "\nrun_name: bright-owl-42\nrun_uuid: ", run_id,
               "\nsource_name: ''\nsource_type: 4\nsource_version: ''\nstart_time: 1732000000000\n"
               "status: 3\ntags: []\nuser_id: alice\n"));
    return run_dir / "artifacts";
  }

  // An MLflow 3 logged model's meta.yaml; returns its artifacts folder.
  fs::path LoggedModel(std::string_view experiment, std::string_view model_id) {
    const fs::path model_dir = mlruns_ / experiment / "models" / model_id;
    WriteTextFile(model_dir / "meta.yaml", StrCat("artifact_location: file://", (model_dir / "artifacts").string(),
                                                  "\ncreation_timestamp: 1732000001000\nexperiment_id: '", experiment,
                                                  "'\nlast_updated_timestamp: 1732000002000\nmodel_id: ", model_id,
                                                  "\nmodel_type: null\nname: model\nsource_run_id: ", kRunId,
                                                  "\nstatus: READY\nstatus_message: null\n"));
    return model_dir / "artifacts";
  }

  void RegisteredModel(std::string_view name) {
    WriteTextFile(mlruns_ / "models" / name / "meta.yaml",
                  StrCat("aliases: {}\ncreation_timestamp: 1732000000000\ndescription: null\n"
                         "last_updated_timestamp: 1732000009000\nname: ",
                         name, "\n"));
  }

  struct Version {
    std::string name = "";
    int64_t version = 1;
    std::string stage = "None";
    std::string source = "";
    std::string storage_location = "";  // written only when mlflow3 is set
    std::string status = "READY";
    bool mlflow3 = true;  // newer MLflow writes storage_location; 3.x also model_id
  };
  void ModelVersion(const Version& v) {
    std::string yaml = StrCat("creation_timestamp: 1732000001000\ncurrent_stage: ", v.stage,
                              "\ndescription: ''\nlast_updated_timestamp: ", 1732000002000 + v.version, "\n");
    if (v.mlflow3) StrAppend(&yaml, "model_id: null\n");
    StrAppend(&yaml, "name: ", v.name, "\nrun_id: ", kRunId, "\nrun_link: null\nsource: ", v.source,
              "\nstatus: ", v.status, "\nstatus_message: null\n");
    if (v.mlflow3)
      StrAppend(&yaml, "storage_location: ", v.storage_location.empty() ? "null" : v.storage_location, "\n");
    StrAppend(&yaml, "user_id: null\nversion: ", v.version, "\n");
    WriteTextFile(mlruns_ / "models" / v.name / StrCat("version-", v.version) / "meta.yaml", yaml);
  }

  // MLflow writes the version number, without a newline.
  void Alias(std::string_view name, std::string_view alias, int64_t version) {
    WriteTextFile(mlruns_ / "models" / name / "aliases" / alias, StrCat(version));
  }

 private:
  fs::path mlruns_;
};

std::string FileUri(const fs::path& path) { return StrCat("file://", path.string()); }

// A project folder holding mlruns/ and model folders, with:
//   churn  v1 Archived  file:// model dir
//          v2 Production runs:/<run>/model (storage_location also runs:/)
//          v3 Production plain absolute path; alias champion
//          v4 Staging   source models:/m-<id>, storage_location = logged model
//          v5 None      relative path "saved/churn-v5"; alias challenger
//          v6 None      PENDING_REGISTRATION
//          v7           deleted (Deleted_Internal)
//   fraud  v1 Production s3:// (not local)
//          v2 None      mlflow-artifacts:/ (not local)
//   empty  (no versions)
//   gone   (a folder without meta.yaml: deleted)
class FileStoreRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FileStoreWriter store(mlruns_);
    store.Experiment("0");
    store.Experiment("1");
    run_artifacts_ = store.Run("1", kRunId);
    WriteModelDir(run_artifacts_ / "model");
    logged_artifacts_ = store.LoggedModel("1", kModelId);
    WriteModelDir(logged_artifacts_);
    WriteModelDir(project_ / "exported" / "churn-v1");
    WriteModelDir(project_ / "exported" / "churn-v3");
    WriteModelDir(project_ / "saved" / "churn-v5");

    store.RegisteredModel("churn");
    const std::string runs_uri = StrCat("runs:/", kRunId, "/model");
    store.ModelVersion({.name = "churn",
                        .version = 1,
                        .stage = "Archived",
                        .source = FileUri(project_ / "exported" / "churn-v1"),
                        .mlflow3 = false});
    store.ModelVersion(
        {.name = "churn", .version = 2, .stage = "Production", .source = runs_uri, .storage_location = runs_uri});
    store.ModelVersion({.name = "churn",
                        .version = 3,
                        .stage = "Production",
                        .source = (project_ / "exported" / "churn-v3").string(),
                        .storage_location = (project_ / "exported" / "churn-v3").string()});
    store.ModelVersion({.name = "churn",
                        .version = 4,
                        .stage = "Staging",
                        .source = StrCat("models:/", kModelId),
                        .storage_location = FileUri(logged_artifacts_)});
    store.ModelVersion(
        {.name = "churn", .version = 5, .source = "saved/churn-v5", .storage_location = "saved/churn-v5"});
    store.ModelVersion({.name = "churn",
                        .version = 6,
                        .source = FileUri(project_ / "exported" / "churn-v3"),
                        .status = "PENDING_REGISTRATION"});
    store.ModelVersion({.name = "churn",
                        .version = 7,
                        .stage = "Deleted_Internal",
                        .source = FileUri(project_ / "exported" / "churn-v3")});
    store.Alias("churn", "champion", 3);
    store.Alias("churn", "challenger", 5);

    store.RegisteredModel("fraud");
    store.ModelVersion({.name = "fraud",
                        .version = 1,
                        .stage = "Production",
                        .source = "s3://models-bucket/fraud/1",
                        .storage_location = "s3://models-bucket/fraud/1"});
    store.ModelVersion({.name = "fraud",
                        .version = 2,
                        .source = "mlflow-artifacts:/1/abc/artifacts/model",
                        .storage_location = "mlflow-artifacts:/1/abc/artifacts/model"});
    store.RegisteredModel("empty");
    fs::create_directories(mlruns_ / "models" / "gone" / "version-1");
  }

  const ModelVersionRecord& Version(const RegistryContents& contents, std::string_view name, int64_t version) {
    for (const ModelVersionRecord& record : contents.versions) {
      if (record.name == name && record.version == version) return record;
    }
    ADD_FAILURE() << "no version " << version << " of " << name;
    static const ModelVersionRecord kNone;
    return kNone;
  }

  ScratchDir scratch_;
  fs::path project_ = scratch_.path() / "project";
  fs::path mlruns_ = project_ / "mlruns";
  fs::path run_artifacts_;
  fs::path logged_artifacts_;
};

MATCHER_P2(IsVersion, name, version, "") { return arg.name == name && arg.version == version; }

TEST_F(FileStoreRegistryTest, ReadsEveryLiveVersionSortedWithItsFields) {
  ASSERT_OK_AND_ASSIGN(const RegistryContents contents, ReadRegistry(mlruns_.string()));
  EXPECT_THAT(contents.models, ElementsAre("churn", "empty", "fraud"));
  EXPECT_THAT(contents.versions,
              ElementsAre(IsVersion("churn", 1), IsVersion("churn", 2), IsVersion("churn", 3), IsVersion("churn", 4),
                          IsVersion("churn", 5), IsVersion("churn", 6), IsVersion("fraud", 1), IsVersion("fraud", 2)));
  const ModelVersionRecord& v3 = Version(contents, "churn", 3);
  EXPECT_EQ(v3.stage, "Production");
  EXPECT_THAT(v3.aliases, ElementsAre("champion"));
  EXPECT_EQ(v3.status, "READY");
  EXPECT_EQ(v3.last_updated_ms, 1732000002003);
  EXPECT_EQ(v3.source, (project_ / "exported" / "churn-v3").string());
  EXPECT_EQ(v3.model_dir, (project_ / "exported" / "churn-v3").string());
  EXPECT_THAT(v3.model_dir_error, IsEmpty());
  EXPECT_THAT(Version(contents, "churn", 5).aliases, ElementsAre("challenger"));
  EXPECT_THAT(Version(contents, "churn", 1).aliases, IsEmpty());
}

TEST_F(FileStoreRegistryTest, ResolvesEveryKindOfLocalLocation) {
  ASSERT_OK_AND_ASSIGN(const RegistryContents contents, ReadRegistry(FileUri(mlruns_)));
  // A file:// source, from an MLflow without storage_location.
  const ModelVersionRecord& v1 = Version(contents, "churn", 1);
  EXPECT_THAT(v1.storage_location, IsEmpty());
  EXPECT_EQ(v1.model_dir, (project_ / "exported" / "churn-v1").string());
  // runs:/<run>/model, through the run's meta.yaml artifact_uri.
  EXPECT_EQ(Version(contents, "churn", 2).model_dir, (run_artifacts_ / "model").string());
  // models:/m-<id> source; storage_location (the logged model's artifacts) wins.
  const ModelVersionRecord& v4 = Version(contents, "churn", 4);
  EXPECT_EQ(v4.source, StrCat("models:/", kModelId));
  EXPECT_EQ(v4.model_dir, logged_artifacts_.string());
  // A relative path: relative to the folder holding mlruns/.
  EXPECT_EQ(Version(contents, "churn", 5).model_dir, (project_ / "saved" / "churn-v5").string());
}

TEST_F(FileStoreRegistryTest, ResolvesAModelsSourceWithoutStorageLocationThroughTheLoggedModel) {
  FileStoreWriter store(mlruns_);
  store.ModelVersion({.name = "churn", .version = 8, .source = StrCat("models:/", kModelId), .mlflow3 = false});
  ASSERT_OK_AND_ASSIGN(const RegistryContents contents, ReadRegistry(mlruns_.string()));
  EXPECT_EQ(Version(contents, "churn", 8).model_dir, logged_artifacts_.string());
}

TEST_F(FileStoreRegistryTest, PrefersStorageLocationOverSource) {
  FileStoreWriter store(mlruns_);
  store.ModelVersion({.name = "churn",
                      .version = 8,
                      .source = "s3://elsewhere/churn",
                      .storage_location = FileUri(project_ / "exported" / "churn-v1")});
  ASSERT_OK_AND_ASSIGN(const RegistryContents contents, ReadRegistry(mlruns_.string()));
  const ModelVersionRecord& v8 = Version(contents, "churn", 8);
  EXPECT_EQ(v8.model_dir, (project_ / "exported" / "churn-v1").string());
  EXPECT_THAT(v8.model_dir_error, IsEmpty());
}

TEST_F(FileStoreRegistryTest, ExplainsVersionsWithoutALocalModelDir) {
  FileStoreWriter store(mlruns_);
  store.ModelVersion({.name = "churn", .version = 8, .source = FileUri(project_ / "nowhere")});
  store.ModelVersion({.name = "churn", .version = 9, .source = "runs:/0123456789abcdef/model"});
  ASSERT_OK_AND_ASSIGN(const RegistryContents contents, ReadRegistry(mlruns_.string()));

  const ModelVersionRecord& pending = Version(contents, "churn", 6);
  EXPECT_EQ(pending.status, "PENDING_REGISTRATION");
  EXPECT_THAT(pending.model_dir, IsEmpty());
  EXPECT_THAT(pending.model_dir_error, HasSubstr("PENDING_REGISTRATION, not READY"));

  const ModelVersionRecord& s3 = Version(contents, "fraud", 1);
  EXPECT_THAT(s3.model_dir, IsEmpty());
  EXPECT_THAT(s3.model_dir_error,
              AllOf(HasSubstr("s3://models-bucket/fraud/1"), HasSubstr("not on the local filesystem")));
  EXPECT_THAT(Version(contents, "fraud", 2).model_dir_error,
              AllOf(HasSubstr("mlflow-artifacts:"), HasSubstr("not on the local filesystem")));

  EXPECT_THAT(Version(contents, "churn", 8).model_dir_error,
              HasSubstr(StrCat((project_ / "nowhere").string(), " is not a directory")));
  EXPECT_THAT(Version(contents, "churn", 9).model_dir_error, HasSubstr("run 0123456789abcdef is not in"));
}

TEST_F(FileStoreRegistryTest, ResolvesReferencesLikeMlflow) {
  ASSERT_OK_AND_ASSIGN(const RegistryContents contents, ReadRegistry(mlruns_.string()));
  auto resolve = [&](std::string_view uri) -> absl::StatusOr<const ModelVersionRecord*> {
    absl::StatusOr<ModelReference> reference = ParseModelReference(uri);
    if (!reference.ok()) return reference.status();
    return Resolve(contents, *reference);
  };
  // Two versions in Production: the higher one.
  EXPECT_THAT(resolve("models:/churn/Production"), IsOkAndHolds(Pointee(IsVersion("churn", 3))));
  EXPECT_THAT(resolve("models:/churn/production"), IsOkAndHolds(Pointee(IsVersion("churn", 3))));
  EXPECT_THAT(resolve("models:/churn/STAGING"), IsOkAndHolds(Pointee(IsVersion("churn", 4))));
  EXPECT_THAT(resolve("models:/churn/archived"), IsOkAndHolds(Pointee(IsVersion("churn", 1))));
  EXPECT_THAT(resolve("models:/churn/2"), IsOkAndHolds(Pointee(IsVersion("churn", 2))));
  EXPECT_THAT(resolve("models:/churn@champion"), IsOkAndHolds(Pointee(IsVersion("churn", 3))));
  EXPECT_THAT(resolve("models:/churn@challenger"), IsOkAndHolds(Pointee(IsVersion("churn", 5))));
  // latest: the highest live version, whatever its stage or status (v7 is deleted).
  EXPECT_THAT(resolve("models:/churn/latest"), IsOkAndHolds(Pointee(IsVersion("churn", 6))));
  EXPECT_THAT(resolve("models:/churn/Latest"), IsOkAndHolds(Pointee(IsVersion("churn", 6))));
  EXPECT_THAT(resolve("models:/churn@latest"), IsOkAndHolds(Pointee(IsVersion("churn", 6))));
}

TEST_F(FileStoreRegistryTest, MissingModelsVersionsStagesAndAliasesAreNotFound) {
  ASSERT_OK_AND_ASSIGN(const RegistryContents contents, ReadRegistry(mlruns_.string()));
  auto resolve = [&](std::string_view uri) { return Resolve(contents, ParseModelReference(uri).value()); };
  EXPECT_THAT(resolve("models:/nope/Production"), StatusIs(absl::StatusCode::kNotFound, HasSubstr("'nope'")));
  EXPECT_THAT(resolve("models:/gone/1"), StatusIs(absl::StatusCode::kNotFound, HasSubstr("'gone'")));
  EXPECT_THAT(resolve("models:/empty/latest"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("'empty' has no versions")));
  EXPECT_THAT(resolve("models:/churn/7"), StatusIs(absl::StatusCode::kNotFound, HasSubstr("'churn' has no version 7")));
  EXPECT_THAT(resolve("models:/fraud/Staging"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("'fraud' has no version in stage Staging")));
  EXPECT_THAT(resolve("models:/churn@shadow"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("'churn' has no alias 'shadow'")));
  ModelReference path;
  path.path = "/models/churn";
  EXPECT_THAT(Resolve(contents, path), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("/models/churn")));
}

TEST_F(FileStoreRegistryTest, MalformedMetaYamlIsDataLossNamingTheFile) {
  const fs::path file = mlruns_ / "models" / "churn" / "version-2" / "meta.yaml";
  WriteTextFile(file, "current_stage: [Production\nsource: runs:/x/model\n");
  EXPECT_THAT(ReadRegistry(mlruns_.string()),
              StatusIs(absl::StatusCode::kDataLoss, AllOf(HasSubstr(file.string()), HasSubstr("malformed YAML"))));

  WriteTextFile(file, "current_stage:\n  nested: map\nversion: 2\n");
  EXPECT_THAT(ReadRegistry(mlruns_.string()),
              StatusIs(absl::StatusCode::kDataLoss, AllOf(HasSubstr(file.string()), HasSubstr("'current_stage'"))));

  WriteTextFile(file, "current_stage: None\nversion: two\n");
  EXPECT_THAT(ReadRegistry(mlruns_.string()),
              StatusIs(absl::StatusCode::kDataLoss, AllOf(HasSubstr(file.string()), HasSubstr("'version'"))));

  FileStoreWriter(mlruns_).ModelVersion({.name = "churn", .version = 2, .source = "x"});
  const fs::path alias = mlruns_ / "models" / "churn" / "aliases" / "champion";
  WriteTextFile(alias, "three");
  EXPECT_THAT(ReadRegistry(mlruns_.string()), StatusIs(absl::StatusCode::kDataLoss, HasSubstr(alias.string())));
}

TEST_F(FileStoreRegistryTest, SkipsAMetaYamlMlflowIsStillWriting) {
  WriteTextFile(mlruns_ / "models" / "churn" / "version-8" / "meta.yaml", "");
  ASSERT_OK_AND_ASSIGN(const RegistryContents contents, ReadRegistry(mlruns_.string()));
  EXPECT_EQ(contents.versions.size(), 8u);
}

TEST(RegistryUriTest, MissingOrUnsupportedRegistriesAreErrors) {
  ScratchDir scratch;
  EXPECT_THAT(ReadRegistry((scratch.path() / "no-mlruns").string()),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no-mlruns")));
  EXPECT_THAT(ReadRegistry(StrCat("sqlite:///", (scratch.path() / "absent.db").string())),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("absent.db")));
  EXPECT_THAT(ReadRegistry("sqlite://"), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("in-memory")));
  EXPECT_THAT(ReadRegistry("postgresql://mlflow@db/mlflow"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("postgresql")));
  EXPECT_THAT(ReadRegistry("http://localhost:5000"), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("http")));
  EXPECT_THAT(ReadRegistry("file://otherhost/mlruns"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("otherhost")));
  scratch.WriteFile("not-a-db.db", "this is not SQLite at all, just text that is long enough to have a header");
  EXPECT_THAT(ReadRegistry((scratch.path() / "not-a-db.db").string()),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("not-a-db.db")));
}

// ---------------------------------------------------------------------------
// SQLite, with MLflow's table definitions (tests/support/mlflow_sqlite.h).

class SqliteRegistryTest : public ::testing::Test {
 protected:
  // Creates mlflow.db with `current` (storage_location, logged_models) or the
  // older schema, and rows as MLflow's SqlAlchemyStore inserts them.
  void CreateDb(bool current) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(db_.c_str(), &db), SQLITE_OK);
    ExecSql(db, kMlflowSchema);
    if (current) ExecSql(db, kMlflow3Migrations);
    const std::string experiment_dir = (project_ / "mlruns" / "1").string();
    ExecSql(db, StrCat("INSERT INTO experiments VALUES (1, 'churn', '", FileUri(experiment_dir),
                       "', 'active', 1732000000000, 1732000000000);"
                       "INSERT INTO runs VALUES ('",
                       kRunId, "', 'bright-owl-42', 'UNKNOWN', '', '', 'alice', ",
                       "'FINISHED', 1732000000000, 1732000005000, '', 'active', '", FileUri(run_artifacts_),
                       "', 1, NULL);"
                       "INSERT INTO registered_models VALUES ('churn', 1732000000000, 1732000009000, NULL);"
                       "INSERT INTO registered_models VALUES ('empty', 1732000000000, 1732000000000, 'none yet');"));
    if (current) {
      ExecSql(db,
              StrCat("INSERT INTO logged_models VALUES ('", kModelId, "', 1, 'model', '", FileUri(logged_artifacts_),
                     "', 1732000001000, 1732000002000, 2, 'active', NULL, '", kRunId, "', NULL);"));
    }
    const std::string location_column = current ? ", storage_location" : "";
    auto insert_version = [&](int version, std::string_view stage, std::string_view source,
                              std::string_view storage_location, std::string_view status) {
      ExecSql(db, StrCat("INSERT INTO model_versions (name, version, creation_time, last_updated_time, description, "
                         "user_id, current_stage, source, run_id, status, status_message, run_link",
                         location_column, ") VALUES ('churn', ", version, ", 1732000001000, ", 1732000002000 + version,
                         ", '', NULL, '", stage, "', '", source, "', '", kRunId, "', '", status, "', NULL, ''",
                         current ? StrCat(", '", storage_location, "'") : std::string(), ");"));
    };
    const std::string runs_uri = StrCat("runs:/", kRunId, "/model");
    insert_version(1, "Archived", FileUri(project_ / "exported" / "churn-v1"),
                   FileUri(project_ / "exported" / "churn-v1"), "READY");
    insert_version(2, "Production", runs_uri, runs_uri, "READY");
    insert_version(3, "Production", "exported/churn-v3", "exported/churn-v3", "READY");
    insert_version(4, "Staging", StrCat("models:/", kModelId), FileUri(logged_artifacts_), "READY");
    insert_version(5, "None", "s3://bucket/churn/5", "s3://bucket/churn/5", "FAILED_REGISTRATION");
    insert_version(6, "Deleted_Internal", "", "", "READY");
    ExecSql(db,
            "INSERT INTO registered_model_aliases VALUES ('churn', 'champion', 3);"
            "INSERT INTO registered_model_aliases VALUES ('churn', 'shadow', 2);");
    sqlite3_close(db);
  }

  void SetUp() override {
    WriteModelDir(run_artifacts_ / "model");
    WriteModelDir(logged_artifacts_);
    WriteModelDir(project_ / "exported" / "churn-v1");
    WriteModelDir(project_ / "exported" / "churn-v3");
  }

  ScratchDir scratch_;
  fs::path project_ = scratch_.path() / "project";
  fs::path db_ = project_ / "mlflow.db";
  fs::path run_artifacts_ = project_ / "mlruns" / "1" / kRunId / "artifacts";
  fs::path logged_artifacts_ = project_ / "mlruns" / "1" / "models" / kModelId / "artifacts";
};

TEST_F(SqliteRegistryTest, ReadsTheCurrentSchema) {
  CreateDb(/*current=*/true);
  ASSERT_OK_AND_ASSIGN(const RegistryContents contents, ReadRegistry(StrCat("sqlite:///", db_.string())));
  EXPECT_THAT(contents.models, ElementsAre("churn", "empty"));
  ASSERT_THAT(contents.versions, ElementsAre(IsVersion("churn", 1), IsVersion("churn", 2), IsVersion("churn", 3),
                                             IsVersion("churn", 4), IsVersion("churn", 5)));
  const std::vector<ModelVersionRecord>& v = contents.versions;
  EXPECT_EQ(v[0].stage, "Archived");
  EXPECT_EQ(v[0].model_dir, (project_ / "exported" / "churn-v1").string());
  EXPECT_EQ(v[1].model_dir, (run_artifacts_ / "model").string());  // runs:/ via the runs table
  EXPECT_THAT(v[1].aliases, ElementsAre("shadow"));
  EXPECT_EQ(v[2].model_dir, (project_ / "exported" / "churn-v3").string());  // relative to the .db's folder
  EXPECT_THAT(v[2].aliases, ElementsAre("champion"));
  EXPECT_EQ(v[2].last_updated_ms, 1732000002003);
  EXPECT_EQ(v[3].source, StrCat("models:/", kModelId));
  EXPECT_EQ(v[3].storage_location, FileUri(logged_artifacts_));
  EXPECT_EQ(v[3].model_dir, logged_artifacts_.string());
  EXPECT_EQ(v[4].status, "FAILED_REGISTRATION");
  EXPECT_THAT(v[4].model_dir_error, HasSubstr("FAILED_REGISTRATION, not READY"));

  auto resolve = [&](std::string_view uri) { return Resolve(contents, ParseModelReference(uri).value()); };
  EXPECT_THAT(resolve("models:/churn/production"), IsOkAndHolds(Pointee(IsVersion("churn", 3))));
  EXPECT_THAT(resolve("models:/churn@shadow"), IsOkAndHolds(Pointee(IsVersion("churn", 2))));
  EXPECT_THAT(resolve("models:/churn/latest"), IsOkAndHolds(Pointee(IsVersion("churn", 5))));
  EXPECT_THAT(resolve("models:/churn/4"),
              IsOkAndHolds(Pointee(Field(&ModelVersionRecord::model_dir, logged_artifacts_.string()))));
  EXPECT_THAT(resolve("models:/churn/6"), StatusIs(absl::StatusCode::kNotFound, HasSubstr("no version 6")));
  EXPECT_THAT(resolve("models:/empty/Production"), StatusIs(absl::StatusCode::kNotFound, HasSubstr("'empty'")));
}

TEST_F(SqliteRegistryTest, ReadsASchemaWithoutStorageLocation) {
  CreateDb(/*current=*/false);
  ASSERT_OK_AND_ASSIGN(const RegistryContents contents, ReadRegistry(db_.string()));
  ASSERT_EQ(contents.versions.size(), 5u);
  for (const ModelVersionRecord& record : contents.versions) EXPECT_THAT(record.storage_location, IsEmpty());
  EXPECT_EQ(contents.versions[0].model_dir, (project_ / "exported" / "churn-v1").string());
  EXPECT_EQ(contents.versions[1].model_dir, (run_artifacts_ / "model").string());
  EXPECT_EQ(contents.versions[2].model_dir, (project_ / "exported" / "churn-v3").string());
  // Without a logged_models table, a models:/m-<id> source cannot be found.
  EXPECT_THAT(contents.versions[3].model_dir, IsEmpty());
  EXPECT_THAT(contents.versions[3].model_dir_error, HasSubstr("no logged_models table"));
}

TEST_F(SqliteRegistryTest, AcceptsSqlAlchemyUrlForms) {
  CreateDb(/*current=*/true);
  // sqlite:///<relative> is relative to the current directory.
  const fs::path relative = fs::relative(db_, fs::current_path());
  ASSERT_TRUE(relative.is_relative()) << relative;
  EXPECT_THAT(ReadRegistry(StrCat("sqlite:///", relative.string())),
              IsOkAndHolds(Field(&RegistryContents::models, ElementsAre("churn", "empty"))));
  EXPECT_THAT(ReadRegistry(StrCat("sqlite+pysqlite:///", db_.string(), "?timeout=5")),
              IsOkAndHolds(Field(&RegistryContents::models, ElementsAre("churn", "empty"))));
  EXPECT_THAT(ReadRegistry(FileUri(db_)),
              IsOkAndHolds(Field(&RegistryContents::models, ElementsAre("churn", "empty"))));
}

TEST_F(SqliteRegistryTest, ReadsOnlyTheDefaultWorkspace) {
  CreateDb(/*current=*/true);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_.c_str(), &db), SQLITE_OK);
  for (const char* table : {"registered_models", "model_versions", "registered_model_aliases"}) {
    ExecSql(db, StrCat("ALTER TABLE ", table, " ADD COLUMN workspace VARCHAR(63) NOT NULL DEFAULT 'default';"));
  }
  ExecSql(db, StrCat("INSERT INTO registered_models VALUES ('other', 1, 1, NULL, 'team-a');"
                     "INSERT INTO model_versions (name, version, current_stage, source, status, workspace) "
                     "VALUES ('other', 1, 'Production', '",
                     FileUri(project_ / "exported" / "churn-v1"), "', 'READY', 'team-a');"));
  sqlite3_close(db);
  ASSERT_OK_AND_ASSIGN(const RegistryContents contents, ReadRegistry(db_.string()));
  EXPECT_THAT(contents.models, ElementsAre("churn", "empty"));
  EXPECT_EQ(contents.versions.size(), 5u);
}

TEST_F(SqliteRegistryTest, ADatabaseWithoutRegistryTablesIsFailedPrecondition) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_.c_str(), &db), SQLITE_OK);
  ExecSql(db, "CREATE TABLE something_else (x INTEGER);");
  sqlite3_close(db);
  EXPECT_THAT(ReadRegistry(db_.string()), StatusIs(absl::StatusCode::kFailedPrecondition,
                                                   AllOf(HasSubstr("mlflow.db"), HasSubstr("registered_models"))));
}

TEST_F(SqliteRegistryTest, ReadsWhileAWriterHoldsAnOpenTransaction) {
  CreateDb(/*current=*/true);
  sqlite3* writer = nullptr;
  ASSERT_EQ(sqlite3_open(db_.c_str(), &writer), SQLITE_OK);
  ExecSql(writer, "BEGIN; UPDATE model_versions SET current_stage = 'Archived' WHERE version = 3;");
  ASSERT_OK_AND_ASSIGN(const RegistryContents contents, ReadRegistry(db_.string()));
  EXPECT_EQ(contents.versions[2].stage, "Production");  // the uncommitted change is not seen
  ExecSql(writer, "COMMIT;");
  sqlite3_close(writer);
}

// ---------------------------------------------------------------------------
// models:/ references.

TEST(ModelReferenceTest, ParsesEveryMlflowForm) {
  EXPECT_THAT(
      ParseModelReference("models:/churn/Production"),
      IsOkAndHolds(AllOf(Field(&ModelReference::kind, ModelReference::Kind::kStage),
                         Field(&ModelReference::name, "churn"), Field(&ModelReference::stage_or_alias, "Production"))));
  EXPECT_THAT(ParseModelReference("models:/churn/staging"),
              IsOkAndHolds(Field(&ModelReference::stage_or_alias, "Staging")));
  EXPECT_THAT(ParseModelReference("models:/churn/none"), IsOkAndHolds(Field(&ModelReference::stage_or_alias, "None")));
  EXPECT_THAT(ParseModelReference("models:/churn/12"),
              IsOkAndHolds(AllOf(Field(&ModelReference::kind, ModelReference::Kind::kVersion),
                                 Field(&ModelReference::version, 12))));
  EXPECT_THAT(ParseModelReference("models:/churn/LATEST"),
              IsOkAndHolds(AllOf(Field(&ModelReference::kind, ModelReference::Kind::kLatest),
                                 Field(&ModelReference::name, "churn"))));
  EXPECT_THAT(ParseModelReference("models:/my model@champion"),
              IsOkAndHolds(AllOf(Field(&ModelReference::kind, ModelReference::Kind::kAlias),
                                 Field(&ModelReference::name, "my model"),
                                 Field(&ModelReference::stage_or_alias, "champion"))));
  EXPECT_THAT(ParseModelReference("models:/a@b@c"),
              IsOkAndHolds(AllOf(Field(&ModelReference::name, "a@b"), Field(&ModelReference::stage_or_alias, "c"))));
  EXPECT_THAT(ParseModelReference("models:///churn/3"), IsOkAndHolds(Field(&ModelReference::version, 3)));
  EXPECT_THAT(ParseModelReference("/srv/models/churn"),
              IsOkAndHolds(AllOf(Field(&ModelReference::kind, ModelReference::Kind::kPath),
                                 Field(&ModelReference::path, "/srv/models/churn"))));
  EXPECT_THAT(ParseModelReference("saved/churn-v5"), IsOkAndHolds(Field(&ModelReference::path, "saved/churn-v5")));
  EXPECT_THAT(ParseModelReference("file:///srv/my%20models/churn"),
              IsOkAndHolds(AllOf(Field(&ModelReference::kind, ModelReference::Kind::kPath),
                                 Field(&ModelReference::path, "/srv/my models/churn"))));
}

TEST(ModelReferenceTest, RejectsMalformedUris) {
  for (const char* uri : {"", "models:", "models:/", "models:churn/1", "models:/churn/", "models:/ /1",
                          "models:/churn/1/extra", "models:/churn@", "models:/@champion", "models:/churn/Prod",
                          "models:/m-8d1c6a2e4b7f40e9a3c5d2b1f0e9a8c7", "models://profile@databricks/churn/1",
                          "runs:/abc/model", "s3://bucket/model", "models:/churn/99999999999999999999"}) {
    EXPECT_THAT(ParseModelReference(uri), StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_)) << uri;
  }
  EXPECT_THAT(ParseModelReference("models:/churn/Prod"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown stage 'Prod'")));
  EXPECT_THAT(ParseModelReference("models:/m-8d1c6a2e4b7f40e9a3c5d2b1f0e9a8c7"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("logged model")));
}

TEST(ModelReferenceTest, FormatsWhatItParses) {
  for (const char* uri : {"models:/churn/Production", "models:/churn/7", "models:/churn@champion",
                          "models:/churn/latest", "/srv/models/churn"}) {
    ASSERT_OK_AND_ASSIGN(const ModelReference reference, ParseModelReference(uri));
    EXPECT_EQ(FormatModelReference(reference), uri);
  }
  EXPECT_EQ(FormatModelReference(ParseModelReference("models:/churn/archived").value()), "models:/churn/Archived");
}

}  // namespace
}  // namespace predstore
