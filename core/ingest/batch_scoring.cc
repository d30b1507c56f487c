#include "core/ingest/batch_scoring.h"

#include <cmath>

#include "absl/status/status.h"
#include "core/base/status_macros.h"
#include "core/base/strings.h"
#include "core/ingest/row_encoder.h"
#include "core/table/key_codec.h"
#include "core/table/value_codec.h"

namespace predstore {
namespace {

bool IsColumnName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return true;
}

// How a feature's text is read: as a double that may be missing.
const Column kFeatureColumn{"feature", ColumnType::kDouble, /*nullable=*/true};

}  // namespace

std::vector<Column> PredictionColumns(const BatchScoring& scoring) {
  const size_t outputs = scoring.model->scorer->outputs_per_row(scoring.output_kind);
  if (outputs == 1) return {Column{scoring.output, ColumnType::kDouble}};
  std::vector<Column> columns;
  for (size_t k = 0; k < outputs; ++k) columns.push_back({StrCat(scoring.output, "_", k), ColumnType::kDouble});
  return columns;
}

absl::StatusOr<Schema> FeatureFileSchema(const Schema& table_schema, const ServedModel& model) {
  std::vector<Column> features;
  for (const SignatureColumn& feature : model.features) {
    if (!IsColumnName(feature.name)) {
      return absl::FailedPreconditionError(StrCat("model feature '", feature.name,
                                                  "' cannot be read from a file column (names are [A-Za-z0-9_])"));
    }
    for (const Column& key : table_schema.lookup_columns()) {
      if (key.name == feature.name) {
        return absl::FailedPreconditionError(
            StrCat("model feature '", feature.name, "' is also a key column; rename one of them"));
      }
    }
    // An optional feature may be left out of the file (a CSV header without
    // it); a required one may not.
    features.push_back({feature.name, ColumnType::kDouble, /*nullable=*/!feature.required});
  }
  return Schema::Create(table_schema.key_columns(), std::move(features), table_schema.partition_column(),
                        table_schema.layout());
}

void ScoreRecordBatch(const Schema& table_schema, const BatchScoring& scoring, RecordBatch& batch) {
  const ServedModel& model = *scoring.model;
  const size_t width = model.features.size();
  const std::vector<Column>& lookup_columns = table_schema.lookup_columns();
  const size_t lookup_count = lookup_columns.size();
  const KeyCodec key_codec(table_schema);
  const ValueCodec value_codec(table_schema);

  // Validate every row: good rows' keys and features, bad rows' errors.
  std::string keys;
  std::vector<size_t> key_ends;
  std::vector<float> features;
  features.reserve(batch.rows() * width);
  std::vector<std::string> errors(batch.rows());
  std::vector<Cell> key_cells(lookup_count);
  std::vector<FieldText> fields;
  ScoringRow scoring_row(model);
  for (size_t r = 0; r < batch.rows(); ++r) {
    batch.Fields(r, &fields);
    scoring_row.Reset();
    for (size_t i = 0; i < fields.size() && errors[r].empty(); ++i) {
      const FieldText& field = fields[i];
      const bool is_key = i < lookup_count;
      const std::string_view name = is_key ? std::string_view(lookup_columns[i].name)
                                           : std::string_view(model.features[i - lookup_count].name);
      auto error = [&](std::string_view reason) {
        errors[r] = StrCat(FieldPosition(batch.path(), field), ": column \"", name, "\": ", reason);
      };
      if (is_key) {
        absl::StatusOr<Cell> cell = FieldCell(field, lookup_columns[i], /*is_key=*/true);
        if (!cell.ok()) {
          error(FromAbsl(cell.status().message()));
        } else {
          key_cells[i] = *std::move(cell);
        }
        continue;
      }
      // An empty cell (quoted or not), a JSON null or an absent JSON field,
      // and NaN (as Spark writes a NaN double) are missing values: the
      // features are read as nullable doubles.
      const int feature = static_cast<int>(i - lookup_count);
      if (field.column_absent) continue;  // an optional feature the file lacks: absent, so NaN
      absl::Status set;
      if (absl::StatusOr<Cell> cell = FieldCell(field, kFeatureColumn, /*is_key=*/false); !cell.ok()) {
        set = cell.status();
      } else if (std::holds_alternative<Null>(*cell)) {
        set = scoring_row.Set(feature, std::nullopt);
      } else {
        set = scoring_row.Set(feature, ViewOf(*cell));
      }
      if (!set.ok()) error(FromAbsl(set.message()));
    }
    if (errors[r].empty()) {
      if (absl::Status complete = scoring_row.Check(); !complete.ok()) {
        errors[r] = StrCat(fields.empty() ? batch.path() : FieldPosition(batch.path(), fields[0]), ": ",
                           FromAbsl(complete.message()));
      }
    }
    if (!errors[r].empty()) continue;
    features.insert(features.end(), scoring_row.values().begin(), scoring_row.values().end());
    key_codec.Encode(key_cells, &keys);
    key_ends.push_back(keys.size());
  }

  std::vector<float> outputs;
  if (!key_ends.empty()) {
    if (absl::Status scored = model.scorer->Predict(features, &outputs, scoring.output_kind); !scored.ok()) {
      batch.Fail(std::move(scored));
      return;
    }
  }
  // Output in row order.
  std::vector<Cell> prediction(model.scorer->outputs_per_row(scoring.output_kind));
  std::string value;
  for (size_t r = 0, good = 0; r < batch.rows(); ++r) {
    if (!errors[r].empty()) {
      batch.AddError(std::move(errors[r]));
      continue;
    }
    for (size_t k = 0; k < prediction.size(); ++k) {
      prediction[k] = static_cast<double>(outputs[good * prediction.size() + k]);
    }
    value.clear();
    value_codec.Encode(prediction, &value);
    const size_t begin = good == 0 ? 0 : key_ends[good - 1];
    batch.AddRow(std::string_view(keys).substr(begin, key_ends[good] - begin), value);
    ++good;
  }
}

}  // namespace predstore
