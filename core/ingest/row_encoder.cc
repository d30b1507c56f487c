#include "core/ingest/row_encoder.h"

#include "core/base/status_macros.h"
#include "core/base/strings.h"

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
    case FieldText::Kind::kJsonOther: return false;
  }
  return false;
}

}  // namespace

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
  for (size_t i = 0; i < columns.size(); ++i) {
    const FieldText& field = fields[i];
    const Column& column = columns[i];
    auto error = [&](std::string_view reason) {
      return absl::InvalidArgumentError(
          StrCat(path, ":", field.line, ":", field.column, ": column \"", column.name, "\": ", reason));
    };
    if (!field.present) {
      if (column.nullable) {
        cells_[i] = Null{};
        continue;
      }
      return error(i < schema_.lookup_columns().size() ? "missing key field" : "missing value");
    }
    if (!KindFits(field.kind, column.type)) {
      return error(StrCat("a JSON ", field.kind == FieldText::Kind::kJsonString ? "string" : "value", " ",
                                field.text, " cannot hold a ", ColumnTypeName(column.type)));
    }
    auto cell = i < schema_.lookup_columns().size() ? ParseKeyCell(column.type, field.text)
                                                    : ParseColumnCell(column, field.text);
    if (!cell.ok()) return error(FromAbsl(cell.status().message()));
    cells_[i] = std::move(*cell);
  }
  return absl::OkStatus();
}

}  // namespace predstore
