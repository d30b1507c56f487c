// libFuzzer target: any bytes as the rows of an MLflow SQLite registry. The
// input picks the tables' shape (workspaces, storage_location, aliases) and
// fills the rows ReadRegistry reads: registered_models, model_versions,
// registered_model_aliases, and the runs and logged_models that resolve
// runs:/ and models:/m-<id> sources; each value is text, an integer, a real
// or NULL, whatever its column's declared type (SQLite stores any). Reading
// must end in contents or an error, never a crash (AddressSanitizer, UBSan);
// beyond that, versions come sorted by (name, version) without deleted
// ones, every version's aliases are sorted, and model names are sorted and
// unique. Run by tests/fuzz/run_fuzz.sh.
#include <fuzzer/FuzzedDataProvider.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <tuple>

#include "core/model/model_registry.h"

namespace {

namespace fs = std::filesystem;

// Binds parameter `i` to a value of the kind the input picks.
void BindAny(FuzzedDataProvider& input, sqlite3_stmt* statement, int i) {
  switch (input.ConsumeIntegralInRange<int>(0, 4)) {
    case 0:
      sqlite3_bind_null(statement, i);
      break;
    case 1:
      sqlite3_bind_int64(statement, i, input.ConsumeIntegral<int64_t>());
      break;
    case 2:
      sqlite3_bind_double(statement, i, input.ConsumeFloatingPoint<double>());
      break;
    case 3: {
      // A word registries hold, so that the reader's paths get exercised.
      static const char* const kWords[] = {"None",    "Staging",        "Production", "Archived",
                                           "Deleted_Internal", "READY", "FAILED_REGISTRATION",
                                           "runs:/r1/model", "models:/m-1", "file:///tmp/m", "/tmp/m",
                                           "champion", "m",  "r1",           "m-1",        ""};
      const char* word = kWords[input.ConsumeIntegralInRange<size_t>(0, std::size(kWords) - 1)];
      sqlite3_bind_text(statement, i, word, -1, SQLITE_TRANSIENT);
      break;
    }
    default: {
      const std::string text = input.ConsumeRandomLengthString(64);
      sqlite3_bind_text(statement, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    }
  }
}

// Inserts up to `max_rows` rows of `columns` values into `table`.
void Fill(FuzzedDataProvider& input, sqlite3* db, const std::string& table, int columns, int max_rows) {
  std::string sql = "INSERT INTO " + table + " VALUES (";
  for (int c = 0; c < columns; ++c) sql += c == 0 ? "?" : ", ?";
  sql += ")";
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr) != SQLITE_OK) std::abort();
  const int rows = input.ConsumeIntegralInRange<int>(0, max_rows);
  for (int r = 0; r < rows && input.remaining_bytes() > 0; ++r) {
    for (int c = 1; c <= columns; ++c) BindAny(input, statement, c);
    sqlite3_step(statement);
    sqlite3_reset(statement);
  }
  sqlite3_finalize(statement);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // In memory where there is a tmpfs: a database file is written per input.
  static const fs::path dir = [] {
    std::string pattern = fs::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
    pattern += "/predstore-registry-sqlite-fuzz.XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) std::abort();
    static fs::path made = pattern;
    std::atexit([] {
      std::error_code ignored;
      fs::remove_all(made, ignored);
    });
    return made;
  }();
  const fs::path file = dir / "mlflow.db";
  fs::remove(file);
  FuzzedDataProvider input(data, size);
  const bool workspaces = input.ConsumeBool();
  const bool storage_location = input.ConsumeBool();
  const bool aliases = input.ConsumeBool();
  const std::string workspace = workspaces ? ", workspace TEXT" : "";

  sqlite3* db = nullptr;
  if (sqlite3_open(file.c_str(), &db) != SQLITE_OK) std::abort();
  const std::string schema =
      "CREATE TABLE registered_models (name TEXT" + workspace + ");"
      "CREATE TABLE model_versions (name TEXT, version INTEGER, current_stage TEXT, source TEXT" +
      (storage_location ? std::string(", storage_location TEXT") : std::string()) +
      ", status TEXT, last_updated_time INTEGER" + workspace + ");" +
      (aliases ? "CREATE TABLE registered_model_aliases (name TEXT, alias TEXT, version INTEGER" + workspace + ");"
               : std::string()) +
      "CREATE TABLE runs (run_uuid TEXT, artifact_uri TEXT);"
      "CREATE TABLE logged_models (model_id TEXT, artifact_location TEXT);";
  if (sqlite3_exec(db, schema.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) std::abort();
  const int extra = workspaces ? 1 : 0;
  Fill(input, db, "registered_models", 1 + extra, 3);
  Fill(input, db, "model_versions", (storage_location ? 7 : 6) + extra, 5);
  if (aliases) Fill(input, db, "registered_model_aliases", 3 + extra, 3);
  Fill(input, db, "runs", 2, 2);
  Fill(input, db, "logged_models", 2, 2);
  sqlite3_close(db);

  absl::StatusOr<predstore::RegistryContents> contents = predstore::ReadRegistry("sqlite:///" + file.string());
  if (!contents.ok()) return 0;
  for (size_t i = 0; i < contents->versions.size(); ++i) {
    const predstore::ModelVersionRecord& version = contents->versions[i];
    if (version.stage == "Deleted_Internal") std::abort();
    if (!std::is_sorted(version.aliases.begin(), version.aliases.end())) std::abort();
    if (i > 0) {
      const predstore::ModelVersionRecord& before = contents->versions[i - 1];
      if (std::tie(version.name, version.version) < std::tie(before.name, before.version)) std::abort();
    }
  }
  if (!std::is_sorted(contents->models.begin(), contents->models.end()) ||
      std::adjacent_find(contents->models.begin(), contents->models.end()) != contents->models.end()) {
    std::abort();
  }
  return 0;
}
