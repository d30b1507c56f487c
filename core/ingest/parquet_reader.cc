#include "core/ingest/parquet_reader.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <optional>
#include <vector>

#include "absl/strings/str_join.h"
#include "core/base/status_macros.h"
#include "core/base/strings.h"
#include "core/parquet/column_reader.h"
#include "core/parquet/file_reader.h"

namespace predstore {
namespace {

using parquet::LeafColumn;
using parquet::LogicalType;
using parquet::PhysicalType;

// How a file column's values become a field.
enum class Conversion {
  kBoolean, kInt32, kUint32, kInt64, kUint64, kFloat, kDouble, kDate,
  kTimestampMillis, kTimestampMicros, kTimestampNanos, kInt96, kBytes, kDecimal,
};

constexpr int64_t kMicrosPerDay = 86'400'000'000;
constexpr int64_t kJulianDayOfEpoch = 2'440'588;

bool IsIntegerColumn(const LeafColumn& leaf) {
  return (leaf.type == PhysicalType::kInt32 || leaf.type == PhysicalType::kInt64) &&
         (leaf.logical.kind == LogicalType::Kind::kNone || leaf.logical.kind == LogicalType::Kind::kInteger);
}

Conversion IntegerConversion(const LeafColumn& leaf) {
  const bool is_unsigned = leaf.logical.kind == LogicalType::Kind::kInteger && !leaf.logical.is_signed;
  if (leaf.type == PhysicalType::kInt32) return is_unsigned ? Conversion::kUint32 : Conversion::kInt32;
  return is_unsigned ? Conversion::kUint64 : Conversion::kInt64;
}

// How `leaf` is read into `column`, or why it cannot be.
absl::StatusOr<Conversion> PlanConversion(const LeafColumn& leaf, const Column& column, const ReadOptions& options) {
  const LogicalType::Kind logical = leaf.logical.kind;
  const bool plain = logical == LogicalType::Kind::kNone;
  switch (column.type) {
    case ColumnType::kInt64:
    case ColumnType::kUint64:
      if (leaf.type == PhysicalType::kBoolean && plain) return Conversion::kBoolean;
      if (IsIntegerColumn(leaf)) return IntegerConversion(leaf);
      break;
    case ColumnType::kDouble:
      if (leaf.type == PhysicalType::kDouble && plain) return Conversion::kDouble;
      if (leaf.type == PhysicalType::kFloat && plain) return Conversion::kFloat;
      if (IsIntegerColumn(leaf)) return IntegerConversion(leaf);
      if (logical == LogicalType::Kind::kDecimal) {
        if (!options.decimal_as_double) {
          return absl::InvalidArgumentError(
              StrCat("column \"", column.name, "\" is ", parquet::DescribeColumnType(leaf),
                     " in the file; a double holds a decimal only approximately, so it is read into a double "
                     "column only when asked (--decimal_as_double)"));
        }
        if (leaf.type == PhysicalType::kFixedLenByteArray && leaf.type_length > 16) break;
        return Conversion::kDecimal;
      }
      break;
    case ColumnType::kFloat:
      if (leaf.type == PhysicalType::kFloat && plain) return Conversion::kFloat;
      break;
    case ColumnType::kDate:
      if (leaf.type == PhysicalType::kInt32 && logical == LogicalType::Kind::kDate) return Conversion::kDate;
      break;
    case ColumnType::kTimestamp:
      if (leaf.type == PhysicalType::kInt96 && plain) return Conversion::kInt96;
      if (leaf.type == PhysicalType::kInt64 && logical == LogicalType::Kind::kTimestamp) {
        switch (leaf.logical.unit) {
          case parquet::TimeUnit::kMillis: return Conversion::kTimestampMillis;
          case parquet::TimeUnit::kMicros: return Conversion::kTimestampMicros;
          case parquet::TimeUnit::kNanos: return Conversion::kTimestampNanos;
        }
      }
      break;
    case ColumnType::kString:
      if (leaf.type == PhysicalType::kByteArray && (plain || logical == LogicalType::Kind::kString)) {
        return Conversion::kBytes;
      }
      break;
  }
  return absl::InvalidArgumentError(StrCat("column \"", column.name, "\" is ", parquet::DescribeColumnType(leaf),
                                           " in the file; it cannot be read into a ",
                                           ColumnTypeName(column.type), " column"));
}

// The decimal digits of a signed 128-bit integer.
std::string Int128Digits(__int128 value) {
  const bool negative = value < 0;
  unsigned __int128 magnitude = negative ? -static_cast<unsigned __int128>(value) : value;
  char digits[48];
  char* end = digits + sizeof(digits);
  char* p = end;
  do {
    *--p = static_cast<char>('0' + static_cast<int>(magnitude % 10));
    magnitude /= 10;
  } while (magnitude != 0);
  if (negative) *--p = '-';
  return std::string(p, end);
}

class ParquetRecordReader final : public RecordReader {
 public:
  ParquetRecordReader(std::string path, std::unique_ptr<parquet::ParquetFile> file, const Schema& schema)
      : RecordReader(std::move(path)), file_(std::move(file)), schema_(schema) {}

