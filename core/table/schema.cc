#include "core/table/schema.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "core/base/status_macros.h"
#include "core/base/strings.h"
#include "nlohmann/json.hpp"

namespace predstore {
namespace {

constexpr ColumnType kAllTypes[] = {ColumnType::kInt64,  ColumnType::kUint64, ColumnType::kDate,
                                    ColumnType::kTimestamp, ColumnType::kString, ColumnType::kDouble,
                                    ColumnType::kFloat};
const absl::CivilDay kEpochDay(1970, 1, 1);

bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

template <typename T>
absl::StatusOr<T> ParseNumber(std::string_view text, std::string_view type_name) {
  T value{};
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec == std::errc::result_out_of_range) {
    return absl::InvalidArgumentError(StrCat("out of range for ", type_name, ": \"", text, "\""));
  }
  if (ec != std::errc() || ptr != end || text.empty()) {
    return absl::InvalidArgumentError(StrCat("not a valid ", type_name, ": \"", text, "\""));
  }
  if constexpr (std::is_floating_point_v<T>) {
    if (!std::isfinite(value)) {
      return absl::InvalidArgumentError(StrCat("not a finite number: \"", text, "\""));
    }
  }
  return value;
}

absl::StatusOr<Date> ParseDate(std::string_view text) {
  absl::CivilDay day;
  if (text.size() != 10 || !absl::ParseCivilTime(ToAbsl(text), &day)) {
    return absl::InvalidArgumentError(StrCat("not a date (YYYY-MM-DD): \"", text, "\""));
  }
  int64_t days = day - kEpochDay;
  if (days < INT32_MIN || days > INT32_MAX) {
    return absl::InvalidArgumentError(StrCat("date out of range: \"", text, "\""));
  }
  return Date{static_cast<int32_t>(days)};
}

absl::StatusOr<Timestamp> ParseTimestamp(std::string_view text) {
  if (!text.empty() && (absl::ascii_isdigit(static_cast<unsigned char>(text[0])) || text[0] == '-') &&
      text.find_first_not_of("-0123456789") == std::string_view::npos) {
    PREDSTORE_ASSIGN_OR_RETURN(int64_t micros, ParseNumber<int64_t>(text, "timestamp (microseconds)"));
    return Timestamp{micros};
  }
  absl::Time time;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, ToAbsl(text), &time, &error)) {
    return absl::InvalidArgumentError(
        StrCat("not a timestamp (RFC 3339 or integer microseconds): \"", text, "\""));
  }
  if (time < absl::FromUnixMicros(INT64_MIN) || time > absl::FromUnixMicros(INT64_MAX)) {
    return absl::InvalidArgumentError(StrCat("timestamp out of range: \"", text, "\""));
  }
  return Timestamp{absl::ToUnixMicros(time)};
}

nlohmann::json ColumnToJson(const Column& column) {
  nlohmann::json json = {{"name", column.name}, {"type", std::string(ColumnTypeName(column.type))}};
  if (column.nullable) json["nullable"] = true;
  return json;
}

absl::StatusOr<Column> ColumnFromJson(const nlohmann::json& json) {
  if (!json.is_object() || !json.contains("name") || !json.contains("type") || !json["name"].is_string() ||
      !json["type"].is_string()) {
    return absl::DataLossError("schema: column entry needs string fields \"name\" and \"type\"");
  }
  PREDSTORE_ASSIGN_OR_RETURN(ColumnType type, ParseColumnType(json["type"].get<std::string>()));
  if (json.contains("nullable") && !json["nullable"].is_boolean()) {
    return absl::DataLossError("schema: column field \"nullable\" is not true or false");
  }
  const bool nullable = json.value("nullable", false);
  return Column{json["name"].get<std::string>(), type, nullable};
}

absl::StatusOr<std::vector<Column>> ColumnsFromJson(const nlohmann::json& json, const char* field) {
  std::vector<Column> columns;
  if (!json.contains(field)) return columns;
  if (!json[field].is_array()) return absl::DataLossError(StrCat("schema: \"", field, "\" is not a list"));
  for (const auto& entry : json[field]) {
    PREDSTORE_ASSIGN_OR_RETURN(Column column, ColumnFromJson(entry));
    columns.push_back(std::move(column));
  }
  return columns;
}

}  // namespace

std::string_view ColumnTypeName(ColumnType type) {
  switch (type) {
    case ColumnType::kInt64: return "int64";
    case ColumnType::kUint64: return "uint64";
    case ColumnType::kDate: return "date";
    case ColumnType::kTimestamp: return "timestamp";
    case ColumnType::kString: return "string";
    case ColumnType::kDouble: return "double";
    case ColumnType::kFloat: return "float";
  }
  return "?";
}

