#include "server/wire.h"

#include <algorithm>
#include <cmath>

#include "core/base/status_macros.h"
#include "core/base/strings.h"

namespace predstore {
namespace {

constexpr size_t kMaxStatusMessage = 1024;

// CellFromWire for a key or partition column, its length checked.
absl::StatusOr<Cell> KeyCellFromWire(const v1::Value& value, const Column& column) {
  if (value.has_string_value()) {
    if (absl::Status length = CheckKeyLength(value.string_value()); !length.ok()) {
      return absl::InvalidArgumentError(StrCat("column \"", column.name, "\": ", FromAbsl(length.message())));
    }
  }
  return CellFromWire(value, column);
}

void ColumnToWire(const Column& column, v1::Column* out) {
  out->set_name(column.name);
  out->set_type(ColumnTypeToWire(column.type));
  out->set_nullable(column.nullable);
}

void TimeToWire(int64_t micros, google::protobuf::Timestamp* out) {
  int64_t seconds = micros / 1000000;
  int64_t rest = micros % 1000000;
  if (rest < 0) {
    rest += 1000000;
    --seconds;
  }
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(rest * 1000));
}

absl::Status UnknownColumn(std::string_view name, const Schema& schema) {
  std::string expected;
  for (const Column& c : schema.lookup_columns()) StrAppend(&expected, expected.empty() ? "" : ", ", c.name);
  return absl::InvalidArgumentError(StrCat("unknown key column \"", name, "\" (the key columns are ", expected, ")"));
}

}  // namespace

grpc::ServerUnaryReactor* FinishUnary(grpc::CallbackServerContext* context, const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  std::string message(status.message());
  if (message.size() > kMaxStatusMessage) message.resize(kMaxStatusMessage);
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), message);
}

absl::StatusOr<std::vector<Cell>> LookupCellsFromWire(const google::protobuf::RepeatedPtrField<v1::KeyField>& key,
                                                      const Schema& schema) {
  const auto& columns = schema.lookup_columns();
  std::vector<Cell> cells(columns.size());
  std::vector<bool> seen(columns.size(), false);
  for (const v1::KeyField& field : key) {
    size_t i = 0;
    while (i < columns.size() && columns[i].name != field.column()) ++i;
    if (i == columns.size()) return UnknownColumn(field.column(), schema);
    if (seen[i]) return absl::InvalidArgumentError(StrCat("key column \"", field.column(), "\" given twice"));
    seen[i] = true;
    auto cell = KeyCellFromWire(field.value(), columns[i]);
    if (!cell.ok()) return cell.status();
    cells[i] = std::move(*cell);
  }
  for (size_t i = 0; i < columns.size(); ++i) {
    if (!seen[i]) return absl::InvalidArgumentError(StrCat("missing key column \"", columns[i].name, "\""));
  }
  return cells;
}

absl::StatusOr<std::vector<int>> KeyColumnPositions(const google::protobuf::RepeatedPtrField<std::string>& key_columns,
                                                    const Schema& schema) {
  const auto& columns = schema.lookup_columns();
  std::vector<int> positions(columns.size(), -1);
  for (int p = 0; p < key_columns.size(); ++p) {
    size_t i = 0;
    while (i < columns.size() && columns[i].name != key_columns[p]) ++i;
    if (i == columns.size()) return UnknownColumn(key_columns[p], schema);
    if (positions[i] >= 0) return absl::InvalidArgumentError(StrCat("key column \"", key_columns[p], "\" given twice"));
    positions[i] = p;
  }
  for (size_t i = 0; i < columns.size(); ++i) {
    if (positions[i] < 0) {
      return absl::InvalidArgumentError(StrCat("key_columns lacks key column \"", columns[i].name, "\""));
    }
  }
  return positions;
}

