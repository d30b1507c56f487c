// The Parquet record reader: a RecordReader over a flat Parquet file
// (core/parquet), which maps the file's columns to the schema's input
// columns by name and checks their types when it opens, then streams the
// file row group by row group and page by page. Fields are typed
// (FieldText::kInt64 ...), so no value is printed and parsed again.
//
// Type mapping (file → column), anything else refused at open naming the
// column and both types:
// - int64: BOOLEAN (0/1), INT32 and INT64 (signed or unsigned; values out
//   of range are row errors);
// - uint64: the same, negative values being row errors;
// - double: DOUBLE, FLOAT, integers a double holds exactly, and DECIMAL
//   only with ReadOptions::decimal_as_double;
// - float: FLOAT; date: INT32 (DATE);
// - timestamp: INT64 (TIMESTAMP in millis, micros or nanos; nanos must be
//   whole microseconds) and INT96 (Spark's legacy timestamps); a
//   timestamp that is not UTC-adjusted is read as if it were UTC;
// - string: BYTE_ARRAY (STRING, ENUM, JSON or unannotated; valid UTF-8).
// A file column the table lacks is refused; a table column the file lacks
// is refused unless it is nullable (then null in every row). A null in a
// column that is not nullable is a row error.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/ingest/record_reader.h"

namespace predstore {

// A table schema taken from a Parquet file, to create a table from it: the
// columns named by `key_names` (and `partition_name`, if not empty) become
// the key (partition) columns, every other column a value column, each of
// the type its values map to above: integers int64 (uint64 for unsigned
// keys), BOOLEAN int64, FLOAT float, DOUBLE double, BYTE_ARRAY string, DATE
// date and timestamps timestamp (keys only), DECIMAL double (only with
// decimal_as_double). Optional file columns become nullable value columns
// (key columns cannot be nullable: a null key is a row error). A file
// column no table column can hold is kInvalidArgument naming it. Columns
// the path gives (options.column_values, e.g. day=2026-11-26/) are typed
// from their text as Spark types them: an integer int64, YYYY-MM-DD date,
// anything else string (as values: nullable).
absl::StatusOr<Schema> InferParquetSchema(const std::filesystem::path& path, const std::vector<std::string>& key_names,
                                          const std::string& partition_name, KeyLayout layout,
                                          KeyNormalization normalization, const ReadOptions& options);

absl::StatusOr<std::unique_ptr<RecordReader>> OpenParquetRecordReader(const std::filesystem::path& path,
                                                                      const Schema& schema,
                                                                      const ReadOptions& options);

}  // namespace predstore
