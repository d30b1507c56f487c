// Batch scoring (score_batch): a features file scored with a registered
// model and loaded as a prediction snapshot in one step. The same load
// pipeline as a plain load (read, validate, encode, sort, write parts,
// publish) with one more step between validating and encoding: each batch
// of records is validated, scored (one single-threaded XGBoost call) and
// encoded by the load's workers, one per core; batches come back in input
// order, so the sort sees rows exactly as a plain load would.
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
#include "core/ingest/record_batches.h"
#include "core/ingest/record_reader.h"
#include "core/model/served_model.h"
#include "core/snapshot/external_sorter.h"
#include "core/table/schema.h"

namespace predstore {

struct BatchScoring {
  std::shared_ptr<const ServedModel> model;
  // Names the prediction columns (PredictionColumns).
  std::string output = "prediction";
  // What the columns hold. REQUIRES: model->scorer->CheckOutput(output_kind).ok().
  OutputKind output_kind = OutputKind::kProbability;
};

// The value columns the predictions fill: `output` (double) for one output
// per row, else output_0 .. output_<k-1> (one probability or margin per
// class).
std::vector<Column> PredictionColumns(const BatchScoring& scoring);

// The schema a features file is read with: the table's lookup columns, then
// the model's features as double columns, nullable (so that a CSV header
// may lack them) for the signature's optional features. kFailedPrecondition naming a
// feature whose name cannot be a column ([A-Za-z0-9_]) or that is also a
// key column.
absl::StatusOr<Schema> FeatureFileSchema(const Schema& table_schema, const ServedModel& model);

// Scores one batch of records read with FeatureFileSchema (see
// record_batches.h): each good row gets its key and its value encoded for
// `table_schema` (whose values are PredictionColumns); a bad row (missing
// key, text that is not a number, a missing value in an integer feature)
// gets its error, "file:line:column: column "name": reason". A feature's
// empty CSV cell (quoted or not), JSON null or absent JSON field, or the
// text NaN in any case, is a missing value (ScoringRow's rule): the row is
// scored with it. An optional feature the CSV header lacks is absent (NaN
// even for an integer feature, as MLflow fills an absent optional column).
// One XGBoost
// call for the batch's good rows. Thread-safe: batches are scored on
// several threads.
void ScoreRecordBatch(const Schema& table_schema, const BatchScoring& scoring, RecordBatch& batch);

}  // namespace predstore
