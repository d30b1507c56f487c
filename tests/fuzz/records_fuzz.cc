// libFuzzer target: any bytes as a CSV file and as a JSON Lines file, read
// record by record as a load reads them, against two schemas (every key and
// value type, a partition column, nullable values; once with a column the
// file's path gives and extra columns ignored), and every record encoded
// into a row. Reading must end in records or an error, never a crash
// (AddressSanitizer, UBSan); beyond that, every record has one field per
// input column, every present field's line and column point at it in the
// input (an unquoted CSV field, a JSON number or literal is the bytes there;
// a quoted field or a JSON string starts with its quote there), a file read
// to its end was read whole, and a row that encodes decodes back to its
// cells (key and value codecs). Run by tests/fuzz/run_fuzz.sh.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/ingest/record_reader.h"
#include "core/ingest/row_encoder.h"

namespace {

using predstore::Cell;
using predstore::Column;
using predstore::ColumnType;
using predstore::FieldText;
using predstore::Schema;

// One table of each shape: keys of every type over the three layouts, values
// of every type, nullable ones too.
const Schema& IdSchema() {
  static const Schema schema = *Schema::Create(
      {{"id", ColumnType::kInt64}, {"name", ColumnType::kString}},
      {{"score", ColumnType::kDouble}, {"rank", ColumnType::kInt64, true}, {"note", ColumnType::kString, true}},
      std::nullopt, predstore::KeyLayout::kZOrder);
  return schema;
}
const Schema& PartitionedSchema() {
  static const Schema schema =
      *Schema::Create({{"store", ColumnType::kUint64}, {"at", ColumnType::kTimestamp}, {"item", ColumnType::kString}},
                      {{"p", ColumnType::kFloat, true}, {"q", ColumnType::kDouble, true}},
                      Column{"day", ColumnType::kDate}, predstore::KeyLayout::kHilbert);
  return schema;
}
const Schema& LinearSchema() {
  static const Schema schema =
      *Schema::Create({{"day", ColumnType::kDate}, {"id", ColumnType::kInt64}}, {{"score", ColumnType::kDouble}},
                      std::nullopt, predstore::KeyLayout::kLinear);
  return schema;
}

// Byte offset of each line's start (line 1 at index 0).
std::vector<size_t> LineStarts(std::string_view input) {
  std::vector<size_t> starts = {0};
  for (size_t i = 0; i < input.size(); ++i) {
    if (input[i] == '\n') starts.push_back(i + 1);
  }
  return starts;
}

// Aborts unless `field` sits in `input` where its line and column say.
void CheckPosition(std::string_view input, const std::vector<size_t>& line_starts, const FieldText& field) {
  if (!field.present || field.column == 0) return;  // absent, or given by the path
  if (field.line == 0 || field.line > line_starts.size()) std::abort();
  const size_t at = line_starts[field.line - 1] + field.column - 1;
  if (at >= input.size()) std::abort();
  const std::string_view there = input.substr(at);
  switch (field.kind) {
    case FieldText::Kind::kText:
      if (there[0] == '"') return;  // quoted: the text is unescaped
      if (!there.starts_with(field.text)) std::abort();
      return;
    case FieldText::Kind::kJsonString:
      if (there[0] != '"') std::abort();
      return;
    case FieldText::Kind::kJsonNumber:
    case FieldText::Kind::kJsonOther:
      if (!there.starts_with(field.text)) std::abort();
      return;
    default:
      std::abort();  // typed kinds come from Parquet only
  }
}

// Reads every record of `path`, encoding each; checks the invariants above.
void ReadAll(const std::string& path, std::string_view input, predstore::InputFormat format, const Schema& schema,
             const predstore::ReadOptions& options) {
  auto reader = predstore::OpenRecordReader(path, format, schema, options);
  if (!reader.ok()) return;
  const std::vector<size_t> line_starts = LineStarts(input);
  predstore::RowEncoder encoder(schema);
  const size_t lookup_count = schema.lookup_columns().size();
  std::string key, value;
  uint64_t last_line = 0;
  while (true) {
    absl::StatusOr<bool> next = (*reader)->Next();
    if (!next.ok()) return;
    if (!*next) break;
    if ((*reader)->line() <= last_line) std::abort();
    last_line = (*reader)->line();
    const std::span<const FieldText> fields = (*reader)->fields();
    if (fields.size() != schema.input_columns().size()) std::abort();
    for (const FieldText& field : fields) CheckPosition(input, line_starts, field);
    if (!encoder.Encode(**reader, &key, &value).ok()) continue;
    const std::span<const Cell> cells = encoder.cells();
    absl::StatusOr<std::vector<Cell>> keys = encoder.key_codec().Decode(key);
    absl::StatusOr<std::vector<Cell>> values = encoder.value_codec().Decode(value);
    if (!keys.ok() || !values.ok()) std::abort();
    if (!std::equal(keys->begin(), keys->end(), cells.begin(), cells.begin() + lookup_count)) std::abort();
    if (!std::equal(values->begin(), values->end(), cells.begin() + lookup_count, cells.end())) std::abort();
  }
  if ((*reader)->bytes_read() != (*reader)->total_bytes() || (*reader)->total_bytes() != input.size()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The readers map files; an in-memory file stands in for one.
  static const int fd = memfd_create("records_fuzz", 0);
  if (fd < 0 || ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) return 0;
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  predstore::ReadOptions given;
  given.ignore_extra_columns = true;
  given.column_values = {{"day", "2026-01-02"}, {"q", std::nullopt}};
  for (predstore::InputFormat format : {predstore::InputFormat::kCsv, predstore::InputFormat::kJsonLines}) {
    ReadAll(path, input, format, IdSchema(), {});
    ReadAll(path, input, format, PartitionedSchema(), {});
    ReadAll(path, input, format, PartitionedSchema(), given);
    ReadAll(path, input, format, LinearSchema(), given);
  }
  return 0;
}
