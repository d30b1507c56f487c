// RowEncoder validates one record against a schema and produces the row's
// cells, or its RocksDB key and value. The one validation of prediction rows:
// batch loads encode them, the folder stream source sends the cells. One
// encoder per thread.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/ingest/record_reader.h"
#include "core/table/key_codec.h"
#include "core/table/value_codec.h"

namespace predstore {

// The cell of one field of a record in `column`, a key or partition column
// when `is_key`: text is parsed (ParseKeyCell / ParseColumnCell), a JSON
// value must be of a kind that can hold the column's type, a typed value
// is converted only when exact (an integer into a double column only if
// the double holds it exactly; a negative integer never into uint64). In a
// nullable column a missing field, an empty one, a JSON null and NaN are
// Null. kInvalidArgument with a short reason (the caller adds where).
absl::StatusOr<Cell> FieldCell(const FieldText& field, const Column& column, bool is_key);

class RowEncoder {
 public:
  // `schema` must outlive the encoder.
  explicit RowEncoder(const Schema& schema);

  // Replaces `key` and `value` with the encoding of the reader's current
  // record. kInvalidArgument "file:line:column: column "name": reason" for a
  // missing field, a JSON value of the wrong kind, or text that does not
  // parse as the column's type (including out-of-range and non-finite). In
  // a nullable column, a missing field, an empty one, a JSON null and (for
  // float and double) the text NaN are Null.
  absl::Status Encode(const RecordReader& reader, std::string* key, std::string* value);

  // Validates the reader's current record into cells(): the lookup cells,
  // then the value cells. Errors as Encode's.
  absl::Status Parse(const RecordReader& reader);

  // As above, for a record's fields (one per schema input column) read
  // from the file `path`.
  absl::Status Encode(std::span<const FieldText> fields, std::string_view path, std::string* key, std::string* value);
  absl::Status Parse(std::span<const FieldText> fields, std::string_view path);
  // The cells of the last record Parse (or Encode) accepted.
  std::span<const Cell> cells() const { return cells_; }

  const KeyCodec& key_codec() const { return key_codec_; }
  const ValueCodec& value_codec() const { return value_codec_; }

 private:
  const Schema& schema_;
  KeyCodec key_codec_;
  ValueCodec value_codec_;
  std::vector<Cell> cells_;  // reused: lookup cells then value cells
};

}  // namespace predstore
