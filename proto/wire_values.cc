#include "proto/wire_values.h"

#include <cmath>
#include <limits>

#include "core/base/strings.h"

namespace predstore {
namespace {

std::string_view KindName(const v1::Value& value) {
  switch (value.kind_case()) {
    case v1::Value::kInt64Value: return "int64_value";
    case v1::Value::kUint64Value: return "uint64_value";
    case v1::Value::kDoubleValue: return "double_value";
    case v1::Value::kFloatValue: return "float_value";
    case v1::Value::kStringValue: return "string_value";
    case v1::Value::kDateValue: return "date_value";
    case v1::Value::kTimestampValue: return "timestamp_value";
    case v1::Value::kBoolValue: return "bool_value";
    case v1::Value::KIND_NOT_SET: return "no value";
  }
  return "?";
}

}  // namespace

v1::ColumnType ColumnTypeToWire(ColumnType type) {
  switch (type) {
    case ColumnType::kInt64: return v1::COLUMN_TYPE_INT64;
    case ColumnType::kUint64: return v1::COLUMN_TYPE_UINT64;
    case ColumnType::kDate: return v1::COLUMN_TYPE_DATE;
    case ColumnType::kTimestamp: return v1::COLUMN_TYPE_TIMESTAMP;
    case ColumnType::kString: return v1::COLUMN_TYPE_STRING;
    case ColumnType::kDouble: return v1::COLUMN_TYPE_DOUBLE;
    case ColumnType::kFloat: return v1::COLUMN_TYPE_FLOAT;
  }
  return v1::COLUMN_TYPE_UNSPECIFIED;
}

absl::StatusOr<ColumnType> ColumnTypeFromWire(v1::ColumnType type) {
  switch (type) {
    case v1::COLUMN_TYPE_INT64: return ColumnType::kInt64;
    case v1::COLUMN_TYPE_UINT64: return ColumnType::kUint64;
    case v1::COLUMN_TYPE_DATE: return ColumnType::kDate;
    case v1::COLUMN_TYPE_TIMESTAMP: return ColumnType::kTimestamp;
    case v1::COLUMN_TYPE_STRING: return ColumnType::kString;
    case v1::COLUMN_TYPE_DOUBLE: return ColumnType::kDouble;
    case v1::COLUMN_TYPE_FLOAT: return ColumnType::kFloat;
    default: return absl::InvalidArgumentError(StrCat("unknown column type number ", static_cast<int>(type)));
  }
}

absl::StatusOr<Cell> CellFromWire(const v1::Value& value, const Column& column) {
  auto mismatch = [&]() {
    return absl::InvalidArgumentError(StrCat("column \"", column.name, "\" is ", ColumnTypeName(column.type),
                                             " but the value is ", KindName(value)));
  };
  auto out_of_range = [&](std::string_view text) {
    return absl::InvalidArgumentError(
        StrCat("column \"", column.name, "\": ", text, " is out of range for ", ColumnTypeName(column.type)));
  };
  auto not_finite = [&](double number) {
    return absl::InvalidArgumentError(StrCat("column \"", column.name, "\": ", number,
                                             " is not a finite number", column.nullable ? " (NaN is a null here)" : ""));
  };
  if (column.nullable && (value.kind_case() == v1::Value::KIND_NOT_SET ||
                          (value.has_double_value() && std::isnan(value.double_value())) ||
                          (value.has_float_value() && std::isnan(value.float_value())))) {
    return Cell(Null{});
  }
  switch (column.type) {
    case ColumnType::kInt64:
      if (value.has_int64_value()) return Cell(value.int64_value());
      if (value.has_uint64_value()) {
        if (value.uint64_value() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
          return out_of_range(StrCat(value.uint64_value()));
        }
        return Cell(static_cast<int64_t>(value.uint64_value()));
      }
      return mismatch();
    case ColumnType::kUint64:
      if (value.has_uint64_value()) return Cell(value.uint64_value());
      if (value.has_int64_value()) {
        if (value.int64_value() < 0) return out_of_range(StrCat(value.int64_value()));
        return Cell(static_cast<uint64_t>(value.int64_value()));
      }
      return mismatch();
    case ColumnType::kDate:
      if (value.has_date_value()) return Cell(Date{value.date_value()});
      return mismatch();
    case ColumnType::kTimestamp:
      if (value.has_timestamp_value()) return Cell(Timestamp{value.timestamp_value()});
      return mismatch();
    case ColumnType::kString:
      if (value.has_string_value()) return Cell(value.string_value());
      return mismatch();
    case ColumnType::kDouble:
      if (!value.has_double_value()) return mismatch();
      if (!std::isfinite(value.double_value())) return not_finite(value.double_value());
      return Cell(value.double_value());
    case ColumnType::kFloat:
      if (!value.has_float_value()) return mismatch();
      if (!std::isfinite(value.float_value())) return not_finite(value.float_value());
      return Cell(value.float_value());
  }
  return mismatch();
}

void CellToWire(const CellView& cell, v1::Value* out) {
  std::visit([out](const auto& v) {
    using T = std::decay_t<decltype(v)>;
    if constexpr (std::is_same_v<T, int64_t>) {
      out->set_int64_value(v);
    } else if constexpr (std::is_same_v<T, uint64_t>) {
      out->set_uint64_value(v);
    } else if constexpr (std::is_same_v<T, double>) {
      out->set_double_value(v);
    } else if constexpr (std::is_same_v<T, float>) {
      out->set_float_value(v);
    } else if constexpr (std::is_same_v<T, std::string_view>) {
      out->set_string_value(v.data(), v.size());
    } else if constexpr (std::is_same_v<T, Date>) {
      out->set_date_value(v.days);
    } else if constexpr (std::is_same_v<T, Null>) {
      out->Clear();
    } else {
      out->set_timestamp_value(v.micros);
    }
  }, cell);
}

std::optional<CellView> FeatureViewFromWire(const v1::Value& value) {
  switch (value.kind_case()) {
    case v1::Value::kInt64Value: return CellView(value.int64_value());
    case v1::Value::kUint64Value: return CellView(value.uint64_value());
    case v1::Value::kDoubleValue: return CellView(value.double_value());
    case v1::Value::kFloatValue: return CellView(value.float_value());
    case v1::Value::kStringValue: return CellView(std::string_view(value.string_value()));
    case v1::Value::kDateValue: return CellView(Date{value.date_value()});
    case v1::Value::kTimestampValue: return CellView(Timestamp{value.timestamp_value()});
    case v1::Value::kBoolValue: return CellView(int64_t{value.bool_value() ? 1 : 0});
    case v1::Value::KIND_NOT_SET: return std::nullopt;
  }
  return std::nullopt;
}

std::string WireValueToText(const v1::Value& value) {
  switch (value.kind_case()) {
    case v1::Value::kInt64Value: return FormatCell(CellView(value.int64_value()));
    case v1::Value::kUint64Value: return FormatCell(CellView(value.uint64_value()));
    case v1::Value::kDoubleValue: return FormatCell(CellView(value.double_value()));
    case v1::Value::kFloatValue: return FormatCell(CellView(value.float_value()));
    case v1::Value::kStringValue: return value.string_value();
    case v1::Value::kDateValue: return FormatCell(CellView(Date{value.date_value()}));
    case v1::Value::kTimestampValue: return FormatCell(CellView(Timestamp{value.timestamp_value()}));
    case v1::Value::kBoolValue: return value.bool_value() ? "true" : "false";
    case v1::Value::KIND_NOT_SET: return "null";
  }
  return "null";
}

namespace {

absl::Status AppendColumn(const v1::Column& column, std::vector<Column>* columns) {
  absl::StatusOr<ColumnType> type = ColumnTypeFromWire(column.type());
  if (!type.ok()) return type.status();
  columns->push_back(Column{column.name(), *type, column.nullable()});
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<Column>> LookupColumns(const v1::TableInfo& info) {
  std::vector<Column> columns;
  if (info.schema().has_partition_column()) {
    if (absl::Status s = AppendColumn(info.schema().partition_column(), &columns); !s.ok()) return s;
  }
  for (const v1::Column& c : info.schema().key_columns()) {
    if (absl::Status s = AppendColumn(c, &columns); !s.ok()) return s;
  }
  return columns;
}

absl::StatusOr<std::vector<Column>> ValueColumns(const v1::TableInfo& info) {
  std::vector<Column> columns;
  for (const v1::Column& c : info.schema().value_columns()) {
    if (absl::Status s = AppendColumn(c, &columns); !s.ok()) return s;
  }
  return columns;
}

absl::StatusOr<Schema> SchemaFromWire(const v1::TableSchema& schema) {
  v1::TableInfo info;
  *info.mutable_schema() = schema;
  absl::StatusOr<std::vector<Column>> keys = LookupColumns(info);
  if (!keys.ok()) return keys.status();
  absl::StatusOr<std::vector<Column>> values = ValueColumns(info);
  if (!values.ok()) return values.status();
  std::optional<Column> partition;
  if (schema.has_partition_column()) {
    partition = keys->front();
    keys->erase(keys->begin());
  }
  KeyLayout layout = KeyLayout::kZOrder;
  switch (schema.layout()) {
    case v1::KEY_LAYOUT_ZORDER: layout = KeyLayout::kZOrder; break;
    case v1::KEY_LAYOUT_LINEAR: layout = KeyLayout::kLinear; break;
    case v1::KEY_LAYOUT_HILBERT: layout = KeyLayout::kHilbert; break;
    default: return absl::InvalidArgumentError(StrCat("unknown key layout number ", static_cast<int>(schema.layout())));
  }
  KeyNormalization normalization = KeyNormalization::kNone;
  switch (schema.normalization()) {
    case v1::KEY_NORMALIZATION_NONE: break;
    case v1::KEY_NORMALIZATION_MINMAX: normalization = KeyNormalization::kMinMax; break;
    case v1::KEY_NORMALIZATION_QUANTILE: normalization = KeyNormalization::kQuantile; break;
    default:
      return absl::InvalidArgumentError(
          StrCat("unknown key normalization number ", static_cast<int>(schema.normalization())));
  }
  return Schema::Create(*std::move(keys), *std::move(values), std::move(partition), layout, normalization);
}

}  // namespace predstore