  absl::Status Plan(const ReadOptions& options) {
    const auto& columns = schema_.input_columns();
    const auto& leaves = file_->columns();
    plans_.resize(columns.size());
    fields_.assign(columns.size(), FieldText{});
    scratch_.resize(columns.size());
    reasons_.resize(columns.size());
    given_.resize(columns.size());
    std::vector<bool> used(leaves.size(), false);
    for (size_t slot = 0; slot < columns.size(); ++slot) {
      const Column& column = columns[slot];
      const int leaf = file_->ColumnIndex(column.name);
      auto given = std::find_if(options.column_values.begin(), options.column_values.end(),
                                [&](const auto& entry) { return entry.first == column.name; });
      if (given != options.column_values.end()) {
        if (leaf >= 0) {
          return Error(StrCat("column \"", column.name, "\" is in the file and its path gives it too"));
        }
        // The same text in every row, kept here (`options` may not outlive the reader).
        given_[slot] = given->second.value_or("");
        fields_[slot].text = given_[slot];
        fields_[slot].present = given->second.has_value();
        continue;
      }
      if (leaf < 0) {
        if (!column.nullable) {
          return Error(StrCat("the file has no column \"", column.name, "\" (its columns: ", FileColumnNames(), ")"));
        }
        fields_[slot].column_absent = true;  // a nullable column: null in every row
        continue;
      }
      used[leaf] = true;
      auto conversion = PlanConversion(leaves[leaf], column, options);
      if (!conversion.ok()) return Error(FromAbsl(conversion.status().message()));
      plans_[slot] = ColumnPlan{leaf, *conversion};
      fields_[slot].column = static_cast<uint32_t>(leaf + 1);
    }
    for (size_t leaf = 0; leaf < leaves.size(); ++leaf) {
      if (!used[leaf] && options.ignore_extra_columns) {
        ignored_.push_back(leaves[leaf].name);
      } else if (!used[leaf]) {
        return Error(StrCat("column \"", leaves[leaf].name, "\" of the file is not in the table (expected ",
                            ExpectedColumns(), "; --extra_fields=ignore skips such columns)"));
      }
    }
    for (const auto& group : file_->metadata().row_groups) {
      for (int c = 0; c < static_cast<int>(leaves.size()); ++c) total_bytes_ += group.columns[c].total_compressed_size;
    }
    return absl::OkStatus();
  }