absl::StatusOr<ScanQuery> ScanQueryFromWire(const v1::ScanRequest& request, const Schema& schema) {
  const auto& columns = schema.lookup_columns();
  ScanQuery query;
  query.ranges.resize(columns.size());
  std::vector<bool> seen(columns.size(), false);
  for (int w = 0; w < request.where_size(); ++w) {
    const v1::ColumnRange& range = request.where(w);
    size_t i = 0;
    while (i < columns.size() && columns[i].name != range.column()) ++i;
    if (i == columns.size()) {
      absl::Status unknown = UnknownColumn(range.column(), schema);
      if (!schema.partition_column() && range.column() == "partition") {
        unknown = absl::InvalidArgumentError("the table has no partition column");
      }
      return absl::InvalidArgumentError(StrCat("where[", w, "]: ", unknown.message()));
    }
    if (seen[i]) return absl::InvalidArgumentError(StrCat("where[", w, "]: column \"", range.column(), "\" has two ranges"));
    seen[i] = true;
    for (const auto& [value, bound] : {std::pair{&range.low(), &query.ranges[i].low},
                                       std::pair{&range.high(), &query.ranges[i].high}}) {
      if (value->kind_case() == v1::Value::KIND_NOT_SET) continue;
      auto cell = KeyCellFromWire(*value, columns[i]);
      if (!cell.ok()) return absl::InvalidArgumentError(StrCat("where[", w, "]: ", cell.status().message()));
      *bound = std::move(*cell);
    }
  }
  query.limit = request.limit();
  query.resume_after = request.page_token();
  return query;
}

void TableInfoToWire(const TableSnapshot& snapshot, v1::TableInfo* out) {
  out->set_name(snapshot.table());
  const Schema& schema = snapshot.schema();
  v1::TableSchema* wire_schema = out->mutable_schema();
  for (const Column& c : schema.key_columns()) ColumnToWire(c, wire_schema->add_key_columns());
  for (const Column& c : schema.value_columns()) ColumnToWire(c, wire_schema->add_value_columns());
  if (schema.partition_column()) ColumnToWire(*schema.partition_column(), wire_schema->mutable_partition_column());
  switch (schema.layout()) {
    case KeyLayout::kZOrder: wire_schema->set_layout(v1::KEY_LAYOUT_ZORDER); break;
    case KeyLayout::kHilbert: wire_schema->set_layout(v1::KEY_LAYOUT_HILBERT); break;
    case KeyLayout::kLinear: wire_schema->set_layout(v1::KEY_LAYOUT_LINEAR); break;
  }
  switch (schema.normalization()) {
    case KeyNormalization::kNone: wire_schema->set_normalization(v1::KEY_NORMALIZATION_NONE); break;
    case KeyNormalization::kMinMax: wire_schema->set_normalization(v1::KEY_NORMALIZATION_MINMAX); break;
    case KeyNormalization::kQuantile: wire_schema->set_normalization(v1::KEY_NORMALIZATION_QUANTILE); break;
  }
  out->set_active_version(snapshot.version());
  out->set_row_count(snapshot.info().row_count);
  TimeToWire(snapshot.info().created_at_micros, out->mutable_loaded_at());
  if (const std::optional<ShardSpec>& shard = snapshot.shard()) {
    out->mutable_shards()->set_count(shard->count);
    out->mutable_shards()->set_hash(std::string(kShardHashName));
    out->mutable_shards()->set_served_shard(shard->index);
  }
  if (schema.partition_column()) {
    for (const PartInfo& part : snapshot.info().parts) {
      if (snapshot.shard() && part.shard != snapshot.shard()->index) continue;
      v1::PartitionInfo* partition = out->add_partitions();
      partition->set_value(part.partition.value_or(""));
      partition->set_row_count(part.rows);
      partition->set_version(part.version);
    }
  }
  for (const SnapshotVersion& v : snapshot.manifest().versions) {
    v1::SnapshotInfo* info = out->add_versions();
    info->set_version(v.version);
    info->set_row_count(v.row_count);
    TimeToWire(v.created_at_micros, info->mutable_created_at());
  }
}

void ServedModelsToWire(const ModelCatalog& catalog, google::protobuf::RepeatedPtrField<v1::ServedModelInfo>* out) {
  for (const ServedVersionInfo& info : catalog.Served()) {
    v1::ServedModelInfo* served = out->Add();
    served->set_name(info.name);
    served->set_version(info.version);
    for (const std::string& name : info.serves) served->add_serves(name);
    served->set_model_dir(info.model_dir);
    absl::StatusOr<std::shared_ptr<const ServedModel>> model =
        catalog.Resolve(ModelReference{info.name, ModelReference::Kind::kVersion, "", info.version, ""});
    if (!model.ok()) continue;  // unloaded since Served() was taken
    for (const SignatureColumn& feature : (*model)->features) served->add_features(feature.name);
    served->set_objective((*model)->scorer->objective());
  }
}

