// Readers of prediction files: CSV (RFC 4180 with a header row), JSON
// Lines (one object per line) and Parquet (flat tables; parquet_reader.h).
// A reader yields records whose fields are aligned to a schema's input
// columns and remembers where each field sits, so that every error names
// file:line:column (for Parquet: file and row). One reader is used by one
// thread at a time.
//
// Strictness (each violation is a kInvalidArgument naming file:line:column):
// an empty file or a file with no data rows; a last line without a newline
// (taken as truncation); invalid UTF-8; CSV: a header naming an unknown,
// repeated or missing column, a row with the wrong number of fields, an
// unterminated quoted field or a stray quote; JSON Lines: a line that is not
// one JSON object, an unknown or repeated field.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "core/table/schema.h"

namespace predstore {

enum class InputFormat { kCsv, kJsonLines, kParquet };

// "csv", "jsonl", "parquet". Or from a file extension: .csv, .jsonl,
// .ndjson, .json, .parquet.
absl::StatusOr<InputFormat> ParseInputFormat(std::string_view name);
absl::StatusOr<InputFormat> InputFormatOfPath(const std::filesystem::path& path);

// One field of the current record, for one schema input column.
struct FieldText {
  enum class Kind : uint8_t {
    kText, kJsonString, kJsonNumber, kJsonOther,
    // Typed values of a binary format (Parquet): `text` holds the value's
    // bytes in host order: kInt64, kUint64, kDouble and kTimestamp (micros
    // since the epoch) 8 bytes, kFloat and kDate (days since the epoch) 4,
    // kBytes a string's bytes.
    kInt64, kUint64, kDouble, kFloat, kDate, kTimestamp, kBytes,
    // A value the reader could not convert (e.g. a decimal it may not read
    // as double); `text` says why.
    kInvalid,
  };
  // The field's text (unescaped). Valid until the next call to Next().
  std::string_view text;
  // False when the field is absent: an empty unquoted CSV field, a JSON null
  // or a missing JSON field.
  bool present = false;
  // kText for CSV; the JSON value's kind; a typed kind for Parquet.
  Kind kind = Kind::kText;

  bool typed() const { return kind >= Kind::kInt64; }
  // 1-based line and byte column where the field starts (for JSON absent
  // fields: where the object starts). Typed fields: the 1-based row of the
  // file and the 1-based column of the file's schema. Column 0: a value
  // the file's path gives (ReadOptions::column_values).
  uint64_t line = 0;
  uint32_t column = 0;
  // True in every record when the CSV header lacks the column, which only a
  // nullable column may (present is then false too).
  bool column_absent = false;
};

class RecordReader {
 public:
  virtual ~RecordReader() = default;

  // Advances to the next record: true when one is ready, false at the end of
  // the input. Errors are kInvalidArgument naming file:line:column.
  virtual absl::StatusOr<bool> Next() = 0;

  // The current record, one field per schema.input_columns().
  virtual std::span<const FieldText> fields() const = 0;
  // 1-based line where the current record starts.
  virtual uint64_t line() const = 0;

  const std::string& path() const { return path_; }
  // Bytes of the file consumed so far, and its size (for progress).
  virtual uint64_t bytes_read() const = 0;
  virtual uint64_t total_bytes() const = 0;
  // With ReadOptions::ignore_extra_columns: the names of the file's columns
  // the reader skips (for JSON Lines, those seen so far).
  virtual std::vector<std::string> ignored_columns() const { return {}; }

 protected:
  explicit RecordReader(std::string path) : path_(std::move(path)) {}

 private:
  std::string path_;
};

// Where `field` of a record of `path` sits, for messages: "path:line:column",
// or for a typed field or one the path gives "path: row N".
std::string FieldPosition(std::string_view path, const FieldText& field);

struct ReadOptions {
  // Parquet DECIMAL columns may be read into double columns (rounded to the
  // nearest double); otherwise they are refused.
  bool decimal_as_double = false;
  // Columns whose value the file's path gives (a Hive partition folder,
  // a Delta table's partitionValues): name → text, the same in every row
  // (nullopt: null). The file must not hold them too.
  std::vector<std::pair<std::string, std::optional<std::string>>> column_values;
  // File columns the table lacks are skipped instead of refused.
  bool ignore_extra_columns = false;
  // The name messages give the file (e.g. the compressed original of a
  // decompressed copy); empty: its path.
  std::string source_name;
};

// Opens `path` for reading records of `schema` (which must outlive the
// reader). The CSV header (the Parquet footer) is read and checked here.
// kNotFound when the file does not exist; kInvalidArgument for the defects
// above.
absl::StatusOr<std::unique_ptr<RecordReader>> OpenRecordReader(const std::filesystem::path& path,
                                                               InputFormat format, const Schema& schema,
                                                               const ReadOptions& options = {});

}  // namespace predstore
