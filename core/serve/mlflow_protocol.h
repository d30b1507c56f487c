// MLflow's scoring protocol (mlflow/pyfunc/scoring_server, MLflow 2.x): the
// bodies POST /invocations takes and the answer it gives, so that clients
// written for `mlflow models serve` or Databricks model serving work
// unchanged: parsing the bodies and writing the answers, with no I/O
// (mlflow_invocation.h scores a body through LookupService::Predict).
//
// Request bodies:
//   application/json, an object with exactly one of
//     "dataframe_split":   {"columns": [...], "data": [[...], ...], "index": [...]}
//     "dataframe_records": [{"column": value, ...}, ...]
//     "instances":         [row, ...]
//     "inputs":            [row, ...], or {"column": [values...], ...}, or
//                          {"column": value, ...} (one row)
//   where a row is an object (values by column name), a list (values by
//   the model's input order) or a single value (a one-input model). An
//   optional "params" object is applied as PyfuncOutput says.
//   text/csv: a header row, then one row per line, as pandas.read_csv reads
//   it (quoted fields, blank lines skipped, short rows padded with NaN).
// Values: numbers; true and false as 1 and 0; null, a record's absent
// column, and in CSV an empty field or one of pandas's NA texts ("NaN",
// "NA", "null", ...) are missing values. Text reaches scoring and is refused
// there, as MLflow's schema enforcement refuses it. Columns the model does
// not know are ignored, as MLflow drops extra columns.
//
// Answer: {"predictions": [...]} exactly as json.dump writes the NumPy
// array pyfunc's predict returns: labels as integers, other outputs as
// Python prints the float32 widened to double, one list per row when a
// model gives several outputs per row.
//
// Thread-safe: every function may run concurrently.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/model/served_model.h"
#include "core/serve/lookup_service.h"

namespace predstore {

// A parsed request body. Move-only: `rows` views into `text`.
struct MlflowInput {
  FeatureRows rows;
  FeatureBinding binding = FeatureBinding::kByNameIgnoringUnknown;
  InferenceParams params;
  std::unique_ptr<std::deque<std::string>> text = std::make_unique<std::deque<std::string>>();
};

// kInvalidArgument naming the field (e.g. "dataframe_split.data[3]") for a
// body that is not one of the shapes above.
absl::StatusOr<MlflowInput> ParseMlflowJson(std::string_view body);
// kInvalidArgument naming the line for malformed CSV (an unterminated quote,
// more fields than the header).
absl::StatusOr<MlflowInput> ParseMlflowCsv(std::string_view body);

// {"predictions": [...]} for `answer` (see the file comment).
std::string MlflowPredictionsJson(const PredictAnswer& answer);

// {"error_code": "BAD_REQUEST", "message": "..."}, as MLflow's
// MlflowException.serialize_as_json writes it, with the error code MLflow
// uses for the status's kind.
std::string MlflowErrorJson(const absl::Status& status);

// Appends `value` as Python's repr(float) writes it (what json.dump prints):
// the shortest text that reads back as `value`, positional from 1e-4 up to
// 1e16 with ".0" on whole numbers, else "1e-05" / "1.5e+16"; NaN,
// Infinity, -Infinity.
void AppendPythonFloat(std::string* out, double value);

}  // namespace predstore