void SourceStatusToWire(const std::string& source, const SourceState& state, int64_t now_micros,
                        v1::SourceStatus* out) {
  out->set_source(source);
  out->set_sequence(state.sequence);
  out->set_position(state.position);
  out->set_max_event_time_micros(state.max_event_time_micros);
  out->set_watermark_micros(state.watermark_micros);
  out->set_applied(state.applied);
  out->set_duplicates(state.duplicates);
  out->set_late(state.late);
  out->set_superseded(state.superseded);
  if (state.sequence > 0) {
    // No event applied yet (only duplicates, late ones or empty batches): no event time to lag behind.
    if (state.max_event_time_micros != INT64_MIN) {
      out->set_event_time_lag_micros(now_micros - state.max_event_time_micros);
    }
    out->set_wall_lag_micros(now_micros - state.last_commit_wall_micros);
  }
}

absl::StatusOr<std::vector<IngestEvent>> IngestEventsFromWire(const v1::IngestRequest& request,
                                                             const TableSnapshot& table) {
  const Schema& schema = table.schema();
  const std::vector<Column>& value_columns = schema.value_columns();
  std::vector<IngestEvent> events(request.events_size());
  for (int i = 0; i < request.events_size(); ++i) {
    const v1::StreamEvent& wire = request.events(i);
    auto bad = [i](std::string_view reason) {
      return absl::InvalidArgumentError(StrCat("events[", i, "]: ", reason));
    };
    absl::StatusOr<std::vector<Cell>> key = LookupCellsFromWire(wire.key(), schema);
    if (!key.ok()) return bad(FromAbsl(key.status().message()));
    IngestEvent& event = events[i];
    event.key = *std::move(key);
    event.event_time_micros = wire.event_time_micros();
    event.text = StrCat("events[", i, "] of batch ", request.sequence(), ": ", wire.ShortDebugString());
    if (wire.values_size() == 0) {
      if (wire.features_size() == 0) return bad("an event needs values (the prediction) or features (to score)");
      for (const v1::KeyField& field : wire.features()) {
        event.features.push_back({field.column(), FeatureViewFromWire(field.value())});
      }
      continue;
    }
    if (wire.features_size() > 0) return bad("an event carries values or features, not both");
    event.values.resize(value_columns.size());
    std::vector<bool> seen(value_columns.size(), false);
    for (const v1::KeyField& field : wire.values()) {
      size_t c = 0;
      while (c < value_columns.size() && value_columns[c].name != field.column()) ++c;
      if (c == value_columns.size()) return bad(StrCat("unknown value column \"", field.column(), "\""));
      if (seen[c]) return bad(StrCat("value column \"", field.column(), "\" given twice"));
      seen[c] = true;
      absl::StatusOr<Cell> cell = CellFromWire(field.value(), value_columns[c]);
      if (!cell.ok()) return bad(FromAbsl(cell.status().message()));
      event.values[c] = *std::move(cell);
    }
    for (size_t c = 0; c < value_columns.size(); ++c) {
      if (!seen[c]) return bad(StrCat("value column \"", value_columns[c].name, "\" missing"));
    }
  }
  return events;
}

absl::StatusOr<FeatureRows> FeatureRowsFromWire(const google::protobuf::RepeatedPtrField<std::string>& feature_names,
                                                const google::protobuf::RepeatedPtrField<v1::FeatureRow>& rows,
                                                std::string_view field) {
  FeatureRows features;
  features.names.assign(feature_names.begin(), feature_names.end());
  features.rows = static_cast<size_t>(rows.size());
  features.values.reserve(features.rows * features.names.size());
  for (int r = 0; r < rows.size(); ++r) {
    const v1::FeatureRow& row = rows[r];
    if (row.values_size() != feature_names.size()) {
      return absl::InvalidArgumentError(StrCat(field, "[", r, "]: has ", row.values_size(), " values for ",
                                               feature_names.size(), " feature_names"));
    }
    for (const v1::Value& value : row.values()) features.values.push_back(FeatureViewFromWire(value));
  }
  return features;
}

absl::StatusOr<LookupQuery> LookupQueryFromWire(const v1::LookupRequest& request,
                                                std::shared_ptr<const TableSnapshot> table) {
  LookupQuery query;
  PREDSTORE_ASSIGN_OR_RETURN(query.key, LookupCellsFromWire(request.key(), table->schema()));
  query.table = std::move(table);
  if (request.has_as_of_micros()) query.as_of_micros = request.as_of_micros();
  query.no_fallback = request.no_fallback();
  if (request.features_size() > 0) {
    query.features.rows = 1;
    for (const v1::KeyField& field : request.features()) {
      query.features.names.push_back(field.column());
      query.features.values.push_back(FeatureViewFromWire(field.value()));
    }
  }
  return query;
}