  absl::StatusOr<bool> Next() override {
    while (row_in_group_ == group_rows_) {
      PREDSTORE_ASSIGN_OR_RETURN(bool more, NextRowGroup());
      if (!more) return false;
    }
    ++row_;
    for (size_t slot = 0; slot < plans_.size(); ++slot) {
      ColumnPlan& plan = plans_[slot];
      fields_[slot].line = row_;
      if (plan.leaf < 0) continue;
      ColumnCursor& cursor = cursors_[slot];
      while (cursor.row == cursor.reader->rows()) {
        PREDSTORE_ASSIGN_OR_RETURN(bool page, cursor.reader->NextPage());
        if (!page) {
          return absl::InvalidArgumentError(StrCat(cursor.reader->Where(), "the column ends before its row group's ",
                                                   group_rows_, " rows"));
        }
        cursor.row = 0;
        cursor.value = 0;
      }
      FieldText& field = fields_[slot];
      field.line = row_;
      field.present = cursor.reader->present(cursor.row++);
      if (field.present) Convert(plan.conversion, *cursor.reader, cursor.value++, slot, &field);
    }
    ++row_in_group_;
    return true;
  }

  std::span<const FieldText> fields() const override { return fields_; }
  uint64_t line() const override { return row_; }
  uint64_t bytes_read() const override { return bytes_read_; }
  uint64_t total_bytes() const override { return total_bytes_; }
  std::vector<std::string> ignored_columns() const override { return ignored_; }

 private:
  struct ColumnPlan {
    int leaf = -1;  // -1: the file lacks the (nullable) column
    Conversion conversion = Conversion::kInt64;
  };
  struct ColumnCursor {
    std::unique_ptr<parquet::ColumnChunkReader> reader;
    size_t row = 0;    // next row of the current page
    size_t value = 0;  // next non-null value of the current page
  };

  absl::Status Error(std::string_view reason) const {
    return absl::InvalidArgumentError(StrCat(path(), ": ", reason));
  }
  std::string FileColumnNames() const {
    std::vector<std::string> names;
    for (const LeafColumn& leaf : file_->columns()) names.push_back(leaf.name);
    return absl::StrJoin(names, ", ");
  }
  std::string ExpectedColumns() const {
    std::vector<std::string> names;
    for (const Column& column : schema_.input_columns()) names.push_back(column.name);
    return absl::StrJoin(names, ", ");
  }

  // Finishes the current row group (its chunks must hold no more pages) and
  // opens the next one with rows: false after the last.
  absl::StatusOr<bool> NextRowGroup() {
    const int groups = static_cast<int>(file_->metadata().row_groups.size());
    if (group_ >= 0) {
      for (ColumnCursor& cursor : cursors_) {
        if (!cursor.reader) continue;
        PREDSTORE_ASSIGN_OR_RETURN(bool extra, cursor.reader->NextPage());
        if (extra || cursor.row != cursor.reader->rows()) {
          return absl::InvalidArgumentError(
              StrCat(cursor.reader->Where(), "the column holds more than its row group's ", group_rows_, " rows"));
        }
      }
      for (const auto& chunk : file_->metadata().row_groups[group_].columns) {
        bytes_read_ += chunk.total_compressed_size;
      }
      file_->ReleaseRowGroup(group_);
    }
    if (++group_ >= groups) {
      cursors_.clear();
      return false;
    }
    group_rows_ = static_cast<uint64_t>(file_->metadata().row_groups[group_].num_rows);
    row_in_group_ = 0;
    cursors_.resize(plans_.size());
    for (size_t slot = 0; slot < plans_.size(); ++slot) {
      cursors_[slot] = ColumnCursor{};
      if (plans_[slot].leaf >= 0) {
        cursors_[slot].reader = std::make_unique<parquet::ColumnChunkReader>(*file_, group_, plans_[slot].leaf);
      }
    }
    return true;
  }

  void SetScratch(size_t slot, FieldText::Kind kind, const void* value, size_t size, FieldText* field) {
    std::memcpy(scratch_[slot].data(), value, size);
    field->kind = kind;
    field->text = std::string_view(scratch_[slot].data(), size);
  }
  void SetInvalid(size_t slot, std::string reason, FieldText* field) {
    reasons_[slot] = std::move(reason);
    field->kind = FieldText::Kind::kInvalid;
    field->text = reasons_[slot];
  }
  void SetTimestamp(size_t slot, __int128 micros, FieldText* field) {
    if (micros < INT64_MIN || micros > INT64_MAX) return SetInvalid(slot, "a timestamp out of range", field);
    const auto value = static_cast<int64_t>(micros);
    SetScratch(slot, FieldText::Kind::kTimestamp, &value, 8, field);
  }

