// Batch scoring (score_batch): a features file scored with a registered
// model and loaded as a prediction snapshot in one step. The same load
// pipeline as a plain load (read, validate, encode, sort, write parts,
// publish) with one more step between validating and encoding: rows are
// gathered into chunks and scored by a pool of workers, one per core, each
// XGBoost call single-threaded; chunks come back in input order, so the
// sort sees rows exactly as a plain load would.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "core/external_sorter.h"
#include "core/record_reader.h"
#include "core/schema.h"
#include "core/served_model.h"

namespace predstore {

struct BatchScoring {
  std::shared_ptr<const ServedModel> model;
  // Names the prediction columns (PredictionColumns).
  std::string output = "prediction";
  // Scoring workers; 0: one per core.
  int workers = 0;
  // Rows per XGBoost call.
  size_t chunk_rows = 4096;
};

// The value columns a model's predictions fill: `output` (double) for one
// output per row, else output_0 .. output_<k-1> (one probability per class).
std::vector<Column> PredictionColumns(const ServedModel& model, std::string_view output);

// The schema a features file is read with: the table's lookup columns, then
// the model's features as double columns. kFailedPrecondition naming a
// feature whose name cannot be a column ([A-Za-z0-9_]) or that is also a
// key column.
absl::StatusOr<Schema> FeatureFileSchema(const Schema& table_schema, const ServedModel& model);

// Where a rejected row goes: called with "file:line:column: reason".
using RejectRow = std::function<absl::Status(std::string_view reason)>;

// Reads every record of `reader` (opened with FeatureFileSchema), scores
// them and calls sink(key, value, origin) for each row in input order, key
// and value encoded for `table_schema` (whose values are PredictionColumns).
// A bad row (missing key or required feature, text that is not a number) is
// kInvalidArgument naming file:line:column, unless `reject` is set: then it
// is passed there and skipped. `rows_done` counts rows handed to the sink.
absl::Status ScoreRecords(RecordReader& reader, uint32_t file, const Schema& table_schema,
                          const BatchScoring& scoring, const RejectRow& reject,
                          absl::FunctionRef<absl::Status(std::string_view, std::string_view, RowOrigin)> sink,
                          uint64_t* rows_done);

}  // namespace predstore
