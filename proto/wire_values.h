// Typed values between core cells, their text form and the predstore.v1
// wire. Used by the client library, the CLI and the server, so that every
// side converts the same way. Stateless.
#pragma once

#include <optional>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/table/schema.h"
#include "predstore/v1/predstore.pb.h"

namespace predstore {

// gRPC metadata a client may send instead of a request's min_version
// (Lookup, BatchLookup, Scan): the decimal version; the higher of the two
// applies. It spares the client library a copy of each request.
inline constexpr char kMinVersionMetadata[] = "x-predstore-min-version";

v1::ColumnType ColumnTypeToWire(ColumnType type);
// kInvalidArgument for COLUMN_TYPE_UNSPECIFIED or an unknown number.
absl::StatusOr<ColumnType> ColumnTypeFromWire(v1::ColumnType type);

// The cell for `column` from a wire value. kInvalidArgument naming the column
// when the value's kind does not fit the column's type or is out of range
// (an int64 fits a uint64 column when not negative, and the reverse), or is
// not finite (the loader's rule). In a nullable column an unset value, or a
// NaN double or float, is Null.
absl::StatusOr<Cell> CellFromWire(const v1::Value& value, const Column& column);
// Null leaves `out` unset.
void CellToWire(const CellView& cell, v1::Value* out);

// A model feature's value as a view into `value` (booleans become 0 or 1);
// nullopt for an unset value (an absent feature).
std::optional<CellView> FeatureViewFromWire(const v1::Value& value);

// The lookup columns (partition first, then keys) and the value columns of
// a table, as core columns. kInvalidArgument for an unknown column type.
absl::StatusOr<std::vector<Column>> LookupColumns(const v1::TableInfo& info);
absl::StatusOr<std::vector<Column>> ValueColumns(const v1::TableInfo& info);

// The core schema of a table's wire schema. kInvalidArgument for an unknown
// column type or layout, or a schema Schema::Create rejects.
absl::StatusOr<Schema> SchemaFromWire(const v1::TableSchema& schema);

// The wire value's text form (FormatCell); "null" for an unset value.
std::string WireValueToText(const v1::Value& value);

}  // namespace predstore