absl::StatusOr<ColumnType> ParseColumnType(std::string_view name) {
  for (ColumnType type : kAllTypes) {
    if (ColumnTypeName(type) == name) return type;
  }
  return absl::InvalidArgumentError(StrCat(
      "unknown column type \"", name, "\" (expected int64, uint64, date, timestamp, string, double or float)"));
}

bool IsKeyType(ColumnType type) {
  return type == ColumnType::kInt64 || type == ColumnType::kUint64 || type == ColumnType::kDate ||
         type == ColumnType::kTimestamp || type == ColumnType::kString;
}
bool IsValueType(ColumnType type) {
  return type == ColumnType::kDouble || type == ColumnType::kFloat || type == ColumnType::kInt64 ||
         type == ColumnType::kString;
}
bool IsIntegerLike(ColumnType type) { return IsKeyType(type) && type != ColumnType::kString; }

bool CellHasType(const Cell& cell, ColumnType type) {
  switch (type) {
    case ColumnType::kInt64: return std::holds_alternative<int64_t>(cell);
    case ColumnType::kUint64: return std::holds_alternative<uint64_t>(cell);
    case ColumnType::kDate: return std::holds_alternative<Date>(cell);
    case ColumnType::kTimestamp: return std::holds_alternative<Timestamp>(cell);
    case ColumnType::kString: return std::holds_alternative<std::string>(cell);
    case ColumnType::kDouble: return std::holds_alternative<double>(cell);
    case ColumnType::kFloat: return std::holds_alternative<float>(cell);
  }
  return false;
}

absl::Status CheckKeyLength(std::string_view text) {
  if (text.size() <= kMaxKeyStringBytes) return absl::OkStatus();
  return absl::InvalidArgumentError(
      StrCat("a key of ", text.size(), " bytes; keys are at most ", kMaxKeyStringBytes, " bytes"));
}

absl::StatusOr<Cell> ParseKeyCell(ColumnType type, std::string_view text) {
  PREDSTORE_RETURN_IF_ERROR(CheckKeyLength(text));
  return ParseCell(type, text);
}

bool IsNullText(const Column& column, std::string_view text) {
  if (!column.nullable) return false;
  if (column.type == ColumnType::kString) return false;  // "" is the empty string
  return text.empty() || ((column.type == ColumnType::kDouble || column.type == ColumnType::kFloat) &&
                          absl::EqualsIgnoreCase(ToAbsl(text), "nan"));
}

absl::StatusOr<Cell> ParseColumnCell(const Column& column, std::string_view text) {
  if (IsNullText(column, text)) return Null{};
  return ParseCell(column.type, text);
}

absl::StatusOr<Cell> ParseCell(ColumnType type, std::string_view text) {
  switch (type) {
    case ColumnType::kInt64: return ParseNumber<int64_t>(text, "int64");
    case ColumnType::kUint64: return ParseNumber<uint64_t>(text, "uint64");
    case ColumnType::kDouble: return ParseNumber<double>(text, "double");
    case ColumnType::kFloat: return ParseNumber<float>(text, "float");
    case ColumnType::kDate: return ParseDate(text);
    case ColumnType::kTimestamp: return ParseTimestamp(text);
    case ColumnType::kString: return std::string(text);
  }
  return absl::InternalError("unhandled column type");
}

CellView ViewOf(const Cell& cell) {
  return std::visit([](const auto& v) -> CellView {
    using T = std::decay_t<decltype(v)>;
    if constexpr (std::is_same_v<T, std::string>) {
      return std::string_view(v);
    } else {
      return v;
    }
  }, cell);
}

std::string FormatCell(const CellView& cell) {
  return std::visit([](const auto& v) -> std::string {
    using T = std::decay_t<decltype(v)>;
    if constexpr (std::is_same_v<T, std::string_view>) {
      return std::string(v);
    } else if constexpr (std::is_same_v<T, Null>) {
      return "null";
    } else if constexpr (std::is_same_v<T, Date>) {
      // YYYY-MM-DD with the year zero-padded (absl::FormatCivilTime is not),
      // so that ParseDate reads years 0-999 back.
      absl::CivilDay day = kEpochDay + v.days;
      return StrCat(absl::Dec(day.year(), absl::kZeroPad4), "-", absl::Dec(day.month(), absl::kZeroPad2), "-",
                    absl::Dec(day.day(), absl::kZeroPad2));
    } else if constexpr (std::is_same_v<T, Timestamp>) {
      return absl::FormatTime("%Y-%m-%d%ET%H:%M:%E*SZ", absl::FromUnixMicros(v.micros), absl::UTCTimeZone());
    } else if constexpr (std::is_floating_point_v<T>) {
      char buf[64];
      auto [ptr, ec] = std::to_chars(buf, buf + sizeof(buf), v);
      return std::string(buf, ptr);
    } else {
      return StrCat(v);
    }
  }, cell);
}

