// MLflow's SQLite backend store, for tests that build a registry database
// the way MLflow's SqlAlchemyStore creates it: the table definitions of its
// schema dump (tests/db/schemas/sqlite.sql, from before storage_location
// existed) and the migrations that add model_versions.storage_location and,
// in MLflow 3, logged_models. Rows are the test's to insert.
#pragma once

#include <string>

struct sqlite3;

namespace predstore::test_support {

// CREATE TABLE statements: alembic_version, experiments, registered_models,
// model_versions (without storage_location), runs, registered_model_aliases.
extern const char kMlflowSchema[];
// Applied after kMlflowSchema: model_versions.storage_location, logged_models.
extern const char kMlflow3Migrations[];

// Runs `sql` (one or more statements) on `db`; a failure is a test failure
// carrying SQLite's message and the statement. `db` is not owned.
void ExecSql(sqlite3* db, const std::string& sql);

}  // namespace predstore::test_support