  void Convert(Conversion conversion, const parquet::ColumnChunkReader& reader, size_t index, size_t slot,
               FieldText* field) {
    auto direct = [&](FieldText::Kind kind, size_t size) {
      field->kind = kind;
      field->text = std::string_view(reader.fixed_at(index), size);
    };
    switch (conversion) {
      case Conversion::kBoolean: {
        const int64_t value = reader.fixed_at(index)[0] != 0;
        return SetScratch(slot, FieldText::Kind::kInt64, &value, 8, field);
      }
      case Conversion::kInt32: {
        int32_t narrow;
        std::memcpy(&narrow, reader.fixed_at(index), 4);
        const int64_t value = narrow;
        return SetScratch(slot, FieldText::Kind::kInt64, &value, 8, field);
      }
      case Conversion::kUint32: {
        uint32_t narrow;
        std::memcpy(&narrow, reader.fixed_at(index), 4);
        const uint64_t value = narrow;
        return SetScratch(slot, FieldText::Kind::kUint64, &value, 8, field);
      }
      case Conversion::kInt64: return direct(FieldText::Kind::kInt64, 8);
      case Conversion::kUint64: return direct(FieldText::Kind::kUint64, 8);
      case Conversion::kFloat: return direct(FieldText::Kind::kFloat, 4);
      case Conversion::kDouble: return direct(FieldText::Kind::kDouble, 8);
      case Conversion::kDate: return direct(FieldText::Kind::kDate, 4);
      case Conversion::kTimestampMicros: return direct(FieldText::Kind::kTimestamp, 8);
      case Conversion::kTimestampMillis:
      case Conversion::kTimestampNanos: {
        int64_t value;
        std::memcpy(&value, reader.fixed_at(index), 8);
        if (conversion == Conversion::kTimestampMillis) return SetTimestamp(slot, __int128{value} * 1000, field);
        if (value % 1000 != 0) {
          return SetInvalid(slot, StrCat("timestamp ", value, " ns is not a whole number of microseconds"), field);
        }
        return SetTimestamp(slot, value / 1000, field);
      }
      case Conversion::kInt96: {
        // Spark's legacy layout: nanoseconds of the day, then the Julian
        // day. Read as Spark reads it, in wrapping 64-bit arithmetic, which
        // also undoes the wrap Spark's writer makes for years past ~292,000.
        int64_t nanos;
        int32_t julian_day;
        std::memcpy(&nanos, reader.fixed_at(index), 8);
        std::memcpy(&julian_day, reader.fixed_at(index) + 8, 4);
        if (nanos % 1000 != 0) {
          return SetInvalid(slot, "INT96 timestamp with a fraction of a microsecond", field);
        }
        const uint64_t micros = static_cast<uint64_t>(int64_t{julian_day} - kJulianDayOfEpoch) * kMicrosPerDay +
                                static_cast<uint64_t>(nanos / 1000);
        const auto value = static_cast<int64_t>(micros);
        return SetScratch(slot, FieldText::Kind::kTimestamp, &value, 8, field);
      }
      case Conversion::kBytes:
        field->kind = FieldText::Kind::kBytes;
        field->text = reader.bytes_at(index);
        return;
      case Conversion::kDecimal: return ConvertDecimal(reader, index, slot, field);
    }
  }

