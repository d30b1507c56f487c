#include "server/wire.h"

#include <cmath>

#include "core/status_macros.h"
#include "core/strings.h"

namespace predstore {
namespace {

constexpr size_t kMaxStatusMessage = 1024;

void ColumnToWire(const Column& column, v1::Column* out) {
  out->set_name(column.name);
  out->set_type(ColumnTypeToWire(column.type));
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
    auto cell = CellFromWire(field.value(), columns[i]);
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
      auto cell = CellFromWire(*value, columns[i]);
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
  if (schema.partition_column()) {
    for (const PartInfo& part : snapshot.info().parts) {
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

absl::StatusOr<std::vector<float>> ScoringRowsFromWire(const ServedModel& model,
                                                       const google::protobuf::RepeatedPtrField<std::string>& feature_names,
                                                       const google::protobuf::RepeatedPtrField<v1::FeatureRow>& rows) {
  const size_t width = model.features.size();
  std::vector<int> positions(feature_names.size());
  std::vector<bool> named(width, false);
  for (int i = 0; i < feature_names.size(); ++i) {
    positions[i] = model.FeatureIndex(feature_names[i]);
    if (positions[i] < 0) {
      std::string inputs;
      for (const SignatureColumn& f : model.features) StrAppend(&inputs, inputs.empty() ? "" : ", ", f.name);
      return absl::InvalidArgumentError(StrCat("feature_names[", i, "]: model ", model.name, " version ", model.version,
                                               " has no feature '", feature_names[i], "' (its inputs: ", inputs, ")"));
    }
    if (named[positions[i]]) {
      return absl::InvalidArgumentError(StrCat("feature_names[", i, "]: '", feature_names[i], "' given twice"));
    }
    named[positions[i]] = true;
  }
  std::vector<float> values(static_cast<size_t>(rows.size()) * width, NAN);
  for (int r = 0; r < rows.size(); ++r) {
    const v1::FeatureRow& row = rows[r];
    if (row.values_size() != feature_names.size()) {
      return absl::InvalidArgumentError(StrCat("rows[", r, "]: has ", row.values_size(), " values for ",
                                               feature_names.size(), " feature_names"));
    }
    std::span<float> out(values.data() + r * width, width);
    for (int i = 0; i < row.values_size(); ++i) {
      std::optional<CellView> view = FeatureViewFromWire(row.values(i));
      if (!view.has_value()) continue;
      const SignatureColumn& feature = model.features[positions[i]];
      absl::StatusOr<float> number = FeatureFloat(feature, *view);
      if (!number.ok()) {
        return absl::InvalidArgumentError(
            StrCat("rows[", r, "]: feature '", feature.name, "' ", FromAbsl(number.status().message())));
      }
      out[positions[i]] = *number;
    }
    absl::Status complete = CheckRequiredFeatures(model, out);
    if (!complete.ok()) return absl::InvalidArgumentError(StrCat("rows[", r, "]: ", FromAbsl(complete.message())));
  }
  return values;
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

absl::StatusOr<std::vector<StreamEvent>> StreamEventsFromWire(const v1::IngestRequest& request,
                                                             const TableSnapshot& table,
                                                             const ScoreFeatureEvents& score) {
  const Schema& schema = table.schema();
  const std::vector<Column>& value_columns = schema.value_columns();
  std::vector<StreamEvent> events(request.events_size());
  std::vector<size_t> feature_events;
  std::vector<std::vector<Cell>> feature_keys;
  std::vector<Cell> values(value_columns.size());
  for (int i = 0; i < request.events_size(); ++i) {
    const v1::StreamEvent& wire = request.events(i);
    auto bad = [i](std::string_view reason) {
      return absl::InvalidArgumentError(StrCat("events[", i, "]: ", reason));
    };
    absl::StatusOr<std::vector<Cell>> key = LookupCellsFromWire(wire.key(), schema);
    if (!key.ok()) return bad(FromAbsl(key.status().message()));
    StreamEvent& event = events[i];
    table.key_codec().Encode(*key, &event.key);
    if (table.key_codec().normalized()) {
      // The stream keys rows without the snapshot's key mapping.
      std::string mapped = std::move(event.key);
      event.key.clear();
      PREDSTORE_RETURN_IF_ERROR(table.key_codec().AppendUnmapped(mapped, &event.key));
    }
    event.event_time_micros = wire.event_time_micros();
    event.text = StrCat("events[", i, "] of batch ", request.sequence(), ": ", wire.ShortDebugString());
    if (wire.values_size() == 0) {
      if (wire.features_size() == 0) return bad("an event needs values (the prediction) or features (to score)");
      feature_events.push_back(static_cast<size_t>(i));
      feature_keys.push_back(*std::move(key));
      continue;
    }
    if (wire.features_size() > 0) return bad("an event carries values or features, not both");
    std::vector<bool> seen(value_columns.size(), false);
    for (const v1::KeyField& field : wire.values()) {
      size_t c = 0;
      while (c < value_columns.size() && value_columns[c].name != field.column()) ++c;
      if (c == value_columns.size()) return bad(StrCat("unknown value column \"", field.column(), "\""));
      if (seen[c]) return bad(StrCat("value column \"", field.column(), "\" given twice"));
      seen[c] = true;
      absl::StatusOr<Cell> cell = CellFromWire(field.value(), value_columns[c]);
      if (!cell.ok()) return bad(FromAbsl(cell.status().message()));
      values[c] = *std::move(cell);
    }
    for (size_t c = 0; c < value_columns.size(); ++c) {
      if (!seen[c]) return bad(StrCat("value column \"", value_columns[c].name, "\" missing"));
    }
    table.value_codec().Encode(values, &event.value);
  }
  if (!feature_events.empty()) PREDSTORE_RETURN_IF_ERROR(score(feature_events, feature_keys, &events));
  return events;
}

}  // namespace predstore
