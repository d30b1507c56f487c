// Readers of prediction files: CSV (RFC 4180 with a header row) and JSON
// Lines (one object per line). A reader yields records whose fields are
// aligned to a schema's input columns and remembers where each field sits,
// so that every error names file:line:column. One reader is used by one
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
#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/table/schema.h"

namespace predstore {

enum class InputFormat { kCsv, kJsonLines };

// "csv", "jsonl". Or from a file extension: .csv, .jsonl, .ndjson, .json.
absl::StatusOr<InputFormat> ParseInputFormat(std::string_view name);
absl::StatusOr<InputFormat> InputFormatOfPath(const std::filesystem::path& path);

// One field of the current record, for one schema input column.
struct FieldText {
  enum class Kind : uint8_t { kText, kJsonString, kJsonNumber, kJsonOther };
  // The field's text (unescaped). Valid until the next call to Next().
  std::string_view text;
  // False when the field is absent: an empty unquoted CSV field, a JSON null
  // or a missing JSON field.
  bool present = false;
  // kText for CSV; the JSON value's kind otherwise.
  Kind kind = Kind::kText;
  // 1-based line and byte column where the field starts (for JSON absent
  // fields: where the object starts).
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

 protected:
  explicit RecordReader(std::string path) : path_(std::move(path)) {}

 private:
  std::string path_;
};

// Opens `path` for reading records of `schema` (which must outlive the
// reader). The CSV header is read and checked here. kNotFound when the file
// does not exist; kInvalidArgument for the defects above.
absl::StatusOr<std::unique_ptr<RecordReader>> OpenRecordReader(const std::filesystem::path& path,
                                                               InputFormat format, const Schema& schema);

}  // namespace predstore