absl::StatusOr<std::vector<Cell>> BatchKeysFromWire(const v1::BatchLookupRequest& request, const Schema& schema) {
  const auto& columns = schema.lookup_columns();
  PREDSTORE_ASSIGN_OR_RETURN(std::vector<int> positions, KeyColumnPositions(request.key_columns(), schema));
  std::vector<Cell> keys;
  keys.reserve(static_cast<size_t>(request.keys_size()) * columns.size());
  for (int k = 0; k < request.keys_size(); ++k) {
    const v1::KeyRow& row = request.keys(k);
    if (row.values_size() != request.key_columns_size()) {
      return absl::InvalidArgumentError(
          StrCat("keys[", k, "]: has ", row.values_size(), " values for ", request.key_columns_size(), " key_columns"));
    }
    for (size_t i = 0; i < columns.size(); ++i) {
      absl::StatusOr<Cell> cell = KeyCellFromWire(row.values(positions[i]), columns[i]);
      if (!cell.ok()) return absl::InvalidArgumentError(StrCat("keys[", k, "]: ", cell.status().message()));
      keys.push_back(*std::move(cell));
    }
  }
  return keys;
}

absl::StatusOr<BatchLookupQuery> BatchLookupQueryFromWire(const v1::BatchLookupRequest& request,
                                                          std::shared_ptr<const TableSnapshot> table) {
  BatchLookupQuery query;
  PREDSTORE_ASSIGN_OR_RETURN(query.keys, BatchKeysFromWire(request, table->schema()));
  PREDSTORE_ASSIGN_OR_RETURN(query.features, FeatureRowsFromWire(request.feature_names(), request.features(), "features"));
  query.table = std::move(table);
  if (request.has_as_of_micros()) query.as_of_micros = request.as_of_micros();
  query.no_fallback = request.no_fallback();
  return query;
}

namespace {

// The number of values a columnar key column holds for its type.
int ColumnarLength(const v1::KeyColumnValues& values, ColumnType type) {
  switch (type) {
    case ColumnType::kUint64: return values.uint64_values_size();
    case ColumnType::kString: return values.string_values_size();
    default: return values.int64_values_size();  // int64, date, timestamp
  }
}

Cell ColumnarCell(const v1::KeyColumnValues& values, ColumnType type, int k) {
  switch (type) {
    case ColumnType::kUint64: return values.uint64_values(k);
    case ColumnType::kString: return values.string_values(k);
    case ColumnType::kDate: return Date{static_cast<int32_t>(values.int64_values(k))};
    case ColumnType::kTimestamp: return Timestamp{values.int64_values(k)};
    default: return values.int64_values(k);
  }
}

}  // namespace

size_t ColumnarKeyCount(const v1::BatchLookupRequest& request) {
  if (request.key_values_size() == 0) return 0;
  const v1::KeyColumnValues& first = request.key_values(0);
  return static_cast<size_t>(
      std::max({first.int64_values_size(), first.uint64_values_size(), first.string_values_size()}));
}

absl::StatusOr<std::vector<Cell>> ColumnarKeysFromWire(const v1::BatchLookupRequest& request, const Schema& schema) {
  if (request.keys_size() > 0) return absl::InvalidArgumentError("keys and key_values: give one form of the keys");
  PREDSTORE_ASSIGN_OR_RETURN(std::vector<int> positions, KeyColumnPositions(request.key_columns(), schema));
  const auto& columns = schema.lookup_columns();
  if (request.key_values_size() != request.key_columns_size()) {
    return absl::InvalidArgumentError(StrCat("key_values: ", request.key_values_size(), " columns for ",
                                             request.key_columns_size(), " key_columns"));
  }
  const int keys = ColumnarLength(request.key_values(positions[0]), columns[0].type);
  for (size_t i = 0; i < columns.size(); ++i) {
    const v1::KeyColumnValues& values = request.key_values(positions[i]);
    const int length = ColumnarLength(values, columns[i].type);
    if (length != keys) {
      return absl::InvalidArgumentError(StrCat("key_values[", positions[i], "] (column \"", columns[i].name, "\", ",
                                               ColumnTypeName(columns[i].type), "): ", length, " values for ", keys,
                                               " keys"));
    }
    for (const std::string& text : values.string_values()) {
      if (absl::Status length = CheckKeyLength(text); !length.ok()) {
        return absl::InvalidArgumentError(
            StrCat("key_values[", positions[i], "] (column \"", columns[i].name, "\"): ", FromAbsl(length.message())));
      }
    }
    if (columns[i].type != ColumnType::kDate) continue;
    for (int64_t days : values.int64_values()) {
      if (days < INT32_MIN || days > INT32_MAX) {
        return absl::InvalidArgumentError(StrCat("key_values[", positions[i], "] (column \"", columns[i].name,
                                                 "\"): ", days, " days is out of range"));
      }
    }
  }
  std::vector<Cell> cells;
  cells.reserve(static_cast<size_t>(keys) * columns.size());
  for (int k = 0; k < keys; ++k) {
    for (size_t i = 0; i < columns.size(); ++i) {
      cells.push_back(ColumnarCell(request.key_values(positions[i]), columns[i].type, k));
    }
  }
  return cells;
}

