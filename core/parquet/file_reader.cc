#include "core/parquet/file_reader.h"

#include <cstring>

#include "core/base/status_macros.h"
#include "core/base/strings.h"

namespace predstore::parquet {
namespace {

constexpr char kMagic[] = "PAR1";
constexpr char kEncryptedMagic[] = "PARE";
constexpr size_t kMagicSize = 4;
// Nested schemas deeper than this are refused (levels are 16-bit; real
// schemas nest a handful of levels).
constexpr size_t kMaxNestingDepth = 64;

std::string TimeUnitName(TimeUnit unit) {
  switch (unit) {
    case TimeUnit::kMillis: return "MILLIS";
    case TimeUnit::kMicros: return "MICROS";
    case TimeUnit::kNanos: return "NANOS";
  }
  return "?";
}

}  // namespace

std::string DescribeColumnType(const LeafColumn& column) {
  std::string text = PhysicalTypeName(column.type);
  if (column.type == PhysicalType::kFixedLenByteArray) StrAppend(&text, "(", column.type_length, ")");
  const LogicalType& logical = column.logical;
  switch (logical.kind) {
    case LogicalType::Kind::kNone: break;
    case LogicalType::Kind::kString: StrAppend(&text, " (STRING)"); break;
    case LogicalType::Kind::kDate: StrAppend(&text, " (DATE)"); break;
    case LogicalType::Kind::kTimestamp:
      StrAppend(&text, " (TIMESTAMP(", TimeUnitName(logical.unit), logical.utc_adjusted ? ", UTC))" : ", local))");
      break;
    case LogicalType::Kind::kInteger:
      StrAppend(&text, " (", logical.is_signed ? "INT(" : "UINT(", logical.bit_width, "))");
      break;
    case LogicalType::Kind::kDecimal:
      StrAppend(&text, " (DECIMAL(", logical.precision, ",", logical.scale, "))");
      break;
    case LogicalType::Kind::kOther: StrAppend(&text, " (", logical.name, ")"); break;
  }
  return text;
}

absl::StatusOr<std::unique_ptr<ParquetFile>> ParquetFile::Open(const std::string& path,
                                                                const ParquetOpenOptions& options) {
  auto file = std::unique_ptr<ParquetFile>(new ParquetFile());
  file->path_ = path;
  file->nested_ = options.nested;
  PREDSTORE_ASSIGN_OR_RETURN(file->file_, MappedFile::Open(path));
  const MappedFile& mapped = *file->file_;
  auto invalid = [&](std::string_view reason) { return absl::InvalidArgumentError(StrCat(path, ": ", reason)); };
  if (mapped.size() < 2 * kMagicSize + 4) {
    return invalid(StrCat("not a Parquet file (", mapped.size(), " bytes; too short)"));
  }
  const char* tail = mapped.end() - kMagicSize;
  if (std::memcmp(mapped.data(), kEncryptedMagic, kMagicSize) == 0 ||
      std::memcmp(tail, kEncryptedMagic, kMagicSize) == 0) {
    return invalid("the file is encrypted (Parquet modular encryption); encrypted files are not supported");
  }
  if (std::memcmp(mapped.data(), kMagic, kMagicSize) != 0) return invalid("not a Parquet file (no PAR1 at its start)");
  if (std::memcmp(tail, kMagic, kMagicSize) != 0) {
    return invalid("not a Parquet file or truncated (no PAR1 at its end)");
  }
  uint32_t footer_size;
  std::memcpy(&footer_size, tail - 4, 4);  // little-endian, as is every supported host
  const uint64_t data_end = mapped.size() - kMagicSize - 4;
  if (footer_size > data_end - kMagicSize) {
    return invalid(StrCat("footer of ", footer_size, " bytes does not fit in the file (truncated?)"));
  }
  const uint64_t footer_offset = data_end - footer_size;
  auto metadata = DecodeFileMetaData(std::span<const uint8_t>(
      reinterpret_cast<const uint8_t*>(mapped.data()) + footer_offset, footer_size));
  if (!metadata.ok()) return invalid(StrCat("corrupt footer: ", metadata.status().message()));
  file->metadata_ = *std::move(metadata);
  if (file->metadata_.encrypted) {
    return invalid("the file is encrypted (Parquet modular encryption); encrypted files are not supported");
  }
  PREDSTORE_RETURN_IF_ERROR(file->nested_ ? file->CheckNestedSchema() : file->CheckSchema());
  PREDSTORE_RETURN_IF_ERROR(file->CheckRowGroups());
  return file;
}

absl::Status ParquetFile::CheckSchema() {
  const auto& schema = metadata_.schema;
  auto invalid = [&](std::string_view reason) { return absl::InvalidArgumentError(StrCat(path_, ": ", reason)); };
  if (schema.empty()) return invalid("corrupt footer: no schema");
  const size_t children = static_cast<size_t>(std::max(schema[0].num_children, 0));
  // Walk the root's children; a group child is a nested column, refused.
  size_t index = 1;
  for (size_t child = 0; child < children; ++child) {
    if (index >= schema.size()) return invalid("corrupt footer: the schema has fewer elements than its root names");
    const SchemaElement& element = schema[index];
    if (element.num_children > 0 || !element.type) {
      std::string kind = element.logical.kind == LogicalType::Kind::kOther ? element.logical.name : "a struct";
      return invalid(StrCat("column \"", element.name, "\" is nested (", kind,
                            "); only flat tables of primitive columns can be loaded"));
    }
    if (element.repetition == Repetition::kRepeated) {
      return invalid(StrCat("column \"", element.name,
                            "\" is repeated (a list); only flat tables of primitive columns can be loaded"));
    }
    if (element.logical.kind == LogicalType::Kind::kOther &&
        (element.logical.name == "LIST" || element.logical.name == "MAP" ||
         element.logical.name == "MAP_KEY_VALUE")) {
      return invalid(StrCat("column \"", element.name, "\" is nested (", element.logical.name,
                            "); only flat tables of primitive columns can be loaded"));
    }
    if (*element.type == PhysicalType::kFixedLenByteArray && element.type_length <= 0) {
      return invalid(StrCat("column \"", element.name, "\": FIXED_LEN_BYTE_ARRAY without a positive length"));
    }
    LeafColumn column;
    column.name = element.name;
    column.type = *element.type;
    column.type_length = element.type_length;
    column.optional = element.repetition == Repetition::kOptional;
    column.logical = element.logical;
    column.path_in_schema = {element.name};
    column.max_definition_level = column.optional ? 1 : 0;
    column.schema_path = {static_cast<int>(index)};
    columns_.push_back(std::move(column));
    ++index;
  }
  if (index != schema.size()) return invalid("corrupt footer: the schema has more elements than its root names");
  return absl::OkStatus();
}

absl::Status ParquetFile::CheckNestedSchema() {
  const auto& schema = metadata_.schema;
  auto invalid = [&](std::string_view reason) { return absl::InvalidArgumentError(StrCat(path_, ": ", reason)); };
  if (schema.empty()) return invalid("corrupt footer: no schema");
  // Depth-first walk of the stored tree. Each open group on `stack` keeps
  // its children still to visit; `path` holds the indices of the nodes from
  // the root's child down.
  struct Open {
    size_t children_left;
  };
  std::vector<Open> stack = {{static_cast<size_t>(std::max(schema[0].num_children, 0))}};
  std::vector<int> path;
  size_t index = 1;
  while (!stack.empty()) {
    if (stack.back().children_left == 0) {
      stack.pop_back();
      if (!path.empty()) path.pop_back();
      continue;
    }
    --stack.back().children_left;
    if (index >= schema.size()) return invalid("corrupt footer: the schema has fewer elements than its groups name");
    const SchemaElement& element = schema[index];
    path.push_back(static_cast<int>(index));
    ++index;
    if (element.num_children > 0 || !element.type) {
      if (element.num_children <= 0) {
        return invalid(StrCat("corrupt footer: group \"", element.name, "\" has no children"));
      }
      if (stack.size() > kMaxNestingDepth) {
        return invalid(StrCat("the schema nests deeper than ", kMaxNestingDepth, " levels"));
      }
      stack.push_back({static_cast<size_t>(element.num_children)});
      continue;
    }
    LeafColumn column;
    column.type = *element.type;
    column.type_length = element.type_length;
    column.logical = element.logical;
    column.schema_path = path;
    for (int node : path) {
      const SchemaElement& step = schema[static_cast<size_t>(node)];
      column.path_in_schema.push_back(step.name);
      // A missing repetition is read as required, as the flat walk does.
      if (step.repetition && *step.repetition != Repetition::kRequired) ++column.max_definition_level;
      if (step.repetition == Repetition::kRepeated) ++column.max_repetition_level;
    }
    column.optional = column.max_definition_level > 0;
    for (const std::string& name : column.path_in_schema) {
      if (!column.name.empty()) column.name += '.';
      column.name += name;
    }
    if (column.type == PhysicalType::kFixedLenByteArray && column.type_length <= 0) {
      return invalid(StrCat("column \"", column.name, "\": FIXED_LEN_BYTE_ARRAY without a positive length"));
    }
    columns_.push_back(std::move(column));
    path.pop_back();
  }
  if (index != schema.size()) return invalid("corrupt footer: the schema has more elements than its groups name");
  return absl::OkStatus();
}

absl::Status ParquetFile::CheckRowGroups() {
  const uint64_t data_end = file_->size() - kMagicSize - 4;
  int64_t rows = 0;
  chunk_ranges_.reserve(metadata_.row_groups.size());
  for (size_t g = 0; g < metadata_.row_groups.size(); ++g) {
    const RowGroup& group = metadata_.row_groups[g];
    auto invalid = [&](std::string_view reason) {
      return absl::InvalidArgumentError(StrCat(path_, ": row group ", g, ": ", reason));
    };
    if (group.num_rows < 0) return invalid("negative row count");
    if (group.columns.size() != columns_.size()) {
      return invalid(StrCat("has ", group.columns.size(), " column chunks; the schema has ", columns_.size(),
                            " columns"));
    }
    auto& ranges = chunk_ranges_.emplace_back();
    for (size_t c = 0; c < group.columns.size(); ++c) {
      const ColumnChunk& chunk = group.columns[c];
      const LeafColumn& column = columns_[c];
      auto chunk_error = [&](std::string_view reason) {
        return absl::InvalidArgumentError(StrCat(path_, ": column \"", column.name, "\", row group ", g, ": ", reason));
      };
      if (chunk.encrypted) return chunk_error("the column is encrypted; encrypted columns are not supported");
      if (chunk.external) return chunk_error("the column chunk is stored in another file; not supported");
      if (chunk.type != column.type) {
        return chunk_error(StrCat("chunk type ", PhysicalTypeName(chunk.type), " differs from the schema's ",
                                  PhysicalTypeName(column.type)));
      }
      if (chunk.path_in_schema != column.path_in_schema) {
        return chunk_error("the chunk's path does not name the column");
      }
      // Some writers store dictionary_page_offset 0 when there is none.
      int64_t begin = chunk.data_page_offset;
      if (chunk.dictionary_page_offset && *chunk.dictionary_page_offset > 0 &&
          *chunk.dictionary_page_offset < begin) {
        begin = *chunk.dictionary_page_offset;
      }
      if (begin < static_cast<int64_t>(kMagicSize) || chunk.total_compressed_size < 0 ||
          static_cast<uint64_t>(begin) > data_end ||
          static_cast<uint64_t>(chunk.total_compressed_size) > data_end - static_cast<uint64_t>(begin)) {
        return chunk_error(StrCat("chunk at offset ", begin, " of ", chunk.total_compressed_size,
                                  " bytes lies outside the file's data (truncated or corrupt)"));
      }
      // A repeated leaf stores one value (or null, or empty list) per level
      // entry: at least one a row.
      if (column.max_repetition_level == 0 ? chunk.num_values != group.num_rows : chunk.num_values < group.num_rows) {
        return chunk_error(StrCat("the chunk has ", chunk.num_values, " values for ", group.num_rows, " rows"));
      }
      ranges.emplace_back(begin, begin + chunk.total_compressed_size);
    }
    rows += group.num_rows;
  }
  if (rows != metadata_.num_rows) {
    return absl::InvalidArgumentError(
        StrCat(path_, ": the row groups hold ", rows, " rows; the footer says ", metadata_.num_rows));
  }
  return absl::OkStatus();
}

int ParquetFile::ColumnIndex(std::string_view name) const {
  for (size_t i = 0; i < columns_.size(); ++i) {
    if (columns_[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

std::span<const uint8_t> ParquetFile::ChunkBytes(int row_group, int column) const {
  auto [begin, end] = chunk_ranges_[row_group][column];
  return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(file_->data()) + begin, end - begin);
}

uint64_t ParquetFile::ChunkOffset(int row_group, int column) const { return chunk_ranges_[row_group][column].first; }

void ParquetFile::ReleaseRowGroup(int row_group) {
  for (auto [begin, end] : chunk_ranges_[row_group]) file_->Release(begin, end - begin);
}

}  // namespace predstore::parquet
