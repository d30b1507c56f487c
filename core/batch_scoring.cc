#include "core/batch_scoring.h"

#include <cmath>
#include <deque>
#include <future>
#include <thread>

#include "absl/status/status.h"
#include "core/key_codec.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "core/value_codec.h"

namespace predstore {
namespace {

// Rows read, validated and waiting for (or done with) scoring.
struct Chunk {
  std::string keys;          // encoded keys, back to back
  std::vector<size_t> ends;  // end offset of each key in `keys`
  std::vector<uint64_t> lines;
  std::vector<float> features;  // row-major, NaN = absent
  std::vector<float> outputs;
  absl::Status status;
};

bool IsColumnName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return true;
}

}  // namespace

std::vector<Column> PredictionColumns(const ServedModel& model, std::string_view output) {
  const size_t outputs = model.scorer->outputs_per_row();
  if (outputs == 1) return {Column{std::string(output), ColumnType::kDouble}};
  std::vector<Column> columns;
  for (size_t k = 0; k < outputs; ++k) columns.push_back({StrCat(output, "_", k), ColumnType::kDouble});
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
    features.push_back({feature.name, ColumnType::kDouble});
  }
  return Schema::Create(table_schema.key_columns(), std::move(features), table_schema.partition_column(),
                        table_schema.layout());
}

absl::Status ScoreRecords(RecordReader& reader, uint32_t file, const Schema& table_schema,
                          const BatchScoring& scoring, const RejectRow& reject,
                          absl::FunctionRef<absl::Status(std::string_view, std::string_view, RowOrigin)> sink,
                          uint64_t* rows_done) {
  const ServedModel& model = *scoring.model;
  const size_t width = model.features.size();
  const size_t lookup_count = table_schema.lookup_columns().size();
  const int workers = scoring.workers > 0 ? scoring.workers : std::max(1u, std::thread::hardware_concurrency());
  const KeyCodec key_codec(table_schema);
  const ValueCodec value_codec(table_schema);
  const std::vector<Column>& lookup_columns = table_schema.lookup_columns();

  // Chunks in input order: at most `workers` scoring at once.
  std::deque<std::future<std::unique_ptr<Chunk>>> in_flight;
  std::string value;
  std::vector<Cell> prediction(model.scorer->outputs_per_row());
  auto drain_front = [&]() -> absl::Status {
    std::unique_ptr<Chunk> chunk = in_flight.front().get();
    in_flight.pop_front();
    PREDSTORE_RETURN_IF_ERROR(chunk->status);
    const size_t per_row = prediction.size();
    for (size_t row = 0, begin = 0; row < chunk->ends.size(); begin = chunk->ends[row], ++row) {
      for (size_t k = 0; k < per_row; ++k) prediction[k] = static_cast<double>(chunk->outputs[row * per_row + k]);
      value.clear();
      value_codec.Encode(prediction, &value);
      PREDSTORE_RETURN_IF_ERROR(sink(std::string_view(chunk->keys).substr(begin, chunk->ends[row] - begin), value,
                                     RowOrigin{file, chunk->lines[row]}));
      ++*rows_done;
    }
    return absl::OkStatus();
  };
  auto submit = [&](std::unique_ptr<Chunk> chunk) -> absl::Status {
    if (in_flight.size() >= static_cast<size_t>(workers)) PREDSTORE_RETURN_IF_ERROR(drain_front());
    in_flight.push_back(std::async(std::launch::async, [&model, chunk = std::move(chunk)]() mutable {
      chunk->status = model.scorer->Predict(chunk->features, &chunk->outputs);
      return std::move(chunk);
    }));
    return absl::OkStatus();
  };

  auto chunk = std::make_unique<Chunk>();
  std::vector<Cell> key_cells(lookup_count);
  std::vector<float> row(width);
  for (;;) {
    PREDSTORE_ASSIGN_OR_RETURN(bool has_record, reader.Next());
    if (!has_record) break;
    const auto fields = reader.fields();
    absl::Status bad;
    for (size_t i = 0; i < fields.size() && bad.ok(); ++i) {
      const FieldText& field = fields[i];
      const bool is_key = i < lookup_count;
      const std::string_view name = is_key ? std::string_view(lookup_columns[i].name)
                                           : std::string_view(model.features[i - lookup_count].name);
      auto error = [&](std::string_view reason) {
        return absl::InvalidArgumentError(
            StrCat(reader.path(), ":", field.line, ":", field.column, ": column \"", name, "\": ", reason));
      };
      if (!field.present) {
        if (is_key) {
          bad = error("missing key field");
        } else if (model.features[i - lookup_count].required) {
          bad = error("missing required feature");
        } else {
          row[i - lookup_count] = NAN;
        }
        continue;
      }
      if (is_key) {
        absl::StatusOr<Cell> cell = ParseCell(lookup_columns[i].type, field.text);
        if (!cell.ok()) {
          bad = error(FromAbsl(cell.status().message()));
        } else {
          key_cells[i] = *std::move(cell);
        }
        continue;
      }
      absl::StatusOr<Cell> number = ParseCell(ColumnType::kDouble, field.text);
      if (!number.ok()) {
        bad = error(FromAbsl(number.status().message()));
      } else {
        row[i - lookup_count] = static_cast<float>(std::get<double>(*number));
      }
    }
    if (!bad.ok()) {
      if (!reject) return bad;
      PREDSTORE_RETURN_IF_ERROR(reject(FromAbsl(bad.message())));
      continue;
    }
    key_codec.Encode(key_cells, &chunk->keys);
    chunk->ends.push_back(chunk->keys.size());
    chunk->lines.push_back(reader.line());
    chunk->features.insert(chunk->features.end(), row.begin(), row.end());
    if (chunk->ends.size() == scoring.chunk_rows) {
      PREDSTORE_RETURN_IF_ERROR(submit(std::move(chunk)));
      chunk = std::make_unique<Chunk>();
    }
  }
  if (!chunk->ends.empty()) PREDSTORE_RETURN_IF_ERROR(submit(std::move(chunk)));
  while (!in_flight.empty()) PREDSTORE_RETURN_IF_ERROR(drain_front());
  return absl::OkStatus();
}

}  // namespace predstore
