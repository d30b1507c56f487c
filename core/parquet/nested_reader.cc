#include "core/parquet/nested_reader.h"

#include <cassert>
#include <cstring>
#include <limits>

#include "core/base/status_macros.h"
#include "core/base/strings.h"
#include "core/parquet/column_reader.h"

namespace predstore::parquet {

absl::StatusOr<NestedLeafChunk> NestedLeafChunk::Read(const ParquetFile& file, int row_group, int column) {
  NestedLeafChunk chunk;
  const LeafColumn& leaf = file.columns()[static_cast<size_t>(column)];
  chunk.column_ = &leaf;
  chunk.values_.Reset(leaf.type, leaf.type_length);

  // The level at which each node of the path is defined, and the one at
  // which the repeated node (if exactly one) has an element.
  const auto& schema = file.metadata().schema;
  int level = 0;
  int repeated = 0;
  for (int node : leaf.schema_path) {
    const SchemaElement& element = schema[static_cast<size_t>(node)];
    if (element.repetition && *element.repetition != Repetition::kRequired) ++level;
    if (element.repetition == Repetition::kRepeated) {
      ++repeated;
      chunk.element_level_ = level;
    }
    chunk.defined_level_.push_back(level);
  }
  if (repeated != 1) chunk.element_level_ = -1;

  const int64_t expected_rows = file.metadata().row_groups[static_cast<size_t>(row_group)].num_rows;
  const uint16_t max_definition = static_cast<uint16_t>(leaf.max_definition_level);
  const bool repeated_leaf = leaf.max_repetition_level > 0;
  ColumnChunkReader reader(file, row_group, column);
  while (true) {
    PREDSTORE_ASSIGN_OR_RETURN(bool more, reader.NextPage());
    if (!more) break;
    size_t value = 0;
    for (size_t i = 0; i < reader.rows(); ++i) {
      const uint16_t definition = leaf.optional ? reader.definition_level(i) : max_definition;
      const uint16_t repetition = reader.repetition_level(i);
      if (repetition == 0) chunk.row_starts_.push_back(chunk.def_levels_.size());
      if (chunk.row_starts_.empty()) {
        return absl::InvalidArgumentError(
            StrCat(reader.Where(), "the column chunk starts with repetition level ", repetition, ", not 0"));
      }
      chunk.def_levels_.push_back(definition);
      if (repeated_leaf) chunk.rep_levels_.push_back(repetition);
      if (definition != max_definition) {
        chunk.value_index_.push_back(-1);
        continue;
      }
      chunk.value_index_.push_back(static_cast<int64_t>(chunk.values_.size()));
      if (leaf.type == PhysicalType::kByteArray) {
        std::string_view bytes = reader.bytes_at(value);
        if (chunk.values_.bytes.size() + bytes.size() > std::numeric_limits<uint32_t>::max()) {
          return absl::InvalidArgumentError(
              StrCat(reader.Where(), "the column chunk holds more than 4 GiB of values; not supported"));
        }
        chunk.values_.bytes.append(bytes);
        chunk.values_.ends.push_back(static_cast<uint32_t>(chunk.values_.bytes.size()));
      } else {
        chunk.values_.fixed.append(reader.fixed_at(value), chunk.values_.width);
      }
      ++value;
    }
  }
  if (static_cast<int64_t>(chunk.row_starts_.size()) != expected_rows) {
    return absl::InvalidArgumentError(StrCat(file.path(), ": column \"", leaf.name, "\", row group ", row_group,
                                             ": the levels hold ", chunk.row_starts_.size(), " rows; the row group has ",
                                             expected_rows));
  }
  chunk.row_starts_.push_back(chunk.def_levels_.size());
  return chunk;
}

std::string_view NestedLeafChunk::bytes(size_t entry) const {
  assert(column_->type == PhysicalType::kByteArray && has_value(entry));
  return values_.bytes_at(static_cast<size_t>(value_index_[entry]));
}

int64_t NestedLeafChunk::int64(size_t entry) const {
  assert(column_->type == PhysicalType::kInt64 && has_value(entry));
  int64_t value;
  std::memcpy(&value, values_.fixed_at(static_cast<size_t>(value_index_[entry])), sizeof(value));
  return value;
}

int32_t NestedLeafChunk::int32(size_t entry) const {
  assert(column_->type == PhysicalType::kInt32 && has_value(entry));
  int32_t value;
  std::memcpy(&value, values_.fixed_at(static_cast<size_t>(value_index_[entry])), sizeof(value));
  return value;
}

bool NestedLeafChunk::boolean(size_t entry) const {
  assert(column_->type == PhysicalType::kBoolean && has_value(entry));
  return *values_.fixed_at(static_cast<size_t>(value_index_[entry])) != 0;
}

std::optional<std::string_view> NestedLeafChunk::OptionalBytes(int64_t row) const {
  const size_t entry = row_begin(row);
  if (!has_value(entry)) return std::nullopt;
  return bytes(entry);
}

std::optional<int64_t> NestedLeafChunk::OptionalInt64(int64_t row) const {
  const size_t entry = row_begin(row);
  if (!has_value(entry)) return std::nullopt;
  return int64(entry);
}

std::optional<int32_t> NestedLeafChunk::OptionalInt32(int64_t row) const {
  const size_t entry = row_begin(row);
  if (!has_value(entry)) return std::nullopt;
  return int32(entry);
}

std::optional<bool> NestedLeafChunk::OptionalBoolean(int64_t row) const {
  const size_t entry = row_begin(row);
  if (!has_value(entry)) return std::nullopt;
  return boolean(entry);
}

bool NestedLeafChunk::DefinedAt(int64_t row, size_t depth) const {
  assert(depth < defined_level_.size());
  return def_levels_[row_begin(row)] >= defined_level_[depth];
}

NestedLeafChunk::Range NestedLeafChunk::Elements(int64_t row) const {
  assert(element_level_ >= 0);
  const size_t begin = row_begin(row);
  if (def_levels_[begin] < element_level_) return {};
  return {begin, row_end(row)};
}

}  // namespace predstore::parquet