  // A DECIMAL's unscaled integer × 10^-scale, rounded to the nearest double.
  void ConvertDecimal(const parquet::ColumnChunkReader& reader, size_t index, size_t slot, FieldText* field) {
    const LeafColumn& leaf = file_->columns()[plans_[slot].leaf];
    __int128 unscaled = 0;
    switch (leaf.type) {
      case PhysicalType::kInt32: {
        int32_t value;
        std::memcpy(&value, reader.fixed_at(index), 4);
        unscaled = value;
        break;
      }
      case PhysicalType::kInt64: {
        int64_t value;
        std::memcpy(&value, reader.fixed_at(index), 8);
        unscaled = value;
        break;
      }
      default: {  // big-endian two's complement
        std::string_view bytes = leaf.type == PhysicalType::kByteArray
                                     ? reader.bytes_at(index)
                                     : std::string_view(reader.fixed_at(index), leaf.type_length);
        if (bytes.empty() || bytes.size() > 16) {
          return SetInvalid(slot, StrCat("a decimal of ", bytes.size(), " bytes (1 to 16 are read)"), field);
        }
        unsigned __int128 bits = static_cast<unsigned char>(bytes[0]) >= 0x80 ? ~static_cast<unsigned __int128>(0) : 0;
        for (char byte : bytes) bits = (bits << 8) | static_cast<unsigned char>(byte);
        unscaled = static_cast<__int128>(bits);
      }
    }
    const std::string text = StrCat(Int128Digits(unscaled), "e", -leaf.logical.scale);
    double value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size()) {
      return SetInvalid(slot, StrCat("decimal ", text, " is out of a double's range"), field);
    }
    SetScratch(slot, FieldText::Kind::kDouble, &value, 8, field);
  }

  std::unique_ptr<parquet::ParquetFile> file_;
  const Schema& schema_;
  std::vector<ColumnPlan> plans_;  // per schema input column
  std::vector<ColumnCursor> cursors_;
  std::vector<FieldText> fields_;
  std::vector<std::array<char, 8>> scratch_;  // converted values, per column
  std::vector<std::string> reasons_;          // kInvalid texts, per column
  std::vector<std::string> ignored_;          // file columns skipped
  std::vector<std::string> given_;            // per column: the text its path gives
  int group_ = -1;
  uint64_t group_rows_ = 0;
  uint64_t row_in_group_ = 0;
  uint64_t row_ = 0;
  uint64_t bytes_read_ = 0;
  uint64_t total_bytes_ = 0;
};

// The table column type `leaf` is read into, as a key or as a value.
absl::StatusOr<ColumnType> InferredType(const LeafColumn& leaf, bool is_key, const ReadOptions& options) {
  const LogicalType::Kind logical = leaf.logical.kind;
  if (leaf.type == PhysicalType::kBoolean && logical == LogicalType::Kind::kNone) return ColumnType::kInt64;
  if (IsIntegerColumn(leaf)) {
    const bool is_unsigned = logical == LogicalType::Kind::kInteger && !leaf.logical.is_signed;
    return is_key && is_unsigned ? ColumnType::kUint64 : ColumnType::kInt64;
  }
  if (leaf.type == PhysicalType::kFloat && logical == LogicalType::Kind::kNone) {
    return is_key ? absl::StatusOr<ColumnType>(absl::InvalidArgumentError("a floating-point column cannot be a key"))
                  : ColumnType::kFloat;
  }
  if (leaf.type == PhysicalType::kDouble && logical == LogicalType::Kind::kNone) {
    return is_key ? absl::StatusOr<ColumnType>(absl::InvalidArgumentError("a floating-point column cannot be a key"))
                  : ColumnType::kDouble;
  }
  if (leaf.type == PhysicalType::kByteArray &&
      (logical == LogicalType::Kind::kNone || logical == LogicalType::Kind::kString)) {
    return ColumnType::kString;
  }
  const bool temporal = (leaf.type == PhysicalType::kInt32 && logical == LogicalType::Kind::kDate) ||
                        (leaf.type == PhysicalType::kInt64 && logical == LogicalType::Kind::kTimestamp) ||
                        (leaf.type == PhysicalType::kInt96 && logical == LogicalType::Kind::kNone);
  if (temporal) {
    if (is_key) return logical == LogicalType::Kind::kDate ? ColumnType::kDate : ColumnType::kTimestamp;
    return absl::InvalidArgumentError("dates and timestamps can be key or partition columns, not values");
  }
  if (logical == LogicalType::Kind::kDecimal && !is_key) {
    if (options.decimal_as_double) return ColumnType::kDouble;
    return absl::InvalidArgumentError("a decimal is read as double only when asked (--decimal_as_double)");
  }
  return absl::InvalidArgumentError("no table column type holds it");
}

}  // namespace

