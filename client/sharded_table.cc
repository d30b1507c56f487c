#include "client/sharded_table.h"

#include <algorithm>

#include "core/base/status_macros.h"
#include "core/base/strings.h"
#include "core/table/shard_hash.h"
#include "proto/wire_values.h"

namespace predstore::internal {

namespace {

// The k-th value of a columnar key column of type `type`.
absl::StatusOr<Cell> ColumnarCell(const v1::KeyColumnValues& values, ColumnType type, size_t k) {
  auto out_of_range = [&] { return absl::InvalidArgumentError(StrCat("key_values: no value ", k)); };
  switch (type) {
    case ColumnType::kInt64:
    case ColumnType::kDate:
    case ColumnType::kTimestamp: {
      if (k >= static_cast<size_t>(values.int64_values_size())) return out_of_range();
      const int64_t v = values.int64_values(static_cast<int>(k));
      if (type == ColumnType::kDate) return Cell(Date{static_cast<int32_t>(v)});
      if (type == ColumnType::kTimestamp) return Cell(Timestamp{v});
      return Cell(v);
    }
    case ColumnType::kUint64:
      if (k >= static_cast<size_t>(values.uint64_values_size())) return out_of_range();
      return Cell(values.uint64_values(static_cast<int>(k)));
    case ColumnType::kString:
      if (k >= static_cast<size_t>(values.string_values_size())) return out_of_range();
      return Cell(values.string_values(static_cast<int>(k)));
    default:
      return absl::InvalidArgumentError("key_values: not a key type");
  }
}

// Appends the k-th value of `from` (a key column of type `type`) to `to`.
void AppendColumnar(const v1::KeyColumnValues& from, ColumnType type, size_t k, v1::KeyColumnValues* to) {
  const int i = static_cast<int>(k);
  if (type == ColumnType::kUint64) {
    to->add_uint64_values(from.uint64_values(i));
  } else if (type == ColumnType::kString) {
    to->add_string_values(from.string_values(i));
  } else {
    to->add_int64_values(from.int64_values(i));
  }
}

size_t ColumnarKeys(const v1::BatchLookupRequest& request) {
  const v1::KeyColumnValues& first = request.key_values(0);
  return static_cast<size_t>(
      std::max({first.int64_values_size(), first.uint64_values_size(), first.string_values_size()}));
}

// Places answer value `i` of a columnar value column at `position`.
void PlaceColumnValue(const v1::ValueColumnValues& from, ColumnType type, int i, uint32_t position,
                      v1::ValueColumnValues* to) {
  switch (type) {
    case ColumnType::kDouble: to->set_double_values(static_cast<int>(position), from.double_values(i)); break;
    case ColumnType::kFloat: to->set_float_values(static_cast<int>(position), from.float_values(i)); break;
    case ColumnType::kString: to->set_string_values(static_cast<int>(position), from.string_values(i)); break;
    default: to->set_int64_values(static_cast<int>(position), from.int64_values(i)); break;
  }
}

void ResizeColumn(ColumnType type, size_t n, v1::ValueColumnValues* column) {
  switch (type) {
    case ColumnType::kDouble: column->mutable_double_values()->Resize(static_cast<int>(n), 0); break;
    case ColumnType::kFloat: column->mutable_float_values()->Resize(static_cast<int>(n), 0); break;
    case ColumnType::kString:
      for (size_t i = 0; i < n; ++i) column->add_string_values();
      break;
    default: column->mutable_int64_values()->Resize(static_cast<int>(n), 0); break;
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<ShardedTable>> ShardedTable::FromInfo(const v1::TableInfo& info) {
  if (info.shards().count() == 0) {
    return absl::FailedPreconditionError(StrCat("table \"", info.name(), "\" is not sharded"));
  }
  if (info.shards().hash() != kShardHashName) {
    return absl::FailedPreconditionError(StrCat("table \"", info.name(), "\" is sharded by \"", info.shards().hash(),
                                                "\", which this client does not know (it knows ", kShardHashName,
                                                ")"));
  }
  PREDSTORE_ASSIGN_OR_RETURN(Schema schema, SchemaFromWire(info.schema()));
  return std::unique_ptr<ShardedTable>(new ShardedTable(std::move(schema), info.shards().count()));
}

absl::StatusOr<uint32_t> ShardedTable::ShardOf(const google::protobuf::RepeatedPtrField<v1::KeyField>& key) const {
  const std::vector<Column>& columns = schema_.lookup_columns();
  std::vector<Cell> cells;
  cells.reserve(columns.size());
  for (const Column& column : columns) {
    auto field =
        std::find_if(key.begin(), key.end(), [&](const v1::KeyField& f) { return f.column() == column.name; });
    if (field == key.end()) return absl::InvalidArgumentError(StrCat("key: ", column.name, " missing"));
    PREDSTORE_ASSIGN_OR_RETURN(Cell cell, CellFromWire(field->value(), column));
    cells.push_back(std::move(cell));
  }
  return ShardOfKey(schema_, cells, count_);
}

absl::Status ShardedTable::BatchKey(const v1::BatchLookupRequest& request, const std::vector<int>& positions,
                                    size_t k, std::vector<Cell>* cells) const {
  const std::vector<Column>& columns = schema_.lookup_columns();
  cells->clear();
  for (size_t c = 0; c < columns.size(); ++c) {
    const int j = positions[c];
    if (request.key_values_size() > 0) {
      PREDSTORE_ASSIGN_OR_RETURN(Cell cell, ColumnarCell(request.key_values(j), columns[c].type, k));
      cells->push_back(std::move(cell));
      continue;
    }
    const v1::KeyRow& row = request.keys(static_cast<int>(k));
    if (j >= row.values_size()) return absl::InvalidArgumentError(StrCat("keys[", k, "]: too few values"));
    PREDSTORE_ASSIGN_OR_RETURN(Cell cell, CellFromWire(row.values(j), columns[c]));
    cells->push_back(std::move(cell));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ShardedTable::SubBatch>> ShardedTable::Split(const v1::BatchLookupRequest& request) const {
  const std::vector<Column>& columns = schema_.lookup_columns();
  std::vector<int> positions(columns.size(), -1);
  for (size_t c = 0; c < columns.size(); ++c) {
    for (int j = 0; j < request.key_columns_size(); ++j) {
      if (request.key_columns(j) == columns[c].name) positions[c] = j;
    }
    if (positions[c] < 0 || (request.key_values_size() > 0 && positions[c] >= request.key_values_size())) {
      return absl::InvalidArgumentError(StrCat("key_columns: ", columns[c].name, " missing"));
    }
  }
  const bool columnar = request.key_values_size() > 0;
  const size_t keys = columnar ? ColumnarKeys(request) : static_cast<size_t>(request.keys_size());
  std::vector<SubBatch> subs(count_);
  for (uint32_t shard = 0; shard < count_; ++shard) {
    SubBatch& sub = subs[shard];
    sub.shard = shard;
    sub.request.set_table(request.table());
    *sub.request.mutable_key_columns() = request.key_columns();
    *sub.request.mutable_feature_names() = request.feature_names();
    sub.request.set_no_fallback(request.no_fallback());
    if (request.has_as_of_micros()) sub.request.set_as_of_micros(request.as_of_micros());
    sub.request.set_min_version(request.min_version());
    if (columnar) {
      for (int j = 0; j < request.key_values_size(); ++j) sub.request.add_key_values();
    }
  }
  std::vector<Cell> cells;
  for (size_t k = 0; k < keys; ++k) {
    PREDSTORE_RETURN_IF_ERROR(BatchKey(request, positions, k, &cells));
    SubBatch& sub = subs[ShardOfKey(schema_, cells, count_)];
    sub.positions.push_back(static_cast<uint32_t>(k));
    if (columnar) {
      for (size_t c = 0; c < columns.size(); ++c) {
        AppendColumnar(request.key_values(positions[c]), columns[c].type, k,
                       sub.request.mutable_key_values(positions[c]));
      }
    } else {
      *sub.request.add_keys() = request.keys(static_cast<int>(k));
    }
    if (request.features_size() > 0 && k < static_cast<size_t>(request.features_size())) {
      *sub.request.add_features() = request.features(static_cast<int>(k));
    }
  }
  std::erase_if(subs, [](const SubBatch& sub) { return sub.positions.empty(); });
  return subs;
}

v1::BatchLookupResponse ShardedTable::Merge(const v1::BatchLookupRequest& request, std::span<const SubBatch> subs,
                                            std::span<const v1::BatchLookupResponse> answers) const {
  v1::BatchLookupResponse merged;
  size_t keys = 0;
  for (const SubBatch& sub : subs) keys += sub.positions.size();
  const bool columnar = request.key_values_size() > 0;
  const std::vector<Column>& values = schema_.value_columns();
  if (columnar) {
    merged.mutable_found()->Resize(static_cast<int>(keys), false);
    for (size_t k = 0; k < keys; ++k) merged.add_sources(v1::SOURCE_UNSPECIFIED);
    for (const Column& column : values) ResizeColumn(column.type, keys, merged.add_columns());
  } else {
    for (size_t k = 0; k < keys; ++k) merged.add_results();
  }
  for (size_t s = 0; s < subs.size(); ++s) {
    const v1::BatchLookupResponse& answer = answers[s];
    const std::vector<uint32_t>& positions = subs[s].positions;
    if (merged.value_columns_size() == 0) *merged.mutable_value_columns() = answer.value_columns();
    merged.set_snapshot_version(std::max(merged.snapshot_version(), answer.snapshot_version()));
    if (merged.model_name().empty() && !answer.model_name().empty()) {
      merged.set_model_name(answer.model_name());
      merged.set_model_version(answer.model_version());
      merged.set_output(answer.output());
    }
    for (size_t i = 0; i < positions.size(); ++i) {
      const int from = static_cast<int>(i);
      const int to = static_cast<int>(positions[i]);
      if (!columnar) {
        if (from < answer.results_size()) *merged.mutable_results(to) = answer.results(from);
        continue;
      }
      if (from < answer.found_size()) merged.set_found(to, answer.found(from));
      if (from < answer.sources_size()) merged.set_sources(to, answer.sources(from));
      for (size_t c = 0; c < values.size() && static_cast<int>(c) < answer.columns_size(); ++c) {
        PlaceColumnValue(answer.columns(static_cast<int>(c)), values[c].type, from, positions[i],
                         merged.mutable_columns(static_cast<int>(c)));
      }
    }
    for (int c = 0; columnar && c < answer.columns_size() && c < merged.columns_size(); ++c) {
      for (uint32_t index : answer.columns(c).null_indexes()) {
        if (index < positions.size()) merged.mutable_columns(c)->add_null_indexes(positions[index]);
      }
    }
  }
  for (v1::ValueColumnValues& column : *merged.mutable_columns()) {
    std::sort(column.mutable_null_indexes()->begin(), column.mutable_null_indexes()->end());
  }
  return merged;
}

absl::StatusOr<std::string> ShardedTable::OrderKey(const v1::ScanRow& row) const {
  const std::vector<Column>& columns = schema_.lookup_columns();
  if (static_cast<size_t>(row.key_size()) != columns.size()) {
    return absl::InvalidArgumentError(StrCat("scan row with ", row.key_size(), " key values for ", columns.size(),
                                             " key columns"));
  }
  std::vector<Cell> cells;
  cells.reserve(columns.size());
  for (size_t c = 0; c < columns.size(); ++c) {
    PREDSTORE_ASSIGN_OR_RETURN(Cell cell, CellFromWire(row.key(static_cast<int>(c)), columns[c]));
    cells.push_back(std::move(cell));
  }
  std::string key;
  codec_.Encode(cells, &key);
  return key;
}

}  // namespace predstore::internal
