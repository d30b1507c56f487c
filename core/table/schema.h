// Table schemas: named, typed key, value and partition columns, a key layout,
// and the text forms of cells used by files, flags and the CLI.
// Schema is an immutable value type; concurrent reads are safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"

namespace predstore {

enum class ColumnType { kInt64, kUint64, kDate, kTimestamp, kString, kDouble, kFloat };

// Days since 1970-01-01 (proleptic Gregorian).
struct Date {
  int32_t days = 0;
  auto operator<=>(const Date&) const = default;
};
// Microseconds since 1970-01-01T00:00:00Z.
struct Timestamp {
  int64_t micros = 0;
  auto operator<=>(const Timestamp&) const = default;
};

// The value of a nullable value column that has none.
struct Null {
  auto operator<=>(const Null&) const = default;
};

// One typed value; the alternative matches the column's type (or is Null,
// in a nullable value column only).
using Cell = std::variant<int64_t, uint64_t, double, float, std::string, Date, Timestamp, Null>;
// A non-owning Cell; the string view lives as long as the buffer it was read from.
using CellView = std::variant<int64_t, uint64_t, double, float, std::string_view, Date, Timestamp, Null>;

// "int64", "uint64", "date", "timestamp", "string", "double", "float".
std::string_view ColumnTypeName(ColumnType type);
absl::StatusOr<ColumnType> ParseColumnType(std::string_view name);
bool IsKeyType(ColumnType type);    // int64, uint64, date, timestamp, string
bool IsValueType(ColumnType type);  // double, float, int64, string
// Key types interleaved into the Morton part of a z-key (all but string).
bool IsIntegerLike(ColumnType type);
// The type a Cell alternative stands for, and whether `cell` holds that type.
bool CellHasType(const Cell& cell, ColumnType type);

// Parses the text form of a cell: decimal integers, finite decimal floats,
// dates as YYYY-MM-DD, timestamps as RFC 3339 (e.g. 2026-11-26T10:00:00Z,
// fractional seconds and offsets allowed) or integer microseconds since the
// epoch, strings as is. Returns kInvalidArgument with a short reason (no
// position: the caller knows it).
absl::StatusOr<Cell> ParseCell(ColumnType type, std::string_view text);
// The canonical text form, which ParseCell reads back to the same cell
// (for dates: those of years -999 to 9999, which YYYY-MM-DD can write);
// "null" for Null.
std::string FormatCell(const CellView& cell);
CellView ViewOf(const Cell& cell);

struct Column {
  std::string name;
  ColumnType type = ColumnType::kInt64;
  // Value columns only: the column may hold Null (written "name:type?").
  bool nullable = false;
  bool operator==(const Column&) const = default;
};

// The longest string a key or partition column takes, in bytes: a key must
// fit any request that names it (gRPC's default message limit is 4 MiB).
inline constexpr size_t kMaxKeyStringBytes = 1024;
// kInvalidArgument "a key of N bytes; keys are at most 1024 bytes" for a
// longer key or partition value (no position: the caller knows it).
absl::Status CheckKeyLength(std::string_view text);
// ParseCell for a key or partition column, CheckKeyLength included.
absl::StatusOr<Cell> ParseKeyCell(ColumnType type, std::string_view text);

// Whether `text` is a file's or flag's way to write no value in a nullable
// `column`: an empty field, or "NaN" (any case; Spark's NaN) in a float or
// double column. Never in a string column (there "" is the empty string;
// only an absent field is null) nor in a column that is not nullable.
bool IsNullText(const Column& column, std::string_view text);
// The cell of `text` in `column`: Null where IsNullText, else ParseCell.
absl::StatusOr<Cell> ParseColumnCell(const Column& column, std::string_view text);

// How key columns become a RocksDB key. See key_codec.h for the byte format.
// kZOrder interleaves the integer-like key columns (Morton order); kHilbert
// orders them along a Hilbert curve; kLinear concatenates the key columns
// in schema order (the plain baseline).
enum class KeyLayout { kZOrder, kHilbert, kLinear };
std::string_view KeyLayoutName(KeyLayout layout);
absl::StatusOr<KeyLayout> ParseKeyLayout(std::string_view name);

// How the curve layouts (zorder, hilbert) scale each integer-like key column
// before placing it on the curve (see key_mapping.h): kNone uses the raw
// values; kMinMax maps each column's observed min..max onto 16 bits; kQuantile
// maps equal-frequency buckets of its values onto 16 bits.
enum class KeyNormalization { kNone, kMinMax, kQuantile };
std::string_view KeyNormalizationName(KeyNormalization normalization);
absl::StatusOr<KeyNormalization> ParseKeyNormalization(std::string_view name);

class Schema {
 public:
  // Validates and builds a schema: at least one key column; names unique,
  // non-empty, [A-Za-z0-9_] only; key and partition columns of key types,
  // value columns of value types; only value columns nullable;
  // normalization only with a curve layout that has integer-like key
  // columns; hilbert with at most 8 of them.
  // kInvalidArgument names the bad column or setting.
  static absl::StatusOr<Schema> Create(std::vector<Column> key_columns,
                                       std::vector<Column> value_columns,
                                       std::optional<Column> partition_column,
                                       KeyLayout layout = KeyLayout::kZOrder,
                                       KeyNormalization normalization = KeyNormalization::kNone);

  // Parses "name:type[,name:type...]" as used by loader flags; a type
  // ending in '?' ("f5:double?") makes the column nullable.
  static absl::StatusOr<std::vector<Column>> ParseColumnList(std::string_view spec);

  // The persisted JSON form (stored in the table manifest).
  std::string ToJson() const;
  static absl::StatusOr<Schema> FromJson(std::string_view json);

  const std::vector<Column>& key_columns() const { return key_columns_; }
  const std::vector<Column>& value_columns() const { return value_columns_; }
  const std::optional<Column>& partition_column() const { return partition_column_; }
  KeyLayout layout() const { return layout_; }
  KeyNormalization normalization() const { return normalization_; }

  // The columns a lookup key names: the partition column (if any) first,
  // then the key columns in schema order.
  const std::vector<Column>& lookup_columns() const { return lookup_columns_; }
  // Every column of an input row: lookup_columns() then value_columns().
  const std::vector<Column>& input_columns() const { return input_columns_; }
  // Index into input_columns(), or -1.
  int InputColumnIndex(std::string_view name) const;
  // How many value columns are nullable.
  size_t nullable_value_columns() const { return nullable_value_columns_; }

  // "store_id:int64, item_id:int64 -> score:double, f5:double? (partition date:date)".
  std::string Describe() const;

  bool operator==(const Schema& other) const;

 // An empty schema with no columns, to be assigned from Create or FromJson.
  Schema() = default;

 private:
  std::vector<Column> key_columns_;
  std::vector<Column> value_columns_;
  std::optional<Column> partition_column_;
  KeyLayout layout_ = KeyLayout::kZOrder;
  KeyNormalization normalization_ = KeyNormalization::kNone;
  std::vector<Column> lookup_columns_;
  std::vector<Column> input_columns_;
  size_t nullable_value_columns_ = 0;
};

}  // namespace predstore