std::string_view KeyLayoutName(KeyLayout layout) {
  switch (layout) {
    case KeyLayout::kZOrder: return "zorder";
    case KeyLayout::kHilbert: return "hilbert";
    case KeyLayout::kLinear: return "linear";
  }
  return "?";
}

absl::StatusOr<KeyLayout> ParseKeyLayout(std::string_view name) {
  if (name == "zorder") return KeyLayout::kZOrder;
  if (name == "hilbert") return KeyLayout::kHilbert;
  if (name == "linear") return KeyLayout::kLinear;
  return absl::InvalidArgumentError(StrCat("unknown key layout \"", name, "\" (expected zorder, hilbert or linear)"));
}

std::string_view KeyNormalizationName(KeyNormalization normalization) {
  switch (normalization) {
    case KeyNormalization::kNone: return "none";
    case KeyNormalization::kMinMax: return "minmax";
    case KeyNormalization::kQuantile: return "quantile";
  }
  return "?";
}

absl::StatusOr<KeyNormalization> ParseKeyNormalization(std::string_view name) {
  if (name == "none") return KeyNormalization::kNone;
  if (name == "minmax") return KeyNormalization::kMinMax;
  if (name == "quantile") return KeyNormalization::kQuantile;
  return absl::InvalidArgumentError(
      StrCat("unknown key normalization \"", name, "\" (expected none, minmax or quantile)"));
}

absl::StatusOr<Schema> Schema::Create(std::vector<Column> key_columns, std::vector<Column> value_columns,
                                      std::optional<Column> partition_column, KeyLayout layout,
                                      KeyNormalization normalization) {
  if (key_columns.empty()) return absl::InvalidArgumentError("schema: at least one key column is required");
  if (key_columns.size() > 16) return absl::InvalidArgumentError("schema: at most 16 key columns");
  if (value_columns.empty()) return absl::InvalidArgumentError("schema: at least one value column is required");
  std::set<std::string, std::less<>> names;
  auto check = [&](const Column& column, const char* role, bool key) -> absl::Status {
    if (!ValidName(column.name)) {
      return absl::InvalidArgumentError(
          StrCat("schema: ", role, " column name \"", column.name, "\" must be 1-128 of [A-Za-z0-9_]"));
    }
    if (!names.insert(column.name).second) {
      return absl::InvalidArgumentError(StrCat("schema: column \"", column.name, "\" appears twice"));
    }
    if (key && column.nullable) {
      return absl::InvalidArgumentError(
          StrCat("schema: ", role, " column \"", column.name, "\" cannot be nullable; only value columns may"));
    }
    if (key ? !IsKeyType(column.type) : !IsValueType(column.type)) {
      return absl::InvalidArgumentError(StrCat(
          "schema: ", role, " column \"", column.name, "\" cannot have type ", ColumnTypeName(column.type),
          key ? " (key types: int64, uint64, date, timestamp, string)" : " (value types: double, float, int64, string)"));
    }
    return absl::OkStatus();
  };
  if (partition_column) PREDSTORE_RETURN_IF_ERROR(check(*partition_column, "partition", true));
  for (const Column& c : key_columns) PREDSTORE_RETURN_IF_ERROR(check(c, "key", true));
  for (const Column& c : value_columns) PREDSTORE_RETURN_IF_ERROR(check(c, "value", false));
  const auto curve_columns = std::count_if(key_columns.begin(), key_columns.end(),
                                           [](const Column& c) { return IsIntegerLike(c.type); });
  if (normalization != KeyNormalization::kNone && (layout == KeyLayout::kLinear || curve_columns == 0)) {
    return absl::InvalidArgumentError(StrCat("schema: normalization ", KeyNormalizationName(normalization),
                                             " needs the zorder or hilbert layout and an integer-like key column"));
  }
  if (layout == KeyLayout::kHilbert && curve_columns > 8) {
    return absl::InvalidArgumentError(
        StrCat("schema: the hilbert layout takes at most 8 integer-like key columns, not ", curve_columns));
  }

  Schema schema;
  schema.key_columns_ = std::move(key_columns);
  schema.value_columns_ = std::move(value_columns);
  schema.partition_column_ = std::move(partition_column);
  schema.layout_ = layout;
  schema.normalization_ = normalization;
  if (schema.partition_column_) schema.lookup_columns_.push_back(*schema.partition_column_);
  schema.lookup_columns_.insert(schema.lookup_columns_.end(), schema.key_columns_.begin(), schema.key_columns_.end());
  schema.input_columns_ = schema.lookup_columns_;
  schema.input_columns_.insert(schema.input_columns_.end(), schema.value_columns_.begin(),
                               schema.value_columns_.end());
  schema.nullable_value_columns_ = static_cast<size_t>(std::count_if(
      schema.value_columns_.begin(), schema.value_columns_.end(), [](const Column& c) { return c.nullable; }));
  return schema;
}