absl::StatusOr<BatchLookupQuery> ColumnarQueryFromWire(const v1::BatchLookupRequest& request,
                                                       std::shared_ptr<const TableSnapshot> table) {
  BatchLookupQuery query;
  PREDSTORE_ASSIGN_OR_RETURN(query.keys, ColumnarKeysFromWire(request, table->schema()));
  query.table = std::move(table);
  if (request.has_as_of_micros()) query.as_of_micros = request.as_of_micros();
  query.no_fallback = true;
  return query;
}

namespace {

v1::Source SourceToWire(AnswerSource source) {
  switch (source) {
    case AnswerSource::kStream: return v1::SOURCE_STREAM;
    case AnswerSource::kComputed: return v1::SOURCE_COMPUTED;
    case AnswerSource::kPrecomputed: break;
  }
  return v1::SOURCE_PRECOMPUTED;
}

// One key's answer as a LookupResponse or a LookupResult: a computed
// answer fills the output column and leaves the other value columns unset.
template <typename Answer>
absl::Status KeyAnswerToWire(const LookupAnswers& answers, const KeyAnswer& answer, Answer* out) {
  out->set_found(answer.found);
  out->set_source(SourceToWire(answer.source));
  if (answer.source == AnswerSource::kStream) out->set_event_time_micros(answer.event_time_micros);
  if (!answer.found) return absl::OkStatus();
  const Schema& schema = answers.table->schema();
  if (answer.source == AnswerSource::kComputed) {
    for (size_t i = 0; i < schema.value_columns().size(); ++i) {
      v1::Value* value = out->add_values();
      if (i != answers.output_column) continue;
      if (schema.value_columns()[i].type == ColumnType::kFloat) {
        value->set_float_value(answer.computed_output);
      } else {
        value->set_double_value(answer.computed_output);
      }
    }
    return absl::OkStatus();
  }
  return answers.table->value_codec().ForEach(answers.EncodedValues(answer),
                                              [out](size_t, const CellView& cell) { CellToWire(cell, out->add_values()); });
}

// The model of the last computed answer, if any.
const ServedModel* ComputingModel(const LookupAnswers& answers) {
  for (auto it = answers.keys.rbegin(); it != answers.keys.rend(); ++it) {
    if (it->source == AnswerSource::kComputed) return it->model.get();
  }
  return nullptr;
}

template <typename Response>
void AnswerHeaderToWire(const LookupAnswers& answers, Response* out) {
  out->set_snapshot_version(answers.table->version());
  for (const Column& c : answers.table->schema().value_columns()) out->add_value_columns(c.name);
  if (const ServedModel* model = ComputingModel(answers)) {
    out->set_model_name(model->name);
    out->set_model_version(model->version);
    out->set_output(OutputKindToWire(answers.output_kind));
  }
}

// Appends `number` (0 or a computed output; "" for a string column) to a
// column of `type`.
void AppendColumnarPlaceholder(ColumnType type, float number, v1::ValueColumnValues* column) {
  switch (type) {
    case ColumnType::kDouble: column->add_double_values(number); break;
    case ColumnType::kFloat: column->add_float_values(number); break;
    case ColumnType::kString: column->add_string_values(); break;
    default: column->add_int64_values(0); break;
  }
}

// Appends the values of key `key_index` to the columns: a miss (and an
// unset column of a computed answer) as 0 or "", a null as 0 or "" listed
// in null_indexes.
absl::Status AppendColumnarValues(const LookupAnswers& answers, const KeyAnswer& answer, uint32_t key_index,
                                  v1::BatchLookupResponse* out) {
  const auto& value_columns = answers.table->schema().value_columns();
  if (answer.found && answer.source != AnswerSource::kComputed) {
    return answers.table->value_codec().ForEach(
        answers.EncodedValues(answer), [&value_columns, key_index, out](size_t c, const CellView& cell) {
          v1::ValueColumnValues* column = out->mutable_columns(static_cast<int>(c));
          if (const auto* d = std::get_if<double>(&cell)) {
            column->add_double_values(*d);
          } else if (const auto* f = std::get_if<float>(&cell)) {
            column->add_float_values(*f);
          } else if (const auto* text = std::get_if<std::string_view>(&cell)) {
            column->add_string_values(std::string(*text));
          } else if (const auto* i = std::get_if<int64_t>(&cell)) {
            column->add_int64_values(*i);
          } else if (std::holds_alternative<Null>(cell)) {
            AppendColumnarPlaceholder(value_columns[c].type, 0, column);
            column->add_null_indexes(key_index);
          }
        });
  }
  const bool computed = answer.found && answer.source == AnswerSource::kComputed;
  for (size_t c = 0; c < value_columns.size(); ++c) {
    const float number = computed && c == answers.output_column ? answer.computed_output : 0;
    AppendColumnarPlaceholder(value_columns[c].type, number, out->mutable_columns(static_cast<int>(c)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status LookupResponseToWire(const LookupAnswers& answers, v1::LookupResponse* out) {
  AnswerHeaderToWire(answers, out);
  return KeyAnswerToWire(answers, answers.keys[0], out);
}

absl::Status BatchLookupResponseToWire(const LookupAnswers& answers, v1::BatchLookupResponse* out) {
  AnswerHeaderToWire(answers, out);
  out->mutable_results()->Reserve(static_cast<int>(answers.keys.size()));
  for (const KeyAnswer& answer : answers.keys) {
    PREDSTORE_RETURN_IF_ERROR(KeyAnswerToWire(answers, answer, out->add_results()));
  }
  return absl::OkStatus();
}

absl::Status ColumnarResponseToWire(const LookupAnswers& answers, v1::BatchLookupResponse* out) {
  AnswerHeaderToWire(answers, out);
  const size_t count = answers.keys.size();
  for (size_t c = 0; c < answers.table->schema().value_columns().size(); ++c) out->add_columns();
  out->mutable_found()->Reserve(static_cast<int>(count));
  out->mutable_sources()->Reserve(static_cast<int>(count));
  for (size_t k = 0; k < count; ++k) {
    const KeyAnswer& answer = answers.keys[k];
    out->add_found(answer.found);
    out->add_sources(SourceToWire(answer.source));
    PREDSTORE_RETURN_IF_ERROR(AppendColumnarValues(answers, answer, static_cast<uint32_t>(k), out));
  }
  return absl::OkStatus();
}

void PredictResponseToWire(const PredictAnswer& answer, v1::PredictResponse* out) {
  const size_t per_row = answer.outputs_per_row;
  out->mutable_predictions()->Reserve(static_cast<int>(answer.outputs.size() / per_row));
  for (size_t at = 0; at < answer.outputs.size(); at += per_row) {
    out->add_predictions()->mutable_values()->Add(answer.outputs.begin() + at, answer.outputs.begin() + at + per_row);
  }
  out->set_model_name(answer.model->name);
  out->set_model_version(answer.model->version);
  out->set_output(OutputKindToWire(answer.output));
}

v1::OutputKind OutputKindToWire(OutputKind kind) {
  switch (kind) {
    case OutputKind::kProbability: return v1::OUTPUT_KIND_PROBABILITY;
    case OutputKind::kLabel: return v1::OUTPUT_KIND_LABEL;
    case OutputKind::kMargin: return v1::OUTPUT_KIND_MARGIN;
  }
  return v1::OUTPUT_KIND_UNSPECIFIED;
}

absl::StatusOr<OutputKind> OutputKindFromWire(v1::OutputKind kind) {
  switch (kind) {
    case v1::OUTPUT_KIND_UNSPECIFIED:
    case v1::OUTPUT_KIND_PROBABILITY: return OutputKind::kProbability;
    case v1::OUTPUT_KIND_LABEL: return OutputKind::kLabel;
    case v1::OUTPUT_KIND_MARGIN: return OutputKind::kMargin;
    default: return absl::InvalidArgumentError(StrCat("output: unknown output kind number ", static_cast<int>(kind)));
  }
}

}  // namespace predstore
