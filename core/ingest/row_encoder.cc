#include "core/ingest/row_encoder.h"

#include <cmath>
#include <cstring>

#include "core/base/status_macros.h"
#include "core/base/strings.h"
#include "simdjson.h"

namespace predstore {
namespace {

// Whether a JSON value of `kind` may hold a column of `type`.
bool KindFits(FieldText::Kind kind, ColumnType type) {
  switch (kind) {
    case FieldText::Kind::kText: return true;
    case FieldText::Kind::kJsonNumber:
      return type == ColumnType::kInt64 || type == ColumnType::kUint64 || type == ColumnType::kDouble ||
             type == ColumnType::kFloat || type == ColumnType::kTimestamp;
    case FieldText::Kind::kJsonString:
      return type == ColumnType::kString || type == ColumnType::kDate || type == ColumnType::kTimestamp;
    default: return false;
  }
}

template <typename T>
T LoadTyped(std::string_view bytes) {
  T value;
  std::memcpy(&value, bytes.data(), sizeof(T));
  return value;
}

std::string_view TypedKindName(FieldText::Kind kind) {
  switch (kind) {
    case FieldText::Kind::kInt64: return "signed integer";
    case FieldText::Kind::kUint64: return "unsigned integer";
    case FieldText::Kind::kDouble: return "double";
    case FieldText::Kind::kFloat: return "float";
    case FieldText::Kind::kDate: return "date";
    case FieldText::Kind::kTimestamp: return "timestamp";
    case FieldText::Kind::kBytes: return "string";
    default: return "value";
  }
}

// A floating-point value: Null in a nullable column when NaN; refused when
// not finite otherwise.
template <typename T>
absl::StatusOr<Cell> FloatCell(T value, const Column& column) {
  if (std::isnan(value) && column.nullable) return Null{};
  if (!std::isfinite(value)) return absl::InvalidArgumentError(StrCat("not a finite number: ", value));
  return Cell(value);
}

// An integer into `column`; `negative` says whether it is below zero
// (then `value` holds its two's complement).
absl::StatusOr<Cell> IntegerCell(uint64_t value, bool negative, const Column& column) {
  const auto as_signed = static_cast<int64_t>(value);
  switch (column.type) {
    case ColumnType::kInt64:
      if (!negative && value > static_cast<uint64_t>(INT64_MAX)) {
        return absl::InvalidArgumentError(StrCat(value, " is out of range for int64"));
      }
      return Cell(as_signed);
    case ColumnType::kUint64:
      if (negative) return absl::InvalidArgumentError(StrCat(as_signed, " is negative; the column is uint64"));
      return Cell(value);
    case ColumnType::kDouble: {
      const double d = negative ? static_cast<double>(as_signed) : static_cast<double>(value);
      const bool exact = negative ? (d >= -0x1p63 && static_cast<int64_t>(d) == as_signed)
                                  : (d < 0x1p64 && static_cast<uint64_t>(d) == value);
      if (!exact) {
        return absl::InvalidArgumentError(StrCat(negative ? StrCat(as_signed) : StrCat(value),
                                                 " has no exact double"));
      }
      return Cell(d);
    }
    default:
      return absl::InvalidArgumentError(StrCat("an integer cannot be stored in a ", ColumnTypeName(column.type),
                                               " column"));
  }
}

absl::StatusOr<Cell> TypedCell(const FieldText& field, const Column& column, bool is_key) {
  const ColumnType type = column.type;
  auto mismatch = [&]() {
    return absl::InvalidArgumentError(StrCat("a ", TypedKindName(field.kind), " cannot be stored in a ",
                                             ColumnTypeName(type), " column"));
  };
  switch (field.kind) {
    case FieldText::Kind::kInvalid: return absl::InvalidArgumentError(ToAbsl(field.text));
    case FieldText::Kind::kInt64: {
      const int64_t value = LoadTyped<int64_t>(field.text);
      return IntegerCell(static_cast<uint64_t>(value), value < 0, column);
    }
    case FieldText::Kind::kUint64: return IntegerCell(LoadTyped<uint64_t>(field.text), false, column);
    case FieldText::Kind::kDouble:
      if (type != ColumnType::kDouble) return mismatch();
      return FloatCell(LoadTyped<double>(field.text), column);
    case FieldText::Kind::kFloat:
      if (type == ColumnType::kFloat) return FloatCell(LoadTyped<float>(field.text), column);
      if (type == ColumnType::kDouble) return FloatCell(static_cast<double>(LoadTyped<float>(field.text)), column);
      return mismatch();
    case FieldText::Kind::kDate:
      if (type != ColumnType::kDate) return mismatch();
      return Cell(Date{LoadTyped<int32_t>(field.text)});
    case FieldText::Kind::kTimestamp:
      if (type != ColumnType::kTimestamp) return mismatch();
      return Cell(Timestamp{LoadTyped<int64_t>(field.text)});
    case FieldText::Kind::kBytes:
      if (type != ColumnType::kString) return mismatch();
      if (!simdjson::validate_utf8(field.text.data(), field.text.size())) {
        return absl::InvalidArgumentError("a string that is not valid UTF-8");
      }
      if (is_key) PREDSTORE_RETURN_IF_ERROR(CheckKeyLength(field.text));
      return Cell(std::string(field.text));
    default: return mismatch();
  }
}

}  // namespace

absl::StatusOr<Cell> FieldCell(const FieldText& field, const Column& column, bool is_key) {
  if (!field.present) {
    if (column.nullable) return Null{};
    return absl::InvalidArgumentError(is_key ? "missing key field" : "missing value");
  }
  if (field.typed()) return TypedCell(field, column, is_key);
  if (!KindFits(field.kind, column.type)) {
    return absl::InvalidArgumentError(StrCat("a JSON ", field.kind == FieldText::Kind::kJsonString ? "string" : "value",
                                             " ", field.text, " cannot hold a ", ColumnTypeName(column.type)));
  }
  return is_key ? ParseKeyCell(column.type, field.text) : ParseColumnCell(column, field.text);
}

RowEncoder::RowEncoder(const Schema& schema)
    : schema_(schema), key_codec_(schema), value_codec_(schema), cells_(schema.input_columns().size()) {}

absl::Status RowEncoder::Encode(const RecordReader& reader, std::string* key, std::string* value) {
  return Encode(reader.fields(), reader.path(), key, value);
}

absl::Status RowEncoder::Parse(const RecordReader& reader) { return Parse(reader.fields(), reader.path()); }

absl::Status RowEncoder::Encode(std::span<const FieldText> fields, std::string_view path, std::string* key,
                                std::string* value) {
  PREDSTORE_RETURN_IF_ERROR(Parse(fields, path));
  key->clear();
  value->clear();
  size_t lookup_count = schema_.lookup_columns().size();
  key_codec_.Encode(std::span<const Cell>(cells_.data(), lookup_count), key);
  value_codec_.Encode(std::span<const Cell>(cells_.data() + lookup_count, cells_.size() - lookup_count), value);
  return absl::OkStatus();
}

absl::Status RowEncoder::Parse(std::span<const FieldText> fields, std::string_view path) {
  const auto& columns = schema_.input_columns();
  const size_t lookup_count = schema_.lookup_columns().size();
  for (size_t i = 0; i < columns.size(); ++i) {
    absl::StatusOr<Cell> cell = FieldCell(fields[i], columns[i], i < lookup_count);
    if (!cell.ok()) {
      return absl::InvalidArgumentError(StrCat(FieldPosition(path, fields[i]), ": column \"", columns[i].name,
                                               "\": ", FromAbsl(cell.status().message())));
    }
    cells_[i] = *std::move(cell);
  }
  return absl::OkStatus();
}

}  // namespace predstore