absl::StatusOr<std::vector<Column>> Schema::ParseColumnList(std::string_view spec) {
  std::vector<Column> columns;
  for (absl::string_view item : absl::StrSplit(ToAbsl(spec), ',', absl::SkipWhitespace())) {
    item = absl::StripAsciiWhitespace(item);
    std::vector<absl::string_view> parts = absl::StrSplit(item, absl::MaxSplits(':', 1));
    if (parts.size() != 2) {
      return absl::InvalidArgumentError(StrCat("column \"", item, "\" must be written name:type"));
    }
    absl::string_view type_name = absl::StripAsciiWhitespace(parts[1]);
    const bool nullable = absl::ConsumeSuffix(&type_name, "?");
    PREDSTORE_ASSIGN_OR_RETURN(ColumnType type, ParseColumnType(FromAbsl(type_name)));
    columns.push_back(Column{std::string(FromAbsl(absl::StripAsciiWhitespace(parts[0]))), type, nullable});
  }
  return columns;
}

std::string Schema::ToJson() const {
  nlohmann::json json;
  json["layout"] = std::string(KeyLayoutName(layout_));
  if (normalization_ != KeyNormalization::kNone) json["normalization"] = std::string(KeyNormalizationName(normalization_));
  json["key_columns"] = nlohmann::json::array();
  for (const Column& c : key_columns_) json["key_columns"].push_back(ColumnToJson(c));
  json["value_columns"] = nlohmann::json::array();
  for (const Column& c : value_columns_) json["value_columns"].push_back(ColumnToJson(c));
  if (partition_column_) json["partition_column"] = ColumnToJson(*partition_column_);
  return json.dump();
}

absl::StatusOr<Schema> Schema::FromJson(std::string_view text) {
  nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) return absl::DataLossError("schema: not a JSON object");
  PREDSTORE_ASSIGN_OR_RETURN(std::vector<Column> keys, ColumnsFromJson(json, "key_columns"));
  PREDSTORE_ASSIGN_OR_RETURN(std::vector<Column> values, ColumnsFromJson(json, "value_columns"));
  std::optional<Column> partition;
  if (json.contains("partition_column")) {
    PREDSTORE_ASSIGN_OR_RETURN(partition, ColumnFromJson(json["partition_column"]));
  }
  KeyLayout layout = KeyLayout::kZOrder;
  if (json.contains("layout") && json["layout"].is_string()) {
    PREDSTORE_ASSIGN_OR_RETURN(layout, ParseKeyLayout(json["layout"].get<std::string>()));
  }
  KeyNormalization normalization = KeyNormalization::kNone;
  if (json.contains("normalization") && json["normalization"].is_string()) {
    PREDSTORE_ASSIGN_OR_RETURN(normalization, ParseKeyNormalization(json["normalization"].get<std::string>()));
  }
  return Create(std::move(keys), std::move(values), std::move(partition), layout, normalization);
}

int Schema::InputColumnIndex(std::string_view name) const {
  for (size_t i = 0; i < input_columns_.size(); ++i) {
    if (input_columns_[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

std::string Schema::Describe() const {
  auto list = [](const std::vector<Column>& columns) {
    return absl::StrJoin(columns, ", ", [](std::string* out, const Column& c) {
      StrAppend(out, c.name, ":", ColumnTypeName(c.type), c.nullable ? "?" : "");
    });
  };
  std::string text = StrCat(list(key_columns_), " -> ", list(value_columns_));
  if (partition_column_) {
    StrAppend(&text, " (partition ", partition_column_->name, ":", ColumnTypeName(partition_column_->type), ")");
  }
  StrAppend(&text, " [", KeyLayoutName(layout_));
  if (normalization_ != KeyNormalization::kNone) StrAppend(&text, ", ", KeyNormalizationName(normalization_));
  StrAppend(&text, "]");
  return text;
}

bool Schema::operator==(const Schema& other) const {
  return key_columns_ == other.key_columns_ && value_columns_ == other.value_columns_ &&
         partition_column_ == other.partition_column_ && layout_ == other.layout_ &&
         normalization_ == other.normalization_;
}

}  // namespace predstore