absl::StatusOr<Schema> InferParquetSchema(const std::filesystem::path& path, const std::vector<std::string>& key_names,
                                          const std::string& partition_name, KeyLayout layout,
                                          KeyNormalization normalization, const ReadOptions& options) {
  PREDSTORE_ASSIGN_OR_RETURN(auto file, parquet::ParquetFile::Open(path.string()));
  std::vector<Column> keys(key_names.size());
  std::vector<Column> values;
  std::optional<Column> partition;
  std::vector<bool> found(key_names.size(), false);
  bool partition_found = partition_name.empty();
  for (const LeafColumn& leaf : file->columns()) {
    const auto key = std::find(key_names.begin(), key_names.end(), leaf.name);
    const bool is_partition = !partition_name.empty() && leaf.name == partition_name;
    const bool is_key = key != key_names.end() || is_partition;
    auto type = InferredType(leaf, is_key, options);
    if (!type.ok()) {
      return absl::InvalidArgumentError(StrCat(path.string(), ": column \"", leaf.name, "\" (",
                                               parquet::DescribeColumnType(leaf), "): ", type.status().message()));
    }
    Column column{leaf.name, *type, /*nullable=*/!is_key && leaf.optional};
    if (is_partition) {
      partition = column;
      partition_found = true;
    } else if (is_key) {
      const size_t index = static_cast<size_t>(key - key_names.begin());
      keys[index] = column;
      found[index] = true;
    } else {
      values.push_back(column);
    }
  }
  for (const auto& [name, text] : options.column_values) {
    ColumnType type = ColumnType::kString;
    if (text && ParseCell(ColumnType::kInt64, *text).ok()) {
      type = ColumnType::kInt64;
    } else if (text && text->size() == 10 && ParseCell(ColumnType::kDate, *text).ok()) {
      type = ColumnType::kDate;
    }
    const auto key = std::find(key_names.begin(), key_names.end(), name);
    if (name == partition_name) {
      partition = Column{name, type};
      partition_found = true;
    } else if (key != key_names.end()) {
      const size_t index = static_cast<size_t>(key - key_names.begin());
      keys[index] = Column{name, type};
      found[index] = true;
    } else if (type != ColumnType::kDate) {
      values.push_back(Column{name, type, /*nullable=*/true});
    } else {
      return absl::InvalidArgumentError(StrCat(path.string(), ": the folder's column \"", name, "\" holds dates, "
                                               "which can be key or partition columns, not values"));
    }
  }
  for (size_t i = 0; i < key_names.size(); ++i) {
    if (!found[i]) return absl::InvalidArgumentError(StrCat(path.string(), ": no key column \"", key_names[i], "\""));
  }
  if (!partition_found) {
    return absl::InvalidArgumentError(StrCat(path.string(), ": no partition column \"", partition_name, "\""));
  }
  return Schema::Create(std::move(keys), std::move(values), std::move(partition), layout, normalization);
}

absl::StatusOr<std::unique_ptr<RecordReader>> OpenParquetRecordReader(const std::filesystem::path& path,
                                                                      const Schema& schema,
                                                                      const ReadOptions& options) {
  PREDSTORE_ASSIGN_OR_RETURN(auto file, parquet::ParquetFile::Open(path.string()));
  auto reader = std::make_unique<ParquetRecordReader>(path.string(), std::move(file), schema);
  PREDSTORE_RETURN_IF_ERROR(reader->Plan(options));
  return reader;
}

}  // namespace predstore
